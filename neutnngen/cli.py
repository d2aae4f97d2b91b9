"""``neutnngen`` command line: a thin layer over :mod:`neutnngen.pipeline`.

:func:`main` is the one error boundary: every error a user can cause becomes one line on
stderr (what, where, what is accepted) and an exit status (:data:`EXIT_STATUSES`); a
traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ConfigError, NeutnngenError, VerificationMismatch, describe_os_error

EXIT_STATUSES = (
    (0, "success"),
    (1, "internal error (a bug in neutnngen: please report it with the --debug output)"),
    (2, "bad input or tool problem (the message names the file, key or option, the value "
        "and what is accepted)"),
    (3, "verification mismatch (the RTL differs from the reference interpreter)"),
    (130, "interrupted (Ctrl-C); child processes are stopped, rerun the command to resume"),
    (143, "terminated (SIGTERM); as for Ctrl-C"),
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that child process groups are stopped the same way."""


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


def _config(args, stages: tuple[str, ...] | None = None):
    """The config of ``args`` checked as far as it can be without data (for ``stages``; the
    whole run by default)."""
    from .config import load_dict
    from .pipeline import ALL_STAGES, check, load_config
    from .pipeline.tasks.snn import is_snn_config

    path = in_file(args.config, "config")
    if is_snn_config(load_dict(path, args.overrides)):
        raise ConfigError(f"{args.config} is an SNN config ([snn] table): '{args.command}' takes "
                          f"TNN configs; SNN configs run with 'neutnngen run' (import, quantize, "
                          f"evaluate, prune, compile, verify, synth), 'neutnngen prune' (--sweep) "
                          f"and 'neutnngen dse' take them, and 'neutnngen compile' / 'verify' "
                          f"take an SNN IR", path="snn")
    cfg = load_config(path, args.overrides)
    check(cfg, ALL_STAGES if stages is None else stages)
    return cfg


def _out(args, cfg, prefix: str = "") -> Path:
    """The output folder (``--out``, else ``out/<prefix><experiment.name>``), checked and
    created."""
    if args.out is not None:
        return out_dir(args.out, "--out")
    return out_dir(str(Path("out") / f"{prefix}{cfg.experiment.name}"), "experiment.name")


def _cfg(args, prefix: str = "", stages: tuple[str, ...] | None = None):
    """:func:`_config` and :func:`_out`."""
    cfg = _config(args, stages)
    return cfg, _out(args, cfg, prefix)


#: folders this invocation created for its output (leaf first), removed again by
#: :func:`main` when they are still empty at the end (a run that failed on its data)
_CREATED: list[Path] = []


def out_dir(value: str, flag: str) -> Path:
    """An output folder a user named, checked before any work: not empty, not a file, not
    under a file, every name short enough, and creatable/writable (it is created here)."""
    from ._io import check_out_dir

    new = []
    q = Path(value)
    while str(value).strip() and not q.exists() and q != q.parent:
        new.append(q)
        q = q.parent
    p = check_out_dir(value, flag)
    _CREATED.extend(new)
    return p


def _drop_empty_created() -> None:
    """Remove the output folders this invocation created and left empty (leaf first)."""
    for d in _CREATED:
        try:
            d.rmdir()  # only succeeds on an empty folder
        except OSError:
            break
    _CREATED.clear()


def in_file(value: str, flag: str) -> Path:
    """An input file a user named: it exists and is a readable file (not a folder)."""
    from ._io import check_in_file

    return check_in_file(value, flag)


def _snn_run(args, stages: tuple[str, ...] | None = None) -> int | None:
    """An SNN config (one with an ``[snn]`` table) runs through
    :mod:`neutnngen.pipeline.tasks.snn`; None for any other config."""
    from .config import load_dict
    from .pipeline.tasks import snn

    raw = load_dict(in_file(args.config, "config"), args.overrides)
    if not snn.is_snn_config(raw):
        return None
    cfg = snn.resolve_paths(snn.parse(raw), Path(args.config).parent)
    if stages is not None:
        cfg["run"]["stages"] = [s for s in cfg["run"]["stages"] if s in stages]
    out = (out_dir(args.out, "--out") if args.out is not None else
           out_dir(str(Path("out") / cfg["experiment"]["name"]), "experiment.name"))
    rep = snn.run_snn(cfg, out, show=not args.quiet, command=_command(args))
    print(f"{snn.headline(rep)}\nRTL: {rep['hdl']}\nwrote {out / 'report.md'}, "
          f"{out / 'ir' / 'model.json'}")
    return 0


def _pd14_run(args) -> int | None:
    """A PD14 config (a ``[pd14]`` table: the Potjans-Diesmann cortical microcircuit) builds
    and simulates the microcircuit (:mod:`neutnngen.pipeline.tasks.pd14`); None for any
    other config."""
    from .config import load_dict
    from .pipeline.tasks import pd14

    raw = load_dict(in_file(args.config, "config"), args.overrides)
    if not pd14.is_pd14_config(raw):
        return None
    pd14.pd14_config(raw)  # a bad key is refused before the output folder is made
    name = str((raw.get("experiment") or {}).get("name", "pd14"))
    out = (out_dir(args.out, "--out") if args.out is not None else
           out_dir(str(Path("out") / name), "experiment.name"))
    if not args.quiet:
        print("[pd14] building and simulating the microcircuit", flush=True)
    m = pd14.run_pd14(raw, out)
    worst = max(m["rate_over_reference"], key=lambda r: abs(r - 1))
    print(f"PD14 N x {m['scale']}, K x {m['k_scale']}: {m['neurons']:,} neurons, "
          f"{m['synapses']:,} synapses, {m['ms']:.0f} ms in {m['sim_s']} s; rates / reference "
          f"{min(m['rate_over_reference']):.2f}..{max(m['rate_over_reference']):.2f} (worst "
          f"{worst:.2f}); wrote {out / 'report.md'}, {out / 'metrics.json'}")
    return 0


def _convstdp_run(args) -> int | None:
    """A convolutional STDP config (a ``[convstdp]`` table) trains, compiles, verifies and
    synthesizes the network (:mod:`neutnngen.pipeline.tasks.convstdp`); None for any other
    config."""
    from .config import load_dict
    from .pipeline.tasks import convstdp

    raw = load_dict(in_file(args.config, "config"), args.overrides)
    if not convstdp.is_convstdp_config(raw):
        return None
    convstdp.run_options(raw)  # a bad key is refused before the output folder is made
    name = str((raw.get("experiment") or {}).get("name", "convstdp"))
    out = (out_dir(args.out, "--out") if args.out is not None else
           out_dir(str(Path("out") / name), "experiment.name"))
    say = None if args.quiet else (lambda msg: print(msg, flush=True))
    m = convstdp.run_convstdp(raw, out, log=say)
    tr, ver, sy = m["training"], m["verification"], m["synthesis"]
    fmax = sy.get("fmax_mhz") if sy else None
    fit = f"{fmax:.1f} MHz" if fmax else (
        f"does not fit the {sy.get('device')} device" if sy and sy.get("fits") is False
        else "no Fmax")
    hw = f"; {sy['target']}: {sy.get('luts', sy.get('cells'))} LUTs, {fit}" if sy else ""
    print(f"convstdp {name}: test error {tr['test']['error']:.3f} (logistic on pixels "
          f"{tr['baselines_test']['logistic_regression']['error']:.3f}); RTL verified on "
          f"{ver['samples']} test digits, 0 mismatches, {m['cycles_per_digit']:,.0f} "
          f"cycles/digit{hw}\nwrote {out / 'report.md'}, {out / 'metrics.json'}")
    return 0


