#!/usr/bin/env python3
"""Evaluate a trained digits model on the test split.

    python3 examples/scripts/evaluate.py --model PATH/model.json --test DIR/test.csv

Result: {"test_accuracy": float, "per_class": [10 floats, the accuracy on each digit],
"test_loss": float, "n_test": int, "model_path": path}. --test defaults to
TRAINYARD_RUN_ARTIFACTS_DIR/test.csv.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import _digits as D


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model.json written by train.py")
    parser.add_argument("--test", default=None, help="test split (default: TRAINYARD_RUN_ARTIFACTS_DIR/test.csv)")
    args = parser.parse_args(argv)
    ty = D.runtime()

    test_path = args.test or os.path.join(ty.run_artifacts_dir(), "test.csv")
    model = D.load_model(args.model)
    features, labels = D.read_split(test_path)
    predictions = model.predict(features)
    _, test_loss = model.evaluate(features, labels)

    hits = [0] * D.N_CLASSES
    totals = [0] * D.N_CLASSES
    for y, p in zip(labels, predictions):
        totals[y] += 1
        hits[y] += int(y == p)
    accuracy = sum(hits) / len(labels)
    per_class = [round(h / t, 6) if t else None for h, t in zip(hits, totals)]

    metrics = {"test_accuracy": accuracy}
    if math.isfinite(test_loss):
        metrics["test_loss"] = test_loss
    ty.log_metrics(metrics)
    print("test accuracy %.4f on %d rows; per digit: %s"
          % (accuracy, len(labels), " ".join("%d:%.2f" % (d, a) for d, a in enumerate(per_class) if a is not None)))
    ty.save_result({
        "test_accuracy": accuracy,
        "per_class": per_class,
        "test_loss": D.finite_or_none(test_loss),
        "n_test": len(labels),
        "model_path": os.path.abspath(args.model),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
