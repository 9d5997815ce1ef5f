"""Detoxify's classifier in ONNX Runtime with int8 weights: exported once per checkpoint and
cached under the models directory, so a restart loads it in a second instead of re-exporting.

The engine serves it only after an agreement check against float32 (precision.py).
"""

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from services.moderation.scoring import CheckpointError
from services.moderation.scoring.onnx_session import cpu_session, open_or_export

OPSET = 17


class _Logits(torch.nn.Module):
    """The classifier called with keywords: HF models called positionally take the second
    tensor for another argument ("multiple values for argument use_cache")."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


class Int8Classifier:
    """Sigmoid probabilities from the int8 session, one row per text."""

    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self._session = session

    def probabilities(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> list[list[float]]:
        feed = {
            "input_ids": input_ids.numpy().astype(np.int64),
            "attention_mask": attention_mask.numpy().astype(np.int64),
        }
        logits = np.asarray(self._session.run(["logits"], feed)[0], dtype=np.float64)
        rows: list[list[float]] = (1.0 / (1.0 + np.exp(-logits))).tolist()
        return rows


def cached_path(models_dir: Path, sha256: str) -> Path:
    return models_dir / "onnx" / f"{sha256[:16]}-int8.onnx"


def export_int8(model: torch.nn.Module, target: Path) -> None:
    """fp32 ONNX export, then int8 weights per output channel; both written in a scratch dir
    beside `target` and renamed into place, so a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # The wrapper is in eval mode: export puts the wrapper back in the mode it found it in,
    # recursively, and a fresh module is in training mode (dropout on in the torch model).
    wrapper = _Logits(model).eval()
    # Padding in the example, so the traced graph keeps the attention mask.
    input_ids = torch.ones((2, 8), dtype=torch.long)
    attention_mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    dynamic = {0: "batch", 1: "sequence"}
    axes = {"input_ids": dynamic, "attention_mask": dynamic, "logits": {0: "batch"}}
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        fp32, int8 = Path(scratch) / "fp32.onnx", Path(scratch) / "int8.onnx"
        # The TorchScript exporter warns that it is deprecated and that a traced shape check
        # is a constant; for BERT-family classifiers with a padded example neither matters,
        # and the agreement check at load catches a graph that does not generalise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                (input_ids, attention_mask),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(int8, target)


def load_int8(
    model: torch.nn.Module, models_dir: Path, sha256: str, threads: int
) -> Int8Classifier:
    """The cached int8 model of the checkpoint with this sha256, exported first if there is
    none (onnx_session.py); CheckpointError names a file that cannot be made or opened."""
    path = cached_path(models_dir, sha256)

    def export() -> None:
        try:
            export_int8(model, path)
        except Exception as error:  # export and quantisation fail in many ways (disk, operators)
            raise CheckpointError(path, f"cannot export the int8 ONNX model: {error}") from error

    try:
        return open_or_export(path, lambda p: Int8Classifier(cpu_session(p, threads)), export)
    except CheckpointError:
        raise
    except Exception as error:
        raise CheckpointError(path, f"int8 ONNX model does not load: {error}") from error