def cmd_twin(args) -> int:
    """The SNN of an SNN config next to its integer ANN twin (:mod:`neutnngen.pipeline.twin`)."""
    from .config import load_dict
    from .pipeline.tasks import snn
    from .pipeline.twin import run_twin

    raw = load_dict(in_file(args.config, "config"), args.overrides)
    if not snn.is_snn_config(raw):
        raise ConfigError(f"{args.config} has no [snn] table: 'twin' compares an SNN config's "
                          f"design with its integer ANN twin (examples/snn_mnist.toml); TNN "
                          f"configs have no twin yet", path="snn")
    cfg = snn.resolve_paths(snn.parse(raw), Path(args.config).parent)
    out = (out_dir(args.out, "--out") if args.out is not None else
           out_dir(str(Path("out") / f"twin_{cfg['experiment']['name']}"), "experiment.name"))
    rep = run_twin(cfg, out, show=not args.quiet, command=_command(args))
    print("\n".join(rep["verdict"]) + f"\nwrote {out / 'twin.md'}, {out / 'twin.json'}")
    return 0


def cmd_run(args) -> int:
    from . import pipeline

    if args.bench is not None:  # recorded as the override it is (rerun command, config.toml)
        args.overrides.append(f"verify.bench={args.bench}")
    rc = _pd14_run(args)
    if rc is not None:
        return rc
    rc = _convstdp_run(args)
    if rc is not None:
        return rc
    rc = _snn_run(args)
    if rc is not None:
        return rc
    cfg, out = _cfg(args)
    rep = pipeline.run(cfg, out, show=not args.quiet, command=_command(args))
    _summary(rep, out)
    return 0


def cmd_train(args) -> int:
    from . import pipeline

    rc = _snn_run(args)
    if rc is not None:
        return rc
    cfg, out = _cfg(args, stages=("train",))
    rep = pipeline.run(cfg, out, stages=("train",), show=not args.quiet, command=_command(args))
    print(f"{pipeline.headline(rep)}; wrote {out / 'metrics.json'} and {out / 'ir' / 'model.json'}")
    return 0


def _summary(rep: dict, out: Path) -> None:
    from .pipeline import headline

    lines = [headline(rep)]
    lines += [f"warning: {w}" for w in rep.get("training", {}).get("warnings", [])]
    if "verify" in rep:
        v = rep["verify"]
        bench = (" (AXIS bench, gaps and backpressure)" if v.get("interface") == "axis"
                 else f" ({v['bench']} bench)" if v.get("bench") else "")
        lines.append(f"verified {v['waves']} waves on {v['simulator']}{bench}: "
                     f"{v['mismatches']} mismatches")
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
    if rep.get("board"):
        b = rep["board"]
        lines.append(f"board {b['board']}: bitstream {out / b['bitstream']}, {b['luts']} LUT4, "
                     f"Fmax {b['fmax_mhz']:.1f} MHz at a {b['freq_mhz']:g} MHz clock"
                     if b.get("bitstream") else
                     f"board {b['board']}: does not fit ({b.get('fit_error')})")
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

    if not args.passes.strip():
        raise ConfigError("-p '': no pass given; expected a pass pipeline, e.g. "
                          "'prune-weight{max=0}' (neutnngen prune --list-passes)", path="-p")
    net = load(args.file)
    if args.output is not None:
        if not args.output.strip():
            raise ConfigError("-o '': expected an output path, e.g. pruned.json", path="-o")
        out_dir(str(Path(args.output).parent), "-o (its folder)")
    res = run_pipeline(net, args.passes)
    for st in res.stats:
        print(f"{st['pass']}: {st['synapses_before']} -> {st['synapses_after']} synapses",
              file=sys.stderr)
    if args.output is None:
        sys.stdout.write(to_text(res.network))
        return 0
    out = save(res.network, args.output)
    print(f"wrote {out} and {out.with_suffix('.npz')} (passes: {res.spec})")
    return 0


def _lanes_arg(text: str):
    """``--lanes``: a number, or comma-separated numbers (one per SNN lif stage)."""
    try:
        vals = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number or numbers separated "
                                         f"by commas (e.g. 8 or 8,1)") from None
    return vals[0] if len(vals) == 1 else vals


def cmd_compile(args) -> int:
    from .hdl import emit
    from .ir import load
    from .ir.stages.snn import is_snn

    check_top(args.top, "--top")
    if args.axis_bytes != 1 and args.interface != "axis":
        raise ConfigError(f"--axis-bytes {args.axis_bytes} sets the AXI4-Stream beat; add "
                          "--interface axis", path="--axis-bytes")
    if args.axis_buffer and args.interface != "axis":
        raise ConfigError("--axis-buffer buffers the AXI4-Stream top's input; add "
                          "--interface axis", path="--axis-buffer")
    net = load(args.ir)
    from .ir.kinds import kind_of

    if any(kind_of(st).name == "recurrent" for st in net.stages):
        return _compile_recurrent(args, net)
    if any(kind_of(st).name in ("rankcode", "convstdp") for st in net.stages):
        return _compile_convstdp(args, net)
    if is_snn(net):
        return _compile_snn(args, net)
    if isinstance(args.lanes, list):
        raise ConfigError(f"--lanes {','.join(map(str, args.lanes))}: a list of lane counts is for "
                          f"SNN networks (one per lif stage); a TNN design takes one number",
                          path="--lanes")
    extra = {} if args.lanes is None else {"lanes": args.lanes}
    if args.weight_store is not None:
        extra["weight_store"] = args.weight_store
    res = emit(net, out_dir(args.out, "--out"), weights=args.weights, name=args.top,
               architecture=args.architecture, interface=args.interface,
               axis_bytes=args.axis_bytes, axis_buffer=args.axis_buffer, **extra)
    print(json.dumps({"verilog": str(res.verilog), "rtlil": str(res.rtlil),
                      "names": str(res.names), **res.info}, indent=1))
    return 0


