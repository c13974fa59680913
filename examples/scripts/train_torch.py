#!/usr/bin/env python3
"""The GPU example: train a small MLP on the digits data with PyTorch on CUDA.

    python3 examples/scripts/train_torch.py [--train DIR/train.csv --val DIR/val.csv]
        [--data examples/data/digits/digits.csv.gz] [--epochs 30] [--hidden 64] [--lr 0.01]
        [--batch 64] [--seed 0] [--allow-cpu]

Without PyTorch, or without a CUDA device, it prints "no GPU / torch here: skipping" and
exits 99 (the contract's skip code); --allow-cpu runs on the CPU instead when torch is
there. Data: --train/--val when given (or found in TRAINYARD_RUN_ARTIFACTS_DIR), otherwise
a stratified 70/15/15 split of --data made here. Prints a metric line per epoch and writes
the weights as model.json (the same format as train.py, so evaluate.py reads it) to the
try's artifacts dir.

Result: {"val_accuracy": float, "device": torch.cuda.get_device_name(0) (or "cpu"),
"cuda_visible_devices": $CUDA_VISIBLE_DEVICES, "epochs", "hidden", "torch_version",
"cuda_version", "seconds", "model_path"}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import _digits as D


def skip(message: str) -> "None":
    print("no GPU / torch here: skipping (%s)" % message, flush=True)
    raise SystemExit(99)


def load_data(args, ty):
    train, val = args.train, args.val
    if train is None and val is None:
        run_dir = os.environ.get("TRAINYARD_RUN_ARTIFACTS_DIR")
        if run_dir and os.path.isfile(os.path.join(run_dir, "train.csv")) and os.path.isfile(os.path.join(run_dir, "val.csv")):
            train, val = os.path.join(run_dir, "train.csv"), os.path.join(run_dir, "val.csv")
    if train and val:
        x_tr, y_tr = D.read_split(train)
        x_va, y_va = D.read_split(val)
        return x_tr, y_tr, x_va, y_va, "splits %s, %s" % (train, val)
    if bool(train) != bool(val):
        D.fail("give both --train and --val, or neither (then --data is split here)")
    features, labels, errors = D.check_raw(args.data)
    if errors:
        D.fail("%s is not a valid digits data file: %s" % (args.data, "; ".join(errors)))
    tr, va, _ = D.stratified_split(labels, [0.70, 0.15, 0.15], args.seed)
    scale = 1.0 / D.MAX_PIXEL
    x_tr = [[v * scale for v in features[i]] for i in tr]
    x_va = [[v * scale for v in features[i]] for i in va]
    return x_tr, [labels[i] for i in tr], x_va, [labels[i] for i in va], "a split of %s" % args.data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=None)
    parser.add_argument("--val", default=None)
    parser.add_argument("--data", default=D.DEFAULT_DATA, help="raw data, split here when no --train/--val")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU when torch has no CUDA device")
    args = parser.parse_args(argv)
    ty = D.runtime()

    try:
        import torch
    except Exception as exc:  # ImportError, or a broken install
        text = str(exc)
        skip("cannot import torch: %s" % (text if len(text) <= 160 else text[:160] + "..."))
    if torch.cuda.is_available():
        device = torch.device("cuda", 0)
        device_name = torch.cuda.get_device_name(0)
    elif args.allow_cpu:
        device = torch.device("cpu")
        device_name = "cpu"
    else:
        skip("torch %s sees no CUDA device; CUDA_VISIBLE_DEVICES=%r"
             % (torch.__version__, os.environ.get("CUDA_VISIBLE_DEVICES")))
    if args.epochs < 1 or args.hidden < 1 or args.batch < 1:
        D.fail("--epochs, --hidden and --batch must be >= 1")

    ty.log_params({"epochs": args.epochs, "hidden": args.hidden, "lr": args.lr, "batch": args.batch,
                   "seed": args.seed, "device": device_name})
    print("training on %s (torch %s, CUDA_VISIBLE_DEVICES=%r)"
          % (device_name, torch.__version__, os.environ.get("CUDA_VISIBLE_DEVICES")), flush=True)
    t0 = time.monotonic()
    torch.manual_seed(args.seed)
    x_tr, y_tr, x_va, y_va, source = load_data(args, ty)
    print("data: %d train / %d val rows from %s" % (len(y_tr), len(y_va), source), flush=True)
    xt = torch.tensor(x_tr, dtype=torch.float32, device=device)
    yt = torch.tensor(y_tr, dtype=torch.long, device=device)
    xv = torch.tensor(x_va, dtype=torch.float32, device=device)
    yv = torch.tensor(y_va, dtype=torch.long, device=device)

    model = torch.nn.Sequential(
        torch.nn.Linear(D.N_FEATURES, args.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, D.N_CLASSES),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator(device="cpu").manual_seed(args.seed)

    def on_sigterm() -> None:
        print("SIGTERM: stopping (this example keeps no checkpoint)", flush=True)

    ty.on_terminate(on_sigterm)

    val_acc = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(y_tr), generator=gen).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, len(y_tr), args.batch):
            idx = perm[start:start + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            val_loss = loss_fn(logits, yv).item()
            val_acc = (logits.argmax(dim=1) == yv).float().mean().item()
        ty.log_metrics({"loss": total.item() / len(y_tr), "val_loss": val_loss, "val_accuracy": val_acc}, step=epoch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.monotonic() - t0

    w1, b1, w2, b2 = (t.detach().cpu().tolist() for t in
                      (model[0].weight, model[0].bias, model[2].weight, model[2].bias))
    doc = D.Model(args.hidden, [(w1, b1), (w2, b2)]).to_json()
    doc.update(trained_epochs=args.epochs, trained_with="torch %s on %s" % (torch.__version__, device_name),
               val_accuracy=val_acc)
    model_path = os.path.join(ty.artifacts_dir(), "model.json")
    ty.write_json_atomic(model_path, doc)
    print("val_accuracy %.4f after %d epochs in %.2fs on %s -> %s"
          % (val_acc, args.epochs, seconds, device_name, model_path), flush=True)
    ty.save_result({
        "val_accuracy": val_acc,
        "device": device_name,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "epochs": args.epochs,
        "hidden": args.hidden,
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "seconds": round(seconds, 3),
        "model_path": model_path,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
