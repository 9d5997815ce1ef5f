"""modctl seed: load an article-with-comments file through the ingest API."""

import argparse
from pathlib import Path
from typing import Any

from services.modctl import processes
from services.modctl.commands.system import DEMO_TENANT
from services.modctl.seed import load_seed


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    seed = commands.add_parser("seed", help="load an article-with-comments file through ingest")
    seed.add_argument("file", type=Path)
    seed.add_argument("--tenant", default=DEMO_TENANT)
    seed.add_argument("--ingest-url", default=processes.services()[0].url)
    seed.set_defaults(handler=cmd_seed)


def cmd_seed(args: argparse.Namespace) -> int:
    article = load_seed(args.file, args.ingest_url, args.tenant)
    print(f"article {article.article_id}: {len(article.comments)} comments submitted")
    return 0
