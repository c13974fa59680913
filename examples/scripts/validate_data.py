#!/usr/bin/env python3
"""Validate the digits data set: the file exists, every row has 64 pixel values in 0..16
and a label in 0..9, all 10 classes are present and reasonably balanced.

    python3 examples/scripts/validate_data.py --data examples/data/digits/digits.csv.gz

Result: {"rows": int, "features": 64, "classes": 10, "ok": true, "class_counts": [...],
"sha256": str, "path": str}. On bad data: the problems on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

import _digits as D


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=D.DEFAULT_DATA,
                        help="CSV or gzip CSV: 64 pixel columns then the label (default: the bundled digits data)")
    parser.add_argument("--min-rows", type=int, default=100, help="fewest rows accepted (default 100)")
    parser.add_argument("--min-class-fraction", type=float, default=0.5,
                        help="each class must have at least this fraction of the mean class size (default 0.5)")
    args = parser.parse_args(argv)
    ty = D.runtime()

    if not os.path.isfile(args.data):
        D.fail("data file not found: %s" % args.data)

    features, labels, errors = D.check_raw(args.data)
    if errors:
        sys.stderr.write("error: %s is not a valid digits data file:\n" % args.data)
        for msg in errors:
            sys.stderr.write("  " + msg + "\n")
        return 1
    rows = len(labels)
    if rows < args.min_rows:
        D.fail("%s has %d rows; at least %d are required" % (args.data, rows, args.min_rows))
    counts = D.class_counts(labels)
    missing = [c for c, k in enumerate(counts) if k == 0]
    if missing:
        D.fail("%s has no rows for class(es) %s; all 10 digits are required" % (args.data, missing))
    mean = rows / D.N_CLASSES
    thin = [c for c, k in enumerate(counts) if k < args.min_class_fraction * mean]
    if thin:
        D.fail("%s is unbalanced: class(es) %s have fewer than %.0f%% of the mean class size %.1f (counts %s)"
               % (args.data, thin, 100 * args.min_class_fraction, mean, counts))

    with open(args.data, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    print("%s: %d rows, %d features, %d classes, class counts %s: ok"
          % (args.data, rows, D.N_FEATURES, D.N_CLASSES, counts))
    ty.log_metrics({"rows": rows, "min_class_count": min(counts), "max_class_count": max(counts)})
    ty.save_result({
        "rows": rows,
        "features": D.N_FEATURES,
        "classes": D.N_CLASSES,
        "ok": True,
        "class_counts": counts,
        "sha256": digest,
        "path": os.path.abspath(args.data),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
