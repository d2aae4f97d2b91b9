"""Seeded random weight sets for ``register``-mode verification.

A ``register``-mode design resets its weight registers to the weights it was generated
with and can load others through ``wload_*``. A bench that only ever runs the trained
weights leaves most of the weight storage unchecked: STDP drives trained weights to 0 or
``w_max``, so most of them are equal, and a write into the wrong register, a swapped
weight multiplexer or a stuck register bit usually changes nothing observable.

:func:`random_weights` substitutes every present synapse weight of every TNN layer of a
network (distal and proximal banks, each in its own range ``0 .. 2**wres - 1``) with a
seeded pattern that makes neighbouring registers differ: the present synapses of a bank,
in their flat ``[neuron, dendrite, segment, line]`` order, take the values of consecutive
random permutations of ``0 .. w_max`` (blocks of ``w_max + 1`` registers, all distinct
inside a block, no two equal neighbours across a block boundary); where that leaves a
segment's threshold out of reach (the IR requires the sum of a segment's weights to reach
it), randomly chosen synapses of that segment are raised to ``w_max`` until it is reachable.
Pruned synapses stay 0, connectivity, thresholds and everything else are kept, so the
result is a valid network of the same structure (:class:`neutnngen.ir.Interpreter` validates it); the expected
outputs come from the reference interpreter on it. Same network, seed and index: same
weights.

Random weights alone are not enough: a swapped pair of weights changes a potential only on
a volley whose two lines spike at different times, and real data (a smooth time series)
rarely has that for neighbouring lines. :func:`weight_sets` therefore appends, per set, up
to ``corner`` corner-case volleys chosen for the substituted network
(:func:`neutnngen.verify.corner.corner_volleys`: a volley that tells each weight +/- 1
apart, coverage goals). On the GunPoint design this makes 288 of the 298 swaps of two
unequal neighbouring weights of the first random set visible (124 with the trained
network's test and corner volleys only). :func:`verify_weight_sets` runs the bench once
per set, loading the set through ``wload_*`` (:func:`neutnngen.verify.run_verification`
``load_weights``); the design's build is reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..ir.interp import Interpreter
from ..ir.nodes import Layer, Network

CORNER = 32  # corner volleys chosen for each random weight set (weight_sets)


def _pattern(rng: np.random.Generator, n: int, w_max: int) -> np.ndarray:
    """``n`` values in ``0 .. w_max``: consecutive random permutations of the range, a block
    that would start with its predecessor's last value rotated by one."""
    m = w_max + 1
    out: list[int] = []
    while len(out) < n:
        perm = rng.permutation(m)
        if out and m > 1 and perm[0] == out[-1]:
            perm = np.roll(perm, -1)
        out += [int(v) for v in perm]
    return np.asarray(out[:n], dtype=np.int64)


def _bank(rng: np.random.Generator, weights: np.ndarray, mask: np.ndarray,
          w_max: int) -> np.ndarray:
    w = np.zeros(weights.shape, dtype=np.int64)
    present = np.flatnonzero(mask)
    w.flat[present] = _pattern(rng, len(present), w_max)
    return w


def _reach(rng: np.random.Generator, w: np.ndarray, mask: np.ndarray, w_max: int,
           need: np.ndarray) -> np.ndarray:
    """``w`` with, in every row (last axis: the lines) whose sum is below ``need``, randomly
    chosen present synapses raised to ``w_max`` until the sum reaches it (or none is left):
    the IR requires every threshold reachable with the weights."""
    w = w.copy()
    rows = w.reshape(-1, w.shape[-1])
    m = mask.reshape(-1, mask.shape[-1])
    for r, want in enumerate(np.broadcast_to(need, w.shape[:-1]).reshape(-1)):
        low = [int(j) for j in rng.permutation(np.flatnonzero(m[r] & (rows[r] < w_max)))]
        while int(rows[r].sum()) < int(want) and low:
            rows[r, low.pop()] = w_max
    return w


def random_weights(net: Network, seed: int, index: int = 0) -> Network:
    """``net`` with every present synapse weight of its TNN layers replaced by weight set
    ``index`` of ``seed`` (module docstring); the result passes IR validation: a segment
    whose threshold the pattern cannot reach gets randomly chosen synapses of it raised to
    ``w_max`` until it can."""
    if int(seed) < 0 or int(index) < 0:
        raise ConfigError(f"random weight seed {seed!r} / set {index!r}; expected integers "
                          ">= 0", path="verify.random_weights")
    rng = np.random.default_rng([int(seed), int(index), 0x5EED])
    out = net
    for k, layer in enumerate(net.layers):
        if not isinstance(layer, Layer):
            continue
        cols = []
        for col in layer.columns:
            dist = col.distal
            d = _bank(rng, dist.weights, dist.mask, dist.w_max)
            p = None
            bank = col.proximal
            if bank is not None:
                p = _bank(rng, bank.weights, bank.mask, bank.w_max)
            if col.proximal_mode == "sum" and p is not None and p.shape == d.shape:
                d = _reach(rng, d, dist.mask, dist.w_max, col.theta - p.sum(-1))
                p = _reach(rng, p, bank.mask, bank.w_max, col.theta - d.sum(-1))
            else:
                d = _reach(rng, d, dist.mask, dist.w_max, col.theta)
                if col.proximal_mode == "gate" and p is not None \
                        and col.proximal_theta is not None:
                    p = _reach(rng, p, bank.mask, bank.w_max, col.proximal_theta)
            cols.append(col.with_weights(d, p))
        out = out.replace_layer(k, replace(layer, columns=tuple(cols)))
    Interpreter(out)  # validates: a set that breaks the IR is a bug here, not in the design
    return out


