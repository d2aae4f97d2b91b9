"""Cycle-accurate verification of generated Verilog against the reference interpreter.

:func:`run_verification` computes the expected output volleys with
:class:`neutnngen.ir.Interpreter`, writes the stimulus (packed into the port words of
docs/rtl-contract.md) and the expectation to ``workdir/bench.json``, builds the design with
Icarus Verilog or Verilator through ``cocotb_tools.runner`` and runs the cocotb bench
``sim/tnn_bench.py``, which writes ``workdir/results-<sim>.json``.

Builds are cached in ``<build_dir>/<simulator>`` (default ``workdir/sim_build``) under a key of
the Verilog text, top-level name and simulator version, so a second verification of the same
design (other stimulus, waves on) does not recompile. Every build carries waveform support
(Icarus: the runner's FST dump module; Verilator: ``--trace``, VCD); a run dumps only when asked
or, after a mismatch, in one rerun with dumping on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolchainError, VerificationMismatch
from ..flows.sim import (  # noqa: F401 (SIMULATORS re-exported)
    SIMULATORS,
    find_simulator,
    simulator_available,
    simulator_version,
)
from ..ir.interp import Interpreter
from ..ir.nodes import NONE, Network
from .protocol import TopInfo, describe, pack_prox, pack_times, ready_runs
from .simulators import (  # noqa: F401 (re-exported)
    DEFAULT_PREFERENCE,
    available_simulators,
    build_design,
    default_simulator,
    run_bench,
    runner_environment,
    sim_dir,
    timed_runner,
)
from .stages import observe
from .stages import value as stage_value


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of one verification run."""

    simulator: str
    simulator_version: str
    waves: int  # waves compared
    mismatches: int  # waves that differ (plus extra output pulses)
    first_mismatch: dict[str, Any] | None  # wave, layer, neuron, signal, expected, got, ...
    waveform: str | None  # VCD/FST path, kept on mismatch or when asked
    cycles: int  # simulated clock cycles
    wall_s: float  # seconds, build + simulation(s)
    log: str | None = None  # simulation log
    build_s: float = 0.0  # of wall_s: compiling (0 when the cached build was reused)
    bench: str = "cocotb"  # which bench ran: "stream" (plain Verilog) or "cocotb"
    stats: dict[str, Any] | None = None  # streamed bench: stall / idle cycle counts, sim_s

    @property
    def passed(self) -> bool:
        return self.mismatches == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- stimulus
def _proximal(net: Network, n: int, prox: Mapping[int, np.ndarray] | None
              ) -> tuple[dict[int, np.ndarray], list[np.ndarray]]:
    """Per layer: the proximal values ``[n, P_k]`` (given, or the interpreter's defaults:
    enable lines set, other lines NONE) and the enable flag of each line."""
    full: dict[int, np.ndarray] = {}
    enable: list[np.ndarray] = []
    given = dict(prox or {})
    for li, layer in enumerate(net.layers):
        parts, flags = [], []
        for col in layer.columns:
            p = col.proximal_inputs
            en = col.proximal_mode == "enable"
            parts.append(np.ones((n, p), np.int64) if en else np.full((n, p), NONE, np.int64))
            flags.append(np.full(p, en))
        width = sum(c.proximal_inputs for c in layer.columns)
        enable.append(np.concatenate(flags) if flags else np.zeros(0, bool))
        if width == 0:
            continue
        if li in given:
            v = np.asarray(given[li], dtype=np.int64)
            if v.shape != (n, width):
                raise ValueError(f"prox[{li}] has shape {v.shape}; expected {(n, width)}")
            full[li] = v
        else:
            full[li] = np.concatenate(parts, axis=1)
    extra = set(given) - set(range(len(net.layers)))
    if extra:
        raise ValueError(f"prox names layer(s) {sorted(extra)}; the network has "
                         f"{len(net.layers)} layer(s)")
    return full, enable


def weight_writes(net: Network, names: Mapping[str, Any]) -> list[tuple[int, int]]:
    """``(address, value)`` of every weight of ``net`` listed under ``names.json["weights"]``
    (``register`` mode), read through the stages' verification adapters
    (:mod:`neutnngen.verify.stages`)."""
    if not names.get("weights"):
        raise ToolchainError("load_weights needs a register-mode design: names.json lists no "
                             "weight addresses (emit with weights='register')")
    it = Interpreter(net, validate=False)
    out = []
    for e in observe(names)[0]:
        if e.addr is None:
            continue
        try:
            value = stage_value(e, it)
        except (IndexError, AttributeError, TypeError):
            raise VerificationMismatch(
                f"names.json weight {e.path!r} does not exist in the network; the Verilog was "
                "not generated from a network of this structure",
                first={"signal": "weights", "neuron": e.path}) from None
        if not 0 <= int(value) < (1 << e.bits):
            raise ValueError(f"weight {e.path} = {int(value)} does not fit {e.bits} bits")
        out.append((int(e.addr), int(value)))
    return sorted(out)


