"""modctl train: the embedded engine's fine-tuned model, from a folder of labeled data."""

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    train = commands.add_parser(
        "train", help="fine-tune the embedded engine's model on labeled data and measure it"
    )
    train.add_argument("--data", type=Path, default=Path("../shared/data"))
    train.add_argument(
        "--scale", type=float, default=1.0, help="share of each source's quota to train on"
    )
    train.add_argument("--epochs", type=float, default=1.0)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--output", type=Path, default=None, help="weights file; default: the shipped one"
    )
    train.add_argument(
        "--feedback",
        action="store_true",
        help="add the suggested scores on feedback.suggested (Perspective's suggestscore)",
    )
    train.add_argument("--feedback-tenant", help="only this tenant's suggestions")
    train.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an earlier engine's scores of the evaluation texts, compared in the card",
    )
    train.add_argument(
        "--evaluate-only",
        action="store_true",
        help="measure the weights at --output and rewrite the card, without training",
    )
    train.add_argument(
        "--probe-frames",
        type=int,
        default=0,
        help="bias probe frames per madlibs template (default 0: all of them)",
    )
    train.add_argument(
        "--leave-out",
        metavar="SOURCE",
        help="hold this training source out whole and measure the model on it (needs --output)",
    )
    train.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    # Imported here: torch and scikit-learn are slow to load and other commands don't need them.
    from services.modctl.bias_probe import MADLIBS, as_dict, load_frames, run_probe
    from services.modctl.evaluate import NEWS_VALIDATION, evaluation_sets, score_all
    from services.modctl.finetune import Recipe
    from services.modctl.train import (
        choose_thresholds,
        model_card,
        quality_table,
        read_baseline,
        train_weights,
    )
    from services.modctl.training_data import load_splits
    from services.moderation.scoring.embedded import EmbeddedEngine
    from services.moderation.scoring.finetuned import load_finetuned
    from services.moderation.scoring.thresholds import THRESHOLDS_FILE, save_thresholds
    from services.moderation.scoring.weights_info import WEIGHTS_FILE
    from services.moderation.settings import ModerationSettings

    if not args.data.is_dir():
        raise ValueError(f"--data {args.data}: not a directory")
    if not 0.0 < args.scale <= 1.0:
        raise ValueError(f"--scale {args.scale}: must be in (0, 1]")
    if args.leave_out and args.output is None:
        raise ValueError("--leave-out: give --output, so the shipped weights are not replaced")
    output: Path = args.output or WEIGHTS_FILE
    splits = load_splits(args.data, args.scale, args.seed, args.leave_out)
    if args.feedback:
        from services.modctl.feedback import add_feedback

        splits = replace(splits, training=add_feedback(splits.training, args.feedback_tenant))
    recipe = Recipe(epochs=args.epochs, seed=args.seed)
    minutes = None
    if args.evaluate_only:
        version = load_finetuned(output).version
    else:
        version = datetime.now(UTC).strftime("minilm-tox-%Y%m%d")
        minutes = round(train_weights(splits, recipe, output, version, _progress), 1)
        print(f"trained {version} in {minutes} minutes: {output}", file=sys.stderr)
    engine = EmbeddedEngine(
        precision="float32", weights=output, models_dir=ModerationSettings().models_dir
    )
    baseline = read_baseline(args.baseline) if args.baseline else None
    sets = evaluation_sets(splits)
    quality, scored = quality_table(sets, engine.score_batch, baseline[1] if baseline else None)
    published = score_all(engine.score_batch, [e.text for e in splits.nyt_published])
    chosen = choose_thresholds(sets[NEWS_VALIDATION], scored[NEWS_VALIDATION], published)
    command = f"modctl train --data {args.data}"
    if args.scale != 1.0:
        command += f" --scale {args.scale}"
    if args.epochs != 1.0:
        command += f" --epochs {args.epochs}"
    if args.leave_out:
        command += f" --leave-out {args.leave_out}"
    if args.feedback:
        command += " --feedback" + (
            f" --feedback-tenant {args.feedback_tenant}" * bool(args.feedback_tenant)
        )
    card: dict[str, object] = {
        "version": version,
        "command": command,
        "train_minutes": minutes,
        "cores": len(os.sched_getaffinity(0)),
        "recipe": str(recipe),
        "texts": len(splits.training),
        "texts_by_source": {
            s: sum(e.source == s for e in splits.training)
            for s in sorted({e.source for e in splits.training})
        },
        "quality": quality,
        "thresholds": chosen,
        "baseline_version": baseline[0] if baseline else None,
    }
    if (args.data / MADLIBS).is_file():
        frames = load_frames(args.data / MADLIBS, args.probe_frames)
        review = chosen["thresholds"]["toxicity"]["review"]  # type: ignore[index]
        result = run_probe(
            frames,
            lambda texts: [s["toxicity"] for s in score_all(engine.score_batch, texts)],
            review,
        )
        card["bias_probe"] = as_dict(result)
    save_thresholds(output.with_name(THRESHOLDS_FILE.name), chosen)
    card_file = output.with_name("MODEL_CARD.md")
    kept = card_file.read_text(encoding="utf-8") if card_file.is_file() else ""
    card_file.write_text(model_card(card, kept), encoding="utf-8")
    print(json.dumps(card, indent=2))
    return 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
