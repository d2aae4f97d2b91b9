"""Per-synapse activity during training, for ``prune-inactive``.

:func:`record_activity` replays a training stream in the reference interpreter, wave by
wave with learning on, exactly as the exact-mode trainer does (greedy, layer after layer,
each layer over the whole stream with the layers below frozen), and counts per synapse and
epoch the waves in which it *captured* (docs/model.md §5: ``x != NONE``, credited ``z != NONE``,
``x <= z``; under R-STDP a wave with reward 0 has no capture, as in the update rule). For an
exact-mode training the replay is the real training: the replayed network at the end is
compared with the trained one and ``Activity.exact`` says whether they are identical.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ir.common import NONE
from ..ir.interp import Interpreter, credited, reward
from ..ir.kinds import kind_of
from ..ir.network import Network
from .base import synaptic_layers


@dataclass
class Activity:
    """Capture counts per layer and column: ``distal[li][ci]`` is ``int64 [epochs, *bank
    shape]`` (``None`` for a layer without learning); ``proximal[li][ci]`` likewise for the
    proximal bank (``None`` without one)."""

    distal: list[list[np.ndarray | None]]
    proximal: list[list[np.ndarray | None]]
    waves: int  # training waves per layer
    epoch_len: int
    seconds: float = 0.0
    exact: bool | None = None  # replayed network == trained network (None: not compared)
    info: dict = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        for row in self.distal:
            for a in row:
                if a is not None:
                    return int(a.shape[0])
        return 0

    def captures(self, li: int, ci: int, last_epochs: int = 0
                 ) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Summed captures ``(distal, proximal)`` of column ``ci`` of layer ``li`` over every
        epoch (``last_epochs == 0``) or the last ``last_epochs``; ``None`` without activity."""
        d = self.distal[li][ci]
        if d is None:
            return None
        sl = slice(-last_epochs, None) if last_epochs else slice(None)
        p = self.proximal[li][ci]
        return d[sl].sum(axis=0), (None if p is None else p[sl].sum(axis=0))

    def summary(self) -> dict:
        tot = cap = never = 0
        for row in self.distal:
            for a in row:
                if a is not None:
                    s = a.sum(axis=0)
                    tot += s.size
                    cap += int(s.sum())
                    never += int((s == 0).sum())
        return {"waves": self.waves, "epochs": self.epochs, "epoch_len": self.epoch_len,
                "seconds": round(self.seconds, 3), "exact": self.exact,
                "captures": cap, "distal_positions_never_captured": never,
                "distal_positions": tot, **self.info}

    def save(self, path: Path) -> None:
        arrays = {}
        for kind, rows in (("d", self.distal), ("p", self.proximal)):
            for li, row in enumerate(rows):
                for ci, a in enumerate(row):
                    if a is not None:
                        arrays[f"{kind}_{li}_{ci}"] = a
        shape = np.array([[len(r) for r in self.distal]], dtype=np.int64)
        meta = np.array([self.waves, self.epoch_len, -1 if self.exact is None else int(self.exact)])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, _shape=shape, _meta=meta, _seconds=np.array([self.seconds]),
                            **arrays)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> Activity:
        z = np.load(path)
        ncols = [int(n) for n in z["_shape"][0]]
        waves, epoch_len, ex = (int(v) for v in z["_meta"])
        d = [[z[f"d_{li}_{ci}"] if f"d_{li}_{ci}" in z else None for ci in range(n)]
             for li, n in enumerate(ncols)]
        p = [[z[f"p_{li}_{ci}"] if f"p_{li}_{ci}" in z else None for ci in range(n)]
             for li, n in enumerate(ncols)]
        return Activity(d, p, waves, epoch_len, float(z["_seconds"][0]),
                        None if ex < 0 else bool(ex))


