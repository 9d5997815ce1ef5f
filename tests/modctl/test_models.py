"""`modctl models import` and `list`: a checked, hashed copy the Detoxify engine then loads."""

import hashlib
import json
from pathlib import Path

import pytest

from services.modctl.cli import main
from services.moderation.engines import load_engine
from services.moderation.settings import ModerationSettings
from tests.tiny_detoxify import LABELS


def test_import_then_list_then_the_engine_loads_the_installed_model(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, config_dir = tiny_detoxify
    models_dir = tmp_path / "models"
    assert main(["models", "list", "--models-dir", str(models_dir)]) == 0
    assert "no models installed" in capsys.readouterr().out

    args = ["models", "import", str(checkpoint), "--config-dir", str(config_dir)]
    assert main([*args, "--models-dir", str(models_dir)]) == 0
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert digest in capsys.readouterr().out

    registry = json.loads((models_dir / "registry.json").read_text())
    name = registry["active"]["detoxify"]
    installed = registry["models"][name]
    assert installed["sha256"] == digest
    assert (models_dir / name).read_bytes() == checkpoint.read_bytes()
    assert (models_dir / installed["config_dir"] / "vocab.txt").is_file()

    assert main(["models", "list", "--models-dir", str(models_dir)]) == 0
    listed = capsys.readouterr().out
    assert f"* detoxify  {name}  sha256:{digest[:12]}" in listed
    assert "labels=toxicity,severe_toxicity" in listed

    # No checkpoint or config dir in the settings: the engine takes the installed one.
    engine = load_engine("detoxify", ModerationSettings(models_dir=models_dir))
    assert list(engine.score_batch(["you idiot"])[0]) == LABELS
    assert f"@sha256:{digest[:12]}" in engine.model_version


def test_a_bad_file_is_refused_with_its_path_and_nothing_is_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    models_dir = tmp_path / "models"
    assert main(["models", "import", str(bad), "--models-dir", str(models_dir)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"modctl models: Detoxify checkpoint {bad}: not a readable")
    assert not (models_dir / "registry.json").exists()


def test_the_models_dir_comes_from_the_environment(
    tiny_detoxify: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MODERATION_MODELS_DIR", str(tmp_path / "env-models"))
    assert main(["models", "import", str(tiny_detoxify[0])]) == 0
    assert "MODERATION_DETOXIFY_CONFIG_DIR" in capsys.readouterr().out  # no config dir given
    assert (tmp_path / "env-models" / "registry.json").is_file()
