#!/usr/bin/env python3
"""Report that the trained model did not reach the accuracy threshold (the branch taken
instead of registering it). Prints the message on stdout.

    python3 examples/scripts/notify.py --accuracy 0.81 --threshold 0.9 [--name digits]

Result: {"notified": true, "accuracy": float, "threshold": float, "below_threshold": bool,
"message": str}.
"""

from __future__ import annotations

import argparse
import sys

import _digits as D


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accuracy", required=True, type=float)
    parser.add_argument("--threshold", required=True, type=float)
    parser.add_argument("--name", default="digits", help="the model's name, for the message")
    args = parser.parse_args(argv)
    ty = D.runtime()

    ctx = ty.context()
    where = ""
    if ctx["dag_id"] or ctx["run_id"]:
        where = " (dag %s, run %s)" % (ctx["dag_id"], ctx["run_id"])
    below = args.accuracy < args.threshold
    if below:
        message = ("model %s NOT registered%s: test accuracy %.4f is below the threshold %.4f"
                   % (args.name, where, args.accuracy, args.threshold))
    else:
        message = ("model %s%s: test accuracy %.4f reaches the threshold %.4f (notify was called anyway)"
                   % (args.name, where, args.accuracy, args.threshold))
    print("NOTIFY: " + message, flush=True)
    ty.save_result({"notified": True, "accuracy": args.accuracy, "threshold": args.threshold,
                    "below_threshold": below, "message": message})
    return 0


if __name__ == "__main__":
    sys.exit(main())
