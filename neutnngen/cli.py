"""``neutnngen`` command line: a thin layer over :mod:`neutnngen.pipeline`.

Exit status: 0 success, 2 bad input or tool problem (message says what and how to fix),
3 verification mismatch (RTL differs from the reference).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ConfigError, NeutnngenError, VerificationMismatch


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="experiment config (TOML), e.g. examples/ucr_gunpoint.toml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.epochs=5 --set hdl.weights=register")
    p.add_argument("--out", default=None, help="output directory (default: out/<experiment.name>)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def _command(args) -> str:
    import shlex

    parts = ["neutnngen", args.command, args.config]
    for o in args.overrides:
        parts += ["--set", o]
    if args.out:
        parts += ["--out", args.out]
    return " ".join(shlex.quote(p) for p in parts)


def _cfg(args):
    from .pipeline import load_config

    cfg = load_config(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("out") / cfg.experiment.name
    return cfg, out


def cmd_run(args) -> int:
    from . import pipeline

    cfg, out = _cfg(args)
    rep = pipeline.run(cfg, out, show=not args.quiet, command=_command(args))
    _summary(rep, out)
    return 0


def cmd_train(args) -> int:
    from . import pipeline

    cfg, out = _cfg(args)
    rep = pipeline.run(cfg, out, stages=("train",), show=not args.quiet, command=_command(args))
    print(f"{pipeline.headline(rep)}; wrote {out / 'metrics.json'} and {out / 'ir' / 'model.json'}")
    return 0


def _summary(rep: dict, out: Path) -> None:
    from .pipeline import headline

    lines = [headline(rep)]
    if "verify" in rep:
        v = rep["verify"]
        lines.append(f"verified {v['waves']} waves on {v['simulator']}: {v['mismatches']} mismatches")
    s = rep.get("synth", {})
    if "generic" in s:
        g = s["generic"]
        lines.append(f"generic: {g['cells']} cells, {g['flip_flops']} FFs, {g['transistors']} transistors")
    for fpga in ("ice40", "ecp5"):
        if fpga in s:
            i = s[fpga]
            where = (f"Fmax {i['fmax_mhz']:.1f} MHz" if i.get("fmax_mhz")
                     else f"does not fit {i.get('device')}: {i.get('fit_error') or 'no timing'}")
            lines.append(f"{fpga}: {i['luts']} LUT4, {i['flip_flops']} FFs, {where}")
    if "hdl" in rep:
        lines.append(f"latency {rep['hdl']['latency_cycles']} cycles, "
                     f"{rep['hdl']['wave_cycles']} cycles per wave")
    lines.append(f"report: {out / 'report.html'}")
    print("\n".join(lines))


def cmd_ir(args) -> int:
    from .ir import load, to_text, verify

    net = load(args.file)
    if args.action == "show":
        sys.stdout.write(to_text(net))
        return 0
    diags = verify(net)
    for d in diags:
        print(d)
    errors = [d for d in diags if d.severity == "error"]
    print(f"{len(errors)} error(s), {len(diags) - len(errors)} warning(s)")
    return 2 if errors else 0


def cmd_opt(args) -> int:
    from .ir import load, save, to_text
    from .passes import run_pipeline

    res = run_pipeline(load(args.file), args.passes)
    for st in res.stats:
        print(f"{st['pass']}: {st['synapses_before']} -> {st['synapses_after']} synapses",
              file=sys.stderr)
    if args.output is None:
        sys.stdout.write(to_text(res.network))
        return 0
    out = save(res.network, args.output)
    print(f"wrote {out} and {out.with_suffix('.npz')} (passes: {res.spec})")
    return 0


def cmd_compile(args) -> int:
    from .hdl import emit
    from .ir import load

    res = emit(load(args.ir), Path(args.out), weights=args.weights, name=args.top,
               architecture=args.architecture, interface=args.interface)
    print(json.dumps({"verilog": str(res.verilog), "rtlil": str(res.rtlil),
                      "names": str(res.names), **res.info}, indent=1))
    return 0


def cmd_verify(args) -> int:
    from .ir import load
    from .pipeline import get_task, load_config, prepare_data, verify_stimulus
    from .verify import run_verification

    cfg = load_config(args.config, args.overrides)
    get_task(cfg).check(cfg)
    net = load(args.ir)
    rtl = Path(args.rtl)
    verilog = rtl / f"{args.top}.v"
    if not verilog.exists():
        raise ConfigError(f"no Verilog at {verilog}; run 'neutnngen compile' first or pass --top",
                          path=str(verilog))
    X = verify_stimulus(cfg, prepare_data(cfg))
    res = run_verification(net, verilog, rtl / "names.json", X, simulator=args.simulator,
                           workdir=Path(args.out), waves=args.waves)
    d = res.to_dict()
    print(json.dumps(d, indent=1, default=str))
    if d["mismatches"]:
        from .verify import describe

        raise VerificationMismatch(describe(d["first_mismatch"] or {}, d["mismatches"], d["waves"]),
                                   first=d["first_mismatch"])
    return 0


def cmd_synth(args) -> int:
    from . import flows

    verilog = Path(args.verilog)
    if not verilog.exists():
        raise ConfigError(f"Verilog file {str(verilog)!r} does not exist", path=str(verilog))
    src = verilog.read_text()
    if args.board is not None:
        if args.target != "generic":
            raise ConfigError(f"--board builds for the board's FPGA; drop --target {args.target}",
                              path="--target")
        return _synth_board(args, verilog, src)
    t = args.target
    fq = {} if args.freq is None else {"freq_mhz": args.freq}
    if t == "generic":
        r = flows.synth_generic(src, args.top)
    elif t == "ice40":
        r = flows.synth_ice40(src, args.top, device=args.device or "hx8k", **fq)
    elif t == "ecp5":
        r = flows.synth_ecp5(src, args.top, device=args.device or "25k", **fq)
    elif t.startswith("liberty:"):
        r = flows.synth_liberty(src, args.top, t.split(":", 1)[1])
    else:
        raise ConfigError(f"--target {t!r}; accepted: generic, ice40, ecp5, liberty:PATH")
    print(json.dumps(r.to_dict(), indent=1, default=str))
    return 0


def _names_top(verilog: Path, what: str) -> dict:
    names = verilog.parent / "names.json"
    try:
        return json.loads(names.read_text())["top"]
    except (OSError, ValueError, KeyError):
        raise ConfigError(f"{what} needs the names.json that 'neutnngen compile' wrote beside "
                          f"{verilog}", path=str(names)) from None


def _board_wrapper(top: dict, board, baud: int, what: str) -> tuple[str, int]:
    """(Verilog of the UART board top around the AXIS design ``top``, UART divisor)."""
    from .hdl.uart import board_verilog, uart_divisor

    if top.get("interface") != "axis":
        raise ConfigError(f"{what} needs a design compiled with --interface axis; "
                          f"{top.get('name')!r} has interface "
                          f"{top.get('interface', 'stream')!r}", path=what)
    div = uart_divisor(board.clock_mhz * 1e6, baud)
    wl = (int(top["A"]), int(top["WRES"])) if top.get("weights") == "register" else None
    return board_verilog(top["name"], int(top["N_IN"]), div, name="board_top",
                         leds=board.leds, wload=wl), div


def _synth_board(args, verilog: Path, src: str) -> int:
    from .flows.board import build_bitstream, load_board

    board = load_board(args.board)
    top = _names_top(verilog, "--board")
    if top.get("name") != args.top:
        raise ConfigError(f"--top {args.top!r} but names.json beside {verilog} names the design "
                          f"{top.get('name')!r}", path="--top")
    wrapper, div = _board_wrapper(top, board, args.baud, "--board")
    out = Path(args.out or f"out/board-{board.name}")
    r = build_bitstream({"board_top.v": wrapper, verilog.name: src}, "board_top", board,
                        freq_mhz=args.freq, device=args.device, workdir=out)
    d = r.to_dict()
    d.update(baud=args.baud, uart_divisor=div, design=args.top)
    print(json.dumps(d, indent=1, default=str))
    return 0


def cmd_export(args) -> int:
    from .flows.board import board_names, load_board
    from .flows.fusesoc import write_core

    rtl = Path(args.rtl)
    names = rtl / "names.json"
    if not names.is_file():
        raise ConfigError(f"{rtl} has no names.json; pass the directory 'neutnngen compile' wrote",
                          path=str(rtl))
    top = _names_top(names, "export")
    name = top["name"]
    verilog = rtl / f"{name}.v"
    if not verilog.is_file():
        raise ConfigError(f"no Verilog at {verilog}", path=str(verilog))
    axis = top.get("interface") == "axis"
    if args.boards is None:
        wanted = board_names() if axis else []
    else:
        wanted = [b for b in args.boards.split(",") if b]
    boards = {}
    for b in wanted:
        board = load_board(b)
        boards[board] = _board_wrapper(top, board, args.baud, "--boards")[0]
    core = write_core(args.fusesoc, name, verilog.read_text(), names_json=names.read_text(),
                      boards=boards, version=args.version)
    print(json.dumps({"core": str(core), "vlnv": f"neutnngen:tnn:{name}:{args.version}",
                      "files": str(Path(args.fusesoc) / "files.txt"),
                      "targets": ["default", "lint", *[b.name for b in boards]]}, indent=1))
    return 0


def cmd_dse(args) -> int:
    from . import dse

    spec = dse.load(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("out") / f"dse-{spec.study_name}"
    summary = dse.run_study(spec, out, resume=args.resume, scheduler=args.scheduler,
                            screen=args.screen, trials=args.trials, workers=args.workers,
                            show=not args.quiet)
    fc = summary["forecast"]["mape"]
    print(f"front: {len(summary['front'])} point(s); forecast LOO MAPE: "
          + (", ".join(f"{k.split('.')[-1]} {100 * v:.1f}%" for k, v in sorted(fc.items())) or "-")
          + f"; wrote {out / 'dse.json'}, {out / 'dse.md'}, {out / 'dse.html'}")
    return 0


def cmd_prune(args) -> int:
    import shlex

    from . import prune
    from .passes import describe_passes

    if args.list_passes:
        print(describe_passes())
        return 0
    if (args.sweep is None) == (args.passes is None):
        raise ConfigError("give either --sweep 0,0.1,...,0.7 (prune-fraction targets) or "
                          "--passes 'SPEC;SPEC;...' (pass pipelines, one per point)")
    if args.config is None:
        raise ConfigError("neutnngen prune needs a config, e.g. examples/ucr_gunpoint.toml")
    cfg, out = _cfg(args)
    if not args.out:
        out = Path("out") / f"prune-{cfg.experiment.name}"
    if args.sweep is not None:
        specs = prune.sweep_specs(prune.parse_sweep(args.sweep))
    else:
        specs = [s.strip() for s in args.passes.split(";") if s.strip()]
    modes = tuple(m.strip() for m in args.weights.split(",") if m.strip())
    cmd = _command(args)
    for flag, val in (("--sweep", args.sweep), ("--passes", args.passes),
                      ("--weights", args.weights), ("--tolerance", args.tolerance),
                      ("--retrain-epochs", args.retrain_epochs), ("--best-by", args.best_by),
                      ("--breakdown-modules", args.breakdown_modules)):
        if val is not None:
            cmd += f" {flag} {shlex.quote(str(val))}"
    doc = prune.sweep(cfg, specs, out, weight_modes=modes, tolerance=args.tolerance,
                      retrain_epochs=args.retrain_epochs, show=not args.quiet,
                      best_by=args.best_by, breakdown_modules=args.breakdown_modules,
                      command=cmd)
    head, rows = prune.summary_rows(doc)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    for r in [head, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)))
    b = doc["best_within_tolerance"]
    if b:
        print(f"best within {doc['tolerance']:g} of the base {doc['metric']['key']}: {b['spec']} "
              f"saves {100 * b['saving']:.1f}% of {b['cost']} ({b['value']} vs {b['base_value']})")
    print(f"report: {out / 'prune.html'} ({out / 'prune.md'}, {out / 'prune.json'})")
    if not doc["verified_all"]:
        raise VerificationMismatch(f"{doc['mismatches_total']} mismatch(es) between pruned RTL and "
                                   f"the interpreter; see {out / 'prune.md'}")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neutnngen")
    except PackageNotFoundError:  # a source tree that was not pip-installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="neutnngen",
        description="Temporal / spiking neural networks from PyTorch to verified, synthesized Verilog.")
    ap.add_argument("--version", action="version", version=f"neutnngen {_version()}",
                    help="print the installed neutnngen version and exit")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="train -> IR -> Verilog -> verify -> synth -> report, in one go")
    _common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("train", help="train and evaluate; writes the IR, weights and metrics.json")
    _common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("ir", help="inspect an IR file")
    p.add_argument("action", choices=["show", "verify"], help="show: canonical text; verify: diagnostics")
    p.add_argument("file", help="IR file (.json with its .npz beside it)")
    p.set_defaults(func=cmd_ir)

    p = sub.add_parser("opt", help="run a pass pipeline on an IR file (prints the result's "
                       "canonical text, or writes it with -o)")
    p.add_argument("file", help="IR file (.json with its .npz beside it)")
    p.add_argument("-p", "--passes", required=True, metavar="SPEC",
                   help="pass pipeline, e.g. 'prune-weight{max=0},prune-fraction{target=0.4}' "
                        "('neutnngen prune --list-passes' lists the passes and options)")
    p.add_argument("-o", "--output", default=None, metavar="OUT.json",
                   help="write the result to OUT.json + OUT.npz (default: print its canonical "
                        "text on stdout)")
    p.set_defaults(func=cmd_opt)

    p = sub.add_parser("compile", help="IR -> Verilog/RTLIL directory (+ names.json)")
    p.add_argument("ir", help="IR file (.json)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--weights", default="hardwired", choices=["hardwired", "register", "learn"],
                   help="hardwired: trained weights as constants; register: weights in "
                        "registers with a load port; learn: on-chip STDP (default hardwired)")
    p.add_argument("--architecture", default="serial", choices=["serial", "parallel"],
                   help="serial: one input line per cycle, smallest (default); parallel: every "
                        "synapse every time step, T + 4 cycles a wave (hardwired and register "
                        "weights)")
    p.add_argument("--top", default="neutnngen_top", help="top module name (default neutnngen_top)")
    p.add_argument("--interface", default="stream", choices=["stream", "axis"],
                   help="stream: valid/ready ports of docs/rtl-contract.md (default); axis: the "
                        "same core behind 8-bit AXI4-Stream ports (packing in the same doc)")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("verify", help="run the emitted Verilog on the config's test set vs the reference")
    p.add_argument("ir", help="IR file the Verilog was compiled from")
    p.add_argument("--rtl", required=True, help="directory written by 'neutnngen compile'")
    p.add_argument("--config", required=True, help="config naming the dataset and encoder")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set verify.samples=20")
    p.add_argument("--top", default="neutnngen_top",
                   help="top module name: the Verilog is RTL/TOP.v (default neutnngen_top)")
    p.add_argument("--simulator", default=None, choices=["icarus", "verilator"],
                   help="default: whichever is installed")
    p.add_argument("--waves", action="store_true", help="keep a waveform for a passing run too")
    p.add_argument("--out", default="out/verify", help="work directory")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("synth", help="synthesize a Verilog file and print the measured cost")
    p.add_argument("verilog", help="Verilog file, e.g. out/NAME/rtl/neutnngen_top.v")
    p.add_argument("--top", default="neutnngen_top", help="top module name (default neutnngen_top)")
    p.add_argument("--target", default="generic", help="generic | ice40 | ecp5 | liberty:PATH")
    p.add_argument("--device", default=None, help="FPGA device (ice40: hx8k, up5k ...; ecp5: 25k ...)")
    p.add_argument("--board", default=None, metavar="NAME",
                   help="build a bitstream for a board of flows/boards/ (hx8k-breakout, ulx3s): "
                        "the Verilog must come from 'compile --interface axis'; it is wrapped "
                        "in the UART board top (docs/boards.md)")
    p.add_argument("--freq", type=float, default=None, metavar="MHZ",
                   help="timing target for ice40/ecp5/--board (default: 12, or the board clock)")
    p.add_argument("--baud", type=int, default=115200, help="--board: UART baud rate (default 115200)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="--board: work directory for the bitstream (default out/board-NAME)")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("export", help="hand a compiled design to other tools (FuseSoC CAPI2 core)")
    p.add_argument("rtl", help="directory written by 'neutnngen compile' (Verilog + names.json)")
    p.add_argument("--fusesoc", required=True, metavar="OUT",
                   help="write OUT/NAME.core (CAPI2), OUT/files.txt and the files it lists")
    p.add_argument("--boards", default=None, metavar="NAME,...",
                   help="board targets (default: every board of flows/boards/ for an "
                        "--interface axis design, none otherwise)")
    p.add_argument("--baud", type=int, default=115200, help="UART baud rate of the board tops")
    p.add_argument("--version", default="0.1.0", help="core version of the VLNV (default 0.1.0)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("dse", help="design-space exploration: multi-objective Optuna study over "
                       "config keys, evaluated in parallel on Dask")
    p.add_argument("config", help="config with a [dse] table, e.g. examples/dse_ucr.toml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key of the base config or of [dse] (dse.trials=10)")
    p.add_argument("--out", default=None, help="output directory (default: out/dse-<study>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the study of that name in the storage (after a crash or to add trials)")
    p.add_argument("--scheduler", default=None, metavar="URL",
                   help="Dask scheduler to use, e.g. tcp://host:8786 (default: a local cluster)")
    p.add_argument("--screen", default=None, choices=["none", "forecast"],
                   help="forecast: skip candidates whose forecast cost cannot reach the front")
    p.add_argument("--trials", type=int, default=None, help="finished trials to reach (dse.trials)")
    p.add_argument("--workers", type=int, default=None,
                   help="local cluster workers (default dse.workers, else one per core)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_dse)

    p = sub.add_parser("prune", help="pruning sweep: accuracy, synapses, verified RTL and measured "
                       "hardware cost per pruning point (docs/pruning.md)")
    p.add_argument("config", nargs="?", default=None,
                   help="experiment config (TOML), e.g. examples/ucr_gunpoint.toml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.epochs=5")
    p.add_argument("--out", default=None, help="output directory (default: out/prune-<experiment.name>)")
    p.add_argument("--sweep", default=None, metavar="T,T,...",
                   help="prune-fraction targets, e.g. 0,0.1,...,0.7 ('...' continues the step)")
    p.add_argument("--passes", default=None, metavar="SPEC;SPEC;...",
                   help="one pass pipeline per point, e.g. 'prune-weight{max=0};prune-inactive{min-captures=1}'")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="largest metric loss (absolute, metric units) for best_within_tolerance (default 0.01)")
    p.add_argument("--retrain-epochs", type=int, default=0,
                   help="retrain N epochs after pruning, the pruned mask fixed (default 0)")
    p.add_argument("--weights", default="hardwired,register", help="weight modes (default hardwired,register)")
    p.add_argument("--best-by", default=None, metavar="MODE.TARGET.FIELD",
                   help="cost best_within_tolerance maximises the saving of (default: the first "
                        "mode and target, e.g. hardwired.generic.transistors)")
    p.add_argument("--breakdown-modules", type=int, default=64, metavar="N",
                   help="synthesize up to N column/neuron modules per design for the cost "
                        "breakdown (0: synapse breakdown only; default 64)")
    p.add_argument("--list-passes", action="store_true", help="list the passes and their options")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_prune)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VerificationMismatch as e:
        print(f"verification FAILED: {e}", file=sys.stderr)
        return 3
    except NeutnngenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
