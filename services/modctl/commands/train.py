"""modctl train: the embedded engine's toxicity head, from a folder of labeled data."""

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    train = commands.add_parser(
        "train", help="train the embedded engine's toxicity head on labeled data"
    )
    train.add_argument("--data", type=Path, default=Path("../shared/data"))
    train.add_argument("--per-source", type=int, default=1500, help="texts per data set")
    train.add_argument("--output", type=Path, default=None, help="default: the shipped head")
    train.add_argument("--cache", type=Path, default=Path(".data/train-cache"))
    train.add_argument(
        "--feedback",
        action="store_true",
        help="add the suggested scores on feedback.suggested (Perspective's suggestscore)",
    )
    train.add_argument("--feedback-tenant", help="only this tenant's suggestions")
    train.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    # Imported here: torch and scikit-learn are slow to load and other commands don't need them.
    from services.modctl.train import build_features, load_examples, model_card, train_head
    from services.moderation.scoring.head import HEAD_FILE, save_head

    if not args.data.is_dir():
        raise ValueError(f"--data {args.data}: not a directory")
    examples = load_examples(args.data, args.per_source)
    if args.feedback:
        from services.modctl.feedback import add_feedback

        examples = add_feedback(examples, args.feedback_tenant)
    x = build_features(examples, args.cache)
    version = datetime.now(UTC).strftime("head-%Y%m%d")
    head, report = train_head(examples, x, version)
    card = {
        "command": f"modctl train --data {args.data} --per-source {args.per_source}",
        "texts": len(examples),
        "texts_by_source": {
            s: sum(e.source == s for e in examples) for s in sorted({e.source for e in examples})
        },
        "quality": report,
    }
    output: Path = args.output or HEAD_FILE
    save_head(output, head, card)
    output.with_name("MODEL_CARD.md").write_text(model_card(card, version), encoding="utf-8")
    print(json.dumps(card, indent=2))
    return 0