def _serial_only(args, what: str) -> None:
    """Refuse the ``compile`` options of the TNN/SNN generators for a design that is built
    one way only (``what`` says which and how)."""
    bad = [(f"--weights {args.weights}", "--weights", args.weights not in (None, "hardwired")),
           (f"--lanes {args.lanes}", "--lanes", args.lanes not in (None, 1)),
           (f"--architecture {args.architecture}", "--architecture",
            args.architecture not in (None, "serial")),
           (f"--interface {args.interface}", "--interface", args.interface != "stream"),
           (f"--weight-store {args.weight_store}", "--weight-store",
            args.weight_store not in (None, "auto"))]
    for flag, path, is_bad in bad:
        if is_bad:
            raise ConfigError(f"{flag} for {what}", path=path)


def _compile_recurrent(args, net) -> int:
    """``compile`` of a recurrent population network (:mod:`neutnngen.hdl.recurrent`)."""
    from .hdl.recurrent import emit_recurrent

    _serial_only(args, f"the recurrent network {net.name!r}; its RTL is one serial, "
                       f"hardwired, one-lane design with stream ports")
    v, info = emit_recurrent(net, out_dir(args.out, "--out"), name=args.top)
    print(json.dumps({"verilog": str(v), **info}, indent=1))
    return 0


def _compile_convstdp(args, net) -> int:
    """``compile`` of a convolutional STDP network (:mod:`neutnngen.hdl.convstdp`)."""
    from .hdl.convstdp import emit_convstdp

    _serial_only(args, f"the convolutional STDP network {net.name!r}; its RTL is one serial "
                       f"design with the trained weights in ROMs and stream ports")
    v, info = emit_convstdp(net, out_dir(args.out, "--out"), name=args.top)
    print(json.dumps({"verilog": str(v), **info}, indent=1))
    return 0


def _compile_snn(args, net) -> int:
    """``compile`` of an SNN network (:mod:`neutnngen.hdl.snn`)."""
    from .hdl.snn import emit_snn
    from .ir.snn_plan import ARCHITECTURES

    if args.architecture not in ARCHITECTURES or args.interface != "stream":
        raise ConfigError(f"--architecture {args.architecture} --interface {args.interface} for "
                          f"the SNN network {net.name!r}; the SNN RTL builds --architecture "
                          f"{' or '.join(ARCHITECTURES)} with stream ports (--interface stream)",
                          path="--architecture" if args.architecture not in ARCHITECTURES
                          else "--interface")
    if args.weight_store not in (None, "auto"):
        raise ConfigError(f"--weight-store {args.weight_store} for the SNN network {net.name!r}; "
                          "it chooses the weight store of serial TNN layers",
                          path="--weight-store")
    from .hdl.snn import plan_snn
    from .ir.snn_plan import split_mixed

    mix = split_mixed(net)  # SNN stages joined to TNN ones: the SNN part is planned here
    if mix and args.weights != "hardwired":
        raise ConfigError(f"--weights {args.weights} for the network {net.name!r} of TNN and "
                          f"SNN stages; a mixed design is built with hardwired weights",
                          path="--weights")
    plan_snn(mix.snn if mix else net, weights=args.weights, name=args.top,
             lanes=args.lanes or 1, architecture=args.architecture)  # errors first
    res = emit_snn(net, out_dir(args.out, "--out"), weights=args.weights, name=args.top,
                   lanes=args.lanes or 1, architecture=args.architecture)
    print(json.dumps({"verilog": str(res.verilog), "rtlil": str(res.rtlil),
                      "names": str(res.names), **res.info}, indent=1))
    return 0


