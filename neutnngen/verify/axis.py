"""Verify a compiled AXI4-Stream top (``neutnngen compile --interface axis``,
docs/rtl-contract.md "AXI4-Stream top") against the reference interpreter.

:func:`verify_axis` takes the Verilog and ``names.json`` that ``compile`` wrote, builds them
with the verifier's simulators (Verilator or Icarus, cached builds), sends every volley as a
packet through ``s_axis`` with seeded gaps on both sides (optionally a short and a long
packet first, which the top must drop and flag), and compares every output packet (times
and winner byte) with the interpreter. The bench is ``sim/axis_bench.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ToolchainError
from ..ir import Interpreter, Network
from .run import _proximal
from .simulators import (
    _killed,
    build_design,
    default_simulator,
    log_file_tail,
    runner_environment,
    timed_runner,
)


def axis_top(names_json: Path | str) -> dict:
    """The ``top`` record of ``names.json``; :class:`ConfigError` unless it is an AXIS top."""
    top = json.loads(Path(names_json).read_text()).get("top", {})
    if top.get("interface") != "axis":
        raise ConfigError(f"{names_json} describes a {top.get('interface', 'stream')!r} top; "
                          "expected one written by 'neutnngen compile --interface axis'",
                          path=str(names_json))
    return top


def check_matches(net: Network, top: dict, where: str) -> None:
    """:class:`ConfigError` when the compiled AXIS top ``top`` is not a design of ``net``."""
    n_prox = sum(c.proximal_inputs for ly in net.layers for c in ly.columns)
    want = {"N_IN": net.inputs, "TB_IN": net.time.timeres, "N_OUT": net.outputs,
            "N_PROX": n_prox, "L": net.depth}
    got = {k: top.get(k) for k in want}
    if got != want:
        bad = ", ".join(f"{k} {got[k]} (the IR gives {v})" for k, v in want.items() if got[k] != v)
        raise ConfigError(f"the design in {where} is not compiled from this IR: {bad}",
                          path=where)
    if int(top["axis"]["in_bytes"]) != net.inputs + n_prox:
        raise ConfigError(f"{where}: in_bytes {top['axis']['in_bytes']} but the IR has "
                          f"{net.inputs} input and {n_prox} proximal lines", path=where)


def packets(net: Network, X, prox=None) -> list[list[int]]:
    """The input packet of every volley (docs/rtl-contract.md "AXI4-Stream top"), written
    here from the contract, apart from the generator's packer: byte ``j`` = line ``j``
    (bit 7 spike, low bits time; 0 for NONE), then the core's proximal lines layer by layer
    (an enable line: bit 7 = enabled)."""
    X = np.asarray(X, dtype=np.int64)
    full, enable = _proximal(net, len(X), prox)
    rows = [X] + [full[li] for li in sorted(full)]
    flags = [np.zeros(X.shape[1], bool)] + [enable[li] for li in sorted(full)]
    V, en = np.concatenate(rows, axis=1), np.concatenate(flags)
    mask = (1 << net.time.timeres) - 1
    B = np.where(en[None, :], np.where(V != 0, 0x80, 0),
                 np.where(V >= 0, 0x80 | (V & mask), 0))
    return B.tolist()


def _words(packet: list[int], nb: int) -> list[int]:
    """Bytes -> ``tdata`` words of ``nb`` bytes (byte ``i`` in bits ``[8i+7:8i]``, the last
    word padded with zero bytes)."""
    return [sum(b << (8 * i) for i, b in enumerate(packet[k:k + nb]))
            for k in range(0, len(packet), nb)]


def _winner(times: list[int]) -> int:
    """Earliest output time, lowest index on ties; -1 when no neuron fired."""
    fired = [(t, i) for i, t in enumerate(times) if t >= 0]
    return min(fired)[1] if fired else -1


def _unpack(packet: list[int], tb: int) -> list[int]:
    """Output packet -> [times (-1 = NONE)..., winner (-1 for 0xFF)]."""
    times = [(b & ((1 << tb) - 1)) if b & 0x80 else -1 for b in packet[:-1]]
    return times + [-1 if packet[-1] == 0xFF else int(packet[-1])]


def verify_axis(net: Network, verilog: Path | str, names_json: Path | str, X, workdir, *,
                simulator: str | None = None, seed: int = 0, p_valid: float = 0.7,
                p_ready: float = 0.6, bad_packets: bool = False, prox=None,
                timeout: float = 900.0, waves: bool = False) -> dict:
    """Run ``X[N, inputs]`` (with the proximal lines ``prox`` as ``neutnngen.hdl.simulate``
    takes them) through the compiled AXIS top; returns counts, mismatches, stalls, protocol
    errors and timings. ``p_valid`` / ``p_ready``: the chance per cycle that the bench
    offers an input beat / takes an output beat (seeded by ``seed``). ``waves``: keep a
    waveform (``waveform``: its path; Icarus FST, Verilator VCD); a failing run without it
    is rerun once with the same seed to keep one."""
    from ..flows.sim import simulator_version

    for k, p in (("p_valid", p_valid), ("p_ready", p_ready)):
        if not 0 < p <= 1:
            raise ConfigError(f"{k} {p}: expected a chance in (0, 1]", path=k)
    t0 = time.monotonic()
    verilog, names_json = Path(verilog).resolve(), Path(names_json)
    top = axis_top(names_json)
    check_matches(net, top, str(names_json))
    name, tb_out = top["name"], int(top["TB_OUT"])
    n_bytes, wave = int(top["axis"]["in_bytes"]), int(top["WAVE_CYCLES"])
    X = np.asarray(X)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    nb = int(top["axis"].get("beat_bytes", 1))  # bytes per beat (tdata = 8 * nb bits)
    k_in = -(-n_bytes // nb)
    beats: list[list[int]] = []
    flags = (0, 0)
    if bad_packets:
        w81, w80 = _words([0x81] * nb, nb)[0], _words([0x80] * nb, nb)[0]
        if k_in > 1:  # short: tlast on beat k_in - 2 (a one-beat packet cannot be short)
            beats += [[w81, 0]] * (k_in - 2) + [[w81, 1]]
        beats += [[w80, 0]] * (k_in + 3) + [[w80, 1]]  # long: no tlast on beat k_in - 1
        flags = (int(k_in > 1), 1)
    for pk in packets(net, X, prox):
        words = _words(pk, nb)
        beats += [[w, int(i == len(words) - 1)] for i, w in enumerate(words)]
    per = wave + 2 * (k_in + net.outputs + 1)
    result = workdir / "axis_result.json"
    bench = {"beats": beats, "n_out": len(X), "seed": seed, "p_valid": p_valid,
             "p_ready": p_ready, "tail": 2 * wave + 4 * (net.outputs + 1),
             "max_cycles": int((len(beats) + per * (len(X) + 2)) / min(p_valid, p_ready)) + 1000,
             "result": str(result)}
    cfg_path = workdir / "axis_bench.json"
    cfg_path.write_text(json.dumps(bench))
    if result.exists():
        result.unlink()
    sim = simulator or default_simulator()
    deadline = time.monotonic() + timeout
    runner = timed_runner(sim, deadline)
    build_dir = workdir / f"build-{sim}"
    wave_file = workdir / f"waves-{sim}.{'fst' if sim == 'icarus' else 'vcd'}"

    def simulate(trace: bool) -> dict:
        log = workdir / f"sim-{sim}{'-waves' if trace else ''}.log"
        for f in (result, wave_file):
            f.unlink(missing_ok=True)
        # as the stream benches: Icarus builds carry their own dump module, pointed here
        plusargs = [f"+dumpfile_path={wave_file}"] if sim == "icarus" and trace else []
        test_args = ["--trace-file", str(wave_file)] if sim != "icarus" and trace else []
        try:
            runner.test(test_module="axis_bench", hdl_toplevel=name,
                        hdl_toplevel_lang="verilog", build_dir=build_dir, test_dir=workdir,
                        results_xml=str(workdir / f"results-{sim}.xml"),
                        extra_env={"NEUTNNGEN_AXIS_BENCH": str(cfg_path)}, waves=trace,
                        plusargs=plusargs, test_args=test_args, log_file=log)
        except (RuntimeError, SystemExit) as exc:
            if not result.is_file():
                late = _killed(exc, deadline)
                raise ToolchainError(
                    "the AXIS simulation "
                    + ("timed out (raise the timeout)" if late else "wrote no results")
                    + f"; log {log}:\n{log_file_tail(log)}", path=sim) from None
        return json.loads(result.read_text())

    with runner_environment():
        build_design(runner, sim, verilog, name, build_dir, simulator_version(sim),
                     workdir / f"build-{sim}.log", deadline)
        t1 = time.monotonic()
        out = simulate(waves)
    Y = Interpreter(net).forward(X, proximal=prox)
    want = [[int(t) for t in y] + [_winner([int(t) for t in y])] for y in Y]
    n_out = net.outputs + 1
    got = [_unpack([(w >> (8 * i)) & 0xFF for w in pk for i in range(nb)][:n_out], tb_out)
           for pk in out["packets"]]
    mism = sum(1 for a, b in zip(got, want, strict=False) if a != b) + abs(len(got) - len(want))
    first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
                 None if len(got) == len(want) else min(len(got), len(want)))
    d = {"interface": "axis", "simulator": sim, "waves": len(X), "packets": len(got),
         "mismatches": mism, "first_mismatch": first, "err_short": out["err_short"],
         "err_long": out["err_long"], "stalls_in": out["stalls_in"],
         "stalls_out": out["stalls_out"], "cycles": out["cycles"],
         "protocol_errors": out["errors"], "WAVE_CYCLES": wave, "LATENCY": top["LATENCY"],
         "p_valid": p_valid, "p_ready": p_ready, "seed": seed, "beat_bytes": nb,
         "expected_flags": list(flags),
         "sim_seconds": round(time.monotonic() - t1, 2),
         "seconds": round(time.monotonic() - t0, 2)}
    if first is not None:
        d["first"] = {"volley": first, "got": got[first] if first < len(got) else None,
                      "expected": want[first] if first < len(want) else None}
    failed = failure(d, bad_packets) is not None
    if failed and not waves:  # the same seeded run again, traced
        with runner_environment():
            simulate(True)
    if (waves or failed) and wave_file.is_file():
        d["waveform"] = str(wave_file)
    return d


def failure(d: dict, bad_packets: bool) -> str | None:
    """What is wrong with the result ``d`` of :func:`verify_axis` (``None``: it passed):
    output packets that differ from the interpreter (with the first), protocol errors,
    short/long packet flags that are not set exactly when bad packets were sent."""
    why = []
    if d["mismatches"]:
        f = d.get("first") or {}
        why.append(f"{d['mismatches']} of {d['waves']} output packets differ from the "
                   f"interpreter; first at volley {f.get('volley')}: got {f.get('got')} "
                   f"(times..., winner), expected {f.get('expected')}")
    if d["protocol_errors"]:
        why.append("AXI4-Stream protocol: " + "; ".join(d["protocol_errors"]))
    want = tuple(d.get("expected_flags", (1, 1))) if bad_packets else (0, 0)
    if (d["err_short"], d["err_long"]) != want:
        why.append(f"short/long packet flags {d['err_short']}/{d['err_long']}; expected "
                   f"{want[0]}/{want[1]}")
    return "; ".join(why) or None


__all__ = ["axis_top", "check_matches", "failure", "packets", "verify_axis"]
