"""The bare encoder: all-MiniLM-L6-v2's forward pass in transformers, float32, mean pooling,
truncated at the model's 256 word pieces, and nothing else (no reading of the text, no head,
no lexical model). Its speed on the benchmark's texts is the model's own limit on this
machine, which the scorer is measured against (`encoder_cps`)."""

import time
from collections.abc import Callable, Sequence

from services.modctl.bench.rates import Rate

PASS = 32  # texts per pass when passes are cut by count


def encoder_rates(texts: list[str], threads: int | None = None) -> list[Rate]:
    """Two ways of cutting the texts into passes, each timed after a warm-up pass: sorted by
    length in passes of 32, and sorted by length under the scorer's padded-token budget.
    The faster is the encoder's figure."""
    import torch

    from services.moderation.scoring.batching import token_groups
    from services.moderation.scoring.finetuned import mean_pool
    from services.moderation.scoring.minilm_torch import load_encoder
    from services.moderation.scoring.torch_precision import use_threads

    use_threads(threads)
    encoder = load_encoder()

    def forward(batch: Sequence[str]) -> None:
        features = encoder.tokenizer(
            list(batch),
            padding=True,
            truncation=True,
            max_length=encoder.max_tokens,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = encoder.model(**features).last_hidden_state
            mean_pool(hidden, features["attention_mask"])

    def by_count(batch: Sequence[str]) -> None:
        ordered = sorted(batch, key=len)
        for i in range(0, len(ordered), PASS):
            forward(ordered[i : i + PASS])

    def by_budget(batch: Sequence[str]) -> None:
        ids = encoder.tokenizer(list(batch), truncation=True, max_length=encoder.max_tokens)
        for group in token_groups([len(i) for i in ids["input_ids"]]):
            forward([batch[i] for i in group])

    return [
        timed("encoder, passes of 32", by_count, texts),
        timed("encoder, token budget", by_budget, texts),
    ]


def timed(name: str, work: Callable[[Sequence[str]], None], texts: list[str]) -> Rate:
    work(texts[:PASS])  # warm-up
    started = time.perf_counter()
    work(texts)
    return Rate(name, PASS, len(texts), time.perf_counter() - started)


def best(rates: Sequence[Rate]) -> Rate:
    return max(rates, key=lambda r: r.per_second)
