"""End-to-end tests of the example scripts, each run as a subprocess the way a task runs.

Run from the repository root:  python3 -m unittest discover -s examples/scripts/tests
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPTS = os.path.join(REPO, "examples", "scripts")
DATA = os.path.join(REPO, "examples", "data", "digits", "digits.csv.gz")
METRIC = "::trainyard::metric "


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def metrics_of(stdout):
    return [json.loads(line[len(METRIC):]) for line in stdout.splitlines() if line.startswith(METRIC)]


class ScriptCase(unittest.TestCase):
    """Runs scripts with a fresh TRAINYARD_* environment in a temporary folder."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="trainyard-scripts-test-")
        cls.run_dir = os.path.join(cls.tmp, "run")
        res = cls.run_script("preprocess.py", "--data", DATA, "--seed", "3", env={"TRAINYARD_RUN_ARTIFACTS_DIR": cls.run_dir})
        assert res["rc"] == 0, res["stderr"]
        cls.split = res["result"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    _counter = 0

    @classmethod
    def run_script(cls, script, *args, env=None, timeout=60):
        ScriptCase._counter += 1
        try_dir = os.path.join(cls.tmp, "try%d" % ScriptCase._counter)
        os.makedirs(try_dir)
        result_path = os.path.join(try_dir, "result.json")
        full_env = clean_env(TRAINYARD_RESULT_PATH=result_path,
                             TRAINYARD_ARTIFACTS_DIR=os.path.join(try_dir, "artifacts"),
                             TRAINYARD_CHECKPOINT_DIR=os.path.join(try_dir, "checkpoints"),
                             TRAINYARD_HOME=os.path.join(cls.tmp, "home"))
        full_env.update(env or {})
        proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, script), *args], capture_output=True,
                              text=True, env=full_env, timeout=timeout, cwd=cls.tmp)
        result = None
        if os.path.exists(result_path):
            with open(result_path) as fh:
                result = json.load(fh)
        return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "result": result}


class ValidateTest(ScriptCase):
    def corrupt(self, name, edit):
        """A copy of the data set with ``edit(lines)`` applied, gzip-compressed."""
        with gzip.open(DATA, "rt") as fh:
            lines = fh.read().splitlines()
        edit(lines)
        path = os.path.join(self.tmp, name)
        with gzip.open(path, "wt") as fh:
            fh.write("\n".join(lines) + "\n")
        return path

    def test_valid_data(self):
        res = self.run_script("validate_data.py", "--data", DATA)
        self.assertEqual(res["rc"], 0, res["stderr"])
        self.assertEqual({k: res["result"][k] for k in ("rows", "features", "classes", "ok")},
                         {"rows": 1797, "features": 64, "classes": 10, "ok": True})

    def test_rejects_pixel_out_of_range(self):
        def edit(lines):
            cells = lines[41].split(",")
            cells[5] = "17"
            lines[41] = ",".join(cells)
        res = self.run_script("validate_data.py", "--data", self.corrupt("pixel.csv.gz", edit))
        self.assertEqual(res["rc"], 1)
        self.assertIn("line 42", res["stderr"])
        self.assertIn("outside 0..16", res["stderr"])
        self.assertIsNone(res["result"])

    def test_rejects_wrong_column_count_label_and_text(self):
        def edit(lines):
            lines[0] = lines[0].rsplit(",", 1)[0]          # 64 columns
            lines[1] = lines[1].rsplit(",", 1)[0] + ",10"  # label 10
            lines[2] = "a" + lines[2]                       # not an integer
        res = self.run_script("validate_data.py", "--data", self.corrupt("cols.csv.gz", edit))
        self.assertEqual(res["rc"], 1)
        self.assertIn("line 1: 64 columns", res["stderr"])
        self.assertIn("line 2: label 10", res["stderr"])
        self.assertIn("line 3: value", res["stderr"])

    def test_rejects_missing_class_and_truncated_gzip_and_missing_file(self):
        res = self.run_script("validate_data.py", "--data",
                              self.corrupt("noseven.csv.gz", lambda ls: ls.__setitem__(slice(None), [l for l in ls if not l.endswith(",7")])))
        self.assertEqual(res["rc"], 1)
        self.assertIn("class(es) [7]", res["stderr"])

        with open(DATA, "rb") as fh:
            head = fh.read(20000)
        truncated = os.path.join(self.tmp, "truncated.csv.gz")
        with open(truncated, "wb") as fh:
            fh.write(head)
        res = self.run_script("validate_data.py", "--data", truncated)
        self.assertEqual(res["rc"], 1)
        self.assertIn("cannot read", res["stderr"])

        res = self.run_script("validate_data.py", "--data", os.path.join(self.tmp, "nope.csv"))
        self.assertEqual(res["rc"], 1)
        self.assertIn("not found", res["stderr"])


