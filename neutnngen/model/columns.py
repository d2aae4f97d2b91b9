"""PyTorch columns of temporal neurons (docs/model.md §§1-4), bit-exact with the IR interpreter.

:class:`TNNColumns` is a stack of ``C`` independent columns of one shape: ``q`` neurons of
``D`` dendrites of ``S`` segments over ``p`` input lines. Everything is an integer tensor:

* ``weight`` ``[C, q, D, S, p]`` (0 .. w_max), ``mask`` (bool, same shape; a masked
  synapse is absent and its weight is 0), ``theta`` ``[C, q, D, S]``;
* proximal synapses as in the IR: ``sum`` -> ``proximal_weight [C, q, D, S, P]``;
  ``gate`` -> ``proximal_weight [C, q, P]`` and ``proximal_theta [C, q]``; ``enable`` ->
  none (one 1-bit line per neuron);
* ``seeds [C, generators]``: the LFSR states of the column's random source (if any).

Weights are buffers, not parameters: they are learned by STDP, never by gradients.

Inference computes every segment's membrane potential ``V[b, g, t]`` as a sum over input
lines of a response table ``R[j, x, g, t] = r(t; x, w_gj)``: that is the one-hot product
``onehot(x) @ R`` done as a gather-sum (``embedding_bag``), exact in float32 for potentials
below 2**24. A potential is non-decreasing in ``t`` (no leak), so the first crossing is
``#{t : V(t) < theta}`` (``T`` = never, NONE). Inhibition, dendrite and neuron logic follow
``neutnngen.ir.interp.column_forward`` step by step; ties go to the lowest index, or with
``tie = overshoot`` (M1) to the larger overshoot first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..ir.nodes import NONE, Inhibition, TimeSpec
from ..ir.stages.layer.kernels import KBIG, KO  # M1 keys: time * KO + KO - 1 - overshoot

BIG = 1 << 20
POLICY_CODES = {"wta1": 0, "kwta": 1, "twta": 2, "none": 3}
PROXIMAL_CODES = {"sum": 0, "enable": 1, "gate": 2}


def as_inhibition(inh: Inhibition | str) -> Inhibition:
    return inh if isinstance(inh, Inhibition) else Inhibition.parse(inh)


# --------------------------------------------------------------------------- primitives
def response_table(response: str, A: int, K: int, T: int, device=None) -> torch.Tensor:
    """``R[a, k, t]``: response at step ``t`` of a synapse of weight ``k`` whose input
    spiked at ``a`` (int64)."""
    t = torch.arange(T, device=device)
    a = torch.arange(A, device=device)
    k = torch.arange(K, device=device)
    on = t[None, :] >= a[:, None]  # [A, T]
    if response == "rnl":
        ramp = (t[None, :] - a[:, None] + 1).clamp(min=0)
        return torch.minimum(ramp[:, None, :], k[None, :, None])
    return on[:, None, :].long() * k[None, :, None]


def potentials_direct(x: torch.Tensor, w: torch.Tensor, response: str, T: int) -> torch.Tensor:
    """``V[..., g, t]`` for inputs ``x[..., n]`` and (masked) weights ``w[..., g, n]`` by
    broadcasting (small batches, changing weights: the STDP loop). ``x`` broadcasts over
    ``g``; NONE (any negative time) contributes nothing."""
    t = torch.arange(T, device=x.device)
    xs = x[..., None, :, None]  # [..., 1, n, 1]
    if response == "rnl":
        ramp = (t - xs + 1).clamp(min=0)
        ramp = torch.where(xs < 0, torch.zeros_like(ramp), ramp)
        r = torch.minimum(ramp, w[..., :, :, None])
    else:
        on = (t >= xs) & (xs >= 0)
        r = on.long() * w[..., :, :, None]
    return r.sum(dim=-2)


def first_crossing(V: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """First ``t`` with ``V[..., t] >= theta`` (``V`` non-decreasing in ``t``); NONE if never."""
    T = V.shape[-1]
    n = (V < theta[..., None]).sum(dim=-1)
    return torch.where(n >= T, torch.full_like(n, NONE), n)


def inhibit(z: torch.Tensor, inh: Inhibition) -> torch.Tensor:
    """Lateral inhibition along the last axis (docs/model.md §4), ties to the lowest index."""
    if inh.policy == "none":
        return z.clone()
    fired = z >= 0
    big = torch.where(fired, z, torch.full_like(z, BIG))
    if inh.policy == "twta":
        keep = (big == big.min(dim=-1, keepdim=True).values) & fired
        return torch.where(keep, z, torch.full_like(z, NONE))
    k = 1 if inh.policy == "wta1" else min(inh.k, z.shape[-1])
    if k == 1:
        idx = big.argmin(dim=-1, keepdim=True)  # first minimum = lowest index
        keep = torch.zeros_like(fired).scatter_(-1, idx, True)
    else:
        order = torch.sort(big, dim=-1, stable=True).indices[..., :k]
        keep = torch.zeros_like(fired).scatter_(-1, order, True)
    return torch.where(keep & fired, z, torch.full_like(z, NONE))


def earliest(z: torch.Tensor, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(min time, its lowest index)`` along ``dim``; ``(NONE, -1)`` when all are silent."""
    big = torch.where(z >= 0, z, torch.full_like(z, BIG))
    idx = big.argmin(dim=dim)  # argmin returns the first minimum (lowest index)
    m = big.gather(dim, idx.unsqueeze(dim)).squeeze(dim)
    silent = m >= BIG
    return (torch.where(silent, torch.full_like(m, NONE), m),
            torch.where(silent, torch.full_like(idx, -1), idx))


