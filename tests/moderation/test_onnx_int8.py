"""The Detoxify engine's int8 mode on the tiny checkpoint: ONNX Runtime scores that agree with
torch, an export cached across restarts and rebuilt when damaged, and torch served whenever the
int8 scores disagree."""

import logging
from pathlib import Path

import pytest
import torch

from services.moderation.engines import load_engine
from services.moderation.scoring import CheckpointError, onnx_session
from services.moderation.scoring import onnx_int8 as int8_module
from services.moderation.scoring.detoxify import DetoxifyEngine
from services.moderation.scoring.onnx_int8 import cached_path
from services.moderation.scoring.precision import PROBES
from services.moderation.scoring.registry import sha256_of
from tests.tiny_detoxify import detoxify_settings

TEXTS = ["you stupid idiot", "great article about nato", "", "words " * 400, *PROBES[:4]]


def _engine(tiny: tuple[Path, Path], models_dir: Path, quantize: bool) -> DetoxifyEngine:
    checkpoint, config_dir = tiny
    return DetoxifyEngine(
        checkpoint=checkpoint, config_dir=config_dir, models_dir=models_dir, quantize=quantize
    )


def _cached(tiny: tuple[Path, Path], models_dir: Path) -> Path:
    return cached_path(models_dir, sha256_of(tiny[0]))


def test_int8_engine_scores_through_onnx_and_agrees_with_torch(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = load_engine(
        "detoxify", detoxify_settings(tiny_detoxify, tmp_path, detoxify_quantize=True)
    )
    assert isinstance(fast, DetoxifyEngine)
    assert fast.model_version.endswith("+int8")
    assert fast.int8_max_diff is not None
    assert fast.int8_max_diff <= 0.02
    assert _cached(tiny_detoxify, tmp_path).is_file()
    full = _engine(tiny_detoxify, tmp_path, quantize=False)
    assert "+int8" not in full.model_version
    assert full.int8_max_diff is None
    int8_scores, torch_scores = fast.score_batch(TEXTS), full.score_batch(TEXTS)
    for int8_row, torch_row in zip(int8_scores, torch_scores, strict=True):
        assert list(int8_row) == list(torch_row)
        assert all(abs(int8_row[k] - torch_row[k]) <= 0.02 for k in int8_row)
    # int8 activations are scaled per forward pass, so a text's companions may move its
    # scores a little, never past the agreement limit.
    alone = fast.score_batch(TEXTS[1:2])[0]
    assert all(abs(alone[k] - int8_scores[1][k]) <= 0.02 for k in alone)

    # The scores come from the ONNX session, not from the torch model.
    def no_torch(*args: object, **kwargs: object) -> None:
        raise AssertionError("the torch model ran")

    monkeypatch.setattr(fast.full_precision_model, "forward", no_torch)
    assert fast.score_batch(TEXTS) == int8_scores


def test_a_restart_reuses_the_cached_int8_model(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _engine(tiny_detoxify, tmp_path, quantize=True)
    cached = _cached(tiny_detoxify, tmp_path)
    written = cached.stat().st_mtime_ns

    def no_export(model: torch.nn.Module, target: Path) -> None:
        raise AssertionError(f"exported {target} again")

    monkeypatch.setattr(int8_module, "export_int8", no_export)
    second = _engine(tiny_detoxify, tmp_path, quantize=True)
    assert cached.stat().st_mtime_ns == written
    assert second.model_version == first.model_version
    assert second.score_batch(TEXTS) == first.score_batch(TEXTS)
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no scratch files left


def test_a_corrupt_cached_model_is_rebuilt(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = _engine(tiny_detoxify, tmp_path, quantize=True).score_batch(TEXTS)
    cached = _cached(tiny_detoxify, tmp_path)
    cached.write_bytes(cached.read_bytes()[:3000])
    with caplog.at_level(logging.WARNING, logger=onnx_session.__name__):
        rebuilt = _engine(tiny_detoxify, tmp_path, quantize=True)
    assert f"ONNX graph {cached} does not open" in caplog.text
    assert rebuilt.model_version.endswith("+int8")
    assert rebuilt.score_batch(TEXTS) == good
    assert cached.stat().st_size > 3000


def test_a_model_that_stays_unreadable_names_the_file(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = _cached(tiny_detoxify, tmp_path)

    def broken_export(model: torch.nn.Module, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"not an onnx model")

    monkeypatch.setattr(int8_module, "export_int8", broken_export)
    with pytest.raises(CheckpointError) as raised:
        _engine(tiny_detoxify, tmp_path, quantize=True)
    assert str(raised.value).startswith(
        f"Detoxify checkpoint {cached}: int8 ONNX model does not load"
    )


def test_int8_scores_that_disagree_are_never_served(
    tiny_detoxify: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("services.moderation.scoring.precision.MAX_DISAGREEMENT", -1.0)
    with caplog.at_level(logging.WARNING, logger="services.moderation.scoring.detoxify"):
        fallback = _engine(tiny_detoxify, tmp_path, quantize=True)
    assert fallback.int8_max_diff is not None
    assert f"int8 ONNX scores differ from float32 by up to {fallback.int8_max_diff:.4f}" in (
        caplog.text
    )
    assert "+int8" not in fallback.model_version

    def no_onnx(*args: object) -> None:
        raise AssertionError("the int8 session ran")

    monkeypatch.setattr(int8_module.Int8Classifier, "probabilities", no_onnx)
    full = _engine(tiny_detoxify, tmp_path, quantize=False)
    assert fallback.model_version == full.model_version
    assert fallback.score_batch(TEXTS) == full.score_batch(TEXTS)
