"""Tests of python/trainyard_runtime.py (standard library unittest).

Run from the repository root:  python3 -m unittest discover -s examples/scripts/tests
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "python"))

import trainyard_runtime as ty  # noqa: E402


def clean_env(**extra):
    """os.environ without any TRAINYARD_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class RuntimeTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name

    def env(self, **extra):
        return mock.patch.dict(os.environ, clean_env(**extra), clear=True)

    def capture(self, fn, *args, **kwargs):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            fn(*args, **kwargs)
        return out.getvalue(), err.getvalue()


class MetricsTest(RuntimeTestCase):
    def test_metric_line_format(self):
        out, _ = self.capture(ty.log_metrics, {"loss": 0.5, "val_accuracy": 0.9}, step=3)
        self.assertEqual(out.count("\n"), 1)
        prefix, payload = out.rstrip("\n").split(" ", 1)
        self.assertEqual(prefix, "::trainyard::metric")
        self.assertEqual(json.loads(payload), {"step": 3, "loss": 0.5, "val_accuracy": 0.9})
        self.assertTrue(out.startswith('::trainyard::metric {"step": 3,'))

    def test_log_metric_single_and_no_step(self):
        out, _ = self.capture(ty.log_metric, "accuracy", 1)
        self.assertEqual(out, '::trainyard::metric {"accuracy": 1}\n')

    def test_non_finite_and_non_numeric_left_out_with_warning(self):
        out, err = self.capture(ty.log_metrics, {"loss": float("nan"), "acc": 0.5, "name": "x", "flag": True}, step=1)
        self.assertEqual(json.loads(out.split(" ", 1)[1]), {"step": 1, "acc": 0.5})
        self.assertIn("'loss'", err)
        self.assertIn("'name'", err)

    def test_nothing_left_prints_nothing(self):
        out, _ = self.capture(ty.log_metrics, {"loss": float("inf")}, step=2)
        self.assertEqual(out, "")

    def test_step_must_be_int(self):
        with self.assertRaises(TypeError):
            ty.log_metrics({"loss": 1.0}, step="3")

    def test_params_line(self):
        out, _ = self.capture(ty.log_params, {"lr": 0.1, "hidden": 0})
        self.assertEqual(out, '::trainyard::params {"lr": 0.1, "hidden": 0}\n')


class ResultTest(RuntimeTestCase):
    def test_result_file_written_atomically(self):
        path = os.path.join(self.dir, "sub", "result.json")
        with self.env(TRAINYARD_RESULT_PATH=path):
            self.assertEqual(ty.save_result({"val_accuracy": 0.93, "ok": True}), path)
        with open(path) as fh:
            self.assertEqual(json.load(fh), {"val_accuracy": 0.93, "ok": True})
        self.assertEqual(os.listdir(os.path.dirname(path)), ["result.json"])  # no temp file left

    def test_oversized_result_raises_naming_the_limit(self):
        path = os.path.join(self.dir, "result.json")
        with self.env(TRAINYARD_RESULT_PATH=path):
            with self.assertRaises(ty.ResultTooLargeError) as ctx:
                ty.save_result({"blob": "x" * (70 * 1024)})
        message = str(ctx.exception)
        self.assertIn("65536 bytes (64 KB)", message)
        self.assertIn("artifact", message)
        self.assertFalse(os.path.exists(path))
        self.assertIsInstance(ctx.exception, ValueError)

    def test_result_just_under_the_limit_is_fine(self):
        path = os.path.join(self.dir, "result.json")
        with self.env(TRAINYARD_RESULT_PATH=path):
            ty.save_result("x" * (64 * 1024 - 2))  # a JSON string: 2 quotes + the text
        self.assertEqual(os.path.getsize(path), 64 * 1024)

    def test_limit_from_env(self):
        with self.env(TRAINYARD_RESULT_PATH=os.path.join(self.dir, "r.json"), TRAINYARD_RESULT_LIMIT_BYTES="4096"):
            with self.assertRaisesRegex(ty.ResultTooLargeError, "4096 bytes"):
                ty.save_result({"blob": "x" * 5000})

    def test_nan_result_is_rejected(self):
        with self.env(TRAINYARD_RESULT_PATH=os.path.join(self.dir, "r.json")):
            with self.assertRaisesRegex(ValueError, "not valid JSON"):
                ty.save_result({"loss": float("nan")})

    def test_without_result_path_prints_to_stdout(self):
        with self.env():
            out, _ = self.capture(ty.save_result, {"a": 1})
        self.assertIn('{"a": 1}', out)


