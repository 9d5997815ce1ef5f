"""modctl train: the embedded engine's toxicity head, from a folder of labeled data."""

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.moderation.scoring.identity import DIRECTIONS


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
    train.add_argument(
        "--identity-directions",
        type=int,
        default=DIRECTIONS,
        help="embedding directions of identity terms the head is kept off (0: none)",
    )
    train.add_argument(
        "--keep-identity-terms",
        action="store_true",
        help="score every label on the text as written, identity terms included",
    )
    train.add_argument(
        "--probe-frames", type=int, default=16, help="bias probe frames per madlibs template"
    )
    train.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    # Imported here: torch and scikit-learn are slow to load and other commands don't need them.
    from services.modctl.bias_probe import MADLIBS, as_dict, load_frames
    from services.modctl.train import (
        build_features,
        identity_directions,
        load_examples,
        model_card,
        probe_head,
        train_head,
    )
    from services.moderation.policy import Policy
    from services.moderation.scoring.head import HEAD_FILE, load_head, save_head

    if not args.data.is_dir():
        raise ValueError(f"--data {args.data}: not a directory")
    neutralise = not args.keep_identity_terms
    examples = load_examples(args.data, args.per_source)
    if args.feedback:
        from services.modctl.feedback import add_feedback

        examples = add_feedback(examples, args.feedback_tenant)
    x, neutral = build_features(examples, args.cache)
    directions = args.identity_directions if neutralise else 0
    basis = identity_directions(args.cache, directions) if directions else None
    version = datetime.now(UTC).strftime("head-%Y%m%d")
    head, report = train_head(examples, x, version, basis, neutral if neutralise else None)
    command = f"modctl train --data {args.data} --per-source {args.per_source}"
    if args.identity_directions != DIRECTIONS:
        command += f" --identity-directions {args.identity_directions}"
    if args.keep_identity_terms:
        command += " --keep-identity-terms"
    card: dict[str, object] = {
        "command": command,
        "texts": len(examples),
        "texts_by_source": {
            s: sum(e.source == s for e in examples) for s in sorted({e.source for e in examples})
        },
        "identity": {"directions": directions, "neutral_labels": sorted(head.neutral_labels)},
        "quality": report,
    }
    output: Path = args.output or HEAD_FILE
    if (args.data / MADLIBS).is_file():
        frames = load_frames(args.data / MADLIBS, args.probe_frames)
        threshold = Policy().thresholds["toxicity"].review
        card["bias_probe"] = as_dict(probe_head(head, frames, args.cache, threshold))
        if output.is_file():  # the head this one replaces, on the same sentences
            previous = load_head(output)
            card["bias_probe_replaced"] = {"version": previous.version} | as_dict(
                probe_head(previous, frames, args.cache, threshold), worst=3
            )
    save_head(output, head, card)
    card_file = output.with_name("MODEL_CARD.md")
    kept = card_file.read_text(encoding="utf-8") if card_file.is_file() else ""
    card_file.write_text(model_card(card, version, kept), encoding="utf-8")
    print(json.dumps(card, indent=2))
    return 0
