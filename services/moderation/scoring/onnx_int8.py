"""Detoxify's classifier in ONNX Runtime with int8 weights: exported once per checkpoint and
cached under the models directory, so a restart loads it in a second instead of re-exporting.

The engine serves it only after an agreement check against float32 (precision.py).
"""

import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from services.moderation.scoring import CheckpointError

log = logging.getLogger(__name__)

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


def open_session(path: Path, threads: int) -> Int8Classifier:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Threads that spin between passes take the cores the worker's event loop and the other
    # services need (as torch's OpenMP threads did: see engine_process.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its own log lines would break JSON logs
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return Int8Classifier(session)


def load_int8(
    model: torch.nn.Module, models_dir: Path, sha256: str, threads: int
) -> Int8Classifier:
    """The cached int8 model of the checkpoint with this sha256, exported first if there is
    none; a cached file that does not load is rebuilt once, then CheckpointError names it."""
    path = cached_path(models_dir, sha256)
    if path.is_file():
        try:
            return open_session(path, threads)
        except Exception as error:  # onnxruntime raises its own types for each kind of damage
            log.warning("int8 model %s does not load (%s): exporting it again", path, error)
    try:
        export_int8(model, path)
    except Exception as error:  # export and quantisation fail in many ways (disk, operators)
        raise CheckpointError(path, f"cannot export the int8 ONNX model: {error}") from error
    try:
        return open_session(path, threads)
    except Exception as error:
        raise CheckpointError(path, f"int8 ONNX model does not load: {error}") from error
