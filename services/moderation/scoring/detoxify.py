"""The Detoxify engine: Detoxify's checkpoints and labels, loaded from local files.

Detoxify's own loader resolves the checkpoint's `model_type` on the Hugging Face hub even when
given a local config, so offline the model is built here: config and tokenizer from a local
directory, weights from the checkpoint's state_dict. Relevance uses the MiniLM embedder, the
same one (loaded once) as the embedded engine.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers

from services.moderation.scoring import CheckpointError, LabelScores, Precision, Vectors
from services.moderation.scoring.batching import INT8_TOKEN_BUDGET, TOKEN_BUDGET, token_groups
from services.moderation.scoring.minilm_torch import embed_texts, load_encoder
from services.moderation.scoring.onnx_int8 import Int8Classifier, load_int8
from services.moderation.scoring.precision import (
    PROBES,
    agrees_with_float32,
    faster_that_agrees,
    wants_bfloat16,
)
from services.moderation.scoring.readout import as_read, as_written
from services.moderation.scoring.registry import read_registry, sha256_of
from services.moderation.scoring.torch_precision import bfloat16_copy, computing_in, use_threads
from services.moderation.textmatch import deobfuscate

# Where Detoxify publishes its weights (from detoxify 0.5.4), for machines with internet.
DOWNLOAD_URL = "https://github.com/unitaryai/detoxify/releases/download/"
MODEL_URLS = {
    "original": DOWNLOAD_URL + "v0.1-alpha/toxic_original-c1212f89.ckpt",
    "unbiased": DOWNLOAD_URL + "v0.3-alpha/toxic_debiased-c7548aa0.ckpt",
    "multilingual": DOWNLOAD_URL + "v0.4-alpha/multilingual_debiased-0b549669.ckpt",
    "original-small": DOWNLOAD_URL + "v0.1.2/original-albert-0e1d6498.ckpt",
    "unbiased-small": DOWNLOAD_URL + "v0.1.2/unbiased-albert-c8519128.ckpt",
}
# Detoxify renames these so every model reports the same labels.
RENAMED = {
    "toxic": "toxicity",
    "severe_toxic": "severe_toxicity",
    "identity_hate": "identity_attack",
}
MODEL_CLASSES = {
    "BertForSequenceClassification",
    "RobertaForSequenceClassification",
    "XLMRobertaForSequenceClassification",
    "AlbertForSequenceClassification",
}
TOKENIZER_CLASSES = {
    "BertTokenizer",
    "RobertaTokenizer",
    "XLMRobertaTokenizer",
    "AlbertTokenizer",
    "AutoTokenizer",
}
MAX_TOKENS = 256


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    classes: list[str]  # Detoxify's label names, in output order
    num_classes: int
    model_type: str
    model_class: str
    tokenizer_class: str
    state_dict: dict[str, torch.Tensor]


def read_checkpoint(path: Path) -> Checkpoint:
    """Load and check a Detoxify-format checkpoint, or raise CheckpointError saying why not.

    torch.load unpickles: only load files from a trusted source.
    """
    if not path.exists():
        raise CheckpointError(path, "file not found")
    if not path.is_file():
        raise CheckpointError(path, "not a file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # unpickling arbitrary bytes can raise almost anything
        raise CheckpointError(
            path, f"not a readable torch checkpoint (corrupt?): {error}"
        ) from error
    return _parse(path, loaded)


def _parse(path: Path, loaded: Any) -> Checkpoint:
    expected = "expected {'config': {'arch': {'args': ...}, 'dataset': ...}, 'state_dict': ...}"
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise CheckpointError(path, f"not in Detoxify's format: {expected}")
    try:
        args = loaded["config"]["arch"]["args"]
        classes = [RENAMED.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
        checkpoint = Checkpoint(
            path=path,
            classes=[str(c) for c in classes],
            num_classes=int(args["num_classes"]),
            model_type=str(args["model_type"]),
            model_class=str(args["model_name"]),
            tokenizer_class=str(args["tokenizer_name"]),
            state_dict=loaded["state_dict"],
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(path, f"not in Detoxify's format: missing {error}") from error
    if checkpoint.model_class not in MODEL_CLASSES:
        raise CheckpointError(path, f"unsupported model class {checkpoint.model_class!r}")
    if checkpoint.tokenizer_class not in TOKENIZER_CLASSES:
        raise CheckpointError(path, f"unsupported tokenizer class {checkpoint.tokenizer_class!r}")
    if not checkpoint.classes or len(checkpoint.classes) > checkpoint.num_classes:
        raise CheckpointError(
            path, f"{len(checkpoint.classes)} class names for {checkpoint.num_classes} outputs"
        )
    if not isinstance(checkpoint.state_dict, dict) or not checkpoint.state_dict:
        raise CheckpointError(path, "empty state_dict")
    return checkpoint


def build_model(checkpoint: Checkpoint, config_dir: Path | None) -> tuple[torch.nn.Module, Any]:
    """The classifier and its tokenizer, with no hub lookup when `config_dir` is given."""
    where = str(config_dir) if config_dir else checkpoint.model_type
    if config_dir is not None and not (config_dir / "config.json").is_file():
        raise CheckpointError(checkpoint.path, f"config dir {config_dir} has no config.json")
    model_class = getattr(transformers, checkpoint.model_class)
    tokenizer_class = getattr(transformers, checkpoint.tokenizer_class)
    local = config_dir is not None or _offline()
    try:
        config = model_class.config_class.from_pretrained(
            where, num_labels=checkpoint.num_classes, local_files_only=local
        )
        tokenizer = tokenizer_class.from_pretrained(where, local_files_only=local)
    except (OSError, ValueError) as error:
        hint = "" if config_dir else " (set MODERATION_DETOXIFY_CONFIG_DIR to a local copy)"
        raise CheckpointError(
            checkpoint.path, f"cannot load config/tokenizer from {where}{hint}: {error}"
        ) from error
    model = model_class(config)
    try:
        result = model.load_state_dict(checkpoint.state_dict, strict=False)
    except RuntimeError as error:
        raise CheckpointError(
            checkpoint.path, f"weights do not fit the config in {where}: {error}"
        ) from error
    if result.missing_keys:
        missing = ", ".join(result.missing_keys[:5])
        raise CheckpointError(checkpoint.path, f"weights missing from state_dict: {missing}")
    model.eval()
    return model, tokenizer


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false")


def resolve_checkpoint(
    model: str, checkpoint: Path | None, config_dir: Path | None, models_dir: Path
) -> tuple[Path, Path | None, str | None]:
    """The checkpoint to load: the setting, else the installed one, else Detoxify's download."""
    if checkpoint is not None:
        return checkpoint, config_dir, None
    installed = read_registry(models_dir).active_model("detoxify")
    if installed is not None:
        path = installed.checkpoint_path(models_dir)
        return path, config_dir or installed.config_path(models_dir), installed.sha256
    if model not in MODEL_URLS:
        known = ", ".join(MODEL_URLS)
        raise CheckpointError(model, f"unknown Detoxify model (known: {known})")
    if _offline():
        raise CheckpointError(
            MODEL_URLS[model],
            "offline and no local checkpoint: set MODERATION_DETOXIFY_CHECKPOINT "
            "or run `modctl models import`",
        )
    try:
        torch.hub.load_state_dict_from_url(
            MODEL_URLS[model], map_location="cpu", weights_only=False
        )
    except Exception as error:  # network errors come in many types
        raise CheckpointError(MODEL_URLS[model], f"download failed: {error}") from error
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(MODEL_URLS[model]).name
    return cached, config_dir, None


