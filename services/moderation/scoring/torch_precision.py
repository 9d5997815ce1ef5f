"""torch's side of precision.py: bfloat16 copies of a model, the autocast context, and the
number of threads torch computes with. Only the torch runtimes import it."""

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import torch


@cache
def bfloat16_copy(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with its linear layers' weights in bfloat16, made once per model. Run under
    `computing_in`: autocast then has no weight to cast on each pass (~10% of the pass time),
    and keeps layer norms and softmax in float32, which halves the score difference of a
    model cast to bfloat16 throughout. The float32 model stays as reference and fallback."""
    linear = {
        id(p) for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters()
    }
    # Everything but the linear layers (embeddings, norms) is shared with `model`, not copied.
    shared: dict[int, Any] = {id(p): p for p in model.parameters() if id(p) not in linear}
    fast = copy.deepcopy(model, memo=shared).eval()
    for module in fast.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)
    return fast


@contextmanager
def computing_in(bfloat16: bool) -> Iterator[None]:
    """torch inference, in bfloat16 autocast when asked."""
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bfloat16):
        yield


def use_threads(threads: int | None) -> int:
    """torch's intra-op threads, said explicitly: its default counts every core of the host,
    which oversubscribes a container or a CPU-pinned worker. Default: the cores this process
    may use."""
    threads = threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    return threads
