"""IR verification: collect every problem with its IR path, then raise once.

The network-level checks live here; every stage is checked by its kind's verifier
(:meth:`~neutnngen.ir.kinds.StageKind.verify`), which may use the checks of the shared
building blocks below (:func:`verify_bank`, :func:`verify_random`, ...)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import IRValidationError
from .common import (
    CREDITS,
    INHIBITION_POLICIES,
    LEARNING_KINDS,
    MU_NAMES,
    MU_ONE,
    RANDOM_KINDS,
    RANDOM_SHARING,
    RESPONSES,
    Inhibition,
    LearningRule,
    RandomSource,
    SynapseBank,
)
from .kinds import StageContext, UnknownStageKind, kind_of
from .network import Network


@dataclass(frozen=True)
class Diagnostic:
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


def verify(net: Network) -> list[Diagnostic]:
    """Every problem of ``net``, each with its IR path. Empty list = valid."""
    out: list[Diagnostic] = []

    def err(path: str, msg: str, severity: str = "error") -> None:
        out.append(Diagnostic(path, msg, severity))

    root = net.name or "network"
    ts = net.time
    if not (1 <= ts.timeres <= 8):
        err(f"{root}/time", f"timeres={ts.timeres} out of range; expected 1..8")
    if ts.response not in RESPONSES:
        err(f"{root}/time", f"response={ts.response!r}; expected one of {', '.join(RESPONSES)}")
    if net.inputs < 1:
        err(root, f"inputs={net.inputs}; expected >= 1")

    names: set[str] = set()
    width = net.inputs
    max_time = ts.t_max_in  # largest time that can arrive at the next stage
    n_layers = 0
    at = len(out)  # the "no layer" diagnostic goes before the stages' ones
    for si, st in enumerate(net.stages):
        name = getattr(st, "name", "")
        spath = f"{root}/{name or f'stage{si}'}"
        try:
            kind = kind_of(st)
        except UnknownStageKind as e:  # what it delivers is unknown: later stages unchecked
            err(spath, f"{e.message}; the stages after it are not checked")
            n_layers += sum(_is_layer(s) for s in net.stages[si + 1:])
            break
        if name in names:
            err(spath, f"duplicate stage name {name!r}")
        names.add(name)
        kind.verify(st, StageContext(spath, si, ts, width, max_time), err)
        n_layers += kind.is_layer
        width = kind.outputs(st, width)
        max_time = kind.max_time(st, ts, max_time)
    if not n_layers:
        out.insert(at, Diagnostic(root, "network has no layer"))
    return out


def _is_layer(stage) -> bool:
    try:
        return kind_of(stage).is_layer
    except UnknownStageKind:
        return False


# --------------------------------------------------------------------------- shared checks
def verify_learning(rule: LearningRule, path: str, err) -> None:
    if rule.kind not in LEARNING_KINDS:
        err(path, f"kind={rule.kind!r}; expected one of {', '.join(LEARNING_KINDS)}")
    if rule.theta not in ("fixed", "relative"):
        err(path, f"theta={rule.theta!r}; expected fixed or relative")
    if not (isinstance(rule.theta_shift, int) and 0 <= rule.theta_shift <= 16):
        err(path, f"theta_shift={rule.theta_shift!r}; expected an integer 0..16")
    if rule.homeostasis not in ("none", "winrate"):
        err(path, f"homeostasis={rule.homeostasis!r}; expected none or winrate")
    if not (isinstance(rule.h_step, int) and 0 <= rule.h_step <= 1024):
        err(path, f"h_step={rule.h_step!r}; expected an integer 0..1024")
    if not (isinstance(rule.h_shift, int) and 0 <= rule.h_shift <= 16):
        err(path, f"h_shift={rule.h_shift!r}; expected an integer 0..16")
    if not (isinstance(rule.w_norm, int) and 0 <= rule.w_norm <= 256):
        err(path, f"w_norm={rule.w_norm!r}; expected an integer 0..256 (0 = off)")
    if rule.credit not in CREDITS:
        err(path, f"credit={rule.credit!r}; expected one of {', '.join(CREDITS)}")
    for name, u in zip(MU_NAMES, rule.mus(), strict=True):
        if not (0 <= u <= MU_ONE):
            err(path, f"mu_{name}={u}; expected 0..{MU_ONE} (probability u/{MU_ONE})")


def verify_inhibition(inh: Inhibition, n: int, path: str, err) -> None:
    if inh.policy not in INHIBITION_POLICIES:
        err(path, f"policy={inh.policy!r}; expected wta1, kwta(k), twta or none")
    if inh.policy == "kwta" and not (1 <= inh.k <= max(n, 1)):
        err(path, f"kwta k={inh.k}; expected 1..{n}")


def verify_bank(bank: SynapseBank, shape: tuple[int, ...], path: str, err) -> bool:
    ok = True
    if not (1 <= bank.wres <= 8):
        err(path, f"wres={bank.wres} out of range; expected 1..8")
        ok = False
    if bank.weights.shape != shape:
        err(path, f"weights shape {bank.weights.shape}; expected {shape}")
        return False
    if bank.mask.shape != shape:
        err(path, f"mask shape {bank.mask.shape}; expected {shape}")
        return False
    if ok:
        w = bank.weights
        bad = np.argwhere((w < 0) | (w > bank.w_max))
        for idx in bad[:5]:
            err(path, f"weight {int(w[tuple(idx)])} at {tuple(int(i) for i in idx)} "
                      f"out of range 0..{bank.w_max} (wres={bank.wres})")
        if len(bad) > 5:
            err(path, f"... and {len(bad) - 5} more weights out of range 0..{bank.w_max}")
        absent = np.argwhere(~bank.mask & (w != 0))
        if len(absent):
            err(path, f"{len(absent)} absent (pruned) synapse(s) carry nonzero weights, "
                      f"first at {tuple(int(i) for i in absent[0])}; absent synapses must be 0")
        ok = ok and not len(bad) and not len(absent)
    return ok


def verify_random(rs: RandomSource, n_gen: int, path: str, err) -> None:
    if rs.kind not in RANDOM_KINDS:
        err(path, f"kind={rs.kind!r}; expected one of {', '.join(RANDOM_KINDS)}")
    if rs.sharing not in RANDOM_SHARING:
        err(path, f"sharing={rs.sharing!r}; expected one of {', '.join(RANDOM_SHARING)}")
    if rs.draw_bits != 10:
        err(path, f"draw_bits={rs.draw_bits}; expected 10 (B(u) compares 10-bit draws)")
    if not (rs.draw_bits <= rs.width <= 32):
        err(path, f"width={rs.width}; expected {rs.draw_bits}..32")
    if rs.steps_per_draw < 1:
        err(path, f"steps_per_draw={rs.steps_per_draw}; expected >= 1")
    if not rs.taps or any(not (1 <= t <= rs.width) for t in rs.taps) or rs.width not in rs.taps:
        err(path, f"taps={list(rs.taps)}; expected exponents in 1..{rs.width} including {rs.width}")
    if rs.seeds.shape != (n_gen,):
        err(path, f"{rs.seeds.size} seeds; expected {n_gen} (one per generator, sharing={rs.sharing})")
    else:
        bad = np.flatnonzero((rs.seeds < 1) | (rs.seeds >= (1 << rs.width)))
        if len(bad):
            err(path, f"seed {int(rs.seeds[bad[0]])} at {int(bad[0])} out of range "
                      f"1..{(1 << rs.width) - 1} (an all-zero LFSR never leaves 0)")


def check(net: Network) -> Network:
    """Raise :class:`IRValidationError` listing every error of ``net``; return it if valid."""
    errors = [d for d in verify(net) if d.severity == "error"]
    if errors:
        raise IRValidationError(errors, path=net.name)
    return net
