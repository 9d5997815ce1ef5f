"""The engine in a child process: the same numbers as in the worker's own, load errors and
a dead child reported in the worker, and a fresh child for the next request."""

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.modctl.bench.procstats import own_usage
from services.moderation.analysis import run_engine
from services.moderation.engine_process import EngineProcess, InferenceProcessDied
from services.moderation.scoring import CheckpointError, Engine
from services.moderation.settings import ModerationSettings
from tests.processes import wait_for

COMMENTS = {"calm": "The council should publish the budget.", "rude": "You are an idiot."}
ARTICLE = ["Council budget", "The council met on Tuesday to agree next year's budget."]


@pytest.fixture(scope="module")
def child() -> Iterator[EngineProcess]:
    process = EngineProcess(ModerationSettings())
    yield process
    process.close()


def test_scores_and_vectors_match_the_engine_in_this_process(
    child: EngineProcess, engine: Engine
) -> None:
    assert (child.name, child.model_version) == (engine.name, engine.model_version)
    there = child.run_engine(COMMENTS, {"article": ARTICLE}, {"parent": "I agree."})
    here = run_engine(engine, COMMENTS, {"article": ARTICLE}, {"parent": "I agree."})
    for key in COMMENTS:
        for label, score in here.analyses[key].toxicity.items():
            assert there.analyses[key].toxicity[label] == pytest.approx(score, abs=1e-3)
        np.testing.assert_allclose(
            there.analyses[key].embedding, here.analyses[key].embedding, atol=1e-3
        )
    np.testing.assert_allclose(there.articles["article"], here.articles["article"], atol=1e-3)
    np.testing.assert_allclose(there.contexts["parent"], here.contexts["parent"], atol=1e-3)
    assert child.embed(["Hello."]).shape == (1, 384)
    assert child.score_batch(["Hello."])[0].keys() == here.analyses["calm"].toxicity.keys()


def test_a_child_killed_between_requests_is_replaced(child: EngineProcess) -> None:
    first = child.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    # Replaced without a request asking for it.
    wait_for(lambda: (child.alive() and child.pid != first) or None, timeout=60, what="a new child")
    assert child.embed(["Still here?"]).shape == (1, 384)


def test_a_child_killed_during_a_request_fails_that_request_only(child: EngineProcess) -> None:
    long_texts = [" ".join(["word"] * 200) + f" {i}" for i in range(3000)]
    errors: list[BaseException] = []

    def request() -> None:
        try:
            child.embed(long_texts)
        except BaseException as error:
            errors.append(error)

    pid = child.pid
    assert pid is not None
    idle = own_usage(pid).cpu_seconds
    busy = threading.Thread(target=request)
    busy.start()
    # An idle child uses no CPU: a fifth of a second of it means the request is being served.
    wait_for(
        lambda: own_usage(pid).cpu_seconds > idle + 0.2 or None, timeout=10, what="the request"
    )
    os.kill(pid, signal.SIGKILL)
    busy.join(timeout=60)
    assert len(errors) == 1
    assert isinstance(errors[0], InferenceProcessDied)
    assert "exited" in str(errors[0])
    assert child.embed(["Next request."]).shape == (1, 384)


def test_a_model_that_cannot_load_raises_its_error_in_the_worker(tmp_path: Path) -> None:
    damaged = tmp_path / "toxic.ckpt"
    damaged.write_bytes(b"not a checkpoint")
    settings = ModerationSettings(
        engine="detoxify", detoxify_checkpoint=damaged, models_dir=tmp_path / "models"
    )
    with pytest.raises(CheckpointError) as raised:
        EngineProcess(settings)
    assert raised.value.path == str(damaged)
