"""modctl up, run, down, topics: the local system's life cycle."""

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from typing import Any

import httpx

from services.common.settings import KafkaSettings, RedisSettings
from services.common.topics import ensure_topics
from services.modctl import processes
from services.modctl.demo_desk import DEMO_MODERATOR, prepare_demo_desk
from services.modctl.seed import comment_id, load_seed, parse_seed
from services.modctl.testbed.processes import mint_key

DEMO_FILE = processes.ROOT / "examples" / "demo" / "000_c2484b3214b686ee.txt"
# The second article's comments include off-topic, abusive and link examples for the desk.
DEMO_FILES = (DEMO_FILE, processes.ROOT / "examples" / "demo" / "001_city_budget.txt")
DEMO_TENANT = "demo"


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    up = commands.add_parser("up", help="start Kafka, Redis, topics and the services")
    up.add_argument("--seed", action="store_true", help="load the demo article and comments")
    up.set_defaults(handler=cmd_up)

    run = commands.add_parser("run", help="`up --seed` in the foreground; Ctrl-C stops it all")
    run.set_defaults(handler=cmd_run)

    down = commands.add_parser("down", help="stop the services, Kafka and Redis started here")
    down.set_defaults(handler=cmd_down)

    topics = commands.add_parser("topics", help="create the topics with their partition counts")
    topics.set_defaults(handler=cmd_topics)


def cmd_topics(args: argparse.Namespace) -> int:
    created = asyncio.run(ensure_topics(KafkaSettings()))
    print(f"topics created: {', '.join(created)}" if created else "topics: all present")
    return 0


def start_all() -> list[str]:
    """Start what is not running; return the names of what this call started."""
    started = []
    kafka_local = processes.port_open("127.0.0.1", int(os.environ.get("KAFKA_PORT", "9092")))
    redis_local = processes.port_open("127.0.0.1", int(os.environ.get("REDIS_PORT", "6379")))
    processes.run_script("kafka/kafka.sh", "start")
    processes.run_script("redis/redis.sh", "start")
    started += [name for name, was in (("kafka", kafka_local), ("redis", redis_local)) if not was]
    cmd_topics(argparse.Namespace())
    for service in processes.services():
        if processes.start_service(service):
            started.append(service.name)
    for service in processes.services():
        processes.wait_ready(service)
    return started


def cmd_up(args: argparse.Namespace) -> int:
    start_all()
    key = demo_key()
    print_urls(key, seed_demo(key) if args.seed else None)
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
        password = seed_demo(key)
        print(f"ready in {time.monotonic() - began:.1f}s; Ctrl-C stops everything started here")
        print_urls(key, password)
        sys.stdout.flush()
        stop.wait()
    finally:
        print("stopping...", flush=True)
        stop_all(started)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stop_all(["kafka", "redis", *(s.name for s in processes.services())])
    return 0


def stop_all(names: list[str]) -> None:
    for service in reversed(processes.services()):
        if service.name in names and processes.stop_service(service):
            print(f"stopped {service.name}")
    if "redis" in names:
        processes.run_script("redis/redis.sh", "stop")
    if "kafka" in names:
        processes.run_script("kafka/kafka.sh", "stop")


def demo_key() -> str:
    """The demo tenant (public feeds) and a new key of it with every scope: keys are stored
    hashed, so an earlier one cannot be shown again."""
    return mint_key(RedisSettings(), DEMO_TENANT)


def seed_demo(key: str, timeout: float = 120.0) -> str:
    """Load the demo through ingest with the demo key, then wait until each comment has a
    verdict, so the printed URLs work; returns the demo moderator's new password."""
    ingest, _, publisher, *_ = processes.services()
    password = prepare_demo_desk(DEMO_TENANT)
    articles = [load_seed(path, ingest.url, key) for path in DEMO_FILES]
    ids = [comment_id(a.article_id, c) for a in articles for c in a.comments]
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
    return password


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
    print(f"perspective {perspective.url}/v1alpha1/comments:analyze")
    print(f"webhooks    {webhooks.url}/v1/webhooks")
    if demo_password:
        print(f"demo-moderator  user {DEMO_MODERATOR}  password {demo_password}")
    print(f"demo-key    {key}  (tenant {DEMO_TENANT}, every scope)")
    print(f"logs        {processes.DATA / 'logs'}")
