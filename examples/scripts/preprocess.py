#!/usr/bin/env python3
"""Split the digits data set into train / validation / test files, stratified by class,
with the pixel values scaled from 0..16 to [0, 1].

    python3 examples/scripts/preprocess.py --data examples/data/digits/digits.csv.gz --out DIR --seed 7

Writes DIR/train.csv, DIR/val.csv, DIR/test.csv (header p0..p63,label). DIR defaults to
TRAINYARD_RUN_ARTIFACTS_DIR, so that later tasks of the run find the files.
Result: {"train": path, "val": path, "test": path, "n_train": int, "n_val": int,
"n_test": int, "seed": int}.
"""

from __future__ import annotations

import argparse
import os
import sys

import _digits as D


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=D.DEFAULT_DATA, help="the raw data file (default: the bundled digits data)")
    parser.add_argument("--out", default=None, help="output folder (default: TRAINYARD_RUN_ARTIFACTS_DIR)")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    parser.add_argument("--train-frac", type=float, default=0.70, help="default 0.70")
    parser.add_argument("--val-frac", type=float, default=0.15, help="default 0.15; the test split gets the rest")
    args = parser.parse_args(argv)
    ty = D.runtime()

    if not (0 < args.train_frac < 1 and 0 < args.val_frac < 1 and args.train_frac + args.val_frac < 1):
        D.fail("--train-frac and --val-frac must be in (0, 1) and sum to less than 1")
    if not os.path.isfile(args.data):
        D.fail("data file not found: %s" % args.data)
    features, labels, errors = D.check_raw(args.data)
    if errors:
        D.fail("%s is not a valid digits data file (run validate_data.py): %s" % (args.data, "; ".join(errors)))

    out = os.path.abspath(args.out) if args.out else ty.run_artifacts_dir()
    os.makedirs(out, exist_ok=True)
    test_frac = 1.0 - args.train_frac - args.val_frac
    parts = D.stratified_split(labels, [args.train_frac, args.val_frac, test_frac], args.seed)
    scale = 1.0 / D.MAX_PIXEL
    result = {}
    for name, idx in zip(("train", "val", "test"), parts):
        path = os.path.join(out, name + ".csv")
        D.write_split(path, [[v * scale for v in features[i]] for i in idx], [labels[i] for i in idx])
        result[name] = path
        result["n_" + name] = len(idx)
    result["seed"] = args.seed
    ty.log_params({"seed": args.seed, "train_frac": args.train_frac, "val_frac": args.val_frac})
    print("wrote %d / %d / %d rows to %s" % (result["n_train"], result["n_val"], result["n_test"], out))
    ty.save_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
