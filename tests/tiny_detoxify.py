"""A tiny checkpoint in Detoxify's format (BERT, 2 layers, hidden 32, 6 labels): tests only.

Random weights: it proves the loading path and the shapes, not the quality of any score.
"""

from pathlib import Path

from services.modctl.bench.detoxify_shape import build_checkpoint

LABELS = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]


def build_tiny_detoxify(directory: Path) -> tuple[Path, Path]:
    """Writes `tiny.ckpt` and a config dir (config.json, vocab.txt); returns both paths."""
    return build_checkpoint(directory, "tiny")
