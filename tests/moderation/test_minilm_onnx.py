"""The embedded engine's float32 runtime: the fine-tuned MiniLM exported to ONNX, served
without torch, scoring as torch does."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from services.moderation.scoring import embedded
from services.moderation.scoring.embedded import EmbeddedEngine, torch_runtime
from services.moderation.scoring.minilm_onnx import graph_path, load_tokenizer
from services.moderation.scoring.minilm_torch import load_encoder
from services.moderation.scoring.precision import max_difference
from services.moderation.scoring.weights_info import WEIGHTS_FILE, read_info

TEXTS = [
    "You stupid idiot, shut your mouth",
    "Thanks for the careful reporting on the council budget.",
    "I will find you and hurt you",
    "The council should publish the contract, line by line, before the vote. " * 30,
]


def test_the_tokenizer_reads_as_transformers_does_and_truncates_at_the_model_length() -> None:
    reference = load_encoder().tokenizer
    ids = [t.ids for t in load_tokenizer().encode_batch(TEXTS)]
    expected = reference(TEXTS, truncation=True, max_length=load_encoder().max_tokens)
    assert ids == expected["input_ids"]
    assert len(ids[-1]) == load_encoder().max_tokens


def test_onnx_scores_and_embeddings_match_torch_float32() -> None:
    served = EmbeddedEngine(precision="float32")
    assert served.runtime == "onnx float32"
    assert not served.bfloat16
    reference = torch_runtime(WEIGHTS_FILE, threads=2, bfloat16=False)
    expected = served._score(TEXTS, reference)
    assert max_difference(served.score_batch(TEXTS), expected) <= 0.001
    torch_vectors = reference.encode(TEXTS).embeddings
    onnx_vectors = served._runtime.encode(TEXTS).embeddings
    assert np.allclose(onnx_vectors, torch_vectors, atol=1e-4)


def test_the_serving_process_does_not_import_torch() -> None:
    script = (
        "import json, sys\n"
        "from services.moderation.engines import load_engine\n"
        "engine = load_engine('embedded')\n"
        "engine.score_batch(['You idiot']); engine.embed(['An article paragraph.'])\n"
        "print(json.dumps([engine.runtime, sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('torch', 'transformers'))]))\n"
    )
    env = {"MODERATION_PRECISION": "float32", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    runtime, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert runtime == "onnx float32"
    assert imported == []


def test_a_damaged_cached_graph_is_exported_again(tmp_path: Path) -> None:
    graph = graph_path(tmp_path, read_info())
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"not an onnx graph")
    engine = EmbeddedEngine(precision="float32", models_dir=tmp_path)
    assert engine.runtime == "onnx float32"
    assert graph.stat().st_size > 1_000_000
    assert engine.score_batch(["You stupid idiot"])[0]["toxicity"] > 0.9


def test_auto_times_both_runtimes_and_serves_the_faster_one_that_agrees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embedded, "wants_bfloat16", lambda precision: True)
    engine = EmbeddedEngine(precision="auto")
    timings = engine.probe_seconds
    assert set(timings) == {"onnx float32", "torch bfloat16"}
    assert engine.bfloat16_difference is not None
    assert engine.bfloat16_difference <= 0.02
    assert engine.runtime == min(timings, key=lambda name: timings[name])
    assert engine.bfloat16 == (engine.runtime == "torch bfloat16")


def test_auto_refuses_a_faster_runtime_that_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.moderation.scoring import precision

    monkeypatch.setattr(embedded, "wants_bfloat16", lambda precision: True)
    monkeypatch.setattr(precision, "MAX_DISAGREEMENT", -1.0)  # any difference is too much
    engine = EmbeddedEngine(precision="auto")
    assert engine.runtime == "onnx float32"
    assert set(engine.probe_seconds) == {"onnx float32", "torch bfloat16"}
