"""The Detoxify engine on a tiny checkpoint in Detoxify's format: offline load, batch scores, and
one clear error for each way a checkpoint file can be wrong."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from services.moderation.engines import load_engine
from services.moderation.scoring import CheckpointError
from services.moderation.scoring.detoxify import DetoxifyEngine
from tests.tiny_detoxify import LABELS, detoxify_settings


def test_loads_offline_and_scores_a_batch_with_detoxify_labels(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    # float32: bfloat16 rounding may move the 4th decimal with the batch
    settings = detoxify_settings(tiny_detoxify, tmp_path, precision="float32")
    engine = load_engine("detoxify", settings)
    texts = ["you stupid idiot", "great article about nato", "", "words " * 400]
    scores = engine.score_batch(texts)
    assert len(scores) == len(texts)
    for row in scores:
        assert list(row) == LABELS
        assert all(0.0 <= p <= 1.0 for p in row.values())
    assert engine.score_batch(texts[1:2]) == scores[1:2]  # order and batching don't change scores
    assert engine.name == "detoxify"
    assert "tiny.ckpt@sha256:" in engine.model_version
    vectors = engine.embed(["NATO allies", "Europe defence"])
    assert vectors.shape == (2, 384)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4


def _error(checkpoint: Path, config_dir: Path, models_dir: Path) -> str:
    with pytest.raises(CheckpointError) as raised:
        DetoxifyEngine(checkpoint=checkpoint, config_dir=config_dir, models_dir=models_dir)
    return str(raised.value)


def test_a_missing_checkpoint_names_the_path(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.ckpt"
    message = _error(missing, tiny_detoxify[1], tmp_path)
    assert message == f"Detoxify checkpoint {missing}: file not found"


def _other_format(path: Path, tiny: Path) -> None:
    torch.save({"weights": torch.zeros(2)}, path)


def _truncated(path: Path, tiny: Path) -> None:
    path.write_bytes(tiny.read_bytes()[:5000])


def _not_a_dict(path: Path, tiny: Path) -> None:
    torch.save("a string, not a model", path)


def _garbage(path: Path, tiny: Path) -> None:
    path.write_bytes(b"\x89PNG not a checkpoint at all")


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (_other_format, "not in Detoxify's format"),
        (_truncated, "not a readable torch checkpoint (corrupt?)"),
        (_not_a_dict, "not in Detoxify's format"),
        (_garbage, "not a readable torch checkpoint (corrupt?)"),
    ],
)
def test_a_wrong_or_corrupt_file_names_the_path_and_the_problem(
    write: Callable[[Path, Path], None],
    problem: str,
    tiny_detoxify: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.ckpt"
    write(bad, tiny_detoxify[0])
    assert _error(bad, tiny_detoxify[1], tmp_path).startswith(
        f"Detoxify checkpoint {bad}: {problem}"
    )


def test_weights_that_do_not_fit_the_config_are_reported(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    loaded = torch.load(tiny_detoxify[0], weights_only=False)
    loaded["state_dict"]["classifier.weight"] = torch.zeros(6, 48)
    misfit = tmp_path / "misfit.ckpt"
    torch.save(loaded, misfit)
    assert "weights do not fit the config" in _error(misfit, tiny_detoxify[1], tmp_path)


def test_offline_without_a_checkpoint_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="modctl models import"):
        DetoxifyEngine(models_dir=tmp_path)


def test_scores_match_detoxify_own_predict(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path
) -> None:
    """Same weights through Detoxify's own loader (its model_type pointed at the local config)."""
    from detoxify import Detoxify
    from detoxify.detoxify import MODEL_URLS as DETOXIFY_URLS

    from services.moderation.scoring.detoxify import MODEL_URLS

    checkpoint, config_dir = tiny_detoxify
    loaded = torch.load(checkpoint, weights_only=False)
    loaded["config"]["arch"]["args"]["model_type"] = str(config_dir)
    local = tmp_path / "local.ckpt"
    torch.save(loaded, local)
    reference = Detoxify(checkpoint=str(local), huggingface_config_path=str(config_dir))
    texts = ["you stupid idiot", "great article about nato and europe"]
    expected = reference.predict(texts)
    ours = DetoxifyEngine(checkpoint=checkpoint, config_dir=config_dir, models_dir=tmp_path)
    for i, row in enumerate(ours.score_batch(texts)):
        for label, p in row.items():
            assert p == pytest.approx(expected[label][i], abs=1e-4)
    assert MODEL_URLS == DETOXIFY_URLS
