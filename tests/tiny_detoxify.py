"""A tiny checkpoint in Detoxify's format (BERT, 2 layers, hidden 32, 6 labels): tests only.

Random weights: it proves the loading path and the shapes, not the quality of any score.
"""

from pathlib import Path
from typing import Any

from services.modctl.bench.detoxify_shape import build_checkpoint
from services.moderation.settings import ModerationSettings

LABELS = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]


def build_tiny_detoxify(directory: Path) -> tuple[Path, Path]:
    """Writes `tiny.ckpt` and a config dir (config.json, vocab.txt); returns both paths."""
    return build_checkpoint(directory, "tiny")


def detoxify_settings(tiny: tuple[Path, Path], models_dir: Path, **more: Any) -> ModerationSettings:
    """Worker settings for the Detoxify engine on the tiny checkpoint `(checkpoint, config_dir)`."""
    checkpoint, config_dir = tiny
    return ModerationSettings(
        engine="detoxify",
        detoxify_checkpoint=checkpoint,
        detoxify_config_dir=config_dir,
        models_dir=models_dir,
        **more,
    )