class DirsAndIdentityTest(RuntimeTestCase):
    def test_dirs_from_env(self):
        ck, art, run = (os.path.join(self.dir, n) for n in ("ck", "art", "run"))
        with self.env(TRAINYARD_CHECKPOINT_DIR=ck, TRAINYARD_ARTIFACTS_DIR=art, TRAINYARD_RUN_ARTIFACTS_DIR=run):
            self.assertEqual(ty.checkpoint_dir(), ck)
            self.assertEqual(ty.artifacts_dir(), art)
            self.assertEqual(ty.run_artifacts_dir(), run)
        for d in (ck, art, run):
            self.assertTrue(os.path.isdir(d))

    def test_dirs_fall_back_under_trainyard_home(self):
        with self.env(TRAINYARD_HOME=self.dir):
            for d in (ty.checkpoint_dir(), ty.artifacts_dir(), ty.run_artifacts_dir()):
                self.assertTrue(d.startswith(os.path.join(self.dir, "local")), d)
                self.assertTrue(os.path.isdir(d))
            self.assertTrue(ty.artifacts_uri().startswith("file://"))

    def test_params_item_context_resume(self):
        with self.env(TRAINYARD_PARAMS='{"threshold": 0.9}', TRAINYARD_ITEM='{"lr": 0.2}',
                      TRAINYARD_DAG_ID="digits_training", TRAINYARD_RUN_ID="r1", TRAINYARD_TASK_ID="sweep.train",
                      TRAINYARD_MAP_INDEX="2", TRAINYARD_TRY_NUMBER="3", TRAINYARD_DS="2026-01-02",
                      TRAINYARD_LOGICAL_DATE="2026-01-02T00:00:00Z", TRAINYARD_RESUME="1"):
            self.assertEqual(ty.params(), {"threshold": 0.9})
            self.assertEqual(ty.item(), {"lr": 0.2})
            ctx = ty.context()
            self.assertTrue(ty.should_resume())
        self.assertEqual(ctx, {"dag_id": "digits_training", "run_id": "r1", "task_id": "sweep.train",
                               "map_index": 2, "try_number": 3, "logical_date": "2026-01-02T00:00:00Z",
                               "ds": "2026-01-02"})

    def test_defaults_when_unset(self):
        with self.env():
            self.assertEqual(ty.params(), {})
            self.assertIsNone(ty.item())
            self.assertFalse(ty.should_resume())
            ctx = ty.context()
        self.assertEqual((ctx["map_index"], ctx["try_number"], ctx["run_id"]), (-1, 1, None))

    def test_checkpoint_roundtrip(self):
        with self.env(TRAINYARD_CHECKPOINT_DIR=self.dir):
            self.assertIsNone(ty.load_checkpoint())
            ty.save_checkpoint({"epoch": 4})
            self.assertEqual(ty.load_checkpoint(), {"epoch": 4})


class TerminateTest(RuntimeTestCase):
    def test_sigterm_runs_callback_and_exits_143(self):
        marker = os.path.join(self.dir, "saved")
        script = textwrap.dedent("""
            import sys, time
            sys.path.insert(0, %r)
            import trainyard_runtime as ty
            ty.on_terminate(lambda: open(%r, "w").write("yes"))
            print("ready", flush=True)
            time.sleep(30)
        """ % (os.path.join(REPO, "python"), marker))
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=clean_env())
        try:
            self.assertEqual(proc.stdout.readline().strip(), "ready")
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(rc, 143)
        with open(marker) as fh:
            self.assertEqual(fh.read(), "yes")


if __name__ == "__main__":
    unittest.main()
