"""Moderation worker settings (MODERATION_*)."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings
from services.moderation.policy import Policy
from services.moderation.scoring import DEFAULT_MODELS_DIR, Precision


class ModerationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MODERATION_", env_nested_delimiter="__")
    port: int = 8001
    engine: str = "embedded"
    # The Detoxify engine: a local checkpoint (and HF config/tokenizer dir) works offline;
    # without one it uses the model `modctl models import` installed in `models_dir`.
    detoxify_model: Literal[
        "original", "unbiased", "multilingual", "original-small", "unbiased-small"
    ] = "original"
    detoxify_checkpoint: Path | None = None
    detoxify_config_dir: Path | None = None
    # Installed Detoxify checkpoints and the ONNX graphs the engines export once (onnx/):
    # it must be writable, or the embedded engine serves torch (about 1 GB more memory).
    models_dir: Path = DEFAULT_MODELS_DIR
    # The Detoxify model in ONNX Runtime with int8 weights (exported once, cached in
    # models_dir/onnx/): about 3x faster on CPU. At load its scores are checked against the
    # torch model's on fixed probe texts; past 0.02 apart the engine logs it and serves torch.
    detoxify_quantize: bool = False
    # `auto`: bfloat16 where the CPU has the units (AMX, AVX512-BF16) and it is faster than
    # float32 on the probe texts and agrees with it; timed at start-up (precision.py).
    precision: Precision = "auto"
    # "process": the model runs in a child process, so its Python work never holds up the
    # event loop (Kafka, Redis, verdicts); "thread": in the worker's own process (about 80 MB
    # less, one batch at a time).
    inference: Literal["process", "thread"] = "process"
    torch_threads: int | None = Field(default=None, ge=1)  # default: the cores this process may use
    # Kafka consumers of comments.submitted in this process (same group, partitions shared):
    # with the model in its own process, one batch is scored while another is decided and
    # published.
    consumers: int = Field(default=2, ge=1, le=6)
    batch_size: int = Field(default=128, ge=1, le=1000)
    batch_timeout_ms: int = Field(default=50, ge=1)
    decision_ttl_seconds: int = 7 * 24 * 3600  # a week: covers any redelivery
    score_ttl_seconds: int = 24 * 3600  # a day: spam waves repeat within hours
    embedding_ttl_seconds: int = 30 * 24 * 3600
    policy: Policy = Field(default_factory=Policy)
