"""Bad input never crashes, hangs, escapes its output folder or leaves stale results (#16).

Every case runs the CLI the way a user does (in-process through :func:`neutnngen.cli.main`,
a few in subprocesses for exit statuses and Ctrl-C) and asserts the contract of the error
boundary: exit status 2 (bad input) with one ``error:`` line on stderr that names the
culprit, no traceback, nothing written where it should not be, and no data loaded for a
config that can be checked statically. The corpus is grouped by class: corrupt IR files,
corrupt NPZ archives, configs, output folders, per-subcommand options, file-system errors.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neutnngen import cli
from neutnngen.ir import save
from neutnngen.pipeline import TASKS
from tests.conftest import make_column_net

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GUNPOINT = EXAMPLES / "ucr_gunpoint.toml"
MNIST = EXAMPLES / "mnist_neutnn.toml"
DSE = EXAMPLES / "dse_ucr.toml"


# ------------------------------------------------------------------------------ helpers
def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own usage errors exit 2 with a usage line
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def assert_clean_error(rc: int, err: str, *needles: str, code: int = 2) -> None:
    """Exit ``code``, a message, no traceback, no internal error, and every needle in it."""
    assert rc == code, f"exit {rc}, expected {code}; stderr: {err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.strip(), "no message"
    first = err.strip().splitlines()[0]
    assert first.startswith(("error:", "usage:", "verification FAILED")) or \
        "error:" in err, err
    for n in needles:
        assert n.lower() in err.lower(), f"{n!r} not in {err!r}"


@pytest.fixture
def no_data(monkeypatch):
    """Loading any dataset fails the test: static checks must come first."""
    def refuse(self, cfg):
        raise AssertionError(f"data of {cfg.data.kind!r} loaded before the config was checked")

    for t in TASKS.values():
        monkeypatch.setattr(type(t), "prepare", refuse)


def _ir_pair(tmp_path: Path, name: str = "m") -> Path:
    """A small valid IR: a learning column layer, then a retime and a second layer."""
    from neutnngen.ir import Column, Layer, Network, Retime, SynapseBank

    base = make_column_net(p=8, q=3, seed=1)
    l0 = base.layers[0]
    rng = np.random.default_rng(2)
    col = Column("c", 3, SynapseBank.dense(rng.integers(1, 8, (2, 1, 1, 3))), np.full((2, 1, 1), 4))
    net = Network("toy", base.time, 8, (l0, Retime("rt", 1, 7), Layer("layer1", 3, (col,))))
    return save(net, tmp_path / name)


def _rewrite(jpath: Path, doc, arrays: dict | None = None, keep_sha: bool = False) -> None:
    """Write ``doc`` (any JSON value) and, when given, ``arrays`` into the NPZ the document
    names; the checksum is updated so the reader sees exactly the change under test."""
    npath = jpath.with_suffix(".npz")
    if arrays is not None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        npath.write_bytes(buf.getvalue())
    if isinstance(doc, dict) and isinstance(doc.get("arrays"), dict) and not keep_sha \
            and len(str(doc["arrays"].get("sha256"))) == 64:
        import hashlib

        doc["arrays"]["sha256"] = hashlib.sha256(npath.read_bytes()).hexdigest()
    jpath.write_text(json.dumps(doc))


def _load_pair(jpath: Path) -> tuple[dict, dict]:
    doc = json.loads(jpath.read_text())
    with np.load(jpath.with_suffix(".npz")) as z:
        arrays = {k: z[k] for k in z.files}
    return doc, arrays


def _col(doc):
    return doc["stages"][0]["columns"][0]


def _set(path: str, value):
    """A mutation setting the JSON key ``path`` (dotted, [i] indices) to ``value``."""
    def f(doc, arrays):
        node, parts = doc, path.replace("[", ".").replace("]", "").split(".")
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node[p]
        last = parts[-1]
        if value is _DEL:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
        return doc, arrays
    return f


_DEL = object()


def _arr(key: str, value):
    def f(doc, arrays):
        arrays[key] = np.asarray(value) if not callable(value) else value(arrays[key])
        return doc, arrays
    return f


def _doc(value):
    return lambda doc, arrays: (value, arrays)


W = "s0/c0/distal_weights"
THETA = "s0/c0/theta"
MASK = "s0/c0/distal_mask"
SEEDS = "s0/c0/seeds"
C0 = "stages[0].columns[0]"

# (id, mutation, words the message must contain)
IR_CASES = [
    ("doc-empty-list", _doc([]), ["expected a JSON object"]),
    ("doc-null", _doc(None), ["expected a JSON object"]),
    ("doc-string", _doc("x"), ["expected a JSON object"]),
    ("doc-number", _doc(3), ["expected a JSON object"]),
    ("no-stages", _set("stages", _DEL), ["stages", "missing"]),
    ("stages-object", _set("stages", {}), ["stages", "expected a list"]),
    ("stages-empty", _set("stages", []), ["stages", "1.."]),
    ("stage-is-list", _set("stages[0]", []), ["stages[0]", "stage object"]),
    ("stage-null", _set("stages[0]", None), ["stages[0]"]),
    ("stage-unknown-type", _set("stages[0].type", "convolution"), ["unknown stage kind", "known: layer"]),
    ("stage-no-type", _set("stages[0].type", _DEL), ["stages[0].type", "missing"]),
    ("stage-type-number", _set("stages[1].type", 7), ["unknown stage kind"]),
    ("no-time", _set("time", _DEL), ["time", "missing"]),
    ("time-null", _set("time", None), ["time"]),
    ("time-no-timeres", _set("time.timeres", _DEL), ["time.timeres", "missing"]),
    ("timeres-fraction", _set("time.timeres", 2.5), ["time.timeres", "integer"]),
    ("timeres-zero", _set("time.timeres", 0), ["time.timeres", "1..8"]),
    ("timeres-string", _set("time.timeres", "3"), ["time.timeres", "integer"]),
    ("response-bogus", _set("time.response", "lif"), ["time.response", "rnl"]),
    ("version-99", _set("version", 99), ["version", "99"]),
    ("version-string", _set("version", "1"), ["version"]),
    ("format-other", _set("format", "onnx"), ["format"]),
    ("name-number", _set("name", 5), ["name", "string"]),
    ("inputs-negative", _set("inputs", -1), ["inputs", "-1"]),
    ("inputs-string", _set("inputs", "8"), ["inputs", "integer"]),
    ("inputs-bool", _set("inputs", True), ["inputs", "integer"]),
    ("inputs-nan", _set("inputs", float("nan")), ["inputs", "integer"]),
    ("wres-string", _set(f"{C0}.wres", "3"), [f"{C0}.wres", "integer"]),
    ("wres-negative", _set(f"{C0}.wres", -2), [f"{C0}.wres", "1..8"]),
    ("wres-fraction", _set(f"{C0}.wres", 2.7), [f"{C0}.wres", "2.7"]),
    ("col-inputs-negative", _set(f"{C0}.inputs", -4), [f"{C0}.inputs"]),
    ("seg-inhibition-null", _set(f"{C0}.segment_inhibition", None), ["segment_inhibition"]),
    ("col-inhibition-bad-k", _set(f"{C0}.column_inhibition", "kwta(x)"), ["column_inhibition", "kwta"]),
    ("col-inhibition-unknown", _set(f"{C0}.column_inhibition", "wta2"), ["column_inhibition"]),
    ("proximal-mode-bogus", _set(f"{C0}.proximal_mode", "add"), ["proximal_mode"]),
    ("columns-empty", _set("stages[0].columns", []), ["stages[0].columns"]),
    ("columns-object", _set("stages[0].columns", {}), ["stages[0].columns", "list"]),
    ("column-no-theta", _set(f"{C0}.theta", _DEL), [f"{C0}.theta", "missing"]),
    ("array-name-dotdot", _set(f"{C0}.theta", "../../etc/passwd"), [f"{C0}.theta", "plain name"]),
    ("array-name-empty", _set(f"{C0}.theta", ""), [f"{C0}.theta", "plain name"]),
    ("array-name-absolute", _set(f"{C0}.distal_weights", "/etc/passwd"), ["plain name"]),
    ("array-name-missing", _set(f"{C0}.distal_weights", "s0/c0/nothing"), ["missing from the .npz"]),
    ("array-name-number", _set(f"{C0}.distal_mask", 3), [f"{C0}.distal_mask"]),
    ("learning-string", _set("stages[0].learning", "stdp"), ["stages[0].learning", "object"]),
    ("learning-mu-big", _set("stages[0].learning.mu_capture", 5000), ["mu_capture", "0..1024"]),
    ("learning-kind-bogus", _set("stages[0].learning.kind", "bcm"), ["learning.kind"]),
    ("learning-missing-key", _set("stages[0].learning.mu_min", _DEL), ["mu_min", "missing"]),
    ("kernel-zero", _set("stages[0].kernel", {"height": 0, "width": 1, "channels": 1,
                                               "rfsize": 1, "stride": 1}), ["kernel.height"]),
    ("random-null-kind", _set(f"{C0}.random.kind", None), ["random.kind"]),
    ("random-taps-string", _set(f"{C0}.random.taps", "16,15"), ["random.taps"]),
    ("random-width-huge", _set(f"{C0}.random.width", 4096), ["random.width"]),
    ("unknown-column-key", _set(f"{C0}.colour", "red"), [f"{C0}.colour", "unknown key"]),
    ("retime-shift-negative", _set("stages[1].shift", -1), ["stages[1].shift"]),
    ("retime-t-max-string", _set("stages[1].t_max", "7"), ["stages[1].t_max"]),
    ("duplicate-stage-names", _set("stages[2].name", "layer0"), ["stages[2].name", "unique"]),
    ("arrays-file-dotdot", _set("arrays.file", "../../m.npz"), ["arrays", ".npz"]),
    ("arrays-file-empty", _set("arrays.file", ""), ["arrays"]),
    ("arrays-sha-short", _set("arrays.sha256", "abc"), ["sha256"]),
    ("meta-list", _set("meta", [1, 2]), ["meta", "object"]),
    # NPZ contents
    ("theta-float", _arr(THETA, lambda a: a.astype(float) + 0.5), [f"{C0}.theta", "float64"]),
    ("theta-wrong-shape", _arr(THETA, np.array([4, 4, 4])), [f"{C0}.theta", "int64 [3]"]),
    ("theta-zero", _arr(THETA, lambda a: a * 0), [f"{C0}.theta", "got 0"]),
    ("weights-nan", _arr(W, lambda a: np.where(a > 3, np.nan, a.astype(float))), [f"{C0}.distal_weights", "float64"]),
    ("weights-fraction", _arr(W, lambda a: a + 0.7), [f"{C0}.distal_weights", "float"]),
    ("weights-rank-3", _arr(W, lambda a: a[..., 0]), [f"{C0}.distal_weights", "rank 4"]),
    ("weights-too-big", _arr(W, lambda a: a * 0 + 99), [f"{C0}.distal_weights", "0..7", "99"]),
    ("weights-negative", _arr(W, lambda a: a - 9), [f"{C0}.distal_weights", "0..7"]),
    ("weights-wrong-inputs", _arr(W, lambda a: a[..., :5]), [f"{C0}.distal_weights", "shape"]),
    ("mask-int", _arr(MASK, lambda a: a.astype(np.int8)), [f"{C0}.distal_mask", "bool"]),
    ("mask-wrong-shape", _arr(MASK, lambda a: a[:1]), [f"{C0}.distal_mask", "shape"]),
    ("weights-string-array", _arr(W, lambda a: a.astype(str)), [f"{C0}.distal_weights", "int array"]),
    ("seeds-zero", _arr(SEEDS, lambda a: a * 0), ["random.seeds"]),
    ("seeds-2d", _arr(SEEDS, lambda a: a.reshape(1, -1)), ["random.seeds", "rank 1"]),
]


@pytest.fixture
def ir(tmp_path):
    return _ir_pair(tmp_path)


def test_the_clean_ir_reads(ir, capsys):
    rc, out, err = run_cli(["ir", "show", ir], capsys)
    assert rc == 0 and "layer name=" in out and not err


@pytest.mark.parametrize("case", IR_CASES, ids=[c[0] for c in IR_CASES])
def test_corrupt_ir_json_or_arrays(ir, capsys, case):
    _, mutate, needles = case
    doc, arrays = _load_pair(ir)
    doc, arrays = mutate(doc, arrays)
    _rewrite(ir, doc, arrays)
    rc, _, err = run_cli(["ir", "show", ir], capsys)
    assert_clean_error(rc, err, *needles)


# the same reader behind every subcommand that takes an IR file
IR_COMMANDS = {
    "ir-verify": lambda p, t: ["ir", "verify", p],
    "opt": lambda p, t: ["opt", p, "-p", "prune-weight{max=0}"],
    "compile": lambda p, t: ["compile", p, "--out", t / "rtl"],
    "verify": lambda p, t: ["verify", p, "--rtl", t, "--config", GUNPOINT],
}
SUBSET = ["doc-empty-list", "stage-unknown-type", "no-time", "weights-nan", "weights-fraction",
          "wres-negative", "array-name-dotdot"]


@pytest.mark.parametrize("cmd", sorted(IR_COMMANDS))
@pytest.mark.parametrize("name", SUBSET)
def test_corrupt_ir_in_every_command(ir, tmp_path, capsys, cmd, name):
    _, mutate, needles = next(c for c in IR_CASES if c[0] == name)
    doc, arrays = _load_pair(ir)
    doc, arrays = mutate(doc, arrays)
    _rewrite(ir, doc, arrays)
    rc, _, err = run_cli(IR_COMMANDS[cmd](ir, tmp_path), capsys)
    assert_clean_error(rc, err, *needles)
    assert not (tmp_path / "rtl").exists()


def _npz_members(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def _npy(a, pickle=False) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array(b, a, allow_pickle=pickle)
    return b.getvalue()


NPZ_CASES = [
    ("npz-empty-file", lambda good: b"", ["empty"]),
    ("npz-not-zip", lambda good: b"PK\x03\x04 this is not a zip" * 10, ["not an NPZ"]),
    ("npz-text", lambda good: b"hello", ["not an NPZ"]),
    ("npz-empty-zip", lambda good: _npz_members({}), ["missing from the .npz"]),
    ("npz-pickled-object", lambda good: _npz_members({
        **good, "s0/c0/theta.npy": _npy(np.array([{"a": 1}], dtype=object), pickle=True)}),
     ["theta", "python objects"]),
    ("npz-member-dotdot", lambda good: _npz_members({**good, "../../evil.npy": good["s0/c0/theta.npy"]}),
     ["not a plain"]),
    ("npz-member-absolute", lambda good: _npz_members({**good, "/abs.npy": good["s0/c0/theta.npy"]}),
     ["not a plain"]),
    ("npz-member-not-npy", lambda good: _npz_members({**good, "readme.txt": b"hi"}), ["not a plain"]),
    ("npz-member-garbage", lambda good: _npz_members({**good, "s0/c0/theta.npy": b"\x93NUMPY garbage"}),
     ["cannot be read"]),
]


@pytest.mark.parametrize("case", NPZ_CASES, ids=[c[0] for c in NPZ_CASES])
def test_corrupt_npz_archive(ir, capsys, case):
    _, make, needles = case
    npath = ir.with_suffix(".npz")
    with zipfile.ZipFile(npath) as zf:
        good = {i.filename: zf.read(i) for i in zf.infolist()}
    npath.write_bytes(make(good))
    doc = json.loads(ir.read_text())
    doc["arrays"].pop("sha256")  # the checksum would catch it first; test the reader itself
    ir.write_text(json.dumps(doc))
    rc, _, err = run_cli(["ir", "show", ir], capsys)
    assert_clean_error(rc, err, *needles)


FILE_CASES = [
    ("ir-is-folder", lambda ir: ir.parent, ["folder"]),
    ("ir-missing", lambda ir: ir.parent / "nothing.json", ["no IR file"]),
    ("ir-empty-path", lambda ir: "", ["IR"]),
    ("ir-binary", lambda ir: (ir.write_bytes(b"\x00\x01\x02\xff" * 50), ir)[1], ["binary"]),
    ("ir-utf16", lambda ir: (ir.write_bytes(ir.read_text().encode("utf-16")), ir)[1], ["UTF-16"]),
    ("ir-latin1", lambda ir: (ir.write_bytes(b'{"name": "\xe9"}'), ir)[1], ["UTF-8"]),
    ("ir-bad-json", lambda ir: (ir.write_text("{not json"), ir)[1], ["not valid JSON"]),
    ("ir-deep-json", lambda ir: (ir.write_text("[" * 100000 + "]" * 100000), ir)[1], ["JSON"]),
    ("ir-npz-missing", lambda ir: (ir.with_suffix(".npz").unlink(), ir)[1], ["missing"]),
    ("ir-npz-folder", lambda ir: (ir.with_suffix(".npz").unlink(), ir.with_suffix(".npz").mkdir(), ir)[2],
     ["folder"]),
    ("ir-npz-swapped", lambda ir: (ir.with_suffix(".npz").write_bytes(
        ir.with_suffix(".npz").read_bytes() + b"\0"), ir)[1], ["checksum"]),
]


@pytest.mark.parametrize("cmd", ["show", "verify"])
@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_ir_file_system_problems(ir, capsys, case, cmd):
    _, make, needles = case
    rc, _, err = run_cli(["ir", cmd, make(ir)], capsys)
    assert_clean_error(rc, err, *needles)


# ------------------------------------------------------------------------------ configs
CONFIG_SETS = [
    ("neurons-string", ['network.neurons="3"'], ["network.neurons", "integer"]),
    ("epochs-string", ['train.epochs="5"'], ["train.epochs", "integer"]),
    ("clip-string", ['data.clip="2.0"'], ["data.clip", "number"]),
    ("clip-nan", ["data.clip=nan"], ["data.clip", "finite"]),
    ("freq-inf", ["synth.freq_mhz=inf"], ["synth.freq_mhz", "finite"]),
    ("name-dotdot", ["experiment.name=../x"], ["experiment.name", "folder name"]),
    ("name-absolute", ['experiment.name="/tmp/x"'], ["experiment.name", "folder name"]),
    ("name-slash", ['experiment.name="a/b"'], ["experiment.name"]),
    ("name-empty", ['experiment.name=""'], ["experiment.name"]),
    ("name-dot", ['experiment.name="."'], ["experiment.name"]),
    ("name-300", ["experiment.name=" + "n" * 300], ["experiment.name", "100"]),
    ("seed-negative", ["experiment.seed=-1"], ["experiment.seed", "range"]),
    ("seed-huge", ["experiment.seed=99999999999999"], ["experiment.seed"]),
    ("seed-float", ["experiment.seed=1.5"], ["experiment.seed", "integer"]),
    ("top-digit", ["hdl.top=1top"], ["hdl.top", "identifier"]),
    ("top-space", ['hdl.top="my top"'], ["hdl.top", "identifier"]),
    ("top-empty", ['hdl.top=""'], ["hdl.top"]),
    ("ice40-device", ["synth.ice40_device=hx9k"], ["synth.ice40_device", "hx9k", "hx8k"]),
    ("ice40-package", ['synth.ice40_package="ct 256"'], ["synth.ice40_package"]),
    ("ecp5-device", ["synth.targets=ecp5", "synth.ecp5_device=99k"], ["synth.ecp5_device", "99k"]),
    ("liberty-empty", ["synth.targets=liberty"], ["synth.liberty"]),
    ("liberty-missing", ["synth.targets=liberty", "synth.liberty=/nonexistent/x.lib"],
     ["synth.liberty", "does not exist"]),
    ("liberty-folder", ["synth.targets=liberty", "synth.liberty=/tmp"], ["synth.liberty", "folder"]),
    ("liberty-not-lib", ["synth.targets=liberty", f"synth.liberty={GUNPOINT}"],
     ["synth.liberty", "Liberty"]),
    ("target-bogus", ["synth.targets=generic,fpga"], ["synth.targets", "fpga"]),
    ("kwta-zero", ["network.column_inhibition=kwta(0)"], ["column_inhibition", "k >= 1"]),
    ("kwta-too-many", ["network.column_inhibition=kwta(5)"], ["column_inhibition", "1 <= k <= 2"]),
    ("kwta-text", ["network.column_inhibition=kwta(x)"], ["column_inhibition", "integer k"]),
    ("kwta-bare", ["network.column_inhibition=kwta"], ["column_inhibition", "kwta(k)"]),
    ("inhibition-unknown", ["network.segment_inhibition=wta2"], ["segment_inhibition"]),
    ("epochs-negative", ["train.epochs=-1"], ["train.epochs"]),
    ("timeres-zero", ["network.timeres=0"], ["network.timeres"]),
    ("simulator-bogus", ["verify.simulator=modelsim"], ["verify.simulator"]),
    ("kind-bogus", ["data.kind=imagenet"], ["data.kind"]),
    ("unknown-key", ["network.colour=red"], ["network.colour"]),
    ("unknown-section", ["nets.neurons=2"], ["nets"]),
    ("set-no-equals", ["train.epochs"], ["section.key=value"]),
    ("set-bad-key", ["epochs=3"], ["section.key"]),
    ("layers-index", ["layers.3.neurons=2"], ["layers"]),
    ("mu-range", ["train.mu_capture=5000"], ["train.mu_capture"]),
    ("files-no-train", ["data.kind=files"], ["data.train"]),
    ("files-missing", ["data.kind=files", "data.train=/nonexistent/x.csv"], ["data.train"]),
    ("learn-fast", ["hdl.weights=learn", "train.mode=fast"], ["train.mode"]),
    ("architecture-bogus", ["hdl.architecture=fast"], ["hdl.architecture", "serial"]),
    ("learn-pipelined", ["hdl.weights=learn", "hdl.architecture=pipelined"],
     ["hdl.architecture"]),
    ("grf-one", ["data.grf=1"], ["data.grf=1", "at least 2"]),
    ("grf-posneg", ["data.grf=3", "data.posneg=true"], ["data.grf=3", "data.posneg"]),
    ("grf-width", ["data.grf=3", "data.grf_width=0"], ["data.grf_width"]),
    ("projections-negative", ["data.projections=-4"], ["data.projections"]),
    ("spectrum-negative", ["data.spectrum=-1"], ["data.spectrum"]),
    ("spectrum-projections", ["data.spectrum=8", "data.projections=16"],
     ["data.spectrum=8", "data.projections=16", "one front end"]),
    ("spectrum-log-string", ['data.spectrum_log="maybe"'], ["data.spectrum_log"]),
    ("normalise-bogus", ["data.normalise=dataset"], ["data.normalise", "series", "train"]),
    ("layout-bogus", ["data.layout=images"], ["data.layout", "auto", "series"]),
    ("w-norm-range", ["train.w_norm=300"], ["train.w_norm"]),
]


@pytest.mark.parametrize("cmd", ["run", "train"])
@pytest.mark.parametrize("case", CONFIG_SETS, ids=[c[0] for c in CONFIG_SETS])
def test_bad_config_fails_before_any_data(no_data, tmp_path, capsys, case, cmd):
    _, sets, needles = case
    argv = [cmd, GUNPOINT, "--out", tmp_path / "o"]
    for s in sets:
        argv += ["--set", s]
    t0 = time.perf_counter()
    rc, _, err = run_cli(argv, capsys)
    assert_clean_error(rc, err, *needles)
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "o").exists(), "an output folder was made for a config that failed"


MNIST_SETS = [
    ("stride-past-image", ["layers.0.stride=40"], ["layers.0.stride", "28x28"]),
    ("rfsize-past-image", ["data.pool=4", "layers.0.rfsize=10"], ["layers.0.rfsize", "7x7"]),
    ("pool-not-divisor", ["data.pool=3"], ["data.pool", "divides 28"]),
    ("layer-name-duplicate", ["layers.1.name=features"], ["twice"]),
    ("layer-name-path", ['layers.0.name="../x"'], ["layers.0.name"]),
    ("layer-neurons-string", ['layers.0.neurons="3"'], ["layers.neurons", "integer"]),
    ("theta-unreachable", ["layers.0.theta=100000"], ["layers.0.theta", "unreachable", "375"]),
]


def test_unreachable_threshold_fails_before_training(tmp_path, capsys, monkeypatch):
    """The UCR series length is known once the data is loaded: still before any training."""
    import neutnngen.pipeline.network as network

    def trained(*a, **k):
        raise AssertionError("training started with an unreachable threshold")

    monkeypatch.setattr(network, "train_network", trained)
    rc, _, err = run_cli(["train", GUNPOINT, "--out", tmp_path / "o", "-q",
                          "--set", "network.theta=5000"], capsys)
    assert_clean_error(rc, err, "network.theta=5000", "unreachable", "1..1050")


@pytest.mark.parametrize("case", MNIST_SETS, ids=[c[0] for c in MNIST_SETS])
def test_bad_layer_config_fails_before_any_data(no_data, tmp_path, capsys, case):
    _, sets, needles = case
    argv = ["train", MNIST, "--out", tmp_path / "o"]
    for s in sets:
        argv += ["--set", s]
    rc, _, err = run_cli(argv, capsys)
    assert_clean_error(rc, err, *needles)


def _utf16(p: Path) -> Path:
    p.write_bytes(GUNPOINT.read_text().encode("utf-16"))
    return p


CONFIG_FILES = [
    ("config-folder", lambda t: t, ["folder"]),
    ("config-missing", lambda t: t / "none.toml", ["no such file"]),
    ("config-empty-path", lambda t: "", ["config"]),
    ("config-binary", lambda t: (t / "b.toml", (t / "b.toml").write_bytes(bytes(range(256))))[0],
     ["binary"]),
    ("config-utf16", lambda t: _utf16(t / "u.toml"), ["UTF-16"]),
    ("config-latin1", lambda t: (t / "l.toml", (t / "l.toml").write_bytes(b'[experiment]\nname = "\xe9"\n'))[0],
     ["UTF-8"]),
    ("config-bad-toml", lambda t: (t / "x.toml", (t / "x.toml").write_text("[network\nneurons=2"))[0],
     ["TOML"]),
    ("config-string-neurons", lambda t: (t / "s.toml", (t / "s.toml").write_text(
        '[network]\nneurons = "3"\n'))[0], ["network.neurons"]),
    ("config-section-not-table", lambda t: (t / "s.toml", (t / "s.toml").write_text(
        'network = 3\n'))[0], ["[network]"]),
]


@pytest.mark.parametrize("cmd", ["run", "train", "prune", "dse"])
@pytest.mark.parametrize("case", CONFIG_FILES, ids=[c[0] for c in CONFIG_FILES])
def test_bad_config_files(no_data, tmp_path, capsys, case, cmd):
    _, make, needles = case
    path = make(tmp_path)
    argv = [cmd, path, "--out", tmp_path / "o"]
    if cmd == "prune":
        argv += ["--sweep", "0,0.5"]
    rc, _, err = run_cli(argv, capsys)
    if cmd == "dse" and case[0] in ("config-string-neurons", "config-section-not-table"):
        needles = ["[dse]"]  # the DSE loader wants its table first
    assert_clean_error(rc, err, *needles)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------ output folders
def _file(t: Path) -> str:
    (t / "f").write_text("x")
    return str(t / "f")


OUT_CASES = [
    ("out-empty", lambda t: "", ["--out", "''"]),
    ("out-blank", lambda t: "  ", ["--out"]),
    ("out-is-file", _file, ["is a file"]),
    ("out-under-file", lambda t: _file(t) + "/sub", ["under the file"]),
    ("out-proc", lambda t: "/proc/neutnngen-test", ["kernel file system"]),
    ("out-sys", lambda t: "/sys/neutnngen-test", ["kernel file system"]),
    ("out-long-name", lambda t: str(t / ("x" * 300)), ["300 characters"]),
]


@pytest.mark.parametrize("cmd", ["run", "train", "prune", "dse", "compile", "verify"])
@pytest.mark.parametrize("case", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_bad_output_folders(no_data, ir, tmp_path, capsys, case, cmd):
    _, make, needles = case
    out = make(tmp_path)
    argv = {
        "run": ["run", GUNPOINT, "--out", out],
        "train": ["train", GUNPOINT, "--out", out],
        "prune": ["prune", GUNPOINT, "--sweep", "0,0.5", "--out", out],
        "dse": ["dse", DSE, "--out", out],
        "compile": ["compile", ir, "--out", out],
        "verify": ["verify", ir, "--rtl", _rtl(tmp_path), "--config", GUNPOINT, "--out", out],
    }[cmd]
    rc, _, err = run_cli(argv, capsys)
    assert_clean_error(rc, err, *needles)


def _rtl(t: Path) -> Path:
    rtl = t / "rtl"
    rtl.mkdir(exist_ok=True)
    (rtl / "neutnngen_top.v").write_text("module neutnngen_top; endmodule\n")
    (rtl / "names.json").write_text("{}")
    return rtl


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(no_data, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    rc, _, err = run_cli(["train", GUNPOINT, "--out", ro / "x"], capsys)
    assert_clean_error(rc, err, "permission")


def test_default_output_folder_stays_under_out(no_data, tmp_path, capsys, monkeypatch):
    """The default folder is out/<experiment.name>; a name can never point elsewhere."""
    monkeypatch.chdir(tmp_path)
    for name in ("../escape", "/abs", "..", "a/../../b"):
        rc, _, err = run_cli(["train", GUNPOINT, "--set", f'experiment.name="{name}"'], capsys)
        assert_clean_error(rc, err, "experiment.name")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ subcommands
PRUNE_CASES = [
    ("sweep-10001", ["--sweep", "0,0.0001,...,1"], ["--sweep", "10001", "1000"]),
    ("sweep-2000-listed", ["--sweep", ",".join(["0.5"] * 2000)], ["2000 points"]),
    ("sweep-empty", ["--sweep", ",,,"], ["--sweep", "no values"]),
    ("sweep-out-of-range", ["--sweep", "0,1.5"], ["--sweep", "0..1"]),
    ("sweep-text", ["--sweep", "a,b"], ["--sweep", "not a number"]),
    ("sweep-decreasing", ["--sweep", "0.5,0.4,...,0"], ["increasing"]),
    ("passes-empty", ["--passes", ";;;"], ["--passes", "no pass pipeline"]),
    ("passes-blank", ["--passes", ""], ["--passes"]),
    ("passes-unknown", ["--passes", "prune-everything"], ["prune-everything"]),
    ("both", ["--sweep", "0,0.5", "--passes", "prune-weight{max=0}"], ["either"]),
    ("neither", [], ["either"]),
    ("best-by-field", ["--sweep", "0,0.5", "--best-by", "hardwired.generic.speed"],
     ["--best-by", "speed", "transistors"]),
    ("best-by-mode", ["--sweep", "0,0.5", "--best-by", "learn.generic.cells"], ["--best-by"]),
    ("best-by-short", ["--sweep", "0,0.5", "--best-by", "transistors"], ["MODE.TARGET.FIELD"]),
    ("best-by-target", ["--sweep", "0,0.5", "--best-by", "hardwired.ecp5.luts"], ["TARGET"]),
    ("breakdown-negative", ["--sweep", "0,0.5", "--breakdown-modules", "-1"], ["--breakdown-modules"]),
    ("tolerance-negative", ["--sweep", "0,0.5", "--tolerance", "-0.1"], ["--tolerance"]),
    ("tolerance-nan", ["--sweep", "0,0.5", "--tolerance", "nan"], ["--tolerance"]),
    ("retrain-negative", ["--sweep", "0,0.5", "--retrain-epochs", "-2"], ["--retrain-epochs"]),
    ("weights-learn", ["--sweep", "0,0.5", "--weights", "learn"], ["--weights", "learn"]),
    ("weights-empty", ["--sweep", "0,0.5", "--weights", ","], ["--weights"]),
    ("weights-repeated", ["--sweep", "0,0.5", "--weights", "hardwired,hardwired"], ["repeat"]),
]


@pytest.mark.parametrize("case", PRUNE_CASES, ids=[c[0] for c in PRUNE_CASES])
def test_prune_options_fail_before_any_data(no_data, tmp_path, capsys, case):
    _, opts, needles = case
    rc, _, err = run_cli(["prune", GUNPOINT, "--out", tmp_path / "o", *opts], capsys)
    assert_clean_error(rc, err, *needles)
    assert not (tmp_path / "o").exists()


def _dse_config(tmp_path: Path, objectives: str) -> Path:
    text = DSE.read_text()
    head, _, rest = text.partition("[dse.objectives]")
    tail = rest.split("\n[", 1)
    rest = "\n[" + tail[1] if len(tail) > 1 else ""
    p = tmp_path / "dse.toml"
    p.write_text(head.replace('train = "', f'train = "{DSE.parent}/').replace(
        'test = "', f'test = "{DSE.parent}/') + "[dse.objectives]\n" + objectives + "\n" + rest)
    return p


DSE_CASES = [
    ("workers-negative", ["--workers", "-3"], None, ["--workers", "-3"]),
    ("workers-zero", ["--workers", "0"], None, ["--workers"]),
    ("trials-zero", ["--trials", "0"], None, ["--trials"]),
    ("objective-unknown-metric", [], '"metrics.test.happiness" = "maximize"',
     ["happiness", "rand_index"]),
    ("objective-unknown-split", [], '"metrics.valid.rand_index" = "maximize"', ["valid"]),
    ("objective-synth-field", [], '"synth.generic.speed" = "minimize"', ["speed", "transistors"]),
    ("objective-hdl-field", [], '"hdl.latency" = "minimize"', ["hdl", "latency_cycles"]),
    ("objective-root", [], '"results.x" = "minimize"', ["results"]),
    ("objective-direction", [], '"ir.synapses" = "smallest"', ["smallest"]),
    ("study-dotdot", ["--set", "dse.study=../x"], None, ["dse.study"]),
    ("base-bad-device", ["--set", "synth.ice40_device=hx9k"], None, ["synth.ice40_device"]),
]


@pytest.mark.parametrize("case", DSE_CASES, ids=[c[0] for c in DSE_CASES])
def test_dse_fails_before_any_trial(no_data, tmp_path, capsys, case):
    _, opts, objectives, needles = case
    cfgp = _dse_config(tmp_path, objectives) if objectives else DSE
    rc, _, err = run_cli(["dse", cfgp, "--out", tmp_path / "o", *opts], capsys)
    assert_clean_error(rc, err, *needles)
    assert not (tmp_path / "o").exists()


def _verilog(t: Path, text: str | bytes = "module neutnngen_top(input a, output b); "
             "assign b = a; endmodule\n") -> Path:
    p = t / "d.v"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


SYNTH_CASES = [
    ("device-with-generic", lambda t: [_verilog(t), "--device", "hx8k"], ["--device", "generic"]),
    ("device-with-liberty", lambda t: [_verilog(t), "--target", "liberty:x.lib", "--device", "hx8k"],
     ["--device"]),
    ("device-unknown", lambda t: [_verilog(t), "--target", "ice40", "--device", "hx9k"], ["hx9k", "hx8k"]),
    ("ecp5-device-unknown", lambda t: [_verilog(t), "--target", "ecp5", "--device", "xyz"], ["xyz"]),
    ("target-unknown", lambda t: [_verilog(t), "--target", "asic"], ["--target", "asic"]),
    ("liberty-missing", lambda t: [_verilog(t), "--target", "liberty:/none.lib"], ["does not exist"]),
    ("liberty-folder", lambda t: [_verilog(t), "--target", f"liberty:{t}"], ["folder"]),
    ("liberty-empty", lambda t: [_verilog(t), "--target", "liberty:"], ["liberty"]),
    ("top-bad", lambda t: [_verilog(t), "--top", "a-b"], ["--top", "identifier"]),
    ("verilog-missing", lambda t: [t / "none.v"], ["no such file"]),
    ("verilog-folder", lambda t: [t], ["folder"]),
    ("verilog-binary", lambda t: [_verilog(t, bytes(range(256)))], ["binary"]),
    ("verilog-utf16", lambda t: [_verilog(t, "module m; endmodule".encode("utf-16"))], ["UTF-16"]),
]


@pytest.mark.parametrize("case", SYNTH_CASES, ids=[c[0] for c in SYNTH_CASES])
def test_synth_bad_input(tmp_path, capsys, case):
    _, make, needles = case
    rc, _, err = run_cli(["synth", *make(tmp_path)], capsys)
    assert_clean_error(rc, err, *needles)


def test_verify_bad_folders(no_data, ir, tmp_path, capsys):
    base = ["verify", ir, "--config", GUNPOINT, "--out", tmp_path / "w"]
    cases = [
        (["--rtl", tmp_path / "nothing"], ["--rtl", "not a folder"]),
        (["--rtl", _file(tmp_path)], ["--rtl"]),
        (["--rtl", tmp_path / "empty"], ["no Verilog", "compile"]),
        (["--rtl", _rtl(tmp_path), "--top", "9x"], ["--top"]),
    ]
    (tmp_path / "empty").mkdir()
    for opts, needles in cases:
        rc, _, err = run_cli([*base, *opts], capsys)
        assert_clean_error(rc, err, *needles)
    (tmp_path / "rtl2").mkdir()
    (tmp_path / "rtl2" / "neutnngen_top.v").write_text("module x; endmodule")
    rc, _, err = run_cli([*base, "--rtl", tmp_path / "rtl2"], capsys)
    assert_clean_error(rc, err, "names.json")
    rc, _, err = run_cli(["verify", ir, "--rtl", _rtl(tmp_path), "--config", tmp_path], capsys)
    assert_clean_error(rc, err, "--config", "folder")


def test_compile_and_opt_bad_options(ir, tmp_path, capsys):
    rc, _, err = run_cli(["compile", ir, "--out", tmp_path / "r", "--top", "top level"], capsys)
    assert_clean_error(rc, err, "--top")
    rc, _, err = run_cli(["opt", ir, "-p", "prune-weight{max=0}", "-o", ""], capsys)
    assert_clean_error(rc, err, "-o")
    rc, _, err = run_cli(["opt", ir, "-p", "prune-weight{max=0}", "-o", _file(tmp_path) + "/x.json"],
                         capsys)
    assert_clean_error(rc, err, "-o", "is a file")
    rc, _, err = run_cli(["opt", ir, "-p", "no-such-pass"], capsys)
    assert_clean_error(rc, err, "no-such-pass")
    rc, _, err = run_cli(["opt", ir, "-p", " "], capsys)
    assert_clean_error(rc, err, "-p", "no pass")


@pytest.mark.parametrize("argv", [
    ["run", "/tmp/" + "c" * 300 + ".toml"],
    ["ir", "show", "/tmp/" + "i" * 300 + ".json"],
    ["synth", "/tmp/" + "v" * 300 + ".v"],
    ["compile", "/tmp/" + "i" * 300 + ".json", "--out", "/tmp/x"],
], ids=["run", "ir-show", "synth", "compile"])
def test_300_character_input_names(no_data, capsys, argv):
    rc, _, err = run_cli(argv, capsys)
    assert_clean_error(rc, err)


# ------------------------------------------------------------------------------ the boundary
def test_unexpected_exception_is_one_line_with_exit_1(monkeypatch, capsys, ir):
    """A bug (not a user's mistake) is one line asking for --debug; --debug shows it all."""
    import neutnngen.ir as irmod

    def boom(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(irmod, "to_text", boom)
    rc, _, err = run_cli(["ir", "show", ir], capsys)
    assert rc == 1 and "internal error: ZeroDivisionError: boom" in err and "--debug" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    rc, _, err = run_cli(["--debug", "ir", "show", ir], capsys)
    assert rc == 1 and "Traceback" in err and "ZeroDivisionError" in err
    rc, _, err = run_cli(["ir", "show", ir, "--debug"], capsys)  # after the subcommand too
    assert rc == 1 and "Traceback" in err


def test_os_errors_become_one_line(monkeypatch, capsys, ir):
    import errno

    import neutnngen.ir as irmod

    for exc, needle in [(PermissionError(errno.EACCES, "Permission denied", "/x/y"), "permission"),
                        (OSError(errno.ENOSPC, "No space left", "/x"), "no space"),
                        (IsADirectoryError(errno.EISDIR, "Is a directory", "/x"), "folder"),
                        (FileExistsError(errno.EEXIST, "File exists", "/x"), "exists"),
                        (OSError(errno.ENAMETOOLONG, "File name too long", "/" + "y" * 300), "too long"),
                        (KeyboardInterrupt(), "interrupted")]:
        def raiser(*a, _e=exc, **k):
            raise _e

        monkeypatch.setattr(irmod, "to_text", raiser)
        rc, _, err = run_cli(["ir", "show", ir], capsys)
        assert rc == (130 if isinstance(exc, KeyboardInterrupt) else 2), err
        assert needle in err.lower() and "Traceback" not in err


def test_help_documents_the_exit_statuses():
    top = cli.build_parser().format_help()
    for code in ("0", "1", "2", "3", "130"):
        assert f"  {code} " in top
    assert "--debug" in top
    readme = (ROOT / "README.md").read_text()
    for code in ("130", "bad input", "verification mismatch", "--debug"):
        assert code in readme


# ------------------------------------------------------------------------------ subprocesses
def _neutnngen(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neutnngen.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, **kw)


def test_exit_statuses_in_a_real_process(tmp_path, ir):
    r = _neutnngen("ir", "show", tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _neutnngen("run", GUNPOINT, "--out", "")
    assert r.returncode == 2 and "--out ''" in r.stderr
    r = _neutnngen("bogus-command")
    assert r.returncode == 2 and "usage:" in r.stderr
    r = _neutnngen("ir", "show", ir)
    assert r.returncode == 0 and r.stdout.startswith("neutnngen-ir 1\nnetwork")


# ------------------------------------------------------------------------------ stale results
def _train_argv(out: Path, epochs: int) -> list:
    return ["train", GUNPOINT, "--out", out, "-q", "--set", f"train.epochs={epochs}"]


def test_killed_rerun_never_leaves_old_results_looking_valid(tmp_path, capsys, monkeypatch):
    from neutnngen.pipeline.stages.train import TrainStage

    out = tmp_path / "o"
    out.mkdir()
    (out / "report.md").write_text("a user's own notes")
    rc, _, err = run_cli(_train_argv(out, 1), capsys)
    assert rc == 0, err
    assert (out / "report.md").read_text() == "a user's own notes"  # train writes no report.md
    (out / "report.md").unlink()
    results = [out / "metrics.json", out / "report.json", out / "ir" / "model.json"]
    assert all(p.exists() for p in results) and not (out / "IN_PROGRESS").exists()
    state = json.loads((out / "state.json").read_text())
    assert state["@run"]["status"] == "complete"

    def killed(self, ctx):
        raise KeyboardInterrupt

    # a rerun with another config, killed while training: the old results are gone
    monkeypatch.setattr(TrainStage, "compute", killed)
    rc, _, err = run_cli(_train_argv(out, 2), capsys)
    assert rc == 130 and "interrupted" in err and "Traceback" not in err
    assert "epochs = 2" in (out / "config.toml").read_text()
    assert not any(p.exists() for p in results), "old results next to the new config"
    assert (out / "IN_PROGRESS").exists()
    assert json.loads((out / "state.json").read_text())["@run"]["status"] == "in progress"

    # the rerun finishes and the folder is complete again
    monkeypatch.undo()
    rc, _, err = run_cli(_train_argv(out, 2), capsys)
    assert rc == 0, err
    assert all(p.exists() for p in results) and not (out / "IN_PROGRESS").exists()

    # the same config again resumes (training is not redone) and keeps the results
    monkeypatch.setattr(TrainStage, "compute", killed)
    rc, out_text, err = run_cli(["train", GUNPOINT, "--out", out, "--set", "train.epochs=2"], capsys)
    assert rc == 0 and "up to date (resumed)" in out_text + err
    assert all(p.exists() for p in results) and not (out / "IN_PROGRESS").exists()


def _procs_under(path: Path) -> list[str]:
    """Processes whose working folder or command line lies under ``path``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(d / "cwd")
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(path)) or str(path) in cmd:
            found.append(f"{d.name}: {cmd[:120]}")
    return found


def _descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` (pid -> command name)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(d.name))
        names[int(d.name)] = name
    out, todo = {}, [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out[c] = names[c]
            todo.append(c)
    return out


def _alive(pids) -> list[int]:
    alive = []
    for pid in pids:
        try:
            st = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if st[st.rindex(")") + 2] != "Z":
            alive.append(pid)
    return alive


@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted"),
                                           (signal.SIGTERM, 143, "terminated")],
                         ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_during_verification_stops_children_and_resumes(tmp_path, sig, code, word):
    """A real SIGINT (Ctrl-C) or SIGTERM to a real run while the simulator builds: one line,
    exit 130 / 143, no make / compiler / simulator left behind, and the rerun resumes the
    finished stages."""
    from neutnngen.flows import sim as flows_sim

    if not any(flows_sim.simulator_available(s) for s in flows_sim.SIMULATORS):
        pytest.skip("no Verilog simulator installed")
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "neutnngen.cli", "run", GUNPOINT, "--out", out,
            "--set", "train.epochs=1", "--set", "synth.targets=generic",
            "--set", "verify.samples=10"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # a shell that starts the test suite in the background (``cmd &``) ignores SIGINT, and
    # a Python started with SIGINT ignored keeps ignoring it: give the run a terminal's
    # default disposition, as a user pressing Ctrl-C has
    p = subprocess.Popen([str(a) for a in argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        seen = []
        for line in p.stderr:  # progress lines ("==> stage") go to stderr
            seen.append(line)
            if line.startswith("==> verify"):
                break
            assert time.monotonic() < deadline, "no verify stage within 120 s"
        else:
            pytest.fail(f"the run ended before verification: {''.join(seen)}")
        kids: dict[int, str] = {}
        t_wait = time.monotonic() + 120
        while not kids and p.poll() is None and time.monotonic() < t_wait:
            time.sleep(0.05)  # until the simulator build runs below the run
            kids = _descendants(p.pid)
        time.sleep(0.3)
        kids.update(_descendants(p.pid))
        assert p.poll() is None, "the run finished before a child process was seen"
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == code, f"exit {p.returncode}; children {kids}; stderr:\n{err[-3000:]}"
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(word)
    assert kids, "no child process was running when Ctrl-C came"
    time.sleep(0.5)
    assert _alive(kids) == [], f"child processes survived Ctrl-C: {kids}"
    assert _procs_under(tmp_path) == [], "child processes survived Ctrl-C"
    assert (out / "IN_PROGRESS").exists() and not (out / "report.json").exists()
    r = subprocess.run([str(a) for a in argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "train: up to date (resumed)" in r.stdout + r.stderr
    assert "compile: up to date (resumed)" in r.stdout + r.stderr
    assert (out / "report.json").exists() and not (out / "IN_PROGRESS").exists()


def test_store_start_marks_in_progress_and_drops_reports_of_other_inputs(tmp_path):
    """The lifetime records prune and dse use: reports of another key (or of a run that did
    not finish) are removed when a run starts; the same finished key keeps them."""
    from neutnngen.pipeline import Store

    reports = ("prune.json", "prune.md")
    (tmp_path / "prune.md").write_text("a user's own file")  # not a neutnngen folder yet
    st = Store(tmp_path)
    assert st.start("a", reports) is False and (tmp_path / "IN_PROGRESS").exists()
    assert (tmp_path / "prune.md").read_text() == "a user's own file"
    for f in reports:
        (tmp_path / f).write_text("{}")
    st.finish("a")
    assert Store(tmp_path).complete() and not (tmp_path / "IN_PROGRESS").exists()
    assert Store(tmp_path).start("a", reports) is True  # same inputs, finished: kept
    assert all((tmp_path / f).exists() for f in reports)
    assert Store(tmp_path).start("a", reports) is True  # ... but that run never finished
    assert not any((tmp_path / f).exists() for f in reports)
    for f in reports:
        (tmp_path / f).write_text("{}")
    Store(tmp_path).finish("a")
    Store(tmp_path).start("b", reports)  # other inputs: the old reports go at once
    assert not any((tmp_path / f).exists() for f in reports)
    assert not Store(tmp_path).complete()
    # records name files inside the folder only; remove() never leaves it
    outside = tmp_path.parent / "outside.txt"
    outside.write_text("keep")
    st = Store(tmp_path)
    st.done("x", "k", outside, tmp_path / "in.txt")
    (tmp_path / "in.txt").write_text("x")
    st.remove("x")
    assert outside.exists() and not (tmp_path / "in.txt").exists()


@pytest.mark.parametrize("config, override, needle", [
    ("pd14.toml", "pd14.bogus=1", "unknown key pd14.bogus"),
    ("pd14.toml", "hdl.interface=axis", "unknown section [hdl] in a PD14 config"),
    ("convstdp_mnist/reduced.toml", "hdl.interface=axis",
     "unknown table(s) 'hdl' in a convstdp config"),
])
def test_pd14_and_convstdp_bad_keys_leave_no_output_folder(tmp_path, capsys, config,
                                                           override, needle):
    out = tmp_path / "out"
    rc, _, err = run_cli(["run", ROOT / "examples" / config, "--out", out, "--set", override],
                         capsys)
    assert_clean_error(rc, err, needle)
    assert not out.exists()


@pytest.mark.parametrize("cmd", ["run", "train"])
def test_a_bad_data_file_fails_before_the_output_folder(tmp_path, capsys, cmd):
    """A file that only reading shows to be bad (a ragged CSV) fails before the run makes,
    marks or clears its output folder: a new folder is not left behind (empty, or with an
    IN_PROGRESS marker for a run that never started), an existing one keeps its results."""
    bad = tmp_path / "ragged.csv"
    bad.write_text("1,2,3\n1,2\n")
    new = tmp_path / "runs" / "a"
    rc, _, err = run_cli([cmd, EXAMPLES / "files_italypower.toml", "--out", new,
                          "--set", f"data.train={bad}"], capsys)
    assert_clean_error(rc, err, "data.train", "line 2")
    assert not (tmp_path / "runs").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "report.json").write_text("{}")
    rc, _, err = run_cli([cmd, EXAMPLES / "files_italypower.toml", "--out", kept,
                          "--set", f"data.train={bad}"], capsys)
    assert_clean_error(rc, err, "data.train")
    assert sorted(p.name for p in kept.iterdir()) == ["report.json"]