def _verify_mixed(args, net) -> int:
    """``verify`` of a TNN front feeding an SNN: the input volleys of the TNN config's test
    data (and ``--corner`` volleys of the front) through
    :func:`neutnngen.verify.snn.verify_snn`."""
    import numpy as np

    from .ir.snn_plan import split_mixed
    from .pipeline import get_task, load_config, prepare_data, verify_stimulus

    extra = [f for f, on in (("--formal", args.formal), ("--prove-wave", args.prove_wave),
                             ("--gate-level", args.gate_level),
                             ("--mutants", args.mutants is not None),
                             ("--bench cocotb", args.bench == "cocotb")) if on]
    if extra:
        raise ConfigError(f"{extra[0]} is not available for TNN -> SNN designs yet; they verify "
                          f"with the streamed SNN bench (every SNN layer, step and neuron, and "
                          f"every volley the front hands over)", path=extra[0].split()[0])
    cfg = load_config(in_file(args.config, "--config"), args.overrides)
    get_task(cfg).check(cfg)
    rtl = Path(args.rtl)
    try:
        top = json.loads((rtl / "names.json").read_text())["top"]
    except (OSError, ValueError, KeyError):
        raise ConfigError(f"no names.json in {args.rtl!r}; expected the folder written by "
                          f"'neutnngen compile'", path=str(rtl / "names.json")) from None
    verilog = rtl / f"{top.get('name', args.top)}.v"
    if "front" not in top or not verilog.is_file():
        raise ConfigError(f"{args.rtl!r} holds no TNN -> SNN design (names.json has no "
                          f"'front'); compile {args.ir} into it first", path=args.rtl)
    X = np.asarray(verify_stimulus(cfg, prepare_data(cfg)), dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ConfigError(f"the config's test volleys have {X.shape[-1]} lines; the network "
                          f"{net.name!r} takes {net.inputs}", path=args.config)
    corner = None
    if args.corner:
        from .verify.corner import corner_volleys

        C, corner = corner_volleys(split_mixed(net).front, args.corner, seed=args.corner_seed,
                                   real=X)
        X = np.concatenate([X, C])
    if args.waves:
        X = X[:args.waves]
    from .verify.snn import describe, verify_snn

    d = verify_snn(net, verilog, X, simulator=args.simulator,
                   workdir=out_dir(args.out, "--out"))
    d.pop("rtl_spikes", None)
    if corner is not None:
        d["corner"] = corner
    print(json.dumps(d, indent=1, default=str))
    if d["mismatches"]:
        raise VerificationMismatch(describe(d["first_mismatch"], d["mismatches"], d["samples"]),
                                   first=d["first_mismatch"])
    return 0


def _verify_convstdp(args, net) -> int:
    """``verify`` of a convolutional STDP design: the config's first ``verify.samples`` test
    digits through :func:`neutnngen.verify.convstdp.verify_convstdp` (every line of every
    stage and the decided class against the interpreter)."""
    from .config import load_dict
    from .pipeline.tasks import convstdp

    extra = [f for f, on in (("--formal", args.formal), ("--prove-wave", args.prove_wave),
                             ("--bench cocotb", args.bench == "cocotb"),
                             ("--gate-level", args.gate_level),
                             ("--mutants", args.mutants is not None),
                             ("--corner", bool(args.corner)),
                             ("--random-weights", bool(args.random_weights))) if on]
    if extra:
        raise ConfigError(f"{extra[0]} is not available for convolutional STDP designs yet; "
                          f"they verify with their Verilog bench (every line of every stage, "
                          f"every decided class)", path=extra[0].split()[0])
    raw = load_dict(in_file(args.config, "--config"), args.overrides)
    if not convstdp.is_convstdp_config(raw):
        raise ConfigError(f"{args.config} is not a convstdp config (no [convstdp] table), but "
                          f"{args.ir} is a convolutional STDP network; pass the config it came "
                          f"from", path=args.config)
    opts = convstdp.run_options(raw)
    rtl = Path(args.rtl)
    try:
        top = json.loads((rtl / "names.json").read_text())["top"]
        assert top["kind"] == "convstdp"
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{args.rtl!r} holds no convolutional STDP design (no names.json of "
                          f"one); compile {args.ir} first", path=str(rtl / "names.json")) from None
    data = convstdp.config_digits(raw)
    from .verify.convstdp import verify_convstdp

    res = verify_convstdp(net, rtl / f"{top['name']}.v", data["X_test"][:opts["samples"]],
                          workdir=out_dir(args.out, "--out"),
                          simulator=args.simulator or opts["simulator"])
    res.pop("answer_cycles", None)
    print(json.dumps(res, indent=1))
    if res["mismatches"]:
        raise VerificationMismatch(f"the RTL differs from the interpreter in "
                                   f"{res['mismatches']} value(s); first: {res['first_mismatch']}",
                                   first=res["first_mismatch"])
    return 0


def _verify_snn(args, net) -> int:
    """``verify`` of an SNN design: the SNN config's test digits through
    :func:`neutnngen.verify.snn.verify_snn` (the Verilog bench) or, with ``--bench cocotb``,
    :func:`neutnngen.verify.snn_cocotb.verify_snn_cocotb` (the cocotb bench; also for
    ``--gate-level`` and ``--corner``; ``--mutants`` always run the Verilog bench)."""
    from .config import load_dict
    from .ir.snn_plan import split_mixed
    from .pipeline.tasks import snn

    mixed = split_mixed(net) is not None  # an SNN feeding TNN stages
    extra = [f for f, on in (
                             ("--formal", args.formal), ("--prove-wave", args.prove_wave),
                             ("--bench cocotb", mixed and args.bench == "cocotb"),
                             ("--gate-level", mixed and args.gate_level),
                             ("--mutants", mixed and args.mutants is not None)) if on]
    if extra:
        if mixed:
            raise ConfigError(f"{extra[0]} is not available for SNN -> TNN designs yet; they "
                              f"verify with the Verilog SNN bench (every layer, step and neuron, "
                              f"every output volley)", path=extra[0].split()[0])
        raise ConfigError(f"{extra[0]} is not available for SNN designs yet; they verify with "
                          f"the SNN benches (--bench stream or cocotb: every layer, step and "
                          f"neuron), --gate-level and --mutants", path=extra[0].split()[0])
    path = in_file(args.config, "--config")
    raw = load_dict(path, args.overrides)
    if not snn.is_snn_config(raw):
        raise ConfigError(f"{args.config} is not an SNN config (no [snn] table), but "
                          f"{args.ir} is an SNN network; pass the SNN config it came from",
                          path=args.config)
    cfg = snn.resolve_paths(snn.parse(raw), Path(args.config).parent)
    rtl = Path(args.rtl)
    names = rtl / "names.json"
    try:
        top = json.loads(names.read_text())["top"]
    except (OSError, ValueError, KeyError):
        raise ConfigError(f"no SNN names.json in {args.rtl!r}; expected the folder written by "
                          f"'neutnngen compile'", path=str(names)) from None
    verilog = rtl / f"{top.get('name', args.top)}.v"
    if top.get("kind") != "snn" or not verilog.is_file():
        raise ConfigError(f"{args.rtl!r} holds no SNN design (names.json kind "
                          f"{top.get('kind', 'tnn')!r}); compile {args.ir} first",
                          path=str(names))
    workdir = out_dir(args.out, "--out")
    data = snn.mnist_ints(cfg)
    if args.bench in ("stream", "cocotb"):  # the command line over the config's verify.bench
        cfg["verify"]["bench"] = args.bench
    cocotb = cfg["verify"]["bench"] == "cocotb"
    rep = snn.verify_stage(cfg, net, verilog, top.get("weights", "hardwired"), workdir,
                           data=data, simulator=args.simulator, gate_level=args.gate_level)
    if args.corner:
        from .verify.snn import corner_inputs, verify_snn
        from .verify.snn_cocotb import verify_snn_cocotb

        C, info = corner_inputs(net, args.corner, seed=args.corner_seed, real=data["X_train"])
        rc = (verify_snn_cocotb if cocotb else verify_snn)(
            net, verilog, C, simulator=args.simulator or None, workdir=workdir / "corner")
        rep["corner"] = {**info, **{k: rc[k] for k in ("mismatches", "first_mismatch",
                                                       "message", "trace_rows", "sim_s",
                                                       "saturations")}}
        if rc["mismatches"]:
            print(json.dumps(rep, indent=1, default=str))
            raise VerificationMismatch(f"SNN RTL on corner inputs: {rc['message']}",
                                       first=rc["first_mismatch"])
    if args.mutants:
        from .verify.snn import mutation_campaign

        X = data["X_test"][:cfg["verify"]["samples"] or len(data["y_test"])]
        mrep = mutation_campaign(net, verilog, X, n=args.mutants, seed=args.mutant_seed,
                                 simulator=args.simulator, workdir=workdir / "mutants")
        rep["mutation"] = {k: v for k, v in mrep.to_dict().items() if k != "results"}
        rep["mutation"]["details"] = str(workdir / "mutants" / "report.json")
    print(json.dumps(rep, indent=1, default=str))
    return 0


def cmd_verify(args) -> int:
    from .ir import load
    from .pipeline import get_task, load_config, prepare_data, verify_stimulus
    from .verify import run_verification

    check_top(args.top, "--top")
    if args.mutants is not None and args.mutants < 1:
        raise ConfigError(f"--mutants {args.mutants}; expected a number of mutants >= 1")
    if args.prove_timeout <= 0:
        raise ConfigError(f"--prove-timeout {args.prove_timeout}; expected seconds > 0")
    if args.corner < 0:
        raise ConfigError(f"--corner {args.corner}; expected a number of volleys >= 0")
    if args.random_weights is not None and args.random_weights < 0:
        raise ConfigError(f"--random-weights {args.random_weights}; expected a number of "
                          "weight sets >= 0")
    net = load(args.ir)
    from .hdl.convstdp import is_convstdp_net
    from .ir.stages.snn import is_snn

    if is_convstdp_net(net):
        return _verify_convstdp(args, net)
    if is_snn(net):
        from .ir.snn_plan import split_mixed

        mix = split_mixed(net)
        if mix is not None and mix.front is not None:  # a TNN config gives the volleys
            return _verify_mixed(args, net)
        return _verify_snn(args, net)
    cfg = load_config(in_file(args.config, "--config"), args.overrides)
    get_task(cfg).check(cfg)
    rtl = Path(args.rtl)
    if not rtl.is_dir():
        raise ConfigError(f"--rtl {args.rtl!r} is not a folder; expected the folder written by "
                          "'neutnngen compile'", path=args.rtl)
    verilog = rtl / f"{args.top}.v"
    if not verilog.is_file():
        raise ConfigError(f"no Verilog at {verilog}; run 'neutnngen compile' first or pass --top",
                          path=str(verilog))
    if not (rtl / "names.json").is_file():
        raise ConfigError(f"no names.json in {args.rtl!r}; expected the folder written by "
                          "'neutnngen compile'", path=str(rtl / "names.json"))
    axis = json.loads((rtl / "names.json").read_text()).get("top", {}).get("interface") == "axis"
    if axis:
        _axis_options(args)
    workdir = out_dir(args.out, "--out")
    data = prepare_data(cfg)
    X = verify_stimulus(cfg, data)
    corner = None
    if args.corner:
        import numpy as np

        from .verify.corner import corner_volleys

        C, corner = corner_volleys(net, args.corner, seed=args.corner_seed, real=X)
        X = np.concatenate([np.asarray(X, dtype=np.int64), C])
        corner["share"] = round(len(C) / max(1, len(X)), 4)
    if axis:
        return _verify_axis(args, net, verilog, rtl / "names.json", X, workdir, corner)
    bench = args.bench or cfg.verify.bench
    res = run_verification(net, verilog, rtl / "names.json", X, simulator=args.simulator,
                           workdir=workdir, waves=args.waves, bench_kind=bench)
    d = res.to_dict()
    if corner is not None:
        d["corner"] = corner
    if d["mismatches"]:
        print(json.dumps(d, indent=1, default=str))
        from .verify import describe

        raise VerificationMismatch(describe(d["first_mismatch"] or {}, d["mismatches"], d["waves"]),
                                   first=d["first_mismatch"])
    from .verify.weights import verify_random_weights

    rw = verify_random_weights(net, verilog, rtl / "names.json", X, args.random_weights,
                               seed=args.weight_seed, workdir=workdir / "weights",
                               simulator=args.simulator, bench_kind=bench)
    if rw:
        d["random_weights"] = rw
    if args.gate_level or args.formal:
        from .flows.netlist import synth_netlist

        gate_target = args.gate_target if args.gate_level else "generic"
        nl = synth_netlist(verilog, args.top, Path(args.out) / "gate", target=gate_target)
        d["netlist"] = {"path": nl.path, "target": nl.target, "seconds": nl.seconds}
        if args.gate_level:
            g = run_verification(net, nl.path, rtl / "names.json", X, simulator=args.simulator,
                                 workdir=Path(args.out) / "gate" / "sim", waves=args.waves,
                                 bench_kind=bench)
            d["gate_level"] = g.to_dict()
            if g.mismatches:
                print(json.dumps(d, indent=1, default=str))
                from .verify import describe

                raise VerificationMismatch(
                    "gate-level netlist " + nl.path + ": "
                    + describe(g.first_mismatch or {}, g.mismatches, g.waves),
                    first=g.first_mismatch)
        if args.formal:
            from .verify.formal import equiv_netlist

            if nl.target != "generic":  # equiv_* pairs registers by name: generic gates keep them
                nl = synth_netlist(verilog, args.top, Path(args.out) / "gate-generic")
            d["formal"] = equiv_netlist(verilog, nl.path, args.top, Path(args.out) / "formal")
            d["formal"]["netlist_target"] = nl.target
    if args.prove_wave:
        from .verify.bounded import prove_one_wave

        d["bounded"] = prove_one_wave(net, verilog, rtl / "names.json", Path(args.out) / "bounded",
                                      timeout=args.prove_timeout)
        if d["bounded"]["status"] == "failed":
            print(json.dumps(d, indent=1, default=str))
            raise VerificationMismatch(
                f"bounded proof: the first wave of volley {d['bounded'].get('counterexample')} "
                "differs from the reference circuit (log: " + d["bounded"]["log"] + ")",
                first={"signal": "out", "volley": d["bounded"].get("counterexample")})
    if args.mutants:
        from .pipeline import mutation_learning_stream
        from .verify.mutate import mutation_campaign

        learning = None
        if json.loads((rtl / "names.json").read_text()).get("top", {}).get("weights") == "learn":
            learning = mutation_learning_stream(cfg, data, net, seed=args.mutant_seed)
        rep = mutation_campaign(net, verilog, rtl / "names.json", X, n=args.mutants,
                                seed=args.mutant_seed, simulator=res.simulator,
                                workdir=Path(args.out) / "mutants",
                                random_weights=args.random_weights, weight_seed=args.weight_seed,
                                learning=learning)
        d["mutation"] = {k: v for k, v in rep.to_dict().items() if k != "results"}
        d["mutation"]["details"] = str(Path(args.out) / "mutants" / "report.json")
    print(json.dumps(d, indent=1, default=str))
    return 0


def _axis_options(args) -> None:
    """Refuse the verify options that need the stream ports on an AXI4-Stream design."""
    stream_only = [("--gate-level", args.gate_level), ("--formal", args.formal),
                   ("--prove-wave", args.prove_wave), ("--mutants", args.mutants),
                   ("--random-weights", args.random_weights),
                   ("--bench", args.bench not in (None, "auto", "cocotb"))]
    bad = [flag for flag, on in stream_only if on]
    if bad:
        raise ConfigError(f"{', '.join(bad)} on the AXI4-Stream design in {args.rtl}: these "
                          "checks drive the core's stream ports; compile the same IR without "
                          "--interface axis for them (the AXIS top wraps that core)",
                          path=bad[0])
    for flag, p in (("--p-valid", args.p_valid), ("--p-ready", args.p_ready)):
        if not 0 < p <= 1:
            raise ConfigError(f"{flag} {p}: expected a chance per cycle in (0, 1]", path=flag)


def _verify_axis(args, net, verilog: Path, names: Path, X, workdir: Path, corner) -> int:
    """``neutnngen verify`` on an ``--interface axis`` design: the AXIS bench, packets with
    seeded gaps on both sides, every output packet compared with the interpreter."""
    from .verify.axis import failure, verify_axis

    d = verify_axis(net, verilog, names, X, workdir / "axis", simulator=args.simulator,
                    seed=args.axis_seed, p_valid=args.p_valid, p_ready=args.p_ready,
                    bad_packets=args.bad_packets, waves=args.waves)
    if corner is not None:
        d["corner"] = corner
    print(json.dumps(d, indent=1, default=str))
    why = failure(d, args.bad_packets)
    if why:
        raise VerificationMismatch(why + (f" (waveform: {d['waveform']})"
                                          if d.get("waveform") else ""),
                                   first={"volley": d["first_mismatch"]})
    return 0


def cmd_synth(args) -> int:
    from . import flows
    from ._io import read_text

    t = args.target
    if t not in ("generic", "ice40", "ecp5") and not t.startswith("liberty:"):
        raise ConfigError(f"--target {t!r}; accepted: generic, ice40, ecp5, liberty:PATH",
                          path="--target")
    if args.device is not None and t not in ("ice40", "ecp5") and args.board is None:
        raise ConfigError(f"--device {args.device!r} given for --target {t!r}, which has no "
                          "device; --device applies to ice40 and ecp5", path="--device")
    check_top(args.top, "--top")
    verilog = in_file(args.verilog, "Verilog file")
    src = read_text(verilog, "Verilog file")
    if args.board is not None:
        if t != "generic":
            raise ConfigError(f"--board builds for the board's FPGA; drop --target {t}",
                              path="--target")
        return _synth_board(args, verilog, src)
    if t in ("ice40", "ecp5"):
        flows.check_device(t, args.device or flows.DEFAULT_DEVICE[t], "--device")
    if t.startswith("liberty:"):
        flows.check_liberty(t.split(":", 1)[1], "--target liberty:PATH")
    fq = {} if args.freq is None else {"freq_mhz": args.freq}
    if t == "generic":
        r = flows.synth_generic(src, args.top)
    elif t == "ice40":
        r = flows.synth_ice40(src, args.top, device=args.device or flows.DEFAULT_DEVICE[t], **fq)
    elif t == "ecp5":
        r = flows.synth_ecp5(src, args.top, device=args.device or flows.DEFAULT_DEVICE[t], **fq)
    else:
        r = flows.synth_liberty(src, args.top, t.split(":", 1)[1])
    print(json.dumps(r.to_dict(), indent=1, default=str))
    return 0


def _names_top(verilog: Path, what: str) -> dict:
    names = verilog.parent / "names.json"
    try:
        return json.loads(names.read_text())["top"]
    except (OSError, ValueError, KeyError):
        raise ConfigError(f"{what} needs the names.json that 'neutnngen compile' wrote beside "
                          f"{verilog}", path=str(names)) from None


def _synth_board(args, verilog: Path, src: str) -> int:
    from .flows.board import build_bitstream, load_board
    from .hdl.uart import board_wrapper

    board = load_board(args.board)
    top = _names_top(verilog, "--board")
    if top.get("name") != args.top:
        raise ConfigError(f"--top {args.top!r} but names.json beside {verilog} names the design "
                          f"{top.get('name')!r}", path="--top")
    wrapper, div = board_wrapper(top, board, args.baud, "--board")
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
    from .hdl.uart import board_wrapper

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
    if args.boards is None:  # the board tops take byte-wide designs
        byte_wide = int(top.get("axis", {}).get("beat_bytes", 1)) == 1
        wanted = board_names() if axis and byte_wide else []
    else:
        wanted = [b for b in args.boards.split(",") if b]
    boards = {}
    for b in wanted:
        board = load_board(b)
        boards[board] = board_wrapper(top, board, args.baud, "--boards")[0]
    core = write_core(args.fusesoc, name, verilog.read_text(), names_json=names.read_text(),
                      boards=boards, version=args.version)
    print(json.dumps({"core": str(core), "vlnv": f"neutnngen:tnn:{name}:{args.version}",
                      "files": str(Path(args.fusesoc) / "files.txt"),
                      "targets": ["default", "lint", *[b.name for b in boards]]}, indent=1))
    return 0


def cmd_dse(args) -> int:
    from . import dse
    from .dse.snn import cli_dse

    rc = cli_dse(args)  # an SNN config ([snn] table): its own in-process study
    if rc is not None:
        return rc

    for flag, val in (("--workers", args.workers), ("--trials", args.trials)):
        if val is not None and val < 1:
            raise ConfigError(f"{flag} {val}: expected a positive integer", path=flag)
    spec = dse.load(in_file(args.config, "config"), args.overrides)
    out = out_dir(args.out if args.out is not None else str(Path("out") / f"dse-{spec.study_name}"),
                  "--out" if args.out is not None else "dse.study")
    summary = dse.run_study(spec, out, resume=args.resume, scheduler=args.scheduler,
                            screen=args.screen, trials=args.trials, workers=args.workers,
                            show=not args.quiet)
    c = summary.get("counts", {})
    if c.get("failed") and not c.get("complete"):
        raise NeutnngenError(f"no trial of the study completed: {c['failed']} failed (an "
                             f"objective that is never measured, a config no trial can run); "
                             f"see {out / 'dse.md'} and {out / 'trials'}", path="dse")
    fc = summary["forecast"]["mape"]
    print(f"front: {len(summary['front'])} point(s); forecast LOO MAPE: "
          + (", ".join(f"{k.split('.')[-1]} {100 * v:.1f}%" for k, v in sorted(fc.items())) or "-")
          + f"; wrote {out / 'dse.json'}, {out / 'dse.md'}, {out / 'dse.html'}")
    return 0


PRUNE_DEFAULTS = {"tolerance": 0.01, "retrain_epochs": 0, "weights": "hardwired,register",
                  "breakdown_modules": 64}


def _snn_prune(args) -> int | None:
    """``prune`` of an SNN config (:mod:`neutnngen.pipeline.tasks.snn_prune`); None for any
    other config. Options of the TNN sweep only are a one-line error naming the flag."""
    import shlex

    from . import prune
    from .config import load_dict
    from .pipeline.tasks import snn, snn_prune

    raw = load_dict(in_file(args.config, "config"), args.overrides)
    if not snn.is_snn_config(raw):
        return None
    for flag, val in (("--passes", args.passes), ("--retrain-epochs", args.retrain_epochs),
                      ("--best-by", args.best_by),
                      ("--breakdown-modules", args.breakdown_modules)):
        if val is not None:
            raise ConfigError(f"{flag} is not available for SNN configs ({args.config} has an "
                              f"[snn] table); an SNN sweep takes --sweep, --weights hardwired|"
                              f"register, --tolerance, --out and --set", path=flag)
    if args.sweep is None:
        raise ConfigError("give --sweep 0,0.25,0.5,... (the shares of the nonzero integer "
                          "weights to prune) for an SNN config", path="--sweep")
    fractions = snn_prune.check_fractions(prune.parse_sweep(args.sweep))
    weights = args.weights if args.weights is not None else "hardwired"
    if weights not in ("hardwired", "register"):
        raise ConfigError(f"--weights {weights!r}; an SNN sweep builds one design per point: "
                          f"hardwired (pruned synapses cost neither memory nor cycles) or "
                          f"register", path="--weights")
    tol = PRUNE_DEFAULTS["tolerance"] if args.tolerance is None else args.tolerance
    prune.check_options(["x"], ("hardwired",), tolerance=tol, retrain_epochs=0, best_by=None,
                        breakdown_modules=0)
    cfg = snn.resolve_paths(snn.parse(raw), Path(args.config).parent)
    out = (out_dir(args.out, "--out") if args.out is not None else
           out_dir(str(Path("out") / f"prune-{cfg['experiment']['name']}"), "experiment.name"))
    cmd = _command(args) + f" --sweep {shlex.quote(args.sweep)}"
    for flag, val in (("--weights", args.weights), ("--tolerance", args.tolerance)):
        if val is not None:
            cmd += f" {flag} {shlex.quote(str(val))}"
    doc = snn_prune.run_prune(cfg, fractions, out, weights=weights, tolerance=tol,
                              show=not args.quiet, command=cmd)
    head, rows = snn_prune.summary_rows(doc)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    for r in [head, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)))
    b = doc["baseline"]["nearest_centroid"]["test_accuracy"]
    print(f"float {doc['float']['test_accuracy']:.4f}, integer {doc['integer']['test_accuracy']:.4f}"
          f", nearest class centroid {b:.4f}; report: {out / 'prune.md'} ({out / 'prune.json'})")
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
    in_file(args.config, "config")
    rc = _snn_prune(args)
    if rc is not None:
        return rc
    for attr, default in PRUNE_DEFAULTS.items():  # None: not given (SNN sweeps refuse them)
        if getattr(args, attr) is None:
            setattr(args, attr, default)
    if args.sweep is not None:
        specs = prune.sweep_specs(prune.parse_sweep(args.sweep))
    else:
        specs = prune.parse_pass_list(args.passes)
    modes = prune.parse_weight_modes(args.weights)
    prune.check_options(specs, modes, tolerance=args.tolerance,
                        retrain_epochs=args.retrain_epochs, best_by=args.best_by,
                        breakdown_modules=args.breakdown_modules)
    cfg = _config(args)
    prune.check_best_by(args.best_by, modes, tuple(cfg.synth.targets))
    out = _out(args, cfg, prefix="prune-")
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


