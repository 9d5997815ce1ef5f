"""modctl moderators: the accounts that sign in to the desk."""

import argparse
import asyncio
import getpass
import sys
from typing import Any

from services.common.settings import RedisSettings
from services.publisher.desk.accounts import AccountStore
from services.publisher.desk.sessions import end_all_sessions


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    moderators = commands.add_parser("moderators", help="desk accounts: add, list, remove")
    actions = moderators.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="create a moderator (the password is asked for)")
    add.add_argument("username")
    add.add_argument(
        "--tenant", action="append", required=True, help="a site they moderate; repeat for more"
    )
    add.add_argument("--name", help="display name (default: the user name)")
    add.add_argument("--admin", action="store_true", help="may change the sites' policies")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--replace", action="store_true", help="reset an existing account")
    add.set_defaults(handler=cmd_add)

    listing = actions.add_parser("list", help="the moderators and their sites")
    listing.set_defaults(handler=cmd_list)

    remove = actions.add_parser("remove", help="delete a moderator; their sessions end")
    remove.add_argument("username")
    remove.set_defaults(handler=cmd_remove)

    signout = actions.add_parser(
        "signout-all", help="end every desk session of a moderator (a lost or shared device)"
    )
    signout.add_argument("username")
    signout.set_defaults(handler=cmd_signout_all)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise ValueError("the passwords differ")
    return password


async def add_moderator(
    username: str,
    password: str,
    tenants: list[str],
    *,
    admin: bool = False,
    name: str | None = None,
    replace: bool = False,
) -> None:
    async with RedisSettings().client() as redis:
        await AccountStore(redis).add(
            username, password, tenants, admin=admin, display_name=name, replace=replace
        )
        if replace:  # a reset password: whoever signed in with the old one is signed out
            await end_all_sessions(redis, username)


def cmd_add(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    asyncio.run(
        add_moderator(
            args.username,
            password,
            args.tenant,
            admin=args.admin,
            name=args.name,
            replace=args.replace,
        )
    )
    print(f"moderator {args.username} added for {', '.join(args.tenant)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    async def accounts() -> list[str]:
        async with RedisSettings().client() as redis:
            return [
                f"{a.username}\t{','.join(a.tenants)}\t{'admin' if a.admin else ''}".rstrip()
                for a in await AccountStore(redis).all()
            ]

    for line in asyncio.run(accounts()):
        print(line)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    async def remove() -> bool:
        async with RedisSettings().client() as redis:
            await end_all_sessions(redis, args.username)
            return await AccountStore(redis).remove(args.username)

    if not asyncio.run(remove()):
        raise ValueError(f"no moderator {args.username!r}")
    print(f"moderator {args.username} removed")
    return 0


def cmd_signout_all(args: argparse.Namespace) -> int:
    async def signout() -> int:
        async with RedisSettings().client() as redis:
            if await AccountStore(redis).get(args.username) is None:
                raise ValueError(f"no moderator {args.username!r}")
            return await end_all_sessions(redis, args.username)

    ended = asyncio.run(signout())
    print(f"moderator {args.username} signed out everywhere ({ended} sessions ended)")
    return 0