def record_activity(initial: Network, X: np.ndarray, labels: np.ndarray | None = None, *,
                    epoch_len: int | None = None, trained: Network | None = None,
                    layers: list[int] | None = None, progress=None) -> Activity:
    """Replay the training stream ``X[waves, inputs]`` (every epoch, in training order; the
    same labels the trainer got, or ``None``) from the ``initial`` IR and count captures.
    ``layers``: the learning layers to replay, greedily in increasing order (default: every
    learning layer); the others get no activity. ``epoch_len``: waves per epoch (default: the
    whole stream is one epoch). ``trained``: the trained IR to compare the replayed layers'
    weights and generator states with (sets ``exact``). ``progress(done, total)`` is called
    now and then."""
    t0 = time.perf_counter()
    X = np.asarray(X, dtype=np.int64)
    N = X.shape[0]
    E = max(1, -(-N // epoch_len)) if epoch_len else 1
    elen = epoch_len or max(N, 1)
    net = initial
    distal: list[list[np.ndarray | None]] = []
    proximal: list[list[np.ndarray | None]] = []
    synaptic = dict(synaptic_layers(net, "record_activity"))  # layers of other kinds: none
    learning = [li for li, layer in synaptic.items() if kind_of(layer).learns(layer)
                and (layers is None or li in layers)]
    for li in range(len(net.layers)):
        on = li in learning
        cols = synaptic[li].columns if li in synaptic else ()
        distal.append([np.zeros((E, *c.distal.weights.shape), np.int64) if on else None
                       for c in cols])
        proximal.append([np.zeros((E, *c.proximal.weights.shape), np.int64)
                         if on and c.proximal is not None else None
                         for c in cols])
    total = N * len(learning)
    done = 0
    for li in learning:
        interp = Interpreter(net)
        layer = net.layers[li]
        rule = layer.learning
        assert rule is not None

        def on_wave(n, res, it, li=li, layer=layer, rule=rule) -> None:
            nonlocal done
            e = n // elen
            lab = None if labels is None else int(labels[n])
            prox = it.proximal_for_labels(np.array([lab]), True, {li}) if lab is not None else {}
            pofs = 0
            for ci, col in enumerate(layer.columns):
                tr = res.traces[li][ci]
                P = col.proximal_inputs
                pc = None
                if li in prox and P:
                    pc = prox[li][0, pofs:pofs + P]
                pofs += P
                if rule.kind == "rstdp" and lab is not None and reward(tr.out[0], lab) == 0:
                    continue
                zs, zp = credited(tr, rule, col.proximal_mode)
                zs = zs[0]  # [q, D, S]
                x = res.inputs[li][0, layer.column_inputs(ci)]
                distal[li][ci][e] += _captures(x, zs[..., None]) & col.distal.mask
                pb = col.proximal
                if pb is None or not P:
                    continue
                xp = np.full(P, NONE) if pc is None else np.asarray(pc)
                if col.proximal_mode == "sum":
                    proximal[li][ci][e] += _captures(xp, zs[..., None]) & pb.mask
                elif col.proximal_mode == "gate":
                    proximal[li][ci][e] += _captures(xp, zp[0][:, None]) & pb.mask
            done += 1
            if progress is not None and (done % 256 == 0 or done == total):
                progress(done, total)

        interp.run(X, labels=labels, learn=True, layers={li}, on_wave=on_wave)
        net = interp.network()
    exact = None if trained is None else all(_same_layer(net.layers[li], trained.layers[li])
                                             for li in learning)
    return Activity(distal, proximal, N, elen, time.perf_counter() - t0, exact)


def _same_layer(a, b) -> bool:
    """Same weights, connectivity and generator states in every column."""
    if len(a.columns) != len(b.columns):
        return False
    for ca, cb in zip(a.columns, b.columns, strict=True):
        if not (np.array_equal(ca.distal.weights, cb.distal.weights)
                and np.array_equal(ca.distal.mask, cb.distal.mask)):
            return False
        if (ca.proximal is None) != (cb.proximal is None):
            return False
        if ca.proximal is not None and not np.array_equal(ca.proximal.weights, cb.proximal.weights):
            return False
        if (ca.random is None) != (cb.random is None):
            return False
        if ca.random is not None and not np.array_equal(ca.random.seeds, cb.random.seeds):
            return False
    return True


def _captures(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """docs/model.md §5 capture case: ``x != NONE``, ``z != NONE``, ``x <= z`` (broadcast)."""
    return ((x >= 0) & (z >= 0) & (x <= z)).astype(np.int64)
