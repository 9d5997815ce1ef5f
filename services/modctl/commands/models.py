"""modctl models: install and list the model files the scoring engines load offline."""

import argparse
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
