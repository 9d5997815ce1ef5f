"""`modctl models`: install Detoxify checkpoints into the models directory the engine reads."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

from services.moderation.scoring.detoxify import build_model, read_checkpoint
from services.moderation.scoring.registry import (
    InstalledModel,
    Registry,
    read_registry,
    sha256_of,
    write_registry,
)


def import_checkpoint(source: Path, config_dir: Path | None, models_dir: Path) -> InstalledModel:
    """Check the file, copy it (and its config dir) in by content hash, make it the active model.

    With a config dir the model is built once here, so a checkpoint that does not fit its
    config fails now rather than when the worker starts.
    """
    checkpoint = read_checkpoint(source)
    if config_dir is not None:
        build_model(checkpoint, config_dir)
    digest = sha256_of(source)
    stem = f"{source.stem}-{digest[:12]}"
    name = f"{stem}{source.suffix or '.ckpt'}"
    models_dir.mkdir(parents=True, exist_ok=True)
    _copy_file(source, models_dir / name)
    copied_config = None
    if config_dir is not None:
        copied_config = f"{stem}-config"
        target = models_dir / copied_config
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(config_dir, target)
    installed = InstalledModel(
        name=name,
        engine="detoxify",
        sha256=digest,
        size=source.stat().st_size,
        classes=checkpoint.classes,
        model_class=checkpoint.model_class,
        imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        config_dir=copied_config,
        source=str(source.resolve()),
    )
    registry = read_registry(models_dir)
    write_registry(
        models_dir,
        Registry({**registry.models, name: installed}, {**registry.active, "detoxify": name}),
    )
    return installed


def _copy_file(source: Path, target: Path) -> None:
    """Copied beside the target and renamed, so the engine never reads half a file."""
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    partial.replace(target)


def describe_models(models_dir: Path) -> list[str]:
    registry = read_registry(models_dir)
    if not registry.models:
        return [f"no models installed in {models_dir} (modctl models import CHECKPOINT)"]
    active = set(registry.active.values())
    lines = []
    for name, model in sorted(registry.models.items()):
        mark = "*" if name in active else " "
        lines.append(
            f"{mark} {model.engine:9} {name}  sha256:{model.sha256[:12]}  "
            f"{model.size / 1e6:.1f} MB  {model.model_class}  "
            f"labels={','.join(model.classes)}  config={model.config_dir or '-'}  "
            f"imported {model.imported_at}"
        )
    return lines
