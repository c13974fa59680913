"""Trainyard task runtime helper for Python tasks (standard library only).

A task started by Trainyard reads its identity and directories from environment variables,
prints metric and params lines on stdout and writes its result as JSON to a file; see
docs/task-contract.md. This module wraps that contract:

    import trainyard_runtime as ty

    ty.log_params({"lr": 0.1})
    for epoch in range(1, 11):
        ...
        ty.log_metrics({"loss": loss, "val_accuracy": acc}, step=epoch)
    ty.save_result({"val_accuracy": acc})

It also works when the variables are missing (a script run by hand): directories fall back
to ``$TRAINYARD_HOME/local/...`` (``TRAINYARD_HOME`` defaults to ``./.trainyard``) and the
result is printed on stdout instead of written to a file.

Copy this single file next to a script, or add its folder to ``sys.path``; it has no
dependencies beyond Python 3.8+.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import tempfile
import threading
from typing import Any, Callable, Dict, Mapping, Optional

__all__ = [
    "RESULT_LIMIT_BYTES",
    "SKIP_EXIT_CODE",
    "TERMINATED_EXIT_CODE",
    "ResultTooLargeError",
    "log_metric",
    "log_metrics",
    "log_params",
    "save_result",
    "result_path",
    "checkpoint_dir",
    "artifacts_dir",
    "artifacts_uri",
    "run_artifacts_dir",
    "params",
    "item",
    "context",
    "should_resume",
    "on_terminate",
    "write_json_atomic",
    "save_checkpoint",
    "load_checkpoint",
]

__version__ = "0.1.0"

#: Default limit on the size of a task's result (the JSON written to TRAINYARD_RESULT_PATH).
RESULT_LIMIT_BYTES = 64 * 1024
#: Optional variable an executor may set to announce a different result limit, in bytes.
RESULT_LIMIT_ENV = "TRAINYARD_RESULT_LIMIT_BYTES"
#: The default skip code: a task that exits with it is marked ``skipped``.
SKIP_EXIT_CODE = 99
#: The conventional exit code of a process ended by SIGTERM (128 + 15).
TERMINATED_EXIT_CODE = 143

_PREFIX = "::trainyard::"
_emit_lock = threading.Lock()


class ResultTooLargeError(ValueError):
    """The result is larger than the limit on task results."""


# --------------------------------------------------------------------------------------
# Metrics and params
# --------------------------------------------------------------------------------------


def _warn(message: str) -> None:
    sys.stderr.write("trainyard_runtime: warning: " + message + "\n")
    sys.stderr.flush()


def _emit(kind: str, payload: Mapping[str, Any]) -> None:
    # json.dumps without indent never produces a newline, so this is always one line.
    line = _PREFIX + kind + " " + json.dumps(payload, allow_nan=False, default=str)
    with _emit_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def log_metrics(metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
    """Print one ``::trainyard::metric {...}`` line with every metric in ``metrics``.

    ``step`` (an int, e.g. the epoch) is optional; it may also be given as a ``"step"`` key.
    Values must be numbers: non-numeric and non-finite values (NaN, inf) are left out of
    the line with a warning on stderr, since JSON cannot carry them.
    """
    if not isinstance(metrics, Mapping):
        raise TypeError("log_metrics expects a dict of metric name -> number")
    payload: Dict[str, Any] = {}
    if "step" in metrics:
        if step is not None and metrics["step"] != step:
            raise ValueError("log_metrics: step given twice with different values")
        step = metrics["step"]
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int):
            if isinstance(step, float) and step.is_integer():
                step = int(step)
            else:
                raise TypeError("log_metrics: step must be an integer, got %r" % (step,))
        payload["step"] = step
    for name, value in metrics.items():
        if name == "step":
            continue
        if not isinstance(name, str) or not name:
            raise TypeError("log_metrics: metric names must be non-empty strings")
        if not _is_number(value):
            _warn("metric %r is not a number (%r); left out" % (name, value))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            _warn("metric %r is %r; left out (JSON has no NaN or infinity)" % (name, value))
            continue
        payload[name] = value
    if len(payload) == (1 if "step" in payload else 0):
        return  # nothing left to log
    _emit("metric", payload)


def log_metric(name: str, value: Any, step: Optional[int] = None) -> None:
    """Print one ``::trainyard::metric`` line with a single metric."""
    log_metrics({name: value}, step=step)


def log_params(values: Mapping[str, Any]) -> None:
    """Print one ``::trainyard::params {...}`` line (the task's hyperparameters)."""
    if not isinstance(values, Mapping):
        raise TypeError("log_params expects a dict of param name -> value")
    clean: Dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        clean[str(name)] = value
    _emit("params", clean)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def write_json_atomic(path: str, obj: Any, *, indent: Optional[int] = None) -> str:
    """Write ``obj`` as JSON to ``path`` atomically (a temp file in the same folder, then a
    rename), so that a reader or a later try never sees a half-written file.
    Returns ``path``."""
    data = json.dumps(obj, allow_nan=False, indent=indent).encode("utf-8")
    _write_bytes_atomic(path, data)
    return path


def _write_bytes_atomic(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                os.fchmod(fh.fileno(), 0o644)  # mkstemp makes it 0600
            except (AttributeError, OSError):
                pass
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def result_path() -> Optional[str]:
    """The path the result goes to (``TRAINYARD_RESULT_PATH``), or None when unset."""
    return os.environ.get("TRAINYARD_RESULT_PATH") or None


def _result_limit() -> int:
    raw = os.environ.get(RESULT_LIMIT_ENV)
    if raw:
        try:
            value = int(raw)
            if value > 0:
                return value
        except ValueError:
            pass
        _warn("%s=%r is not a positive integer; using %d" % (RESULT_LIMIT_ENV, raw, RESULT_LIMIT_BYTES))
    return RESULT_LIMIT_BYTES


def _format_limit(limit: int) -> str:
    if limit % 1024 == 0:
        return "%d bytes (%d KB)" % (limit, limit // 1024)
    return "%d bytes" % limit


def save_result(obj: Any, *, limit: Optional[int] = None) -> Optional[str]:
    """Write ``obj`` as the task's result: JSON, to ``TRAINYARD_RESULT_PATH``.

    Raises ``ResultTooLargeError`` when the JSON is over the limit (64 KB unless the
    executor announces another in ``TRAINYARD_RESULT_LIMIT_BYTES``), and ``ValueError``
    when ``obj`` cannot be written as JSON (NaN, infinity, non-JSON types). The write is
    atomic where the filesystem allows it. With no ``TRAINYARD_RESULT_PATH`` (run by hand)
    the result is printed on stdout. Returns the path written, or None.
    """
    try:
        text = json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError("the task result is not valid JSON: %s" % exc) from exc
    data = text.encode("utf-8")
    max_bytes = limit if limit is not None else _result_limit()
    if len(data) > max_bytes:
        raise ResultTooLargeError(
            "the task result is %d bytes, over the result size limit of %s. Put large "
            "outputs in the artifact store (write them under artifacts_dir(), i.e. "
            "TRAINYARD_ARTIFACTS_DIR / TRAINYARD_ARTIFACTS_URI) and return their URI in "
            "a small result instead." % (len(data), _format_limit(max_bytes))
        )
    path = result_path()
    if path is None:
        sys.stdout.write("trainyard: result (TRAINYARD_RESULT_PATH is not set): " + text + "\n")
        sys.stdout.flush()
        return None
    try:
        _write_bytes_atomic(path, data)
    except OSError:
        # Some result paths cannot be replaced by a rename, e.g. a Kubernetes
        # termination-message file that is bind-mounted: write it in place.
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
    return path


# --------------------------------------------------------------------------------------
# Directories
# --------------------------------------------------------------------------------------


def _task_slug() -> str:
    task = os.environ.get("TRAINYARD_TASK_ID")
    if not task:
        script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        task = os.path.splitext(script)[0] or "task"
    return "".join(c if (c.isalnum() or c in "._-") else "_" for c in task)


def _local_base() -> str:
    home = os.environ.get("TRAINYARD_HOME") or ".trainyard"
    return os.path.join(os.path.abspath(home), "local")


def _dir_from_env(var: str, *fallback: str) -> str:
    path = os.environ.get(var) or os.path.join(_local_base(), *fallback)
    os.makedirs(path, exist_ok=True)
    return path


def checkpoint_dir() -> str:
    """``TRAINYARD_CHECKPOINT_DIR`` (the same for every try of this task instance), created
    if needed; by hand: ``$TRAINYARD_HOME/local/checkpoints/<task>``."""
    return _dir_from_env("TRAINYARD_CHECKPOINT_DIR", "checkpoints", _task_slug())


def artifacts_dir() -> str:
    """``TRAINYARD_ARTIFACTS_DIR`` (this try's artifacts), created if needed; by hand, or
    when the artifact store is not on the local filesystem:
    ``$TRAINYARD_HOME/local/artifacts/<task>``."""
    return _dir_from_env("TRAINYARD_ARTIFACTS_DIR", "artifacts", _task_slug())


def artifacts_uri() -> str:
    """``TRAINYARD_ARTIFACTS_URI``, or a ``file://`` URI of ``artifacts_dir()``."""
    uri = os.environ.get("TRAINYARD_ARTIFACTS_URI")
    if uri:
        return uri
    return _file_uri(artifacts_dir())


def run_artifacts_dir() -> str:
    """``TRAINYARD_RUN_ARTIFACTS_DIR`` (shared by the tasks of one run), created if needed;
    by hand: ``$TRAINYARD_HOME/local/run``."""
    return _dir_from_env("TRAINYARD_RUN_ARTIFACTS_DIR", "run")


def _file_uri(path: str) -> str:
    from pathlib import Path

    return Path(os.path.abspath(path)).as_uri()


# --------------------------------------------------------------------------------------
# Identity, params, item
# --------------------------------------------------------------------------------------


def _json_env(var: str, default: Any) -> Any:
    raw = os.environ.get(var)
    if raw is None or raw == "":
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError("%s is not valid JSON: %s" % (var, exc)) from exc


def params() -> Dict[str, Any]:
    """The run's params (``TRAINYARD_PARAMS``), or ``{}``."""
    value = _json_env("TRAINYARD_PARAMS", {})
    return value if isinstance(value, dict) else {}


def item() -> Any:
    """This mapped instance's item (``TRAINYARD_ITEM``), or None when the task is not mapped."""
    return _json_env("TRAINYARD_ITEM", None)


def _int_env(var: str, default: int) -> int:
    try:
        return int(os.environ.get(var, ""))
    except ValueError:
        return default


def context() -> Dict[str, Any]:
    """The task's identity: dag_id, run_id, task_id, map_index, try_number, logical_date, ds
    (None, or -1 / 1 for the numbers, where the variable is missing)."""
    return {
        "dag_id": os.environ.get("TRAINYARD_DAG_ID"),
        "run_id": os.environ.get("TRAINYARD_RUN_ID"),
        "task_id": os.environ.get("TRAINYARD_TASK_ID"),
        "map_index": _int_env("TRAINYARD_MAP_INDEX", -1),
        "try_number": _int_env("TRAINYARD_TRY_NUMBER", 1),
        "logical_date": os.environ.get("TRAINYARD_LOGICAL_DATE"),
        "ds": os.environ.get("TRAINYARD_DS"),
    }


def should_resume() -> bool:
    """True when an earlier try of this task instance exists (``TRAINYARD_RESUME=1``), so
    the task should look for a checkpoint in ``checkpoint_dir()``."""
    return os.environ.get("TRAINYARD_RESUME") == "1"


# --------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------


def save_checkpoint(state: Any, name: str = "checkpoint.json") -> str:
    """Write ``state`` as JSON into ``checkpoint_dir()`` atomically; returns the path."""
    return write_json_atomic(os.path.join(checkpoint_dir(), name), state)


def load_checkpoint(name: str = "checkpoint.json") -> Any:
    """The JSON checkpoint ``name`` in ``checkpoint_dir()``, or None if there is none (or
    it cannot be read, with a warning)."""
    path = os.path.join(checkpoint_dir(), name)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        _warn("cannot read checkpoint %s (%s); ignoring it" % (path, exc))
        return None


# --------------------------------------------------------------------------------------
# Termination
# --------------------------------------------------------------------------------------


def on_terminate(callback: Callable[[], Any], exit_code: Optional[int] = TERMINATED_EXIT_CODE):
    """Install a SIGTERM handler that calls ``callback()`` (e.g. to save a checkpoint) and
    then exits with ``exit_code`` (143 by default) by raising ``SystemExit``. With
    ``exit_code=None`` the process goes on after the callback. Trainyard sends SIGTERM on
    cancel or timeout and SIGKILL after a grace period (10 s by default), so the callback
    should be quick. Must be called from the main thread. Returns the previous handler."""

    running = {"busy": False}

    def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
        if running["busy"]:
            return
        running["busy"] = True
        _warn("received SIGTERM")
        try:
            callback()
        except Exception as exc:  # keep going to the exit
            _warn("on_terminate callback failed: %r" % (exc,))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            running["busy"] = False
        if exit_code is not None:
            raise SystemExit(exit_code)

    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("on_terminate must be called from the main thread")
    return signal.signal(signal.SIGTERM, _handler)
