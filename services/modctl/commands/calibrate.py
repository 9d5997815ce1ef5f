"""modctl calibrate-relevance: measure relevance on SemEval-2016 3A and ship the hold threshold."""

import argparse
import json
from pathlib import Path
from typing import Any

DEMO = Path(__file__).parents[3] / "examples" / "demo"


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    calibrate = commands.add_parser(
        "calibrate-relevance",
        help="measure relevance on SemEval-2016 task 3A and write the relevance threshold",
    )
    calibrate.add_argument("--data", type=Path, default=Path("../shared/data"))
    calibrate.add_argument("--limit", type=int, default=None, help="answers to sample (all)")
    calibrate.add_argument(
        "--held-share",
        type=float,
        default=0.05,
        help="share of Good answers on their own question the threshold may hold",
    )
    calibrate.add_argument("--output", type=Path, default=None, help="default: the shipped file")
    calibrate.add_argument("--cache", type=Path, default=Path(".data/train-cache"))
    calibrate.add_argument(
        "--compare-base",
        action="store_true",
        help="also measure all-MiniLM-L6-v2 unchanged, as the previous engine read it",
    )
    calibrate.set_defaults(handler=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    # Imported here: torch and scikit-learn are slow to load and other commands don't need them.
    from services.modctl.relevance import (
        cached_embedder,
        card_section,
        demo_check,
        load_pairs,
        news_own_vs_other,
        report,
        score_pairs,
        write_card_section,
    )
    from services.moderation.scoring.relevance import RELEVANCE_FILE, save_calibration

    if args.limit is not None and args.limit < 20:
        raise ValueError(f"--limit {args.limit}: at least 20 answers are needed")
    if not 0.0 < args.held_share < 0.5:
        raise ValueError(f"--held-share {args.held_share}: must be between 0 and 0.5")

    embed = cached_embedder(args.cache)
    questions, pairs = load_pairs(args.data, args.limit)
    result = report(pairs, score_pairs(questions, pairs, embed), args.held_share)
    floor, bonus = result["relevance_floor"], result["shared_group_bonus"]
    assert isinstance(floor, float)
    assert isinstance(bonus, float)
    result["news"] = news_own_vs_other(args.data, embed, bonus)
    if args.compare_base:
        base = cached_embedder(args.cache, base=True)
        measured = report(pairs, score_pairs(questions, pairs, base), args.held_share)
        methods = measured["methods"]
        assert isinstance(methods, dict)
        result["base_model"] = {
            "best_chunk": methods["best_chunk"],
            "news": news_own_vs_other(args.data, base, group_bonus=0.0),
        }
    limit = f" --limit {args.limit}" if args.limit is not None else ""
    compare = " --compare-base" if args.compare_base else ""
    result["command"] = (
        f"modctl calibrate-relevance --data {args.data}{limit} --held-share {args.held_share}"
        + compare
    )
    result["data"] = "SemEval-2016 task 3 subtask A (re-split VAL-BASE + TEST-BASE)"
    result["demo"] = demo_check(DEMO, floor, bonus, embed) if DEMO.is_dir() else []
    output: Path = args.output or RELEVANCE_FILE
    save_calibration(output, result)
    write_card_section(output.with_name("MODEL_CARD.md"), card_section(result))
    print(json.dumps(result, indent=2))
    return 0