class DetoxifyEngine:
    name = "detoxify"

    def __init__(
        self,
        model: str = "original",
        checkpoint: Path | None = None,
        config_dir: Path | None = None,
        models_dir: Path = Path(".data/models"),
        quantize: bool = False,
        threads: int | None = None,
        precision: Precision = "auto",
    ) -> None:
        path, config, digest = resolve_checkpoint(model, checkpoint, config_dir, models_dir)
        loaded = read_checkpoint(path)
        full, self.tokenizer = build_model(loaded, config)
        self.full_precision_model = full  # float32: the reference and the fallback
        self.labels = loaded.classes
        positions = getattr(full.config, "max_position_embeddings", MAX_TOKENS)
        self._max_tokens = min(MAX_TOKENS, int(positions))
        threads = use_threads(threads)
        self._encoder = load_encoder()
        self.bfloat16 = False
        self.bfloat16_difference: float | None = None
        self.probe_seconds: dict[str, float] = {}  # float32 and bfloat16, on PROBES
        if wants_bfloat16(precision) and not quantize:
            self.bfloat16, self.bfloat16_difference, self.probe_seconds = faster_that_agrees(
                precision,
                self.name,
                ("float32", "bfloat16"),
                lambda bf16: self._score(PROBES, bf16, None),
            )
        digest = digest or sha256_of(path)
        self._int8: Int8Classifier | None = None
        self.int8_max_diff: float | None = None  # int8 vs float32 on PROBES, measured at load
        if quantize:
            int8 = load_int8(full, models_dir, digest, threads)
            in_use, self.int8_max_diff = agrees_with_float32(
                "int8 ONNX",
                self.name,
                lambda fast: self._score(PROBES, False, int8 if fast else None),
            )
            self._int8 = int8 if in_use else None
        compute = "+int8" if self._int8 is not None else "+bf16" if self.bfloat16 else ""
        self.model_version = f"detoxify-{model}:{path.name}@sha256:{digest[:12]}{compute}"

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        return self._score(texts, self.bfloat16, self._int8)

    def _score(
        self, texts: Sequence[str], bfloat16: bool, int8: Int8Classifier | None
    ) -> list[LabelScores]:
        """Tokenised once, sorted by length and cut into groups of at most TOKEN_BUDGET padded
        tokens: short comments go through many at a time, long ones a few, and little of any
        forward pass is padding (on CPU a big padded batch is slower than none)."""
        seen = [deobfuscate(t) for t in texts]  # "1d10t" scores as "idiot"
        encoded = self.tokenizer(seen, truncation=True, max_length=self._max_tokens)["input_ids"]
        results: list[LabelScores] = [{} for _ in texts]
        budget = TOKEN_BUDGET if int8 is None else INT8_TOKEN_BUDGET
        for group in token_groups([len(ids) for ids in encoded], budget):
            inputs = self.tokenizer.pad(
                {"input_ids": [encoded[i] for i in group]}, return_tensors="pt"
            )
            if int8 is not None:
                probabilities = int8.probabilities(inputs["input_ids"], inputs["attention_mask"])
            else:
                full = self.full_precision_model
                model = bfloat16_copy(full) if bfloat16 else full
                with computing_in(bfloat16):
                    logits = model(**inputs).logits.float()
                probabilities = torch.sigmoid(logits).tolist()
            for i, row in zip(group, probabilities, strict=True):
                results[i] = {
                    label: round(float(p), 4) for label, p in zip(self.labels, row, strict=False)
                }
        return results

    def embed(self, texts: Sequence[str]) -> Vectors:
        return embed_texts(self._encoder, [as_read(t) for t in texts], self.bfloat16)

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        return embed_texts(self._encoder, [as_written(t) for t in texts], self.bfloat16)
