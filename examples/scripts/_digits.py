"""Shared code of the digits example scripts: data files and a small model, in pure Python.

Standard library only. The scripts import it from their own folder (Python puts a
script's folder first on sys.path); ``runtime()`` imports the Trainyard runtime helper
from ``<repo>/python``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import random
import sys
from operator import mul
from typing import Dict, List, Optional, Sequence, Tuple

N_FEATURES = 64
N_CLASSES = 10
MAX_PIXEL = 16
MODEL_FORMAT = "trainyard-digits-model/1"
CHECKPOINT_FORMAT = "trainyard-digits-checkpoint/1"

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(SCRIPTS_DIR))
DEFAULT_DATA = os.path.join(REPO_ROOT, "examples", "data", "digits", "digits.csv.gz")

Matrix = List[List[float]]


def runtime():
    """Import and return the ``trainyard_runtime`` module shipped in ``<repo>/python``."""
    path = os.path.join(REPO_ROOT, "python")
    if path not in sys.path:
        sys.path.insert(0, path)
    import trainyard_runtime  # noqa: WPS433 - imported after the path is set

    return trainyard_runtime


def fail(message: str, code: int = 1) -> "None":
    """Print ``message`` on stderr and exit with ``code``."""
    sys.stderr.write("error: " + message + "\n")
    sys.stderr.flush()
    raise SystemExit(code)


# --------------------------------------------------------------------------------------
# The raw data set: CSV (optionally gzip), no header, 64 pixel columns 0..16, then a label
# --------------------------------------------------------------------------------------


def open_text(path: str):
    """Open a CSV file for reading as text, gunzipping it when it is gzip-compressed."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, "r", encoding="utf-8", newline="")


def check_raw(path: str, max_errors: int = 10) -> Tuple[List[List[int]], List[int], List[str]]:
    """Read the raw data set and check every row. Returns (features, labels, errors); the
    errors name the line and the problem (at most ``max_errors`` of them, then a count)."""
    features: List[List[int]] = []
    labels: List[int] = []
    errors: List[str] = []
    extra = 0

    def error(msg: str) -> None:
        nonlocal extra
        if len(errors) < max_errors:
            errors.append(msg)
        else:
            extra += 1

    try:
        fh = open_text(path)
    except OSError as exc:
        return [], [], ["cannot open %s: %s" % (path, exc.strerror or exc)]
    try:
        with fh:
            for lineno, row in enumerate(csv.reader(fh), start=1):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != N_FEATURES + 1:
                    error("line %d: %d columns, expected %d (64 features then the label)"
                          % (lineno, len(row), N_FEATURES + 1))
                    continue
                try:
                    values = [int(v) for v in row]
                except ValueError:
                    bad = next(v for v in row if not _is_int(v))
                    error("line %d: value %r is not an integer" % (lineno, bad))
                    continue
                pixels, label = values[:N_FEATURES], values[N_FEATURES]
                out = [v for v in pixels if v < 0 or v > MAX_PIXEL]
                if out:
                    error("line %d: pixel value %d outside 0..%d" % (lineno, out[0], MAX_PIXEL))
                    continue
                if label < 0 or label >= N_CLASSES:
                    error("line %d: label %d outside 0..%d" % (lineno, label, N_CLASSES - 1))
                    continue
                features.append(pixels)
                labels.append(label)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        error("cannot read %s: %s" % (path, exc))
    if extra:
        errors.append("... and %d more bad lines" % extra)
    return features, labels, errors


def _is_int(text: str) -> bool:
    try:
        int(text)
        return True
    except ValueError:
        return False


def class_counts(labels: Sequence[int]) -> List[int]:
    counts = [0] * N_CLASSES
    for label in labels:
        counts[label] += 1
    return counts


# --------------------------------------------------------------------------------------
# Split files: CSV with a header p0..p63,label; features already scaled to [0, 1]
# --------------------------------------------------------------------------------------

SPLIT_HEADER = ["p%d" % i for i in range(N_FEATURES)] + ["label"]


def write_split(path: str, features: Sequence[Sequence[float]], labels: Sequence[int]) -> None:
    """Write a split file atomically (temp file, then rename)."""
    tmp = path + ".tmp-%d" % os.getpid()
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SPLIT_HEADER)
        for x, y in zip(features, labels):
            writer.writerow([repr(v) if v else "0" for v in x] + [y])
    os.replace(tmp, path)


