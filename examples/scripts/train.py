#!/usr/bin/env python3
"""Train a digits classifier in pure Python: softmax regression, or a one-hidden-layer ReLU
MLP with --hidden H > 0, by mini-batch SGD with L2 weight decay.

    python3 examples/scripts/train.py --train DIR/train.csv --val DIR/val.csv \
        --lr 0.5 --l2 0.0001 --epochs 15 [--hidden 0] [--batch 32] [--checkpoint-every 1] [--seed 0]

Per epoch it prints ``::trainyard::metric {"step": epoch, "loss": ..., "val_loss": ...,
"val_accuracy": ...}`` (epochs count from 1). Every --checkpoint-every epochs, and after the
last one, it saves a checkpoint (weights, epoch, RNG state) to TRAINYARD_CHECKPOINT_DIR.
When TRAINYARD_RESUME=1 (an earlier try exists) or with --resume, it loads the checkpoint
found there and goes on at the next epoch, so metric steps continue; a resumed run ends
with the same weights as an uninterrupted one. On SIGTERM it saves the last finished epoch
and exits 143. The final weights go to --out (default: the try's
TRAINYARD_ARTIFACTS_DIR) as model.json.

Result: {"val_accuracy", "val_loss", "loss", "lr", "l2", "hidden", "epochs", "batch",
"seed", "model_path", "model_uri", "resumed_from"}.

Flags left out are taken from TRAINYARD_ITEM when it is a JSON object with that key
(lr, l2, epochs, hidden, batch, seed), so a mapped sweep can pass one dict per trial.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

import _digits as D

DEFAULTS = {"lr": 0.5, "l2": 1e-4, "epochs": 15, "hidden": 0, "batch": 32, "seed": 0}
TYPES = {"lr": float, "l2": float, "epochs": int, "hidden": int, "batch": int, "seed": int}
CHECKPOINT_NAME = "train_checkpoint.json"


def parse_args(argv, ty):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=None, help="training split (default: TRAINYARD_RUN_ARTIFACTS_DIR/train.csv)")
    parser.add_argument("--val", default=None, help="validation split (default: TRAINYARD_RUN_ARTIFACTS_DIR/val.csv)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default %s)" % DEFAULTS["lr"])
    parser.add_argument("--l2", type=float, default=None, help="L2 weight decay (default %s)" % DEFAULTS["l2"])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default %s)" % DEFAULTS["epochs"])
    parser.add_argument("--hidden", type=int, default=None, help="hidden units; 0 = softmax regression (default 0)")
    parser.add_argument("--batch", type=int, default=None, help="mini-batch size (default %s)" % DEFAULTS["batch"])
    parser.add_argument("--seed", type=int, default=None, help="seed for the init and the shuffles (default 0)")
    parser.add_argument("--checkpoint-every", type=int, default=1, help="save a checkpoint every K epochs (default 1)")
    parser.add_argument("--out", default=None, help="folder for model.json (default: TRAINYARD_ARTIFACTS_DIR)")
    parser.add_argument("--resume", action="store_true",
                        help="look for a checkpoint even without TRAINYARD_RESUME=1 (e.g. when run by hand)")
    parser.add_argument("--no-resume", action="store_true", help="never load a checkpoint")
    parser.add_argument("--epoch-delay", type=float, default=0.0,
                        help="sleep this many seconds after each epoch (to demo timeouts and cancel)")
    parser.add_argument("--fail-at-epoch", type=int, default=0,
                        help="on try 1 only, exit 1 after this epoch (to demo retry + resume)")
    args = parser.parse_args(argv)

    item = ty.item()
    item = item if isinstance(item, dict) else {}
    for key, cast in TYPES.items():
        if getattr(args, key) is None:
            value = item.get(key, DEFAULTS[key])
            try:
                setattr(args, key, cast(value))
            except (TypeError, ValueError):
                D.fail("TRAINYARD_ITEM[%r] = %r is not a valid %s" % (key, value, cast.__name__))
    if args.epochs < 1 or args.batch < 1 or args.hidden < 0 or args.checkpoint_every < 1:
        D.fail("--epochs, --batch and --checkpoint-every must be >= 1 and --hidden >= 0")
    if not (math.isfinite(args.lr) and args.lr > 0) or not (math.isfinite(args.l2) and args.l2 >= 0):
        D.fail("--lr must be > 0 and --l2 >= 0")
    run_dir = None
    if args.train is None or args.val is None:
        run_dir = ty.run_artifacts_dir()
    args.train = args.train or os.path.join(run_dir, "train.csv")
    args.val = args.val or os.path.join(run_dir, "val.csv")
    return args


def main(argv=None) -> int:
    ty = D.runtime()
    args = parse_args(argv, ty)
    config = {k: getattr(args, k) for k in ("lr", "l2", "epochs", "hidden", "batch", "seed")}
    ty.log_params(config)

    t0 = time.monotonic()
    x_train, y_train = D.read_split(args.train)
    x_val, y_val = D.read_split(args.val)

    rng = random.Random(args.seed)
    model = D.Model.init(args.hidden, rng)
    start_epoch = 0
    last = {"loss": None, "val_loss": None, "val_accuracy": None}
    resumed_from = None

    ckpt_path = os.path.join(ty.checkpoint_dir(), CHECKPOINT_NAME)
    if not args.no_resume and (args.resume or ty.should_resume()):
        state = ty.load_checkpoint(CHECKPOINT_NAME)
        if state is not None:
            try:
                if state.get("format") != D.CHECKPOINT_FORMAT:
                    raise ValueError("unknown format %r" % state.get("format"))
                if int(state["config"]["hidden"]) != args.hidden:
                    raise ValueError("it has hidden=%s, this run hidden=%s" % (state["config"]["hidden"], args.hidden))
                model = D.Model.from_json(state["model"])
                version, internal, gauss = state["rng"]
                rng.setstate((version, tuple(internal), gauss))
                start_epoch = int(state["epoch"])
                last = dict(last, **state.get("last", {}))
                resumed_from = start_epoch
                print("resuming from checkpoint %s at epoch %d of %d" % (ckpt_path, start_epoch, args.epochs))
                if start_epoch > args.epochs:
                    sys.stderr.write("warning: the checkpoint is past --epochs %d; keeping its model\n" % args.epochs)
            except (KeyError, TypeError, ValueError) as exc:
                sys.stderr.write("warning: ignoring checkpoint %s: %s\n" % (ckpt_path, exc))

    def snapshot(epoch: int) -> dict:
        doc = model.to_json()
        doc["layers"] = [{"W": [list(r) for r in layer["W"]], "b": list(layer["b"])} for layer in doc["layers"]]
        version, internal, gauss = rng.getstate()
        return {"format": D.CHECKPOINT_FORMAT, "epoch": epoch, "config": dict(config),
                "model": doc, "rng": [version, list(internal), gauss], "last": dict(last),
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    # The state after the last finished epoch: what SIGTERM saves (consistent with the RNG).
    current = {"state": snapshot(start_epoch), "saved": resumed_from is not None}

    def on_sigterm() -> None:
        state = current["state"]
        if not current["saved"]:
            ty.save_checkpoint(state, CHECKPOINT_NAME)
        print("SIGTERM: checkpoint at epoch %d is in %s; exiting 143" % (state["epoch"], ckpt_path), flush=True)

    ty.on_terminate(on_sigterm)

    try_number = ty.context()["try_number"]
    for epoch in range(start_epoch + 1, args.epochs + 1):
        loss = model.train_epoch(x_train, y_train, args.lr, args.l2, args.batch, rng)
        val_acc, val_loss = model.evaluate(x_val, y_val)
        last = {"loss": D.finite_or_none(loss), "val_loss": D.finite_or_none(val_loss), "val_accuracy": val_acc}
        # Snapshot first: once a step is reported, SIGTERM saves at least that epoch.
        current["saved"] = False
        current["state"] = snapshot(epoch)
        ty.log_metrics({"loss": loss, "val_loss": val_loss, "val_accuracy": val_acc}, step=epoch)
        if epoch % args.checkpoint_every == 0 or epoch == args.epochs:
            ty.save_checkpoint(current["state"], CHECKPOINT_NAME)
            current["saved"] = True
        if args.fail_at_epoch and epoch == args.fail_at_epoch and try_number == 1:
            if not current["saved"]:
                ty.save_checkpoint(current["state"], CHECKPOINT_NAME)
            D.fail("simulated failure after epoch %d on try 1 (--fail-at-epoch)" % epoch)
        if args.epoch_delay > 0:
            time.sleep(args.epoch_delay)

    if last["val_accuracy"] is None:  # resumed from a checkpoint without metrics
        val_acc, val_loss = model.evaluate(x_val, y_val)
        last.update(val_accuracy=val_acc, val_loss=D.finite_or_none(val_loss))

    out_dir = os.path.abspath(args.out) if args.out else ty.artifacts_dir()
    model_path = os.path.join(out_dir, "model.json")
    doc = model.to_json()
    doc.update(trained_epochs=args.epochs, config=config, val_accuracy=last["val_accuracy"])
    ty.write_json_atomic(model_path, doc)
    elapsed = time.monotonic() - t0
    print("trained %s for %d epochs in %.2fs: val_accuracy %.4f, loss %s -> %s"
          % ("softmax regression" if args.hidden == 0 else "MLP(hidden=%d)" % args.hidden,
             args.epochs, elapsed, last["val_accuracy"], last["loss"], model_path))
    ty.save_result({
        "val_accuracy": last["val_accuracy"],
        "val_loss": last["val_loss"],
        "loss": last["loss"],
        "lr": args.lr,
        "l2": args.l2,
        "hidden": args.hidden,
        "epochs": args.epochs,
        "batch": args.batch,
        "seed": args.seed,
        "model_path": model_path,
        "model_uri": _model_uri(model_path, out_dir, args.out is None, ty),
        "resumed_from": resumed_from,
    })
    return 0


def _model_uri(model_path: str, out_dir: str, default_out: bool, ty) -> str:
    base = os.environ.get("TRAINYARD_ARTIFACTS_URI")
    if default_out and base and os.environ.get("TRAINYARD_ARTIFACTS_DIR"):
        return base.rstrip("/") + "/model.json"
    from pathlib import Path

    return Path(model_path).as_uri()


if __name__ == "__main__":
    sys.exit(main())
