"""modctl up, run, down, topics: the local system's life cycle."""

import argparse
import asyncio
import signal
import sys
import threading
import time
from functools import partial
from typing import Any

import httpx

from services.common.settings import KafkaSettings, RedisSettings
from services.common.topics import ensure_topics
from services.modctl import processes
from services.modctl.demo_desk import DEMO_MODERATOR, decide_on_desk, prepare_demo_desk
from services.modctl.local_state import (
    CLEAN_START,
    LocalServer,
    describe_reuse,
    listening_pid,
    local_servers,
    wipe,
)
from services.modctl.seed import comment_id, load_seed, parse_seed
from services.modctl.steps import run_step
from services.modctl.testbed.processes import mint_key

DEMO_FILE = processes.ROOT / "examples" / "demo" / "000_c2484b3214b686ee.txt"
# The second article's comments include off-topic, abusive and link examples for the desk.
DEMO_FILES = (DEMO_FILE, processes.ROOT / "examples" / "demo" / "001_city_budget.txt")
DEMO_TENANT = "demo"
HINTS = {
    "kafka": "Kafka needs Java 17+ (and Maven Central for its jars the first time); "
    "see .data/kafka/logs/server.log",
    "redis": "deploy/redis/redis.sh installs redis-server with apt-get; see .data/redis/redis.log",
}
SEED_HINT = "the moderation worker's log in .data/logs says why comments got no verdict"


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    up = commands.add_parser("up", help="start Kafka, Redis, topics and the services")
    up.add_argument("--seed", action="store_true", help="load the demo article and comments")
    up.set_defaults(handler=cmd_up)

    run = commands.add_parser("run", help="`up --seed` in the foreground; Ctrl-C stops it all")
    run.set_defaults(handler=cmd_run)

    down = commands.add_parser("down", help="stop the services, Kafka and Redis started here")
    down.add_argument(
        "--wipe",
        action="store_true",
        help="then delete the local Kafka and Redis data (comments, tenants, keys, desk users)",
    )
    down.set_defaults(handler=cmd_down)

    topics = commands.add_parser("topics", help="create the topics with their partition counts")
    topics.set_defaults(handler=cmd_topics)


def cmd_topics(args: argparse.Namespace) -> int:
    print(create_topics()[1])
    return 0


def create_topics() -> tuple[None, str]:
    created = asyncio.run(ensure_topics(KafkaSettings()))
    return None, (f"created {', '.join(created)}" if created else "all present")


def start_server(server: LocalServer) -> tuple[bool, str]:
    """Start Kafka or Redis unless something listens on its port: (started here, what)."""
    if processes.port_open("127.0.0.1", server.port):
        return False, describe_reuse(server)
    earlier = server.has_data()
    server.run_script("start")
    where = f"started on 127.0.0.1:{server.port}"
    if earlier:
        return True, f"{where} with the data of an earlier run in {server.data_dir} ({CLEAN_START})"
    return True, f"{where}, data in {server.data_dir}"


def start_services() -> tuple[list[str], str]:
    """Start every service not already answering on its port, then wait until all are ready."""
    started, notes = [], []
    for service in processes.services():
        if processes.port_open("127.0.0.1", service.port):
            pid = listening_pid(service.port)
            notes.append(f"{service.name} reused: already on :{service.port} (pid {pid})")
        else:
            service.start()
            started.append(service.name)
    for service in processes.services():
        service.wait_ready()
    ports = ", ".join(f"{s.name} :{s.port}" for s in processes.services())
    return started, "; ".join([f"ready: {ports}", *notes])


def start_all() -> list[str]:
    """Start what is not running, a line per step; return the names of what this started."""
    started = []
    for server in local_servers():
        hint = HINTS[server.name]
        if run_step(server.name, partial(start_server, server), hint):
            started.append(server.name)
    run_step("topics", create_topics, HINTS["kafka"])
    logs = processes.DATA / "logs"
    started += run_step("services", start_services, f"each service's log is in {logs}")
    return started