class _Sub:
    """``add_subparsers`` whose every subcommand takes ``--debug`` too and lists the exit
    statuses in its ``--help``."""

    def __init__(self, action):
        self.action = action

    def add_parser(self, name: str, **kw):
        p = self.action.add_parser(name, epilog=_exit_epilog(),
                                   formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="print the Python traceback of an error (for bug reports)")
        return p


def check_top(name: str, what: str) -> str:
    """A Verilog top-module name: a plain identifier (it names files and the module)."""
    from .config import check_identifier

    return check_identifier(name, what)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neutnngen")
    except PackageNotFoundError:  # a source tree that was not pip-installed
        return "unknown (not installed)"


def cmd_import(args) -> int:
    from .frontend.snn_cli import import_command

    return import_command(args)


def build_parser() -> argparse.ArgumentParser:
    from .config import AXIS_BYTES

    ap = argparse.ArgumentParser(
        prog="neutnngen",
        description="Temporal / spiking neural networks from PyTorch to verified, synthesized Verilog.",
        epilog=_exit_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"neutnngen {_version()}",
                    help="print the installed neutnngen version and exit")
    ap.add_argument("--debug", action="store_true",
                    help="print the Python traceback of an error (for bug reports)")
    sub = _Sub(ap.add_subparsers(dest="command", required=True))

    p = sub.add_parser("run", help="train -> IR -> Verilog -> verify -> synth -> report, in one go")
    _common(p)
    p.add_argument("--bench", default=None, choices=["auto", "stream", "cocotb"],
                   help="verification bench (same as --set verify.bench=...): stream: plain "
                        "Verilog testbench, fast; cocotb: the Python bench; auto (default): "
                        "stream for inference designs, cocotb for learn-mode designs")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("twin", help="an SNN config's design next to its integer ANN twin (same "
                                    "topology, ReLU, int8/int4): accuracy, LUTs, cells, Fmax, "
                                    "cycles, toggle-count energy proxy; twin.json / twin.md")
    _common(p)
    p.set_defaults(func=cmd_twin)

    p = sub.add_parser("train", help="train and evaluate; writes the IR, weights and metrics.json")
    _common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("import", help="snnTorch model / NIR graph -> quantized integer SNN IR "
                                      "(+ NIR export of it)")
    from .frontend.snn_cli import add_import_arguments

    add_import_arguments(p)
    p.set_defaults(func=cmd_import)

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
    p.add_argument("--architecture", default="serial",
                   choices=["serial", "parallel", "pipelined"],
                   help="serial: one input line per cycle, smallest (default); parallel: every "
                        "synapse every time step, T + 4 cycles a wave (learn: T + 2, every "
                        "synapse updated at once); pipelined: every step of every synapse at "
                        "once, a new wave every cycle (hardwired and register weights)")
    p.add_argument("--top", default="neutnngen_top", help="top module name (default neutnngen_top)")
    p.add_argument("--lanes", type=_lanes_arg, default=None, metavar="N",
                   help="serial TNN layers: input lines streamed per cycle; SNN networks: "
                        "neurons updated together (1, 2, 4, ... 64), or one count per lif "
                        "stage (e.g. 8,1); default 1")
    p.add_argument("--interface", default="stream", choices=["stream", "axis"],
                   help="stream: valid/ready ports of docs/rtl-contract.md (default); axis: the "
                        "same core behind AXI4-Stream ports (packing in the same doc)")
    p.add_argument("--axis-bytes", type=int, default=1, choices=list(AXIS_BYTES),
                   metavar="N", help="--interface axis: bytes per beat, tdata = 8 x N bits: "
                        "1 (default), 2, 4, 8, 16, 32 or 64; wider beats take a volley in "
                        "ceil(lines / N) cycles")
    p.add_argument("--axis-buffer", action="store_true",
                   help="--interface axis: a second volley register, so the next packet comes "
                        "in while the core runs its wave (a volley every max(in_beats, "
                        "WAVE_CYCLES) + 1 cycles instead of in_beats + WAVE_CYCLES)")
    p.add_argument("--weight-store", default=None, choices=["registers", "memory", "auto"],
                   help="serial register/learn weights: registers (one per synapse), memory "
                        "(one block-RAM-mappable memory per segment; rst keeps its contents) "
                        "or auto (default: memory from 4096 synapses)")
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
    p.add_argument("--bench", default=None, choices=["auto", "stream", "cocotb"],
                   help="stream: plain Verilog testbench (stimulus from memory files, fast); "
                        "cocotb: the Python bench; auto: stream for inference designs, cocotb "
                        "for learn-mode designs and mutants (default: the config's "
                        "verify.bench, auto); --gate-level uses the same bench, --mutants "
                        "always cocotb. SNN designs: the Verilog SNN bench unless cocotb "
                        "(also for --gate-level and --corner; --mutants the Verilog bench)")
    p.add_argument("--out", default="out/verify", help="work directory")
    p.add_argument("--mutants", type=int, default=None, metavar="N",
                   help="after a passing run, apply N seeded mutations to the Verilog one at a "
                        "time and rerun the bench on each: prints the kill rate and every "
                        "surviving mutant (file, line, change); on a learn-mode design each "
                        "mutant the inference bench misses also learns 64 training volleys "
                        "plus 48 weight-bound streams, compared wave by wave with the "
                        "interpreter; docs/verification.md")
    p.add_argument("--mutant-seed", type=int, default=0, metavar="S",
                   help="seed of the mutant draw (default 0)")
    p.add_argument("--corner", type=int, default=0, metavar="N",
                   help="append up to N seeded corner-case volleys to the test set (ties, "
                        "silence, last-step spikes, threshold-exact potentials, saturation, "
                        "volleys that tell a weight or threshold +/-1 apart); their share, "
                        "seed and coverage are in the output (default 0)")
    p.add_argument("--gate-level", action="store_true",
                   help="also synthesize a gate-level netlist and run the same bench on it "
                        "(--gate-target)")
    p.add_argument("--gate-target", default="generic", choices=["generic", "ice40"],
                   help="--gate-level netlist: generic (Yosys gates, default) or ice40 (LUT4, "
                        "carry and flip-flop cells simulated with Yosys's iCE40 cell models); "
                        "--formal always proves against the generic netlist")
    p.add_argument("--formal", action="store_true",
                   help="also prove RTL == synthesized netlist with Yosys equiv_* (prints "
                        "proven / failed / unknown and the reason)")
    p.add_argument("--prove-wave", action="store_true",
                   help="also prove, for every input volley, that the first wave after reset "
                        "equals a reference circuit built straight from the IR (Yosys SAT, "
                        "bounded to LATENCY + 3 cycles; one-layer networks without proximal "
                        "lines; prints proven / failed with the volley / unknown)")
    p.add_argument("--prove-timeout", type=float, default=600, metavar="S",
                   help="seconds for --prove-wave before it reports unknown (default 600)")
    p.add_argument("--corner-seed", type=int, default=0, metavar="S",
                   help="seed of the corner-case volleys (default 0)")
    p.add_argument("--random-weights", type=int, default=None, metavar="N",
                   help="register- and learn-mode designs: also run N seeded random weight "
                        "sets, loaded "
                        "through wload_* (plus 32 corner volleys chosen for each), after the "
                        "trained weights, and in every --mutants run (default 1 for "
                        "register designs and for mutants of learn designs, 0 otherwise; 0: "
                        "off); docs/verification.md")
    p.add_argument("--weight-seed", type=int, default=0, metavar="S",
                   help="seed of the --random-weights sets (default 0)")
    p.add_argument("--axis-seed", type=int, default=0, metavar="S",
                   help="AXI4-Stream designs (compile --interface axis), which verify runs "
                        "through the AXIS bench: seed of the gaps on s_axis and m_axis "
                        "(default 0)")
    p.add_argument("--p-valid", type=float, default=0.7, metavar="P",
                   help="AXI4-Stream designs: chance per cycle that the bench offers an input "
                        "beat (default 0.7; 1: no gaps)")
    p.add_argument("--p-ready", type=float, default=0.6, metavar="P",
                   help="AXI4-Stream designs: chance per cycle that the bench takes an output "
                        "beat (default 0.6; 1: no backpressure)")
    p.add_argument("--bad-packets", action="store_true",
                   help="AXI4-Stream designs: send a short and a long packet first; the top "
                        "must drop both and flag each once")
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
                        "--interface axis design with byte beats, none otherwise)")
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
    p.add_argument("--tolerance", type=float, default=None,
                   help="largest metric loss (absolute, metric units) for best_within_tolerance (default 0.01)")
    p.add_argument("--retrain-epochs", type=int, default=None,
                   help="retrain N epochs after pruning, the pruned mask fixed (default 0)")
    p.add_argument("--weights", default=None,
                   help="weight modes (default hardwired,register; SNN configs: hardwired or "
                        "register, default hardwired)")
    p.add_argument("--best-by", default=None, metavar="MODE.TARGET.FIELD",
                   help="cost best_within_tolerance maximises the saving of (default: the first "
                        "mode and target, e.g. hardwired.generic.transistors)")
    p.add_argument("--breakdown-modules", type=int, default=None, metavar="N",
                   help="synthesize up to N column/neuron modules per design for the cost "
                        "breakdown (0: synapse breakdown only; default 64)")
    p.add_argument("--list-passes", action="store_true", help="list the passes and their options")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_prune)
    return ap


