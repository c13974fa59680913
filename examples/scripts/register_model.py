#!/usr/bin/env python3
"""Register a trained model in the local model registry, as the next version of NAME.

    python3 examples/scripts/register_model.py --model PATH/model.json --accuracy 0.95 --name digits

Copies the model to $TRAINYARD_HOME/models/NAME/vN/model.json (TRAINYARD_HOME defaults to
./.trainyard; N = 1 + the highest version there) with metadata.json (name, version,
accuracy, dag id, run id, task id, try, created time, sha256 of the model).
Result: {"name": str, "version": int, "uri": "file://.../vN", "path": str, "accuracy": float}.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

import _digits as D

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model file to register")
    parser.add_argument("--accuracy", required=True, type=float, help="its test accuracy, stored in the metadata")
    parser.add_argument("--name", required=True, help="registered model name: letters, digits, . _ -")
    args = parser.parse_args(argv)
    ty = D.runtime()

    if not NAME_RE.match(args.name):
        D.fail("--name %r: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit" % args.name)
    if not os.path.isfile(args.model):
        D.fail("model file not found: %s" % args.model)
    home = os.path.abspath(os.environ.get("TRAINYARD_HOME") or ".trainyard")
    base = os.path.join(home, "models", args.name)
    os.makedirs(base, exist_ok=True)

    # Claim the next version with mkdir, which fails if another registration took it.
    while True:
        versions = [int(m.group(1)) for m in (re.match(r"^v(\d+)$", n) for n in os.listdir(base)) if m]
        version = max(versions, default=0) + 1
        target = os.path.join(base, "v%d" % version)
        try:
            os.mkdir(target)
            break
        except FileExistsError:
            continue

    model_name = os.path.basename(args.model)
    dest = os.path.join(target, model_name)
    shutil.copyfile(args.model, dest)
    with open(dest, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    ctx = ty.context()
    metadata = {
        "name": args.name,
        "version": version,
        "accuracy": args.accuracy,
        "model_file": model_name,
        "sha256": digest,
        "source_path": os.path.abspath(args.model),
        "dag_id": ctx["dag_id"],
        "run_id": ctx["run_id"],
        "task_id": ctx["task_id"],
        "try_number": ctx["try_number"],
        "logical_date": ctx["logical_date"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    ty.write_json_atomic(os.path.join(target, "metadata.json"), metadata, indent=2)
    uri = Path(target).as_uri()
    print("registered %s version %d (accuracy %.4f) at %s" % (args.name, version, args.accuracy, uri))
    ty.save_result({"name": args.name, "version": version, "uri": uri, "path": target, "accuracy": args.accuracy})
    return 0


if __name__ == "__main__":
    sys.exit(main())
