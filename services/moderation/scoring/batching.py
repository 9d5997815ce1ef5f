"""Cutting a batch of comments into forward passes that are cheap on a CPU.

A transformer pads every text of a pass to the longest one; on a CPU a large padded pass is
slower per comment than scoring one at a time (the attention work grows with the square of the
padded length). Sorting by length and capping the padded tokens of each pass keeps the gain of
batching short comments without paying for padding next to long ones.
"""

from collections.abc import Sequence

MAX_PER_PASS = 32
TOKEN_BUDGET = 1024  # padded tokens per forward pass; measured with `modctl bench scorer`
# ONNX Runtime's int8 passes were fastest at a quarter of that (bert-base shape, 2 cores:
# 256 tokens ~66/s, 1024 ~46/s, 2048 ~32/s at batch 32).
INT8_TOKEN_BUDGET = 256


def token_groups(
    lengths: Sequence[int], budget: int = TOKEN_BUDGET, most: int = MAX_PER_PASS
) -> list[list[int]]:
    """Indexes sorted by length, cut where a group padded to its longest would pass `budget`
    tokens or `most` texts."""
    groups: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if groups and (len(groups[-1]) + 1) * lengths[i] <= budget and len(groups[-1]) < most:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