class PreprocessTest(ScriptCase):
    def test_split_sizes_and_stratification(self):
        s = self.split
        self.assertEqual(s["n_train"] + s["n_val"] + s["n_test"], 1797)
        self.assertTrue(1240 <= s["n_train"] <= 1270, s)
        for name in ("train", "val", "test"):
            self.assertEqual(os.path.dirname(s[name]), self.run_dir)
            with open(s[name]) as fh:
                rows = fh.read().splitlines()[1:]
            self.assertEqual(len(rows), s["n_" + name])
            labels = [int(r.rsplit(",", 1)[1]) for r in rows]
            values = [float(v) for r in rows for v in r.split(",")[:64]]
            self.assertEqual(set(labels), set(range(10)))
            self.assertTrue(0.0 <= min(values) and max(values) <= 1.0)
            counts = [labels.count(c) for c in range(10)]
            self.assertLessEqual(max(counts) - min(counts), 3 if name != "train" else 8, counts)


class TrainTest(ScriptCase):
    def train(self, *args, env=None):
        return self.run_script("train.py", "--train", self.split["train"], "--val", self.split["val"], *args, env=env)

    def test_training_learns(self):
        res = self.train("--lr", "0.5", "--l2", "0.0001", "--epochs", "5")
        self.assertEqual(res["rc"], 0, res["stderr"])
        r = res["result"]
        self.assertGreater(r["val_accuracy"], 0.85)
        self.assertEqual((r["lr"], r["l2"], r["hidden"], r["epochs"]), (0.5, 0.0001, 0, 5))
        self.assertTrue(os.path.isfile(r["model_path"]))
        steps = metrics_of(res["stdout"])
        self.assertEqual([m["step"] for m in steps], [1, 2, 3, 4, 5])
        self.assertLess(steps[-1]["loss"], steps[0]["loss"])
        self.assertIn('::trainyard::params {"lr": 0.5', res["stdout"])

    def test_mlp_learns_and_bad_config_underperforms(self):
        good = self.train("--lr", "0.5", "--epochs", "4", "--hidden", "16")
        bad = self.train("--lr", "0.001", "--epochs", "4", "--hidden", "16")
        self.assertEqual((good["rc"], bad["rc"]), (0, 0), good["stderr"] + bad["stderr"])
        self.assertGreater(good["result"]["val_accuracy"], 0.85)
        self.assertLess(bad["result"]["val_accuracy"], 0.5)

    def test_item_supplies_missing_flags(self):
        res = self.train("--epochs", "1", env={"TRAINYARD_ITEM": json.dumps({"lr": 0.2, "l2": 0.001, "epochs": 9})})
        self.assertEqual(res["rc"], 0, res["stderr"])
        self.assertEqual((res["result"]["lr"], res["result"]["l2"], res["result"]["epochs"]), (0.2, 0.001, 1))

    def test_resume_continues_epoch_numbering_and_matches_uninterrupted_run(self):
        ck = os.path.join(self.tmp, "resume-ck")
        first = self.train("--epochs", "3", env={"TRAINYARD_CHECKPOINT_DIR": ck})
        self.assertEqual(first["rc"], 0, first["stderr"])
        with open(os.path.join(ck, "train_checkpoint.json")) as fh:
            self.assertEqual(json.load(fh)["epoch"], 3)
        second = self.train("--epochs", "6", env={"TRAINYARD_CHECKPOINT_DIR": ck, "TRAINYARD_RESUME": "1",
                                                  "TRAINYARD_TRY_NUMBER": "2"})
        self.assertEqual(second["rc"], 0, second["stderr"])
        self.assertEqual([m["step"] for m in metrics_of(second["stdout"])], [4, 5, 6])
        self.assertEqual(second["result"]["resumed_from"], 3)
        fresh = self.train("--epochs", "2", env={"TRAINYARD_CHECKPOINT_DIR": ck})  # no TRAINYARD_RESUME
        self.assertEqual([m["step"] for m in metrics_of(fresh["stdout"])], [1, 2])
        straight = self.train("--epochs", "6")
        self.assertIsNone(straight["result"]["resumed_from"])
        self.assertEqual(second["result"]["val_accuracy"], straight["result"]["val_accuracy"])
        self.assertEqual(second["result"]["loss"], straight["result"]["loss"])

    def test_failed_first_try_resumes_on_retry(self):
        ck = os.path.join(self.tmp, "retry-ck")
        env = {"TRAINYARD_CHECKPOINT_DIR": ck, "TRAINYARD_TRY_NUMBER": "1"}
        first = self.train("--epochs", "4", "--checkpoint-every", "2", "--fail-at-epoch", "3", env=env)
        self.assertEqual(first["rc"], 1)
        self.assertIn("simulated failure", first["stderr"])
        env.update(TRAINYARD_TRY_NUMBER="2", TRAINYARD_RESUME="1")
        second = self.train("--epochs", "4", "--checkpoint-every", "2", "--fail-at-epoch", "3", env=env)
        self.assertEqual(second["rc"], 0, second["stderr"])
        self.assertEqual([m["step"] for m in metrics_of(second["stdout"])], [4])

    def test_sigterm_saves_checkpoint_and_exits_143(self):
        ck = os.path.join(self.tmp, "sigterm-ck")
        env = clean_env(TRAINYARD_CHECKPOINT_DIR=ck, TRAINYARD_ARTIFACTS_DIR=os.path.join(self.tmp, "sigterm-art"),
                        TRAINYARD_RESULT_PATH=os.path.join(self.tmp, "sigterm-result.json"))
        cmd = [sys.executable, os.path.join(SCRIPTS, "train.py"), "--train", self.split["train"],
               "--val", self.split["val"], "--epochs", "100", "--checkpoint-every", "50", "--epoch-delay", "0.3"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            seen = 0
            deadline = time.monotonic() + 30
            while seen < 2 and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                if line.startswith(METRIC):
                    seen = json.loads(line[len(METRIC):])["step"]
            self.assertEqual(seen, 2)
            proc.send_signal(signal.SIGTERM)
            rest, _ = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 143)
        self.assertIn("SIGTERM: checkpoint at epoch", rest)
        with open(os.path.join(ck, "train_checkpoint.json")) as fh:
            saved = json.load(fh)["epoch"]
        self.assertGreaterEqual(saved, 2)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "sigterm-result.json")))
        resumed = self.train("--epochs", str(saved + 1), env={"TRAINYARD_CHECKPOINT_DIR": ck, "TRAINYARD_RESUME": "1"})
        self.assertEqual([m["step"] for m in metrics_of(resumed["stdout"])], [saved + 1])


