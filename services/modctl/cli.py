"""modctl: run, seed, score and operate the moderation service."""

import argparse
import sys

import httpx
from redis.exceptions import RedisError

from services.modctl.commands import (
    adapt,
    bench,
    calibrate,
    decisions,
    dlq,
    feed,
    models,
    moderators,
    redis,
    score,
    seed,
    soak,
    status,
    system,
    tenants,
    train,
    webhooks,
)

# Each command module adds its subcommands; a new module is one more entry here.
COMMAND_MODULES = (
    system,
    seed,
    score,
    status,
    feed,
    redis,
    dlq,
    decisions,
    moderators,
    bench,
    tenants,
    soak,
    models,
    train,
    webhooks,
    calibrate,
    adapt,
)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (RuntimeError, TimeoutError, ValueError, OSError, httpx.HTTPError, RedisError) as error:
        print(f"modctl {args.command}: {error}", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="modctl", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return root


if __name__ == "__main__":
    sys.exit(main())
