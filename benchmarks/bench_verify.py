"""Verification benchmark: bench throughput, build time and mutation kill rates, to JSON.

    .venv/bin/python benchmarks/bench_verify.py --gunpoint OUT_GP [--mnist OUT_MNIST]
        [--simulator verilator] [--bench stream|cocotb] [--repeat 4]
        [--mutants 40 --mutant-sim icarus] [--corner 40] [--out benchmarks/results/verify.json]

``OUT_GP`` / ``OUT_MNIST``: output directories of ``neutnngen run examples/ucr_gunpoint.toml``
and ``neutnngen run examples/mnist_neutnn.toml`` (trained IR in ``ir/model.json``, Verilog in
``rtl/``); the test volleys are rebuilt from the run's ``config.toml``.

Per design: the build time of a fresh build (``build_s``), then ``--repeat`` runs of the
cached build on every test wave (and a 10x longer stream of the same waves repeated), each
with its wall time (simulator process, cocotb start-up included) and the simulation-only
time (cocotb: the REAL TIME it reports; streamed bench: the simulator process, start-up and
``$readmemh`` included); waves/s = waves / wall (median). The wall time is the whole
``run_verification`` call: the reference interpreter's expected volleys, packing and
writing the stimulus, the simulation and the comparison. ``--bench`` picks the bench
(``run_verification(bench_kind=...)``: ``stream``, the plain Verilog testbench of
``neutnngen.verify.stream``, or ``cocotb``); results go under a key per design and bench
(``gunpoint_stream``, ``gunpoint_stream_icarus``, ``mnist_stream``; ``cocotb`` keeps the
old ``gunpoint`` / ``mnist`` keys). Mutation (``--mutants N``):
``neutnngen.verify.mutate.mutation_campaign`` on the GunPoint design in the hardwired,
register and learn weight modes (``--modes``; inference bench; real test volleys plus
``--corner`` corner-case volleys), kill rate and every survivor. Register mode also runs
``--random-weights N`` seeded random weight sets per mutant (default 1;
``neutnngen.verify.weights``); learn mode also runs ``--learn-waves`` training volleys plus
``--learn-corner`` weight-bound volleys through the learning bench on every mutant the
inference bench misses (``pipeline.mutation_learning_stream``) and one random weight set.
``--classify`` tries to prove each survivor equivalent (``classify_survivors``: ``equiv_*``,
the cone proof, then the sequential proof from power-on under the stream contract, ABC
``scorr`` + ``pdr`` for ``--seq-timeout`` seconds, first with the design's weights and LFSR
states as cut points); ``--per-mode-out DIR`` writes ``DIR/mutation_<mode>.json``
(the format of ``benchmarks/results/mutation_register.json``, with the corner statistics:
seed, pool, threshold-exact pool, goals covered); ``--notes JSON`` (``{mode: {line:
reason}}``) adds the analysed reason to each listed survivor of those files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.ir import load  # noqa: E402
from neutnngen.pipeline import (  # noqa: E402
    load_config,
    mutation_learning_stream,
    prepare_data,
    verify_stimulus,
)
from neutnngen.verify import run_verification  # noqa: E402


def _sim_seconds(log: str | None) -> float | None:
    """The REAL TIME cocotb reports for the bench (the simulation without process start)."""
    if not log or not Path(log).is_file():
        return None
    m = re.search(r"tnn_bench\.tnn_bench\s+PASS\s+[\d.]+\s+([\d.]+)", Path(log).read_text())
    return float(m.group(1)) if m else None


def throughput(run_dir: Path, sim: str, repeat: int, scale: int, bench: str = "cocotb") -> dict:
    cfg = load_config(str(run_dir / "config.toml"), [])
    net = load(run_dir / "ir" / "model.json")
    X = np.asarray(verify_stimulus(cfg, prepare_data(cfg)), dtype=np.int64)
    rtl = run_dir / "rtl"
    out: dict = {"design": str(run_dir), "simulator": sim, "bench": bench, "test_waves": len(X)}
    with tempfile.TemporaryDirectory(prefix="bench_verify_") as tmp:
        work = Path(tmp)
        r = run_verification(net, rtl / "neutnngen_top.v", rtl / "names.json", X,
                             simulator=sim, workdir=work / "build", timeout=3600,
                             bench_kind=bench)
        assert r.passed and r.bench == bench, r.first_mismatch
        out["build_s"] = r.build_s
        out["first_run_wall_s"] = r.wall_s
        for label, Xs in (("all_test_waves", X), (f"test_waves_x{scale}", np.tile(X, (scale, 1)))):
            runs = []
            for _ in range(repeat):
                t0 = time.monotonic()
                r = run_verification(net, rtl / "neutnngen_top.v", rtl / "names.json", Xs,
                                     simulator=sim, workdir=work / label,
                                     build_dir=work / "build" / "sim_build", timeout=3600,
                                     bench_kind=bench)
                wall = time.monotonic() - t0
                assert r.passed and r.build_s == 0.0, (r.first_mismatch, r.build_s)
                sim_s = (r.stats or {}).get("sim_s") if bench == "stream" else _sim_seconds(r.log)
                runs.append({"wall_s": round(wall, 3), "sim_s": sim_s, "cycles": r.cycles})
            med = statistics.median(x["wall_s"] for x in runs)
            sims = [x["sim_s"] for x in runs if x["sim_s"]]
            out[label] = {
                "waves": len(Xs), "runs": runs, "median_wall_s": med,
                "waves_per_s": round(len(Xs) / med, 1),
                "waves_per_s_sim_only": round(len(Xs) / statistics.median(sims), 1) if sims else None,
            }
    return out


def mutation(run_dir: Path, n: int, seed: int, sim: str, corner: int, modes: list[str],
             random_weights: int | None = None, classify: bool = False,
             per_mode: Path | None = None, notes: dict | None = None,
             learn_waves: int = 0, learn_corner: int = 0, seq_timeout: float = 300) -> dict:
    from neutnngen.hdl import emit
    from neutnngen.verify.corner import corner_volleys
    from neutnngen.verify.mutate import classify_survivors, mutation_campaign

    cfg = load_config(str(run_dir / "config.toml"), [])
    net = load(run_dir / "ir" / "model.json")
    data = prepare_data(cfg)
    X = np.asarray(verify_stimulus(cfg, data), dtype=np.int64)
    cstats = None
    if corner:
        C, cstats = corner_volleys(net, corner, seed=seed, real=X)
        X = np.concatenate([X, C])
    res: dict = {"seed": seed, "simulator": sim, "waves": len(X), "corner": cstats}
    with tempfile.TemporaryDirectory(prefix="bench_mut_") as tmp:
        for mode in modes:
            d = Path(tmp) / mode
            e = emit(net, d / "rtl", weights=mode)
            rw = random_weights if mode in ("register", "learn") else None
            stream = None
            if mode == "learn" and (learn_waves or learn_corner):
                stream = mutation_learning_stream(cfg, data, net, learn_waves, learn_corner, seed)
            rep = mutation_campaign(net, e.verilog, e.names, X, n=n, seed=seed, simulator=sim,
                                    workdir=d / "mutants", random_weights=rw,
                                    learning=stream)
            if classify:
                nd = json.loads(Path(e.names).read_text())
                cut = [v["signal"] for k in ("weights", "rng")
                       for v in (nd.get(k) or {}).values()]
                classify_survivors(rep, "neutnngen_top", d / "mutants", seq_timeout=seq_timeout,
                                   weights=_hardwired_weights(net) if mode == "hardwired"
                                   else None, cut=cut or None)
            r = rep.to_dict()
            r.pop("results")
            r["file"] = f"<{mode}>/neutnngen_top.v"
            for s in r["survivors"]:
                s["file"] = r["file"]
            res[mode] = r
            print(json.dumps({mode: {k: r[k] for k in ("killed", "survived", "invalid",
                                                       "kill_rate", "wall_s")}}), flush=True)
            if per_mode is not None:
                for sv in r["survivors"]:
                    why = (notes or {}).get(mode, {}).get(str(sv["line"]))
                    if why:
                        sv["reason"] = why
                _write_mode(per_mode / f"mutation_{mode}.json", r, mode, n, seed, sim, corner,
                            len(X), classify, cstats)
    return res


def _hardwired_weights(net) -> np.ndarray | None:
    """Every segment's weights ``[G, n]`` of a single-layer, single-column network (the
    argument of ``mutate.mux_permutation``), else ``None``."""
    from neutnngen.ir import Layer

    st = net.stages
    if len(st) != 1 or not isinstance(st[0], Layer) or len(st[0].columns) != 1:
        return None
    col = st[0].columns[0]
    if col.proximal_inputs:
        return None
    G = col.neurons * col.dendrites * col.segments
    return np.where(col.distal.mask, col.distal.weights, 0).reshape(G, -1)


def _write_mode(path: Path, r: dict, mode: str, n: int, seed: int, sim: str, corner: int,
                waves: int, classify: bool, cstats: dict | None = None) -> None:
    """One mode's campaign in the format of ``benchmarks/results/mutation_<mode>.json``."""
    eq = sum(bool(s.get("equivalent")) for s in r["survivors"])
    argued = sum(bool(s.get("equivalent_by")) and s.get("equivalent") is None
                 for s in r["survivors"])
    differs = sum(s.get("equivalent") is False for s in r["survivors"])
    valid = r["killed"] + r["survived"]
    out = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seed": seed, "simulator": sim, "corner": corner, "corner_stats": cstats,
        "corner_share": (round(cstats["volleys"] / waves, 4) if cstats and waves else None),
        "mutants": r["mutants"], "killed": r["killed"], "survived": r["survived"],
        "invalid": r["invalid"], "equivalent": eq if classify else None,
        "kill_rate": r["kill_rate"],
        "kill_rate_excluding_equivalent": (round(r["killed"] / (valid - eq), 4)
                                           if classify and valid - eq else None),
        "argued_equivalent": argued if classify else None,
        "shown_different": differs if classify else None,
        "kill_rate_excluding_proven_and_argued_equivalent": (
            round(r["killed"] / (valid - eq - argued), 4)
            if classify and valid - eq - argued else None),
        "by_kind": r["by_kind"], "waves": waves, "wall_s": r["wall_s"],
        "random_weights": r.get("random_weights"), "learning": r.get("learning"),
        "survivors": [{k: s.get(k) for k in ("mutant", "line", "kind", "change", "equivalent",
                                              "equivalent_by", "formal", "reason")
                       if k in s} for s in r["survivors"]],
        "invalid_mutants": r["invalid_mutants"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gunpoint", type=Path, help="output dir of a GunPoint run")
    ap.add_argument("--mnist", type=Path, help="output dir of an MNIST example run")
    ap.add_argument("--simulator", default="verilator")
    ap.add_argument("--bench", default="cocotb", choices=["stream", "cocotb"],
                    help="verification bench measured (default cocotb)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=int, default=10, help="long stream: test waves x SCALE")
    ap.add_argument("--mutants", type=int, default=0)
    ap.add_argument("--mutant-seed", type=int, default=1)
    ap.add_argument("--mutant-sim", default="icarus")
    ap.add_argument("--modes", default="hardwired,register,learn")
    ap.add_argument("--corner", type=int, default=0)
    ap.add_argument("--random-weights", type=int, default=None, metavar="N",
                    help="register mode: random weight sets per mutant (default: the "
                         "campaign's, 1; 0: trained weights only)")
    ap.add_argument("--learn-waves", type=int, default=64, metavar="N",
                    help="learn mode: training volleys run through the learning bench on "
                         "every mutant the inference bench misses (default 64; 0 and "
                         "--learn-corner 0: inference bench only)")
    ap.add_argument("--learn-corner", type=int, default=48, metavar="K",
                    help="learn mode: corner.learn_streams volleys appended to them (default 48)")
    ap.add_argument("--mutation-only", action="store_true",
                    help="skip the throughput measurement of --gunpoint")
    ap.add_argument("--classify", action="store_true",
                    help="try to prove each survivor equivalent (Yosys equiv_*, then the "
                         "sequential proof from power-on, ABC scorr + pdr)")
    ap.add_argument("--seq-timeout", type=float, default=300, metavar="S",
                    help="--classify: seconds of ABC pdr per survivor in the sequential proof "
                         "(default 300; 0: off)")
    ap.add_argument("--per-mode-out", type=Path, default=None, metavar="DIR",
                    help="also write DIR/mutation_<mode>.json per mode")
    ap.add_argument("--notes", type=Path, default=None, metavar="JSON",
                    help="why each survivor survives, {mode: {line: reason}}: copied into "
                         "the --per-mode-out files as the survivor's 'reason'")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "verify.json")
    a = ap.parse_args(argv)
    try:
        old = json.loads(a.out.read_text())
    except (OSError, ValueError):
        old = {}
    result = dict(old)
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                         "load_avg_at_start": os.getloadavg()[0],
                         "verilator": shutil.which("verilator") is not None}
    result["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sfx = "" if a.bench == "cocotb" else f"_{a.bench}" + (
        "" if a.simulator == "verilator" else f"_{a.simulator}")
    if a.gunpoint and not a.mutation_only:
        key = f"gunpoint{sfx}"
        result[key] = throughput(a.gunpoint, a.simulator, a.repeat, a.scale, a.bench)
        print(json.dumps({key: {k: v for k, v in result[key].items()
                                if k != "design"}}, default=str), flush=True)
    if a.mnist:
        key = f"mnist{sfx}"
        result[key] = throughput(a.mnist, a.simulator, max(1, a.repeat // 2), 1, a.bench)
        print(json.dumps({key: result[key]}, default=str), flush=True)
    if a.mutants and a.gunpoint:
        key = "mutation_corner" if a.corner else "mutation"
        result[key] = mutation(a.gunpoint, a.mutants, a.mutant_seed, a.mutant_sim, a.corner,
                               a.modes.split(","), a.random_weights, a.classify,
                               a.per_mode_out,
                               json.loads(a.notes.read_text()) if a.notes else None,
                               a.learn_waves, a.learn_corner, a.seq_timeout)
    result["command"] = " ".join([Path(sys.executable).name, *sys.argv])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
