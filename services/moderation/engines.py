"""Loading the engine the worker's settings name: the one place that ties settings to scoring."""

import os

from services.moderation.scoring import Engine
from services.moderation.settings import ModerationSettings

ENGINES = ("embedded", "detoxify")


def load_engine(name: str, settings: ModerationSettings | None = None) -> Engine:
    """The engine named by MODERATION_ENGINE, loaded once at start-up.

    A Detoxify model that cannot be loaded raises `CheckpointError` naming the file.
    """
    # Local files only unless the operator says otherwise; set before transformers is imported,
    # or a failing hub lookup retries for about half a minute.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in JSON logs
    from services.moderation.scoring.memory import limit_growth

    limit_growth()
    settings = settings or ModerationSettings()
    if name == "embedded":
        from services.moderation.scoring.embedded import EmbeddedEngine

        return EmbeddedEngine(
            precision=settings.precision,
            threads=settings.torch_threads,
            models_dir=settings.models_dir,
        )
    if name == "detoxify":
        from services.moderation.scoring.detoxify import DetoxifyEngine

        return DetoxifyEngine(
            settings.detoxify_model,
            settings.detoxify_checkpoint,
            settings.detoxify_config_dir,
            settings.models_dir,
            quantize=settings.detoxify_quantize,
            threads=settings.torch_threads,
            precision=settings.precision,
        )
    raise ValueError(f"MODERATION_ENGINE: unknown engine {name!r} (known: {', '.join(ENGINES)})")