def internal_signals(names: Mapping[str, Any], neuron: str) -> dict[str, str]:
    """The RTL signals (``names.json`` ``times``: segment firing times, ``signals``:
    segment potentials) of the segments of output neuron ``neuron`` (IR path), keyed
    ``"<segment path> time"`` / ``"<segment path> potential"``: where to look in the
    waveform of a mismatch first."""
    out: dict[str, str] = {}
    for key, what in (("times", "time"), ("signals", "potential")):
        for path, sig in sorted(dict(names.get(key) or {}).items()):
            if path.startswith(neuron + "/"):
                out[f"{path} {what}"] = str(sig)
    return out


def _check_interface(net: Network, info: TopInfo, names_path: Path) -> None:
    want = {
        "N_IN": (info.n_in, net.inputs), "TB_IN": (info.tb_in, net.time.timeres),
        "N_OUT": (info.n_out, net.outputs), "L": (info.layers, net.depth),
        "N_PROX": (info.n_prox, sum(c.proximal_inputs for ly in net.layers for c in ly.columns)),
    }
    for key, (got, exp) in want.items():
        if got != exp:
            first = {"wave": None, "layer": None, "neuron": None, "signal": key,
                     "expected": exp, "got": got}
            raise VerificationMismatch(
                f"{names_path}: top-level parameter {key}={got} but the network needs {exp}; "
                "the Verilog was not generated from this network", first=first)


def _beats(info: TopInfo, X: np.ndarray, prox: dict[int, np.ndarray],
           enable: list[np.ndarray]) -> list[list[str]]:
    """Per wave: ``[in_time, in_spike, prox_time, prox_spike]`` as hex words; the proximal
    lines of every layer travel with the wave's beat (lines with no value: silent, enable
    lines set)."""
    n = X.shape[0]
    if n == 0:
        return []
    tw, sw = pack_times(X, info.tb_in)
    pt, ps = [0] * n, [0] * n
    if info.n_prox:
        rows = np.zeros((n, info.n_prox), np.int64)
        en_all = np.concatenate(enable) if enable else np.zeros(0, bool)
        rows[:, :] = np.where(en_all, 0, NONE)[None, :]
        ofs = 0
        for li, en in enumerate(enable):
            w = en.shape[0]
            if w:
                rows[:, ofs:ofs + w] = prox[li]
            ofs += w
        pt, ps = pack_prox(rows, en_all, info.tb_prox)
    return [[hex(tw[i]), hex(sw[i]), hex(pt[i]), hex(ps[i])] for i in range(n)]


def stream_options(info: TopInfo, n_waves: int, backpressure: float, seed: int,
                   gaps: float = 0.0) -> tuple[list[int], list[list[int]], int]:
    """The seeded source and sink behaviour of a bench run: idle cycles before each wave
    (about a fraction ``gaps`` of the waves get 1 .. 2 * WAVE_CYCLES of them), the
    ``out_ready`` runs (:func:`neutnngen.verify.protocol.ready_runs`) and the cycles they
    add at most."""
    rng = np.random.default_rng(seed)
    wc = info.wave_cycles
    idle = np.where(rng.random(n_waves) < gaps, rng.integers(1, 2 * wc + 1, n_waves), 0)
    runs = ready_runs(backpressure, wc, 4 * n_waves + 8, int(rng.integers(1 << 31)))
    return idle.tolist(), runs, int(idle.sum()) + sum(lo for _, lo in runs)


