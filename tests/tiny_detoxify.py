"""A tiny checkpoint in Detoxify's format (BERT, 2 layers, hidden 32, 6 labels): tests only.

Random weights: it proves the loading path and the shapes, not the quality of any score.
"""

from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification

CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
LABELS = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
TEXT = (
    "the a you are is and of to in it this that idiot stupid shut your mouth great article "
    "nato europe defence spending ukraine news thanks agree i think we should pay more good"
)
WORDS = TEXT.split(" ")
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]


def build_tiny_detoxify(directory: Path) -> tuple[Path, Path]:
    """Writes `tiny.ckpt` and a config dir (config.json, vocab.txt); returns both paths."""
    config_dir = directory / "tiny-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    config.num_labels = len(CLASSES)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    config.save_pretrained(config_dir)
    (config_dir / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    checkpoint = directory / "tiny.ckpt"
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
