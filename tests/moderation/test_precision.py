"""bfloat16 where the CPU has the units for it, and only when its scores agree with float32."""

from pathlib import Path

import pytest

from services.moderation.scoring import precision
from services.moderation.scoring.detoxify import DetoxifyEngine
from services.moderation.scoring.embedded import EmbeddedEngine
from services.moderation.scoring.precision import max_difference, wants_bfloat16

TEXTS = [
    "You stupid idiot, shut your mouth",
    "Thanks for the careful reporting on the council budget.",
    "I will find you and hurt you",
    "The council should publish the contract. " * 20,
]


def test_auto_picks_bfloat16_only_where_the_cpu_has_bfloat16_units() -> None:
    assert wants_bfloat16("auto", {"avx2", "amx_bf16"})
    assert wants_bfloat16("auto", {"avx512f", "avx512_bf16"})
    assert not wants_bfloat16("auto", {"avx2", "avx512f"})
    assert not wants_bfloat16("float32", {"amx_bf16"})
    assert wants_bfloat16("bfloat16", set())


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n", encoding="utf-8")
    assert precision.cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert precision.cpu_flags(tmp_path / "missing") == set()


def test_embedded_bfloat16_scores_agree_with_float32() -> None:
    full = EmbeddedEngine(precision="float32")
    fast = EmbeddedEngine(precision="bfloat16")
    assert fast.bfloat16
    assert not full.bfloat16
    assert fast.model_version == full.model_version + "+bf16"
    assert max_difference(full.score_batch(TEXTS), fast.score_batch(TEXTS)) <= 0.02
    cosines = (full.embed(TEXTS) * fast.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.999


def test_disagreeing_bfloat16_falls_back_to_float32(
    monkeypatch: pytest.MonkeyPatch, tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    monkeypatch.setattr(precision, "MAX_DISAGREEMENT", -1.0)  # any difference is too much
    embedded = EmbeddedEngine(precision="bfloat16")
    assert not embedded.bfloat16
    assert not embedded.model_version.endswith("+bf16")
    checkpoint, config_dir = tiny_detoxify
    detoxify = DetoxifyEngine(
        checkpoint=checkpoint, config_dir=config_dir, models_dir=tmp_path, precision="bfloat16"
    )
    assert not detoxify.bfloat16
    assert "+bf16" not in detoxify.model_version


def test_detoxify_auto_serves_bfloat16_only_where_it_was_faster_on_the_probes(
    monkeypatch: pytest.MonkeyPatch, tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    from services.moderation.scoring import detoxify

    monkeypatch.setattr(detoxify, "wants_bfloat16", lambda precision: True)
    checkpoint, config_dir = tiny_detoxify
    engine = DetoxifyEngine(
        checkpoint=checkpoint, config_dir=config_dir, models_dir=tmp_path, precision="auto"
    )
    timings = engine.probe_seconds
    assert set(timings) == {"float32", "bfloat16"}
    assert engine.bfloat16 == (timings["bfloat16"] < timings["float32"])
    assert engine.model_version.endswith("+bf16") == engine.bfloat16


def test_detoxify_bfloat16_scores_agree_with_float32(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoint, config_dir = tiny_detoxify
    engines = [
        DetoxifyEngine(
            checkpoint=checkpoint, config_dir=config_dir, models_dir=tmp_path, precision=p
        )
        for p in ("float32", "bfloat16")
    ]
    full, fast = engines
    assert fast.bfloat16
    assert fast.model_version.endswith("+bf16")
    assert max_difference(full.score_batch(TEXTS), fast.score_batch(TEXTS)) <= 0.02
