"""ONNX Runtime sessions as the engines run them, and the cache of exported graphs they open."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import onnxruntime

log = logging.getLogger(__name__)
T = TypeVar("T")


def cpu_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Threads that spin between passes take the cores the worker's event loop and the other
    # services need (as torch's OpenMP threads did: see services/moderation/engine_process.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its own log lines would break JSON logs
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def open_or_export(path: Path, open_: Callable[[Path], T], export: Callable[[], None]) -> T:
    """The cached graph at `path`, exported first if there is none; one that does not open is
    exported again once. A graph that still does not open raises what `open_` raised."""
    if path.is_file():
        try:
            return open_(path)
        except Exception as error:  # onnxruntime raises its own types for each kind of damage
            log.warning("ONNX graph %s does not open (%s): exporting it again", path, error)
    log.info("exporting the ONNX graph %s (once per model file)", path)
    export()
    return open_(path)