def overshoot_keys(V: torch.Tensor, seg: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """M1 sort keys of segment times ``seg[..., G]`` (``V[..., G, T]``, ``theta``
    broadcasting to ``seg``): ``z * KO + KO - 1 - min(V(z) - theta, KO - 1)``, so a smaller
    key is earlier, then a larger overshoot; NONE where the segment is silent."""
    z = seg.clamp(min=0)
    vz = V.gather(-1, z[..., None]).squeeze(-1).long()  # exact: potentials < 2**24
    o = (vz - theta.long()).clamp(max=KO - 1)
    return torch.where(seg >= 0, seg * KO + (KO - 1 - o), torch.full_like(seg, NONE))


def keep_by_key(keys: torch.Tensor, times: torch.Tensor, inh: Inhibition) -> torch.Tensor:
    """Which candidates survive ``inh`` under M1: ``wta1``/``kwta`` by key (time, then
    overshoot, then index), ``twta``/``none`` by time as always."""
    if inh.policy in ("twta", "none"):
        return inhibit(times, inh) >= 0
    k = 1 if inh.policy == "wta1" else min(inh.k, keys.shape[-1])
    big = torch.where(keys < 0, torch.full_like(keys, KBIG), keys)
    order = torch.sort(big, dim=-1, stable=True).indices[..., :k]  # equal keys: lowest index
    keep = torch.zeros_like(keys, dtype=torch.bool).scatter_(-1, order, True)
    return keep & (keys >= 0)


def earliest_key(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(min key, its lowest index)`` along the last axis; ``(NONE, -1)`` when all are
    silent."""
    big = torch.where(keys < 0, torch.full_like(keys, KBIG), keys)
    idx = big.argmin(dim=-1)
    m = big.gather(-1, idx[..., None]).squeeze(-1)
    silent = m >= KBIG
    return (torch.where(silent, torch.full_like(m, NONE), m),
            torch.where(silent, torch.full_like(idx, -1), idx))


@dataclass
class ColumnsTrace:
    """Every intermediate of a batch of waves through ``C`` columns (torch, int64)."""

    segment: torch.Tensor  # [B, C, q, D, S] raw segment times
    segment_won: torch.Tensor  # [B, C, q, D, S] after segment inhibition
    dendrite: torch.Tensor  # [B, C, q, D]
    dendrite_won: torch.Tensor  # [B, C, q] earliest dendrite, -1 if none
    proximal: torch.Tensor  # [B, C, q] gate: proximal time; enable: bit; sum: NONE
    neuron: torch.Tensor  # [B, C, q] before column inhibition
    out: torch.Tensor  # [B, C, q] the columns' output volleys


# --------------------------------------------------------------------------- module
class TNNColumns(nn.Module):
    """``C`` independent columns of one shape (a layer or a homogeneous part of one).

    ``forward(x[B, C, p], prox=None)`` returns a :class:`ColumnsTrace`; ``trace.out`` are
    the output times ``[B, C, q]`` (NONE = -1). ``prox[B, C, P]``: proximal spike times
    (sum, gate) or enable bits (enable); ``None`` means every enable line set and every
    proximal spike line silent (as the interpreter).
    """

    def __init__(
        self,
        columns: int,
        inputs: int,
        neurons: int,
        dendrites: int = 1,
        segments: int = 1,
        *,
        time: TimeSpec | None = None,
        wres: int = 3,
        segment_inhibition: Inhibition | str = "wta1",
        column_inhibition: Inhibition | str = "wta1",
        proximal_mode: str = "sum",
        proximal_inputs: int = 0,
        proximal_wres: int | None = None,
        random: dict | None = None,
        names: list[str] | None = None,
    ):
        super().__init__()
        from ..errors import ConfigError

        if proximal_mode not in PROXIMAL_CODES:
            raise ConfigError(f"proximal_mode={proximal_mode!r}; expected sum, enable or gate")
        self.time = time or TimeSpec()
        self.C, self.p, self.q, self.D, self.S = columns, inputs, neurons, dendrites, segments
        self.wres = wres
        self.segment_inhibition = as_inhibition(segment_inhibition)
        self.column_inhibition = as_inhibition(column_inhibition)
        self.proximal_mode = proximal_mode
        self.P = proximal_inputs
        has_bank = (proximal_mode == "sum" and proximal_inputs > 0) or proximal_mode == "gate"
        self.proximal_wres = (proximal_wres if proximal_wres is not None else wres) if has_bank else None
        self.random = dict(random) if random is not None else None  # RandomSource fields but seeds
        self.names = list(names) if names is not None else [f"col{c}" for c in range(columns)]
        C, q, D, S, p, P = columns, neurons, dendrites, segments, inputs, proximal_inputs
        self.register_buffer("weight", torch.zeros((C, q, D, S, p), dtype=torch.int64))
        self.register_buffer("mask", torch.ones((C, q, D, S, p), dtype=torch.bool))
        self.register_buffer("theta", torch.ones((C, q, D, S), dtype=torch.int64))
        pshape = None
        if proximal_mode == "sum" and has_bank:
            pshape = (C, q, D, S, P)
        elif proximal_mode == "gate":
            pshape = (C, q, P)
        if pshape is not None:
            self.register_buffer("proximal_weight", torch.zeros(pshape, dtype=torch.int64))
            self.register_buffer("proximal_mask", torch.ones(pshape, dtype=torch.bool))
        else:
            self.proximal_weight = None
            self.proximal_mask = None
        if proximal_mode == "gate":
            self.register_buffer("proximal_theta", torch.ones((C, q), dtype=torch.int64))
        else:
            self.proximal_theta = None
        if self.random is not None:
            self.register_buffer("seeds", torch.ones((C, self.n_generators), dtype=torch.int64))
        else:
            self.seeds = None
        self._table_cache: tuple | None = None

    # -- shape helpers -------------------------------------------------------------------
    @property
    def w_max(self) -> int:
        wm = (1 << self.wres) - 1
        if self.proximal_wres is not None:
            wm = max(wm, (1 << self.proximal_wres) - 1)
        return wm

    @property
    def distal_w_max(self) -> int:
        return (1 << self.wres) - 1

    @property
    def proximal_w_max(self) -> int:
        return (1 << (self.proximal_wres or self.wres)) - 1

    @property
    def T(self) -> int:
        return self.time.wave_length(self.w_max)

    @property
    def n_segments(self) -> int:
        return self.q * self.D * self.S

    @property
    def n_generators(self) -> int:
        if self.random is not None and self.random.get("sharing") == "column":
            return 1
        return self.n_segments + (self.q if self.proximal_mode == "gate" else 0)

    def extra_repr(self) -> str:
        return (f"columns={self.C}, inputs={self.p}, neurons={self.q}, dendrites={self.D}, "
                f"segments={self.S}, wres={self.wres}, response={self.time.response}, "
                f"segment_inhibition={self.segment_inhibition}, "
                f"column_inhibition={self.column_inhibition}, proximal_mode={self.proximal_mode}, "
                f"proximal_inputs={self.P}")

    def default_proximal(self, B: int, device=None) -> torch.Tensor:
        fill = 1 if self.proximal_mode == "enable" else NONE
        return torch.full((B, self.C, self.P), fill, dtype=torch.int64,
                          device=device or self.weight.device)

    # -- potentials ----------------------------------------------------------------------
    def _tables(self):
        """Gather-sum table ``[C * n * (T + 2), G * T]``: for column ``c``, line ``j`` and
        input time ``a < T``, row ``1 + a`` holds the responses ``r(t; a, w_gj)`` of every
        segment ``g``; rows ``0`` (silent) and ``T + 1`` (too late) are zero, so the row of
        a time ``x`` is ``1 + clamp(x, -1, T)``. The lines of a column are its
        distal lines followed, in ``sum`` mode, by its proximal lines. Rebuilt when a
        weight or mask tensor changes (torch version counters)."""
        key = (self.weight._version, self.mask._version, self.weight.data_ptr(), self.mask.data_ptr(),
               self.theta.device)
        if self.proximal_weight is not None:
            key += (self.proximal_weight._version, self.proximal_mask._version,
                    self.proximal_weight.data_ptr())
        if self._table_cache is not None and self._table_cache[0] == key:
            return self._table_cache[1]
        T = self.T
        G = self.n_segments
        dev = self.weight.device
        R = response_table(self.time.response, T, self.w_max + 1, T, device=dev)
        zero = torch.zeros((1,) + R.shape[1:], dtype=R.dtype, device=dev)
        R = torch.cat([zero, R, zero])  # [T + 2, K, T]
        dtype = torch.float32 if self._max_potential() < (1 << 24) else torch.float64

        def table(w, m, n):
            wm = torch.where(m, w, torch.zeros_like(w)).reshape(self.C, G, n)
            tab = R[:, wm, :]  # [T + 2, C, G, n, T]
            return tab.permute(1, 3, 0, 2, 4).reshape(self.C, n * (T + 2), G * T)

        tab = table(self.weight, self.mask, self.p)
        n_lines = self.p
        if self.proximal_mode == "sum" and self.proximal_weight is not None:
            n_lines = self.p + self.P
            tab = torch.cat([tab, table(self.proximal_weight, self.proximal_mask, self.P)], dim=1)
        tab = tab.reshape(-1, G * T).to(dtype)
        offs = (torch.arange(self.C, device=dev)[:, None] * (n_lines * (T + 2))
                + torch.arange(n_lines, device=dev)[None, :] * (T + 2) + 1)
        if tab.shape[0] < (1 << 31):
            offs = offs.to(torch.int32)
        self._table_cache = (key, (tab, n_lines, offs))
        return tab, n_lines, offs

    def _max_potential(self) -> int:
        m = self.p * self.distal_w_max
        if self.proximal_mode == "sum" and self.proximal_weight is not None:
            m += self.P * self.proximal_w_max
        return m

    def potentials(self, x: torch.Tensor, prox: torch.Tensor | None = None) -> torch.Tensor:
        """Segment potentials ``V[B, C, G, T]`` (float tensor with exact integer values) of
        input volleys ``x[B, C, p]`` (any integer dtype; every negative time is silent)."""
        tab, n_lines, offs = self._tables()
        B = x.shape[0]
        T = self.T
        lines = x
        if n_lines > self.p:
            if prox is None:
                prox = self.default_proximal(B, x.device)
            lines = torch.cat([x.long(), prox.long()], dim=-1)
        # row of time x: 1 + clamp(x, -1, T) (0: silent, T + 1: too late, both zero);
        # int16 + int32 offsets promote to int32 indices in one pass
        xi = lines.clamp(-1, T) + offs
        V = F.embedding_bag(xi.reshape(B * self.C, n_lines), tab, mode="sum")
        return V.reshape(B, self.C, self.n_segments, T)

    # -- forward -------------------------------------------------------------------------
    tie = "lowest"  # M1: "lowest" | "overshoot" (set by the converter)

    def forward(self, x: torch.Tensor, prox: torch.Tensor | None = None) -> ColumnsTrace:
        x = x.to(self.weight.device)
        if prox is not None:
            prox = prox.to(self.weight.device)
        V = self.potentials(x, prox)
        theta = self.theta.reshape(1, self.C, -1)
        seg = first_crossing(V, theta.to(V.dtype))
        if self.tie == "overshoot":
            return self.trace_overshoot(V, seg, theta, prox)
        return self.trace_from_segments(seg, x, prox)

    def forward_direct(self, x: torch.Tensor, prox: torch.Tensor | None = None,
                       weight: torch.Tensor | None = None,
                       proximal_weight: torch.Tensor | None = None,
                       theta: torch.Tensor | None = None) -> ColumnsTrace:
        """The same as :meth:`forward` computed by broadcasting (no tables): for small
        batches and weights that change every wave (the torch STDP loop). ``theta``
        (``[C, G]``): thresholds instead of the module's (M2/M5 move them every wave)."""
        x = x.to(self.weight.device).long()
        B = x.shape[0]
        G = self.n_segments
        T = self.T
        w = self.weight if weight is None else weight
        w = torch.where(self.mask, w, torch.zeros_like(w)).reshape(self.C, G, self.p)
        V = potentials_direct(x, w, self.time.response, T)  # [B, C, G, T]
        if self.proximal_mode == "sum" and self.proximal_weight is not None:
            if prox is None:
                prox = self.default_proximal(B, x.device)
            pw = self.proximal_weight if proximal_weight is None else proximal_weight
            pw = torch.where(self.proximal_mask, pw, torch.zeros_like(pw)).reshape(self.C, G, self.P)
            V = V + potentials_direct(prox.long(), pw, self.time.response, T)
        th = (self.theta if theta is None else theta).reshape(1, self.C, G)
        seg = first_crossing(V, th)
        if self.tie == "overshoot":
            return self.trace_overshoot(V, seg, th, prox)
        return self.trace_from_segments(seg, x, prox, proximal_weight)

    def trace_overshoot(self, V: torch.Tensor, seg_flat: torch.Tensor, theta: torch.Tensor,
                        prox: torch.Tensor | None) -> ColumnsTrace:
        """:meth:`trace_from_segments` with ``tie = overshoot`` (docs/model.md §4, M1;
        ``sum`` and ``enable`` modes, as ``ir.stages.layer.kernels._forward_overshoot``):
        every ``wta1``/``kwta`` choice orders candidates by (time, larger overshoot
        ``V(z) - theta``, lower index); a dendrite and a neuron carry their winning
        segment's key."""
        B = seg_flat.shape[0]
        q, D, S = self.q, self.D, self.S
        seg_flat = seg_flat.long()
        shape = (B, self.C, q, D, S)
        keys = overshoot_keys(V, seg_flat, theta).reshape(shape)
        seg = seg_flat.reshape(shape)
        none = torch.full_like(seg, NONE)
        seg_won = torch.where(keep_by_key(keys, seg, self.segment_inhibition), seg, none)
        dkey, _ = earliest_key(torch.where(seg_won >= 0, keys, none))  # [B, C, q, D]
        dend = torch.where(dkey >= 0, dkey // KO, torch.full_like(dkey, NONE))
        nkey, dend_arg = earliest_key(dkey)  # [B, C, q]
        nd = torch.where(nkey >= 0, nkey // KO, torch.full_like(nkey, NONE))
        prox_t = torch.full_like(nd, NONE)
        if self.proximal_mode == "enable":
            if prox is None:
                prox = self.default_proximal(B, seg.device)
            prox_t = (prox != 0).long()
            nd = torch.where(prox_t == 1, nd, torch.full_like(nd, NONE))
            nkey = torch.where(prox_t == 1, nkey, torch.full_like(nkey, NONE))
        out = torch.where(keep_by_key(nkey, nd, self.column_inhibition), nd,
                          torch.full_like(nd, NONE))
        return ColumnsTrace(seg, seg_won, dend, dend_arg, prox_t, nd, out)

    def trace_from_segments(self, seg_flat: torch.Tensor, x: torch.Tensor,
                            prox: torch.Tensor | None,
                            proximal_weight: torch.Tensor | None = None) -> ColumnsTrace:
        B = seg_flat.shape[0]
        q, D, S = self.q, self.D, self.S
        seg = seg_flat.reshape(B, self.C, q, D, S).long()
        seg_won = inhibit(seg, self.segment_inhibition)
        dend, _ = earliest(seg_won, dim=-1)  # [B, C, q, D]
        nd, dend_arg = earliest(dend, dim=-1)  # [B, C, q]
        none = torch.full_like(nd, NONE)
        if self.proximal_mode == "sum":
            prox_t = none
            neuron = nd
        elif self.proximal_mode == "enable":
            if prox is None:
                prox = self.default_proximal(B, seg.device)
            prox_t = (prox != 0).long()
            neuron = torch.where(prox_t == 1, nd, none)
        else:  # gate
            if prox is None:
                prox = self.default_proximal(B, seg.device)
            pw = self.proximal_weight if proximal_weight is None else proximal_weight
            pw = torch.where(self.proximal_mask, pw, torch.zeros_like(pw))  # [C, q, P]
            Vp = potentials_direct(prox.long(), pw, self.time.response, self.T)  # [B, C, q, T]
            prox_t = first_crossing(Vp, self.proximal_theta[None])
            both = (prox_t >= 0) & (nd >= 0)
            neuron = torch.where(both, torch.maximum(prox_t, nd), none)
        out = inhibit(neuron, self.column_inhibition)
        return ColumnsTrace(seg, seg_won, dend, dend_arg, prox_t, neuron, out)