class EvaluateNotifyTest(ScriptCase):
    def test_evaluate(self):
        trained = self.run_script("train.py", "--train", self.split["train"], "--val", self.split["val"], "--epochs", "4")
        self.assertEqual(trained["rc"], 0, trained["stderr"])
        model = trained["result"]["model_path"]

        ev = self.run_script("evaluate.py", "--model", model, "--test", self.split["test"])
        self.assertEqual(ev["rc"], 0, ev["stderr"])
        r = ev["result"]
        self.assertGreater(r["test_accuracy"], 0.85)
        self.assertEqual(len(r["per_class"]), 10)
        self.assertEqual(r["model_path"], model)
        self.assertEqual(metrics_of(ev["stdout"])[0]["test_accuracy"], r["test_accuracy"])


    def test_notify(self):
        res = self.run_script("notify.py", "--accuracy", "0.81", "--threshold", "0.9")
        self.assertEqual(res["rc"], 0, res["stderr"])
        self.assertTrue(res["result"]["notified"])
        self.assertTrue(res["result"]["below_threshold"])
        self.assertIn("below the threshold", res["stdout"])


class TorchTest(ScriptCase):
    def test_skips_with_99_without_torch_or_gpu(self):
        # A stand-in torch without CUDA, first on the path, so the test is the same with
        # or without a real torch installed.
        fake = os.path.join(self.tmp, "fake_torch")
        os.makedirs(os.path.join(fake, "torch"), exist_ok=True)
        with open(os.path.join(fake, "torch", "__init__.py"), "w") as fh:
            fh.write("__version__ = '0.0-fake'\nclass cuda:\n    @staticmethod\n    def is_available():\n        return False\n")
        res = self.run_script("train_torch.py", env={"PYTHONPATH": fake, "CUDA_VISIBLE_DEVICES": ""})
        self.assertEqual(res["rc"], 99, res["stderr"])
        self.assertIn("no GPU / torch here: skipping", res["stdout"])
        self.assertIsNone(res["result"])

        broken = os.path.join(self.tmp, "broken_torch")
        os.makedirs(os.path.join(broken, "torch"), exist_ok=True)
        with open(os.path.join(broken, "torch", "__init__.py"), "w") as fh:
            fh.write("raise ImportError('no torch in this test')\n")
        res = self.run_script("train_torch.py", env={"PYTHONPATH": broken})
        self.assertEqual(res["rc"], 99, res["stderr"])
        self.assertIn("cannot import torch", res["stdout"])

    @unittest.skipUnless(importlib.util.find_spec("torch"), "torch is not installed")
    def test_trains_with_real_torch(self):
        # On the CPU unless there is a GPU; a broken torch install makes it skip (99).
        res = self.run_script("train_torch.py", "--allow-cpu", "--epochs", "3", "--train", self.split["train"],
                              "--val", self.split["val"], env={"OMP_NUM_THREADS": "1"}, timeout=300)
        if res["rc"] == 99:
            self.skipTest(res["stdout"].strip())
        self.assertEqual(res["rc"], 0, res["stderr"])
        r = res["result"]
        self.assertGreater(r["val_accuracy"], 0.85)
        self.assertEqual([m["step"] for m in metrics_of(res["stdout"])], [1, 2, 3])
        ev = self.run_script("evaluate.py", "--model", r["model_path"], "--test", self.split["test"])
        self.assertEqual(ev["rc"], 0, ev["stderr"])
        self.assertGreater(ev["result"]["test_accuracy"], 0.85)


if __name__ == "__main__":
    unittest.main()