def random_weight_sets(net: Network, n: int, seed: int = 0) -> list[Network]:
    """Weight sets ``0 .. n - 1`` of ``seed`` (:func:`random_weights`)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"random weight sets {n!r}; expected a number of sets >= 0",
                          path="verify.random_weights")
    return [random_weights(net, seed, i) for i in range(n)]


def sets_for(weights_mode: str, n: int | None) -> int:
    """The number of random weight sets to run on a design of ``weights_mode`` (names.json
    ``top.weights``): ``n``, or by default 1 for a ``register``-mode design and 0 for the
    others (``hardwired`` weights are not loadable; a ``learn``-mode design loads them
    through the same ``wload_*`` port and runs them with ``learn_en`` low when ``n`` asks)."""
    if n is None:
        return 1 if weights_mode == "register" else 0
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"random weight sets {n!r}; expected a number of sets >= 0",
                          path="verify.random_weights")
    if n and weights_mode not in ("register", "learn"):
        raise ConfigError(f"random weight sets {n}: the design's weights are "
                          f"{weights_mode!r}; random weights need a register-mode or "
                          "learn-mode design (hdl.weights = 'register' or 'learn') or 0 sets",
                          path="verify.random_weights")
    return n


@dataclass(frozen=True)
class WeightSet:
    """One random weight set of a verification: the substituted network and its volleys
    (the given ones, then ``corner`` volleys chosen for this network)."""

    index: int
    seed: int
    net: Network
    X: np.ndarray
    corner: int  # volleys appended

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "seed": self.seed, "waves": len(self.X),
                "corner": self.corner}


def weight_sets(net: Network, X: np.ndarray, n: int, seed: int = 0, corner: int = CORNER,
                prox: Mapping[int, np.ndarray] | None = None) -> list[WeightSet]:
    """Weight sets ``0 .. n - 1`` of ``seed`` for the volleys ``X``, each with up to
    ``corner`` corner-case volleys chosen for its network (seeded by ``seed + index``);
    none when ``prox`` (proximal volleys per wave of ``X``) is given: they would need
    proximal volleys too."""
    if isinstance(corner, bool) or not isinstance(corner, int) or corner < 0:
        raise ConfigError(f"random weight corner volleys {corner!r}; expected a number >= 0",
                          path="verify.random_weights")
    from .corner import corner_volleys

    X = np.asarray(X, dtype=np.int64)
    out = []
    for i, rnet in enumerate(random_weight_sets(net, n, seed)):
        Xi = X
        if corner and not prox:
            C, _ = corner_volleys(rnet, corner, seed=seed + i, real=X)
            Xi = np.concatenate([X, C.astype(np.int64)])
        out.append(WeightSet(i, seed, rnet, Xi, len(Xi) - len(X)))
    return out


def verify_weight_sets(sets: list[WeightSet], verilog: str | Path, names: str | Path, *,
                       workdir: str | Path, **bench: Any) -> list[Any]:
    """Run the bench (:func:`neutnngen.verify.run_verification`, keyword arguments
    ``bench``) once per weight set, loading its weights through ``wload_*``; one
    :class:`~neutnngen.verify.VerifyResult` per set (the runs stop at the first set that
    mismatches when ``stop_on_mismatch``). Work directories ``workdir/weights<i>``."""
    from .run import run_verification

    bench = {k: v for k, v in bench.items() if k not in ("expected", "load_weights")}
    out = []
    for ws in sets:
        r = run_verification(ws.net, verilog, names, ws.X, workdir=Path(workdir) /
                             f"weights{ws.index}", load_weights=True, **bench)
        out.append(r)
        if r.mismatches and bench.get("stop_on_mismatch"):
            break
    return out


def verify_random_weights(net: Network, verilog: str | Path, names: str | Path, X: np.ndarray,
                          n: int | None, seed: int = 0, *, workdir: str | Path,
                          corner: int = CORNER, **bench: Any) -> list[dict[str, Any]]:
    """``n`` random weight sets (``None``: :func:`sets_for`'s default for the design) run
    on the design after the trained weights (:func:`verify_weight_sets`): per set its
    description and the run's ``mismatches``, ``wall_s``, ``bench``. A set that mismatches
    raises :class:`~neutnngen.errors.VerificationMismatch` naming the set, the first
    differing wave and the waveform."""
    import json

    from ..errors import VerificationMismatch
    from .protocol import describe

    mode = str(json.loads(Path(names).read_text()).get("top", {}).get("weights", ""))
    sets = weight_sets(net, X, sets_for(mode, n), seed, corner, prox=bench.get("prox"))
    out = []
    for ws, r in zip(sets, verify_weight_sets(sets, verilog, names, workdir=workdir, **bench),
                     strict=True):
        if r.mismatches:
            raise VerificationMismatch(
                f"random weight set {ws.index} (seed {ws.seed}) loaded through wload_*: "
                + describe(r.first_mismatch or {}, r.mismatches, r.waves)
                + f" ({r.simulator}, {r.bench} bench; waveform {r.waveform})",
                first=r.first_mismatch)
        out.append({**ws.describe(), "mismatches": r.mismatches, "wall_s": r.wall_s,
                    "bench": r.bench})
    return out
