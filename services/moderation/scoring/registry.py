"""Installed model files: a models directory with a small JSON registry the engines read.

`modctl models import` writes it; the Detoxify engine reads it when no checkpoint is set.
"""

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REGISTRY_FILE = "registry.json"


@dataclass(frozen=True)
class InstalledModel:
    name: str  # the checkpoint's file name in the models directory
    engine: str
    sha256: str
    size: int
    classes: list[str]
    model_class: str
    imported_at: str
    config_dir: str | None = None  # relative to the models directory
    source: str | None = None

    def checkpoint_path(self, models_dir: Path) -> Path:
        return models_dir / self.name

    def config_path(self, models_dir: Path) -> Path | None:
        return models_dir / self.config_dir if self.config_dir else None


@dataclass(frozen=True)
class Registry:
    models: dict[str, InstalledModel]
    active: dict[str, str]  # engine -> model name

    def active_model(self, engine: str) -> InstalledModel | None:
        name = self.active.get(engine)
        return self.models.get(name) if name else None


def read_registry(models_dir: Path) -> Registry:
    path = models_dir / REGISTRY_FILE
    if not path.exists():
        return Registry({}, {})
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        models = {name: InstalledModel(**entry) for name, entry in raw["models"].items()}
        return Registry(models, dict(raw["active"]))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"model registry {path} is unreadable: {error}") from error


def write_registry(models_dir: Path, registry: Registry) -> None:
    """Written to a temporary file and renamed, so a reader never sees half a registry."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / REGISTRY_FILE
    body = {
        "models": {name: asdict(model) for name, model in sorted(registry.models.items())},
        "active": registry.active,
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
