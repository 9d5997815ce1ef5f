"""Writes the fine-tuned MiniLM as an ONNX graph (float32), checked against torch before it
is used. Run as its own process by minilm_onnx.py, so the process that serves never imports
torch:

    python -m services.moderation.scoring.minilm_export WEIGHTS TARGET
"""

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from services.moderation.scoring.minilm_torch import encode, load_encoder, pooled_and_logits
from services.moderation.scoring.precision import PROBES
from services.moderation.scoring.readout import as_read

OPSET = 17
MAX_DIFFERENCE = 1e-3  # largest |logit| or embedding difference from torch the graph may have


def export(weights: Path, target: Path) -> None:
    """Exports into a scratch file beside `target`, compares it with torch on the probe
    texts, and only then renames it into place: a reader never sees half a file or a graph
    that computes something else."""
    from services.moderation.scoring.minilm_onnx import OnnxEncoder

    encoder = load_encoder(weights)
    module = pooled_and_logits(encoder)
    # Padding in the example, so the traced graph keeps the attention mask.
    input_ids = torch.ones((2, 8), dtype=torch.long)
    attention_mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    dynamic = {0: "batch", 1: "sequence"}
    axes = {"input_ids": dynamic, "attention_mask": dynamic, "pooled": {0: "batch"}}
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        graph = Path(scratch) / target.name
        # The TorchScript exporter warns that it is deprecated and that traced shape checks
        # are constants; the comparison below catches a graph that does not generalise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (input_ids, attention_mask),
                str(graph),
                input_names=["input_ids", "attention_mask"],
                output_names=["pooled", "logits"],
                dynamic_axes=axes | {"logits": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        texts = [as_read(t) for t in PROBES]
        expected = encode(encoder, texts)
        found = OnnxEncoder(graph, threads=1).encode(texts)
        difference = max(
            float(np.abs(expected.logits - found.logits).max()),
            float(np.abs(expected.embeddings - found.embeddings).max()),
        )
        if difference > MAX_DIFFERENCE:
            raise RuntimeError(
                f"the exported graph differs from torch by {difference:.2e} "
                f"(limit {MAX_DIFFERENCE:g}) on the probe texts"
            )
        graph.replace(target)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(
            "usage: python -m services.moderation.scoring.minilm_export WEIGHTS TARGET\n"
        )
        return 2
    export(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
