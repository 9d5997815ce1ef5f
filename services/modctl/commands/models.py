"""modctl models: install and list the model files the scoring engines load offline."""

import argparse
import json
from pathlib import Path
from typing import Any


def register(commands: "argparse._SubParsersAction[Any]") -> None:
    models = commands.add_parser("models", help="install and list scoring models")
    actions = models.add_subparsers(dest="action", required=True)
    install = actions.add_parser(
        "import", help="check a Detoxify checkpoint, copy it in and make it the engine's model"
    )
    install.add_argument("checkpoint", type=Path)
    install.add_argument(
        "--config-dir", type=Path, default=None, help="local HF config.json + tokenizer files"
    )
    install.add_argument("--models-dir", type=Path, default=None)
    install.set_defaults(handler=cmd_import)
    listing = actions.add_parser("list", help="installed models; * marks the active one")
    listing.add_argument("--models-dir", type=Path, default=None)
    listing.set_defaults(handler=cmd_list)
    probe = actions.add_parser(
        "probe", help="identity-term bias probe of an engine's toxicity (bias madlibs)"
    )
    probe.add_argument("--engine", default="embedded", help="embedded or detoxify")
    probe.add_argument("--data", type=Path, default=Path("../shared/data"))
    probe.add_argument(
        "--frames", type=int, default=16, help="frames per madlibs template (0: all of them)"
    )
    probe.add_argument("--threshold", type=float, default=None, help="default: the hold threshold")
    probe.add_argument("--worst", type=int, default=10, help="terms listed")
    probe.add_argument("--json", type=Path, default=None, help="also write the figures here")
    probe.set_defaults(handler=cmd_probe)


def _models_dir(args: argparse.Namespace) -> Path:
    from services.moderation.settings import ModerationSettings

    chosen: Path = args.models_dir or ModerationSettings().models_dir
    return chosen


def cmd_import(args: argparse.Namespace) -> int:
    # Imported here: loading torch is slow and other commands don't need it.
    from services.modctl.models import import_checkpoint

    models_dir = _models_dir(args)
    installed = import_checkpoint(args.checkpoint, args.config_dir, models_dir)
    print(
        f"installed {installed.name} (sha256 {installed.sha256}) in {models_dir}; "
        f"labels: {', '.join(installed.classes)}; active for MODERATION_ENGINE=detoxify"
    )
    if installed.config_dir is None:
        print(
            "no --config-dir: the worker needs MODERATION_DETOXIFY_CONFIG_DIR or the "
            "Hugging Face cache to hold the model's config and tokenizer"
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from services.modctl.models import describe_models

    for line in describe_models(_models_dir(args)):
        print(line)
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from services.modctl.bias_probe import MADLIBS, as_dict, load_frames, run_probe, table
    from services.moderation.engines import load_engine
    from services.moderation.policy import Policy
    from services.moderation.scoring.precision import describe_check

    frames = load_frames(args.data / MADLIBS, args.frames)
    threshold = args.threshold
    if threshold is None:
        threshold = Policy().thresholds["toxicity"].review
    engine = load_engine(args.engine)
    result = run_probe(
        frames, lambda texts: [s["toxicity"] for s in engine.score_batch(texts)], threshold
    )
    print(f"{engine.model_version}: toxicity on the bias madlibs templates")
    int8_max_diff = getattr(engine, "int8_max_diff", None)  # Detoxify with int8 asked for
    if int8_max_diff is not None:
        in_use = engine.model_version.endswith("+int8")
        print(describe_check("int8 ONNX", int8_max_diff, in_use))
    for line in table(result, args.worst):
        print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(as_dict(result, args.worst), indent=2) + "\n")
    return 0