def _exit_epilog() -> str:
    return "exit status:\n" + "\n".join(f"  {code:<4} {what}" for code, what in EXIT_STATUSES)


def _text(e: NeutnngenError) -> str:
    """The error's message, prefixed by its path unless the message names it already."""
    if e.path and e.path not in e.message:
        return f"{e.path}: {e.message}"
    return e.message


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error a user can cause ends here as one line and an exit status."""
    import traceback

    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))

    def fail(code: int, msg: str) -> int:
        if debug:
            traceback.print_exc()
        print(msg, file=sys.stderr)
        return code

    import signal
    import threading

    def terminate(signum, frame):
        raise Terminated

    main_thread = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    _CREATED.clear()
    try:
        return args.func(args)
    except Terminated:
        return fail(143, "terminated: child processes stopped; run the same command again "
                         "to resume")
    except KeyboardInterrupt:
        return fail(130, "interrupted: child processes stopped; run the same command again "
                         "to resume")
    except VerificationMismatch as e:
        return fail(3, f"verification FAILED: {_text(e)}")
    except NeutnngenError as e:
        return fail(2, f"error: {_text(e)}")
    except UnicodeDecodeError as e:
        return fail(2, f"error: an input is not UTF-8 text (binary or UTF-16?): {_one_line(e)}")
    except OSError as e:
        return fail(2, f"error: {describe_os_error(e)}")
    except MemoryError:
        return fail(2, "error: out of memory; expected an input that fits (shrink the network "
                       "or the dataset)")
    except RecursionError as e:
        return fail(2, f"error: input nested too deeply: {_one_line(e)}")
    except Exception as e:  # noqa: BLE001 - the boundary: a bug, reported in one line
        return fail(1, f"internal error: {type(e).__name__}: {_one_line(e)[:500]} (a bug in "
                       "neutnngen; rerun with --debug for the traceback and report it)")
    finally:
        _drop_empty_created()  # a failure before any output leaves no empty folder behind
        if main_thread:
            signal.signal(signal.SIGTERM, old_term)


if __name__ == "__main__":
    sys.exit(main())
