"""The scoring engine in a child process of its own.

The model's Python glue (tokenising, building tensors, reading results) holds the GIL for a
good part of every batch; in the worker's process it competes with the event loop that
consumes Kafka, talks to Redis and publishes verdicts, so one process kept about one core busy
on a two-core machine. In a child process the model has its own interpreter, and while it
works the worker's event loop decodes, decides and publishes the batches around it.

Requests go over a pipe, one at a time (the model uses every core it is given anyway). A child
that dies (killed for memory, say) fails the request it was serving and is replaced at once
(by the next request, if that start fails), so the batch's retry finds a working model.
"""

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from services.moderation.analysis import A, C, EngineRun, K, run_engine
from services.moderation.engines import load_engine
from services.moderation.scoring import Engine, LabelScores, Vectors

if TYPE_CHECKING:
    from services.moderation.settings import ModerationSettings

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0


class InferenceProcessDied(RuntimeError):
    """The child exited while serving a request: that request fails, a new child replaces it."""


class EngineProcess:
    """An `Engine` whose model lives in a child process; also runs whole `run_engine` passes
    there, so a batch crosses the pipe once."""

    def __init__(self, settings: "ModerationSettings") -> None:
        self._settings = settings
        self._lock = threading.Lock()  # one request on the pipe at a time
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._closing = False
        self._start()
        threading.Thread(
            target=self._replace_when_gone, name="inference-watch", daemon=True
        ).start()

    def _start(self) -> None:
        """Load the model in a new child; its load errors (CheckpointError...) raise here."""
        ours, theirs = self._context.Pipe()
        self._process = self._context.Process(
            target=serve_engine, args=(theirs, self._settings), name="inference", daemon=True
        )
        self._process.start()
        theirs.close()
        self._connection = ours
        self.name, self.model_version = self._receive()
        log.info(
            "inference process ready",
            extra={"pid": self._process.pid, "engine": self.name, "model": self.model_version},
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.is_alive()

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        result: list[LabelScores] = self._call("score_batch", list(texts))
        return result

    def embed(self, texts: Sequence[str]) -> Vectors:
        result: Vectors = self._call("embed", list(texts))
        return result

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        result: Vectors = self._call("embed_articles", list(texts))
        return result

    def run_engine(
        self, texts: dict[K, str], articles: dict[A, list[str]], contexts: dict[C, str]
    ) -> EngineRun[K, A, C]:
        result: EngineRun[K, A, C] = self._call("run_engine", texts, articles, contexts)
        return result

    def close(self) -> None:
        self._closing = True
        with self._lock:
            if self._process.is_alive():
                with contextlib.suppress(OSError):
                    self._connection.send(None)
            self._process.join(STOP_SECONDS)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._connection.close()

    def _replace_when_gone(self) -> None:
        """A child that dies between requests is replaced at once, not by the next request:
        the model is ready again (and `/health/ready` says so) even while every comment is
        answered from the caches."""
        while not self._closing:
            process = self._process
            wait([process.sentinel])
            with self._lock:
                if self._closing or self._process is not process:
                    continue  # closing, or a request has replaced it already
                try:
                    self._restart()
                except Exception:
                    log.exception("inference process cannot start; the next request tries again")
                    return

    def _restart(self) -> None:
        log.warning(
            "inference process gone; starting another", extra={"exitcode": self._process.exitcode}
        )
        self._connection.close()
        self._start()

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            if not self._process.is_alive():
                self._restart()
            try:
                self._connection.send((method, args))
            except OSError as error:
                raise self._died() from error
            return self._receive()

    def _receive(self) -> Any:
        try:
            failed, value = self._connection.recv()
        except (EOFError, OSError) as error:
            raise self._died() from error
        if failed:
            raise value
        return value

    def _died(self) -> InferenceProcessDied:
        self._process.join(STOP_SECONDS)
        return InferenceProcessDied(f"inference process exited (code {self._process.exitcode})")


def runner(engine: Engine) -> Callable[..., EngineRun[Any, Any, Any]]:
    """One `run_engine` pass: across the pipe for an `EngineProcess`, in this process otherwise."""
    if isinstance(engine, EngineProcess):
        return engine.run_engine
    return partial(run_engine, engine)


def serve_engine(connection: Connection, settings: "ModerationSettings") -> None:
    """The child: load the engine, say so, then answer requests until told to stop or the
    parent goes away. Errors travel back as the exception, to be raised in the parent."""
    from services.common.logging import setup_logging

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops us
    # OpenMP threads that spin between batches take the core the worker's event loop needs:
    # measured in `modctl bench`, spinning doubled the worker's CPU seconds for fewer comments
    # and two workers on two cores fell from 141 to 33-53/s. Set before torch is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    setup_logging("moderation", settings.log_level)
    try:
        engine = load_engine(settings.engine, settings)
    except Exception as error:
        connection.send((True, _portable(error)))
        return
    connection.send((False, (engine.name, engine.model_version)))
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        method, args = request
        try:
            answer = (False, _answer(engine, method, args))
        except Exception as error:
            answer = (True, _portable(error))
        try:
            connection.send(answer)
        except OSError:
            return  # the worker is gone


def _portable(error: Exception) -> Exception:
    """The error itself if it survives pickling, else a RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(repr(error))
    return error


def _answer(engine: Engine, method: str, args: tuple[Any, ...]) -> Any:
    if method == "run_engine":
        return run_engine(engine, *args)
    if method == "score_batch":
        return engine.score_batch(*args)
    if method == "embed":
        return engine.embed(*args)
    if method == "embed_articles":
        return engine.embed_articles(*args)
    raise ValueError(f"unknown inference request {method!r}")
