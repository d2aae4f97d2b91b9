"""Synaptic pruning passes (docs/model.md §7): a pruned synapse is removed from the IR connectivity
(mask ``False``, weight 0), so the HDL generator builds no logic and no register for it.

Every pruning pass works in two steps:

1. its *criterion* proposes synapses to remove (only existing synapses of the banks chosen
   by ``bank``; ties between equal weights always go to the lowest index, in the order
   layer, column, bank (distal before proximal), row-major position);
2. the *threshold floor* keeps, per segment, enough of the proposed synapses for the
   segment's threshold to stay reachable. With ``keep=reachable`` (default) the kept
   synapses' current weights must still sum to ``theta`` (the segment can still fire with the
   weights it has); with ``keep=valid`` only the IR-validity bound is kept (``theta`` at most
   kept synapses x ``w_max``, so retraining could reach it) -- for a layer without a learning
   rule the IR itself requires the ``reachable`` bound, so it is always applied there. Proposed
   synapses are put back heaviest first (then lowest index) until the bound holds; their
   number is reported as ``protected``. A segment that could not reach its threshold even
   before pruning (``unreachable_before``) gets the ``valid`` bound only.

Proximal synapses: ``bank=distal`` (default) touches distal synapses only, ``proximal`` only
proximal ones (``sum`` and ``gate`` columns; ``enable`` columns have 1-bit lines, no
synapses), ``all`` both. In ``sum`` mode a segment's proximal synapses share its threshold, so
they count towards its floor whichever bank is pruned; a ``gate`` column's proximal segment
has its own threshold (``proximal_theta``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import PassError
from ..ir.common import SynapseBank
from ..ir.network import Network
from ..ir.stages.layer.nodes import Column
from .base import Pass, PassContext, option, register, synaptic_layers

BANKS = ("distal", "proximal", "all")
KEEPS = ("reachable", "valid")
SCOPES = ("segment", "neuron", "column", "layer", "global")


# ------------------------------------------------------------------------------ synapse table
@dataclass
class Table:
    """Every existing synapse of a network as flat arrays, in canonical (tie-break) order."""

    layer: np.ndarray
    column: np.ndarray
    bank: np.ndarray  # 0 distal, 1 proximal
    pos: np.ndarray  # flat index into the bank's weights
    group: np.ndarray  # threshold group (segment; gate proximal segments are their own)
    neuron: np.ndarray  # global neuron id
    weight: np.ndarray
    wmax: np.ndarray
    theta: np.ndarray  # per group
    learns: np.ndarray  # per group: the layer has a learning rule
    group_path: list[str]  # per group

    def __len__(self) -> int:
        return len(self.weight)


def synapse_table(net: Network) -> Table:
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                         ("layer", "column", "bank", "pos", "group", "neuron",
                                          "weight", "wmax")}
    theta: list[int] = []
    learns: list[bool] = []
    paths: list[str] = []
    gbase = 0
    nbase = 0

    def add(li, ci, bank_id, b: SynapseBank, groups: np.ndarray, neurons: np.ndarray) -> None:
        flat = np.flatnonzero(b.mask.reshape(-1))
        n = len(flat)
        cols["layer"].append(np.full(n, li))
        cols["column"].append(np.full(n, ci))
        cols["bank"].append(np.full(n, bank_id))
        cols["pos"].append(flat)
        cols["group"].append(groups.reshape(-1)[flat])
        cols["neuron"].append(neurons.reshape(-1)[flat])
        cols["weight"].append(b.weights.reshape(-1)[flat])
        cols["wmax"].append(np.full(n, b.w_max))

    for li, layer in synaptic_layers(net):
        for ci, col in enumerate(layer.columns):
            q, D, S, p = col.distal.weights.shape
            nseg = q * D * S
            seg_id = gbase + np.arange(nseg).reshape(q, D, S)
            neu_id = nbase + np.arange(q)
            add(li, ci, 0, col.distal, np.broadcast_to(seg_id[..., None], (q, D, S, p)),
                np.broadcast_to(neu_id[:, None, None, None], (q, D, S, p)))
            theta += [int(t) for t in col.theta.reshape(-1)]
            paths += [f"{layer.name}/{col.name}/n{i}/d{d}/s{s}"
                      for i in range(q) for d in range(D) for s in range(S)]
            ngroups = nseg
            pb = col.proximal
            if pb is not None and col.proximal_mode == "sum":
                P = pb.weights.shape[-1]
                add(li, ci, 1, pb, np.broadcast_to(seg_id[..., None], (q, D, S, P)),
                    np.broadcast_to(neu_id[:, None, None, None], (q, D, S, P)))
            elif pb is not None and col.proximal_mode == "gate":
                assert col.proximal_theta is not None
                P = pb.weights.shape[-1]
                pid = gbase + nseg + np.arange(q)
                add(li, ci, 1, pb, np.broadcast_to(pid[:, None], (q, P)),
                    np.broadcast_to(neu_id[:, None], (q, P)))
                theta += [int(t) for t in col.proximal_theta]
                paths += [f"{layer.name}/{col.name}/n{i}/proximal" for i in range(q)]
                ngroups += q
            learns += [layer.learning is not None] * ngroups
            gbase += ngroups
            nbase += q
    cat = {k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64))
           for k, v in cols.items()}
    return Table(theta=np.array(theta, dtype=np.int64), learns=np.array(learns, dtype=bool),
                 group_path=paths, **cat)


def eligible(t: Table, bank: str) -> np.ndarray:
    if bank == "distal":
        return t.bank == 0
    if bank == "proximal":
        return t.bank == 1
    return np.ones(len(t), dtype=bool)


# ------------------------------------------------------------------------------ floor + apply
def apply_removal(net: Network, t: Table, proposed: np.ndarray, keep: str
                  ) -> tuple[Network, dict]:
    """Remove the ``proposed`` synapses of table ``t`` from ``net``, subject to the threshold
    floor (module docstring). Returns the new network and the statistics."""
    proposed = np.asarray(proposed, dtype=bool).copy()
    ngroups = len(t.theta)
    cap_before = np.bincount(t.group, weights=t.weight, minlength=ngroups)
    reachable_before = cap_before >= t.theta
    protected = 0
    protected_groups: list[str] = []
    unreachable: list[str] = []
    touched = np.unique(t.group[proposed])
    for g in touched:
        idx = np.flatnonzero(t.group == g)  # canonical order
        kept = ~proposed[idx]
        w, wm = t.weight[idx], t.wmax[idx]
        theta = int(t.theta[g])
        need_cap = 0
        if keep == "reachable" or not t.learns[g]:
            if reachable_before[g]:
                need_cap = theta
            else:
                unreachable.append(t.group_path[g])

        def ok(k: np.ndarray, w=w, wm=wm, theta=theta, need_cap=need_cap) -> bool:
            return bool(w[k].sum() >= need_cap and wm[k].sum() >= theta)

        if ok(kept):
            continue
        cand = np.flatnonzero(~kept)
        order = cand[np.lexsort((cand, -wm[cand], -w[cand]))]  # heaviest first, lowest index
        n_back = 0
        for j in order:
            kept[j] = True
            n_back += 1
            if ok(kept):
                break
        proposed[idx] = ~kept
        protected += n_back
        protected_groups.append(t.group_path[g])
    new = net
    for li, layer in synaptic_layers(net):
        cols = []
        for ci, col in enumerate(layer.columns):
            sel = proposed & (t.layer == li) & (t.column == ci)
            if not sel.any():
                cols.append(col)
                continue
            cols.append(_without(col, t.pos[sel & (t.bank == 0)], t.pos[sel & (t.bank == 1)]))
        new = new.replace_layer(li, replace(layer, columns=tuple(cols)))
    stats = {"removed": int(proposed.sum()), "protected": protected,
             "segments_protected": len(protected_groups),
             "protected_segments": protected_groups[:20],
             "segments_unreachable_before": len(unreachable),
             "unreachable_segments": unreachable[:20],
             "removed_distal": int((proposed & (t.bank == 0)).sum()),
             "removed_proximal": int((proposed & (t.bank == 1)).sum())}
    return new, stats


def _bank_without(b: SynapseBank, pos: np.ndarray) -> SynapseBank:
    m = np.array(b.mask)
    m.reshape(-1)[pos] = False
    return SynapseBank(np.where(m, b.weights, 0), m, b.wres)


def _without(col: Column, dpos: np.ndarray, ppos: np.ndarray) -> Column:
    c = col
    if len(dpos):
        c = replace(c, distal=_bank_without(c.distal, dpos))
    if len(ppos):
        assert c.proximal is not None
        c = replace(c, proximal=_bank_without(c.proximal, ppos))
    return c


# ------------------------------------------------------------------------------ passes
_BANK_DOC = ("synapses the pass may remove: distal, proximal (sum/gate columns) or all")
_KEEP_DOC = ("threshold floor per segment: reachable = kept weights still sum to theta; "
             "valid = only theta <= kept synapses x w_max")


@register
@dataclass(frozen=True)
class PruneWeight(Pass):
    """Remove every synapse whose final weight is at most ``max`` (docs/model.md §7 ``w_min_keep``).
    With ``max=0`` the network computes exactly the same spikes (a zero weight never adds
    potential) and only the hardware shrinks."""

    name = "prune-weight"
    summary = "remove synapses with final weight <= max"
    max: int = option(0, "largest weight that is removed", range=(0, 255))
    bank: str = option("distal", _BANK_DOC, choices=BANKS)
    keep: str = option("reachable", _KEEP_DOC, choices=KEEPS)

    def apply(self, net: Network, ctx: PassContext) -> tuple[Network, dict]:
        t = synapse_table(net)
        prop = eligible(t, self.bank) & (t.weight <= self.max)
        new, st = apply_removal(net, t, prop, self.keep)
        return new, {"proposed": int(prop.sum()), **st}


@register
@dataclass(frozen=True)
class PruneFraction(Pass):
    """Remove the share ``target`` of the lowest-weight synapses in every group of ``scope``
    (``floor(target x eligible synapses of the group)``, so never more than the target; ties
    to the lowest index). The threshold floor may keep some; ``achieved`` reports the share
    actually removed."""

    name = "prune-fraction"
    summary = "remove the lowest-weight share `target` per segment / neuron / column / layer / globally"
    target: float = option(0.5, "share of the eligible synapses to remove", range=(0.0, 1.0))
    scope: str = option("segment", "group the share applies to", choices=SCOPES)
    bank: str = option("distal", _BANK_DOC, choices=BANKS)
    keep: str = option("reachable", _KEEP_DOC, choices=KEEPS)

    def apply(self, net: Network, ctx: PassContext) -> tuple[Network, dict]:
        t = synapse_table(net)
        el = eligible(t, self.bank)
        key = {"segment": t.group, "neuron": t.neuron,
               "column": t.layer * (1 << 32) + t.column, "layer": t.layer,
               "global": np.zeros(len(t), dtype=np.int64)}[self.scope]
        idx = np.flatnonzero(el)
        prop = np.zeros(len(t), dtype=bool)
        if len(idx):
            k_ = key[idx]
            order = idx[np.lexsort((idx, t.weight[idx], k_))]  # by group, weight, index
            ko = key[order]
            starts = np.r_[0, np.flatnonzero(np.diff(ko)) + 1]
            sizes = np.diff(np.r_[starts, len(order)])
            rank = np.arange(len(order)) - np.repeat(starts, sizes)
            quota = np.array([math.floor(self.target * s + 1e-9) for s in sizes])
            prop[order[rank < np.repeat(quota, sizes)]] = True
        new, st = apply_removal(net, t, prop, self.keep)
        n_el = int(el.sum())
        return new, {"proposed": int(prop.sum()), "eligible": n_el,
                     "achieved": (st["removed"] / n_el) if n_el else 0.0, **st}


@register
@dataclass(frozen=True)
class PruneInactive(Pass):
    """Remove synapses that captured (docs/model.md §5: ``x != NONE``, credited ``z != NONE``,
    ``x <= z``) fewer than ``min_captures`` times during training -- over the whole training
    stream, or over its last ``epochs`` epochs. Needs the activity recorded by replaying the
    training stream (:func:`neutnngen.passes.activity.record_activity`). Layers without a
    learning rule have no recorded activity and are left alone."""

    name = "prune-inactive"
    summary = "remove synapses captured fewer than min-captures times during training"
    needs = ("activity",)
    needs_hint = ("record it with neutnngen.passes.record_activity(initial IR, training stream) "
                  "(neutnngen prune does this itself)")
    min_captures: int = option(1, "synapses with fewer captures are removed", range=(1, 1 << 31))
    epochs: int = option(0, "count only the last N epochs of training (0 = all)", range=(0, 1 << 20))
    bank: str = option("distal", _BANK_DOC, choices=BANKS)
    keep: str = option("reachable", _KEEP_DOC, choices=KEEPS)

    def apply(self, net: Network, ctx: PassContext) -> tuple[Network, dict]:
        act = ctx.activity
        t = synapse_table(net)
        caps = np.full(len(t), np.iinfo(np.int64).max, dtype=np.int64)
        skipped = []
        for li, layer in synaptic_layers(net):
            for ci, col in enumerate(layer.columns):
                got = act.captures(li, ci, self.epochs)
                if got is None:
                    skipped.append(f"{layer.name}/{col.name}")
                    continue
                for bank_id, b, arr in ((0, col.distal, got[0]), (1, col.proximal, got[1])):
                    if b is None or arr is None:
                        continue
                    if arr.shape != b.weights.shape:
                        raise PassError(f"prune-inactive: activity of {layer.name}/{col.name} "
                                        f"has shape {arr.shape}, the bank {b.weights.shape}: it "
                                        "was recorded on a different network")
                    sel = (t.layer == li) & (t.column == ci) & (t.bank == bank_id)
                    caps[sel] = arr.reshape(-1)[t.pos[sel]]
        prop = eligible(t, self.bank) & (caps < self.min_captures)
        new, st = apply_removal(net, t, prop, self.keep)
        return new, {"proposed": int(prop.sum()), "columns_without_activity": skipped, **st}