def run_verification(
    net: Network,
    verilog_path: str | os.PathLike[str],
    names_path: str | os.PathLike[str],
    X: np.ndarray,
    *,
    simulator: str | None = None,
    workdir: str | os.PathLike[str],
    waves: bool = False,
    prox: Mapping[int, np.ndarray] | None = None,
    expected: np.ndarray | None = None,
    timeout: float = 600,
    raise_on_mismatch: bool = False,
    build_dir: str | os.PathLike[str] | None = None,
    check_latency: bool = True,
    load_weights: bool = False,
    backpressure: float = 0.0,
    gaps: float = 0.0,
    seed: int = 0,
    stop_on_mismatch: bool = False,
    mutsel: int | None = None,
    bench_kind: str = "auto",
) -> VerifyResult:
    """Simulate the Verilog on input volleys ``X[N, inputs]`` (NONE = -1) and compare every
    output volley with the reference interpreter's.

    * ``simulator``: ``"icarus"``, ``"verilator"`` or ``None`` (:func:`default_simulator`:
      Verilator if usable, else Icarus); a missing one raises :class:`ToolchainError`.
    * ``prox``: proximal volleys per layer ``{k: [N, P_k]}`` as for
      :meth:`Interpreter.forward` (default: enable lines set, other lines NONE).
    * ``expected``: the expected output volleys ``[N, outputs]`` (default: the interpreter's).
    * ``waves``: keep a waveform of a passing run too (one is always kept after a mismatch).
    * ``timeout``: seconds for build and simulation together.
    * ``build_dir``: where builds are cached (default ``workdir/sim_build``).
    * ``check_latency``: also require each output beat ``LATENCY`` cycles after its wave
      was first offered, or ``WAVE_CYCLES`` after the previous beat when that is later
      (:func:`~neutnngen.verify.protocol.expected_beat`; mismatch signal ``latency``); only
      checked with ``out_ready`` held high (no ``backpressure``).
    * ``backpressure``: fraction (0 .. 1) of cycles in which the bench holds ``out_ready``
      low, in seeded random runs of 1 .. 2 * ``WAVE_CYCLES`` cycles (0: always ready);
      ``gaps``: fraction of the waves before which the source idles 1 .. 2 *
      ``WAVE_CYCLES`` cycles; both seeded by ``seed``. The outputs must not change.
    * ``load_weights``: ``register``-mode designs only: write every weight of ``net``
      through ``wload_*`` after reset (addresses from ``names.json``), so a design can be
      checked against a network with other weights than the ones it was generated with
      (:mod:`neutnngen.verify.weights`: seeded random weight sets that exercise the weight
      storage).
    * ``stop_on_mismatch``: end the simulation at the first output beat that differs (the
      mismatch count then covers the waves up to it; no waveform rerun): for mutation runs,
      where only "caught or not" matters.
    * ``mutsel``: the value the bench writes into the top's ``mutsel`` register before
      reset (a mutant schemata, :func:`neutnngen.verify.mutate.schemata`).
    * ``raise_on_mismatch``: raise :class:`VerificationMismatch` (message: first differing
      wave, neuron, signal, expected vs got; ``.first`` the dict) instead of returning.
    * ``bench_kind``: ``"stream"`` (:mod:`neutnngen.verify.stream`: a plain Verilog
      testbench reading the stimulus from memory files, no Python per cycle),
      ``"cocotb"`` (``sim/tnn_bench.py``) or ``"auto"`` (:func:`choose_bench`: the streamed
      bench for inference designs, cocotb for ``learn``-mode designs and mutation runs,
      ``mutsel`` / ``stop_on_mismatch``). Both compare with the same
      :func:`neutnngen.verify.protocol.compare`; ``VerifyResult.bench`` says which ran.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout
    verilog = Path(verilog_path).resolve()
    names_file = Path(names_path).resolve()
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not verilog.is_file():
        raise FileNotFoundError(f"Verilog file {verilog} does not exist")
    try:
        names = json.loads(names_file.read_text())
        info = TopInfo.from_names(names)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolchainError(f"cannot read the design's names file {names_file}: {exc!r}",
                             path=str(names_file)) from None
    _check_interface(net, info, names_file)

    X = np.asarray(X, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ValueError(f"X must be [waves, {net.inputs}], got shape {X.shape}")
    n = X.shape[0]
    prox_full, enable = _proximal(net, n, prox)
    if expected is None:
        expected = Interpreter(net).forward(X, proximal=prox_full or None)
    expected = np.asarray(expected, dtype=np.int64)
    if expected.shape != (n, info.n_out):
        raise ValueError(f"expected has shape {expected.shape}; need {(n, info.n_out)}")

    writes = weight_writes(net, names) if load_weights else []
    kind = choose_bench(bench_kind, info, mutsel=mutsel, stop_on_mismatch=stop_on_mismatch)
    sim = default_simulator() if simulator is None else find_simulator(simulator)
    version = simulator_version(sim)
    idle, runs, extra = stream_options(info, n, backpressure, seed, gaps)
    max_cycles = (8 + len(writes) + 16 + (n + info.layers + 8) * info.wave_cycles
                  + info.latency + extra)
    if kind == "stream":
        from .stream import run_stream

        bdir = Path(build_dir).resolve() if build_dir is not None else work / "sim_build"
        res = run_stream(sim, version, verilog, info, _beats(info, X, prox_full, enable),
                         idle, runs, writes, expected, int(max_cycles),
                         bool(check_latency and not backpressure), work, bdir, waves,
                         deadline)
        return _result(res, names, sim, version, t0, "stream", raise_on_mismatch)

    result_file = work / f"results-{sim}.json"
    bench = work / "bench.json"
    bench.write_text(json.dumps({
        "wload": writes,
        "top": info.to_dict(), "beats": _beats(info, X, prox_full, enable), "idle": idle,
        "ready_runs": runs, "expected": expected.tolist(),
        "result": str(result_file), "max_cycles": int(max_cycles),
        "check_latency": bool(check_latency and not backpressure),
        "stop_on_mismatch": bool(stop_on_mismatch),
        "mutsel": mutsel,
    }))

    bdir = (Path(build_dir).resolve() if build_dir is not None else work / "sim_build") / sim
    build_s = 0.0
    with runner_environment():
        runner = timed_runner(sim, deadline)
        tb = time.monotonic()
        if build_design(runner, sim, verilog, info.name, bdir, version,
                  work / f"build-{sim}.log", deadline):
            build_s = time.monotonic() - tb
        res, wave_file, log = run_bench(runner, sim, info.name, bdir, work, bench,
                                        result_file, waves, deadline)
        if res["mismatches"] and not waves and not stop_on_mismatch:
            res_w, wave_file, _ = run_bench(runner, sim, info.name, bdir, work, bench,
                                            result_file, True, deadline)
            if res_w["mismatches"] != res["mismatches"]:
                raise ToolchainError(
                    "the run with waveform dumping disagrees with the run without "
                    f"({res_w['mismatches']} vs {res['mismatches']} mismatches); log {log}",
                    path=sim)
            res = res_w
    res["build_s"], res["waveform"], res["log"] = build_s, wave_file, log
    return _result(res, names, sim, version, t0, "cocotb", raise_on_mismatch)


BENCHES = ("auto", "stream", "cocotb")


def choose_bench(kind: str, info: TopInfo, *, mutsel: int | None = None,
                 stop_on_mismatch: bool = False) -> str:
    """The bench a verification runs: ``kind`` (``auto``, ``stream``, ``cocotb``) resolved.
    ``auto`` picks the streamed bench unless the run needs the cocotb bench: a
    ``learn``-mode design (its learning inputs and weight read-back are driven by the
    cocotb bench), a mutant schemata (``mutsel``, written into a register inside the design)
    or a mutation run that stops at the first wrong beat (``stop_on_mismatch``)."""
    if kind not in BENCHES:
        raise ConfigError(f"bench {kind!r}; expected one of {', '.join(BENCHES)}",
                          path="verify.bench")
    needs = ("a learn-mode design" if info.weights == "learn" else
             "mutsel (a mutant schemata)" if mutsel is not None else
             "stop_on_mismatch (mutation runs)" if stop_on_mismatch else None)
    if kind == "stream" and needs:
        raise ConfigError(f"the streamed bench does not support {needs}; use bench "
                          "'cocotb' or 'auto'", path="verify.bench")
    if kind == "auto":
        return "cocotb" if needs else "stream"
    return kind


def _result(res: dict[str, Any], names: Mapping[str, Any], sim: str, version: str,
            t0: float, bench: str, raise_on_mismatch: bool) -> VerifyResult:
    if res.get("protocol_error") and not res["mismatches"]:
        raise VerificationMismatch(f"{sim} ({bench} bench): {res['protocol_error']}",
                                   first={"signal": res.get("protocol_signal", "in_ready")})
    first = res["first_mismatch"]
    if first and first.get("neuron"):
        first["internal_signals"] = internal_signals(names, str(first["neuron"]))
    wave_file = res.get("waveform")
    out = VerifyResult(
        simulator=sim,
        simulator_version=version,
        waves=int(res["waves"]),
        mismatches=int(res["mismatches"]),
        first_mismatch=first,
        waveform=str(wave_file) if wave_file else None,
        cycles=int(res["cycles"]),
        wall_s=round(time.monotonic() - t0, 3),
        log=str(res["log"]) if res.get("log") else None,
        build_s=round(float(res.get("build_s") or 0.0), 3),
        bench=bench,
        stats=res.get("stats"),
    )
    if raise_on_mismatch and out.mismatches:
        assert out.first_mismatch is not None
        msg = describe(out.first_mismatch, out.mismatches, out.waves)
        msg += f" ({sim}, {bench} bench; waveform {out.waveform}; log {out.log})"
        raise VerificationMismatch(msg, first=out.first_mismatch)
    return out