def read_split(path: str) -> Tuple[Matrix, List[int]]:
    """Read a split file written by ``write_split``: (features as floats, labels)."""
    if not os.path.isfile(path):
        fail("split file not found: %s (run preprocess.py first)" % path)
    features: Matrix = []
    labels: List[int] = []
    with open(path, "r", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != SPLIT_HEADER:
            fail("%s is not a split file written by preprocess.py (bad header)" % path)
        for row in reader:
            if not row:
                continue
            features.append([float(v) for v in row[:N_FEATURES]])
            labels.append(int(row[N_FEATURES]))
    if not features:
        fail("split file %s has no rows" % path)
    return features, labels


def stratified_split(labels: Sequence[int], fractions: Sequence[float], seed: int) -> List[List[int]]:
    """Split row indices into len(fractions) parts, class by class, so that every part has
    about the same class proportions. The last part takes the remainder. Deterministic
    for a given seed."""
    rng = random.Random(seed)
    by_class: Dict[int, List[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    parts: List[List[int]] = [[] for _ in fractions]
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        start = 0
        for k, frac in enumerate(fractions):
            if k == len(fractions) - 1:
                end = len(idx)
            else:
                end = min(len(idx), start + int(round(frac * len(idx))))
            parts[k].extend(idx[start:end])
            start = end
    for part in parts:
        rng.shuffle(part)
    return parts


# --------------------------------------------------------------------------------------
# The model: softmax regression (hidden == 0) or a one-hidden-layer ReLU MLP
# --------------------------------------------------------------------------------------


class Model:
    """Weights as nested lists. ``layers`` is [(W, b)], W with one row per output unit."""

    def __init__(self, hidden: int, layers: List[Tuple[Matrix, List[float]]]):
        self.hidden = hidden
        self.layers = layers

    @classmethod
    def init(cls, hidden: int, rng: random.Random) -> "Model":
        if hidden <= 0:
            return cls(0, [([[0.0] * N_FEATURES for _ in range(N_CLASSES)], [0.0] * N_CLASSES)])
        lim1 = math.sqrt(6.0 / (N_FEATURES + hidden))
        lim2 = math.sqrt(6.0 / (hidden + N_CLASSES))
        w1 = [[rng.uniform(-lim1, lim1) for _ in range(N_FEATURES)] for _ in range(hidden)]
        w2 = [[rng.uniform(-lim2, lim2) for _ in range(hidden)] for _ in range(N_CLASSES)]
        return cls(hidden, [(w1, [0.0] * hidden), (w2, [0.0] * N_CLASSES)])

    def to_json(self) -> dict:
        return {
            "format": MODEL_FORMAT,
            "kind": "mlp" if self.hidden else "softmax",
            "n_features": N_FEATURES,
            "n_classes": N_CLASSES,
            "hidden": self.hidden,
            "input_scale": 1.0 / MAX_PIXEL,
            "layers": [{"W": w, "b": b} for w, b in self.layers],
        }

    @classmethod
    def from_json(cls, doc: dict) -> "Model":
        if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
            raise ValueError("not a %s document" % MODEL_FORMAT)
        hidden = int(doc["hidden"])
        layers = [([list(map(float, row)) for row in layer["W"]], list(map(float, layer["b"])))
                  for layer in doc["layers"]]
        shapes = [(N_CLASSES, N_FEATURES)] if hidden == 0 else [(hidden, N_FEATURES), (N_CLASSES, hidden)]
        if len(layers) != len(shapes):
            raise ValueError("expected %d layers, found %d" % (len(shapes), len(layers)))
        for (w, b), (rows, cols) in zip(layers, shapes):
            if len(w) != rows or len(b) != rows or any(len(r) != cols for r in w):
                raise ValueError("layer shape does not match hidden=%d" % hidden)
        return cls(hidden, layers)

    # ---- inference -------------------------------------------------------------------

    def scores(self, x: Sequence[float]) -> List[float]:
        if self.hidden:
            (w1, b1), (w2, b2) = self.layers
            a = [sum(map(mul, w, x)) + bb for w, bb in zip(w1, b1)]
            h = [v if v > 0.0 else 0.0 for v in a]
            return [sum(map(mul, w, h)) + bb for w, bb in zip(w2, b2)]
        w, b = self.layers[0]
        return [sum(map(mul, row, x)) + bb for row, bb in zip(w, b)]

    def predict(self, features: Sequence[Sequence[float]]) -> List[int]:
        out = []
        for x in features:
            z = self.scores(x)
            out.append(max(range(len(z)), key=z.__getitem__))
        return out

    def evaluate(self, features: Sequence[Sequence[float]], labels: Sequence[int]) -> Tuple[float, float]:
        """(accuracy, mean cross-entropy) on a data set."""
        correct = 0
        loss = 0.0
        for x, y in zip(features, labels):
            z = self.scores(x)
            p = softmax(z)
            loss -= math.log(max(p[y], 1e-300))
            if max(range(len(z)), key=z.__getitem__) == y:
                correct += 1
        n = max(1, len(labels))
        return correct / n, loss / n

    # ---- training --------------------------------------------------------------------

    def train_epoch(self, features: Matrix, labels: Sequence[int], lr: float, l2: float,
                    batch: int, rng: random.Random) -> float:
        """One epoch of mini-batch SGD on cross-entropy + (l2/2)*|W|^2 (biases are not
        decayed). Returns the mean training cross-entropy over the epoch."""
        n = len(features)
        order = list(range(n))
        rng.shuffle(order)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            rows = [features[i] for i in idx]
            ys = [labels[i] for i in idx]
            if self.hidden:
                total += self._step_mlp(rows, ys, lr, l2)
            else:
                total += self._step_softmax(rows, ys, lr, l2)
        return total / max(1, n)

    def _step_softmax(self, rows: Matrix, ys: List[int], lr: float, l2: float) -> float:
        w, b = self.layers[0]
        loss = 0.0
        grads = []
        for x, y in zip(rows, ys):
            p = softmax([sum(map(mul, row, x)) + bb for row, bb in zip(w, b)])
            loss -= math.log(max(p[y], 1e-300))
            p[y] -= 1.0
            grads.append(p)
        scale = lr / len(rows)
        decay = 1.0 - lr * l2
        g_cols = list(zip(*grads))
        x_cols = list(zip(*rows))
        for c in range(N_CLASSES):
            gc = g_cols[c]
            w[c] = [wj * decay - scale * sum(map(mul, gc, xj)) for wj, xj in zip(w[c], x_cols)]
            b[c] -= scale * sum(gc)
        return loss

    def _step_mlp(self, rows: Matrix, ys: List[int], lr: float, l2: float) -> float:
        (w1, b1), (w2, b2) = self.layers
        w2_cols = list(zip(*w2))  # hidden x classes, before the update
        loss = 0.0
        grads, hiddens, deltas = [], [], []
        for x, y in zip(rows, ys):
            a = [sum(map(mul, w, x)) + bb for w, bb in zip(w1, b1)]
            h = [v if v > 0.0 else 0.0 for v in a]
            p = softmax([sum(map(mul, w, h)) + bb for w, bb in zip(w2, b2)])
            loss -= math.log(max(p[y], 1e-300))
            p[y] -= 1.0
            grads.append(p)
            hiddens.append(h)
            deltas.append([sum(map(mul, p, wk)) if hk > 0.0 else 0.0 for wk, hk in zip(w2_cols, h)])
        scale = lr / len(rows)
        decay = 1.0 - lr * l2
        g_cols = list(zip(*grads))
        h_cols = list(zip(*hiddens))
        for c in range(N_CLASSES):
            gc = g_cols[c]
            w2[c] = [wk * decay - scale * sum(map(mul, gc, hk)) for wk, hk in zip(w2[c], h_cols)]
            b2[c] -= scale * sum(gc)
        d_cols = list(zip(*deltas))
        x_cols = list(zip(*rows))
        for k in range(self.hidden):
            dk = d_cols[k]
            if not any(dk):
                if decay != 1.0:
                    w1[k] = [wj * decay for wj in w1[k]]
                continue
            w1[k] = [wj * decay - scale * sum(map(mul, dk, xj)) for wj, xj in zip(w1[k], x_cols)]
            b1[k] -= scale * sum(dk)
        return loss


def softmax(z: List[float]) -> List[float]:
    m = max(z)
    if not math.isfinite(m):
        # diverged weights: fall back to a uniform distribution rather than crash
        return [1.0 / len(z)] * len(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def load_model(path: str) -> Model:
    if not os.path.isfile(path):
        fail("model file not found: %s" % path)
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return Model.from_json(json.load(fh))
    except (ValueError, KeyError, TypeError) as exc:
        fail("%s is not a digits model: %s" % (path, exc))
        raise  # unreachable


def finite_or_none(value: Optional[float]) -> Optional[float]:
    if value is None or not math.isfinite(value):
        return None
    return value
