"""Randomised differential cases: one seeded random learning network at a time, every
implementation of it against the reference interpreter. Used by
``tests/test_differential.py`` (a few cases in the suite) and by
``benchmarks/bench_differential.py`` (hundreds, counted).

A case (:func:`random_case`) draws a one- or two-layer TNN with every learning mechanism of
docs/model.md §5 switched on or off at random: rule (``stdp``, ``targeted``, ``rstdp``), credit,
tie policy (M1), relative thresholds (M2), win-rate homeostasis (M5), the weight budget (M8),
``mu_min``, a per-wave ``mu_shift`` (M4, on chip), proximal modes (sum, enable, gate), segment
and column inhibition (wta, kwta, twta, none), dendrites and segments, one or two columns side
by side or a kernel layer (one column per receptive field), absent synapses, RNL and SNL responses, 2-4 bit weights and 2-3 bit times, shared or
per-segment generators, the serial designs' ``mux_levels`` and (hardwired) ``lanes``; then its input
volleys, proximal lines, labels and the waves that learn.

:func:`run_case` checks (each one ``"ok"``, ``"refused: ..."`` when the implementation
rejects the network with a neutnngen error, or ``"FAIL: ..."``):

* ``rtl_<arch>``: on-chip learning (``hdl.weights = learn``; ``serial`` with the register
  and the memory weight store, ``parallel``) simulated cycle by cycle (Amaranth): outputs,
  every weight and every LFSR state after every wave equal ``Interpreter.step``;
* ``hw_<arch>``: the hardwired design of the network the interpreter learned, in
  ``serial``, ``parallel`` and ``pipelined``, equals ``Interpreter.forward``;
* ``numba`` / ``torch``: the trainer (two epochs, exact mode) equals the interpreter after
  every wave, and its final IR is byte-identical;
* ``torch_forward``: the torch forward of the trained network equals the interpreter, layer
  by layer with every intermediate;
* ``hw_axis``: the AXI4-Stream top (docs/rtl-contract.md) of the learned network, with an
  architecture and weight mode drawn per case (serial with the case's lanes and
  ``mux_levels``, parallel or pipelined; hardwired or register), driven byte by byte with
  seeded ``tvalid`` / ``tready`` gaps: every output packet (times and winner byte) equals
  the interpreter's, no error flag is set; proximal lines (times or enable bits) travel in
  the input packets after the input lines.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, replace

import numpy as np
from test_hdl import rand_column, rand_volleys
from test_learn import check_learning, learning

from neutnngen.errors import NeutnngenError, VerificationMismatch
from neutnngen.ir import Interpreter, Kernel, Layer, LearningRule, Network, Retime, TimeSpec

RTL = (("serial", "registers"), ("serial", "memory"), ("parallel", None))
HARDWIRED = ("serial", "parallel", "pipelined")
CHECKS = tuple(f"rtl_{a}" + (f"_{s}" if a == "serial" else "") for a, s in RTL) \
    + tuple(f"hw_{a}" for a in HARDWIRED) + ("hw_axis", "numba", "torch", "torch_forward")


@dataclass
class Case:
    seed: int
    net: Network
    X: np.ndarray
    prox: dict[int, np.ndarray] | None  # layer 0's proximal lines (enable bits or times)
    labels: np.ndarray | None
    learn: np.ndarray  # which waves learn (on chip; the trainers learn every wave)
    mu_shift: np.ndarray | None  # M4 shift per wave (on chip), None: no mu_shift port
    info: dict


def _policy(rng, n: int) -> str:
    return ["wta1", f"kwta({int(rng.integers(1, n + 1))})", "twta", "none"][int(rng.integers(4))]


def _rule(rng) -> LearningRule:
    return LearningRule(
        kind=["stdp", "targeted", "rstdp"][int(rng.integers(3))],
        credit="dendrite" if rng.random() < 0.3 else "winner",
        mu_capture=int(rng.integers(100, 1000)), mu_minus=int(rng.integers(100, 1000)),
        mu_search=int(rng.integers(0, 300)), mu_backoff=int(rng.integers(100, 1000)),
        mu_min=int(rng.integers(0, 300)),
        theta="relative" if rng.random() < 0.5 else "fixed", theta_shift=int(rng.integers(0, 3)),
        homeostasis="winrate" if rng.random() < 0.5 else "none",
        h_step=int(rng.integers(1, 4)), h_shift=int(rng.integers(0, 3)),
        w_norm=int(rng.integers(20, 220)) if rng.random() < 0.4 else 0)


def _column(rng, p: int, name: str, mode: str, P: int):
    q = int(rng.integers(1, 4))
    D, S = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    if mode == "gate":
        S = 1
    col = rand_column(rng, p, q, D=D, S=S, wres=int(rng.integers(2, 5)),
                      absent=float(rng.uniform(0, 0.4)), inh=_policy(rng, q),
                      seg_inh=_policy(rng, S), mode=mode, P=P, name=name)
    tie = "overshoot" if mode != "gate" and rng.random() < 0.5 else "lowest"
    return replace(col, tie=tie)


def random_case(seed: int) -> Case:
    """The seeded random network and stream of case ``seed`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    p = int(rng.integers(3, 10))
    tres = int(rng.integers(2, 4))
    time = TimeSpec(tres, "rnl" if rng.random() < 0.6 else "snl")
    mode = ["sum", "sum", "enable", "gate"][int(rng.integers(4))]
    P = int(rng.integers(1, 3)) if mode == "gate" or (mode == "sum" and rng.random() < 0.5) \
        else 0
    kernel = None
    if rng.random() < 0.15:  # receptive fields over a small image, one column a window
        rf = int(rng.integers(2, 4))
        side = rf + int(rng.integers(1, 3))
        kernel = Kernel(side, side, int(rng.integers(1, 3)), rf,
                        int(rng.integers(max(1, rf - 1), rf + 1)))
        p = kernel.inputs
        cols0 = tuple(_column(rng, kernel.window_inputs, f"col0{c}", mode, P)
                      for c in range(kernel.windows))
    else:
        cols0 = tuple(_column(rng, p, f"col0{c}", mode, P)
                      for c in range(1 if rng.random() < 0.7 else 2))  # side by side
    c0 = cols0[0]
    layers: tuple = (Layer("l0", p, cols0, kernel=kernel),)
    two = rng.random() < 0.25
    if two:
        q0 = sum(c.neurons for c in cols0)
        c1 = _column(rng, q0, "col1", "sum", 0)
        layers += (Retime("rt", int(rng.integers(0, 2)), (1 << tres) - 1),
                   Layer("l1", q0, (c1,)))
    net = Network("diff", time, p, layers)
    learn_layers = {0, 1} if two and rng.random() < 0.5 else {int(rng.integers(2)) if two else 0}
    kind = None
    for k in sorted(learn_layers):
        rule = _rule(rng)
        if k == 1 and rule.kind == "rstdp":  # labels drive layer 0's columns only here
            rule = replace(rule, kind="stdp")
        kind = rule.kind if k == 0 else kind
        net = learning(net, rule, sharing="column" if rng.random() < 0.3 else "segment",
                       layers={k}, seed=int(rng.integers(0, 100)))
    N = int(rng.integers(10, 30))
    X = rand_volleys(rng, N, p, timeres=tres, silent=float(rng.uniform(0, 0.4)))
    prox = labels = None
    lines = sum(c.proximal_inputs for c in cols0)
    if mode == "enable":
        prox = {0: (rng.random((N, lines)) < 0.7).astype(np.int64)}
    elif lines:
        prox = {0: rand_volleys(rng, N, lines, timeres=tres, silent=0.3)}
    neurons = min(c.neurons for c in cols0)
    if kind == "rstdp":
        labels = rng.integers(0, neurons, N)
    learn = rng.random(N) < 0.85
    mu_shift = rng.integers(0, 4, N) if rng.random() < 0.3 else None
    serial = {"lanes": int(rng.choice([1, 1, 2, 3])), "mux_levels": int(rng.integers(1, 6))}
    # the AXI4-Stream check's draws, from a stream of their own (the cases above unchanged)
    ax = np.random.default_rng([seed, 0xA815])
    axis = {"architecture": ["serial", "parallel", "pipelined"][int(ax.integers(3))],
            "weights": ["hardwired", "register"][int(ax.integers(2))],
            "p_valid": round(float(ax.uniform(0.3, 1.0)), 3),
            "p_ready": round(float(ax.uniform(0.3, 1.0)), 3)}
    info = {"inputs": p, "layers": 2 if two else 1, "learning_layers": sorted(learn_layers),
            "columns": len(cols0), "kernel": kernel is not None, "serial": serial, "axis": axis,
            "response": time.response, "timeres": tres, "mode": mode,
            "neurons": neurons, "dendrites": c0.dendrites, "segments": c0.segments,
            "tie": c0.tie, "mu_shift": mu_shift is not None,
            **{f"rule.{k}": getattr(net.layers[min(learn_layers)].learning, k)
               for k in ("kind", "credit", "theta", "homeostasis", "w_norm")}}
    return Case(seed, net, X, prox, labels, learn, mu_shift, info)


def _outcome(fn) -> str:
    try:
        fn()
    except (AssertionError, VerificationMismatch) as e:  # a value or a protocol check
        return "FAIL: " + " ".join(str(e).split())[:300]
    except NeutnngenError as e:
        return f"refused: {e}"

    except Exception:  # noqa: BLE001 - anything else is a failure, with where it came from
        return "FAIL: " + " | ".join(traceback.format_exc().strip().splitlines()[-3:])[:400]
    return "ok"


def _interpreter_run(case: Case) -> Network:
    it = Interpreter(case.net)
    for n in range(len(case.X)):
        it.step(case.X[n], learn=bool(case.learn[n]),
                label=None if case.labels is None else int(case.labels[n]),
                proximal=None if case.prox is None else {0: case.prox[0][n:n + 1]},
                mu_shift=0 if case.mu_shift is None else int(case.mu_shift[n]))
    return it.network()


def run_case(case: Case, checks: tuple[str, ...] = CHECKS) -> dict[str, str]:
    """Every check of ``checks`` on ``case``: name -> ``ok`` / ``refused: ...`` / ``FAIL: ...``."""
    from neutnngen.hdl import build_top, simulate

    out: dict[str, str] = {}
    for arch, store in RTL:
        name = f"rtl_{arch}" + (f"_{store}" if arch == "serial" else "")
        if name not in checks:
            continue

        def rtl(arch=arch, store=store):
            # lanes > 1 is refused with on-chip learning (docs/rtl-contract.md)
            kw = {"weight_store": store, "mux_levels": case.info["serial"]["mux_levels"]} \
                if store else {}
            if case.mu_shift is not None:
                kw["mu_shift_bits"] = 2
            top = build_top(case.net, weights="learn", architecture=arch, **kw)
            check_learning(case.net, case.X, labels=case.labels, learn=case.learn,
                           prox=case.prox, top=top, mu_shift=case.mu_shift)
        out[name] = _outcome(rtl)
    trained = None
    if any(c.startswith("hw_") for c in checks):
        trained = _interpreter_run(case)
        ref = Interpreter(trained).forward(case.X, proximal=case.prox)
        for arch in HARDWIRED:
            if f"hw_{arch}" not in checks:
                continue

            def hw(arch=arch):
                kw = case.info["serial"] if arch == "serial" else {}
                top = build_top(trained, weights="hardwired", architecture=arch, **kw)
                got = simulate(trained, case.X, "hardwired", prox=case.prox, top=top)
                np.testing.assert_array_equal(got, ref, err_msg=f"hardwired {arch}")
            out[f"hw_{arch}"] = _outcome(hw)
    if "hw_axis" in checks:
        out["hw_axis"] = _axis_check(case, trained)
    if {"numba", "torch", "torch_forward"} & set(checks):
        out.update(_trainers(case, checks))
    return out


def _axis_check(case: Case, trained: Network) -> str:
    """The ``hw_axis`` check (see the module docstring) of ``trained``, the network the
    interpreter learned on the case."""
    from test_axis import amaranth_axis, decode, expected

    from neutnngen.hdl import build_top
    from neutnngen.hdl.axis import input_packets

    ax = case.info["axis"]
    arch, weights = ax["architecture"], ax["weights"]
    kw = {"architecture": arch, **(case.info["serial"] if arch == "serial" else {})}

    def run():
        top = build_top(trained, interface="axis", weights=weights, **kw)
        info = top.info
        packets = [[(b, int(i == len(pk) - 1)) for i, b in enumerate(pk)]
                   for pk in input_packets(top.plan, case.X, case.prox)]
        out, es, el = amaranth_axis(trained, packets, len(case.X), seed=case.seed,
                                    p_valid=ax["p_valid"], p_ready=ax["p_ready"],
                                    weights=weights, **kw)
        assert decode(out, info["TB_OUT"]) == expected(trained, case.X, info["TB_OUT"], case.prox), \
            f"axis {arch} {weights}: output packets differ"
        assert (es, el) == (0, 0), f"axis {arch} {weights}: error flags {(es, el)}"

    return _outcome(run)


def _trainers(case: Case, checks: tuple[str, ...]) -> dict[str, str]:
    from test_model import assert_forward_equal, assert_training_equal

    out: dict[str, str] = {}
    # the trainers take enable bits as labels (the label's one-hot code) and learn every wave
    enable = case.info["mode"] == "enable"
    labels = case.labels
    if enable and labels is None:
        labels = np.random.default_rng(case.seed).integers(0, case.info["neurons"], len(case.X))
    prox = None if enable else case.prox
    trained: list = []
    for be in ("numba", "torch"):
        if be not in checks and not (be == "torch" and "torch_forward" in checks):
            continue

        def tr(be=be):
            res = assert_training_equal(case.net, case.X, epochs=2, labels=labels,
                                        proximal=prox, backend=be)
            trained.append(res.network)
        r = _outcome(tr)
        if be in checks:
            out[be] = r
    if "torch_forward" in checks:
        if trained:
            out["torch_forward"] = _outcome(
                lambda: assert_forward_equal(trained[-1], case.X, proximal=case.prox))
        else:
            out["torch_forward"] = "refused: no trained network (the trainers failed)"
    return out