def cmd_up(args: argparse.Namespace) -> int:
    start_all()
    key = demo_key()
    password = run_step("demo data", partial(seed_demo, key), SEED_HINT) if args.seed else None
    print_urls(key, password)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    began = time.monotonic()
    started: list[str] = []
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        started = start_all()
        key = demo_key()
        password = run_step("demo data", partial(seed_demo, key), SEED_HINT)
        print(f"ready in {time.monotonic() - began:.1f}s; Ctrl-C stops everything started here")
        print_urls(key, password)
        sys.stdout.flush()
        stop.wait()
    finally:
        print("stopping...", flush=True)
        stop_all(started)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stop_all(["kafka", "redis", *processes.SERVICE_NAMES])
    if args.wipe:
        for server in local_servers():
            if wipe(server):
                print(f"wiped {server.data_dir}")
    return 0


def stop_all(names: list[str]) -> None:
    for service in reversed(processes.services()):
        if service.name in names and service.stop():
            print(f"stopped {service.name}")
    for server in reversed(local_servers()):
        if server.name in names and server.our_pid() is not None:
            server.run_script("stop")
            print(f"stopped {server.name}")


def demo_key() -> str:
    """The demo tenant (public feeds) and a new key of it with every scope: keys are stored
    hashed, so an earlier one cannot be shown again."""
    return mint_key(RedisSettings(), DEMO_TENANT)


def seed_demo(key: str, timeout: float = 120.0) -> tuple[str, str]:
    """Load the demo through ingest with the demo key, then wait until each comment has a
    verdict, so the printed URLs work: the demo moderator's new password, and what loaded."""
    ingest, _, publisher, *_ = processes.services()
    password = prepare_demo_desk(DEMO_TENANT)
    articles = [load_seed(path, ingest.url, key) for path in DEMO_FILES]
    ids = [comment_id(a.article_id, c) for a in articles for c in a.comments]
    loaded = f"{len(articles)} articles, {len(ids)} comments, each with a verdict"
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {key}"}
    while ids and time.monotonic() < deadline:
        url = f"{publisher.url}/v1/comments/{ids[0]}"
        if httpx.get(url, headers=headers, timeout=5.0).status_code == 200:
            ids.pop(0)
        else:
            time.sleep(0.2)
    if ids:
        raise TimeoutError(f"the demo comments had no verdict within {timeout:.0f}s")
    decided = decide_on_desk(publisher.url, DEMO_TENANT, password, articles, key)
    if decided:
        loaded += f", {len(decided)} decided on the desk"
    return password, loaded


def print_urls(key: str, demo_password: str | None = None) -> None:
    ingest, moderation, publisher, perspective, webhooks = processes.services()
    article_id = parse_seed(DEMO_FILE.read_text(encoding="utf-8")).article_id
    print(f"ingest      {ingest.url}/docs")
    print(f"moderation  {moderation.url}/health/ready")
    print(f"publisher   {publisher.url}/docs")
    print(f"feed        {publisher.url}/v1/articles/{article_id}/comments?tenant={DEMO_TENANT}")
    print(f"metrics     {ingest.url}/metrics {moderation.url}/metrics {publisher.url}/metrics")
    print(f"            {perspective.url}/metrics {webhooks.url}/metrics")
    print(f"desk        {publisher.url}/moderate")
    print(f"insights    {publisher.url}/moderate/insights?tenant={DEMO_TENANT}")
    print(f"perspective {perspective.url}/v1alpha1/comments:analyze")
    print(f"webhooks    {webhooks.url}/v1/webhooks")
    if demo_password:
        print(f"demo-moderator  user {DEMO_MODERATOR}  password {demo_password}")
    print(f"demo-key    {key}  (tenant {DEMO_TENANT}, every scope)")
    print(f"logs        {processes.DATA / 'logs'}")
