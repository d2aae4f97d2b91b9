"""RTL of convolutional STDP networks (docs/model.md §14 "RTL", neutnngen.hdl.convstdp):
every stage's every line and the decided class equal the interpreter on Icarus and
Verilator, for trained networks, corner images (blank, flat, tied values) and both
inhibition settings; a wrong design is caught; what the RTL does not build is refused in
one line; ``neutnngen compile`` and ``neutnngen run`` drive it."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from neutnngen.errors import ConfigError
from neutnngen.frontend.convstdp import build_network, parse_config
from neutnngen.hdl.convstdp import emit_convstdp, plan_convstdp
from neutnngen.ir import Network, save
from neutnngen.model.stages import convstdp as M
from neutnngen.verify.convstdp import expected, verify_convstdp
from neutnngen.verify.simulators import available_simulators
from tests.test_convstdp import SMALL, _images

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "convstdp_mnist" / "reduced.toml"

def _corners() -> np.ndarray:
    """Blank (no line spikes), flat (the DoG of a flat image is ~0), a single bright pixel
    and a checkerboard (many equal filter values: ties broken by the lower index)."""
    blank = np.zeros((12, 12), np.int64)
    flat = np.full((12, 12), 200, np.int64)
    dot = blank.copy()
    dot[5, 6] = 255
    checker = (np.indices((12, 12)).sum(axis=0) % 2) * 255
    return np.stack([blank, flat, dot, checker]).reshape(4, -1)


@pytest.fixture(scope="module")
def trained() -> tuple[Network, np.ndarray]:
    torch.set_num_threads(1)
    X, y = _images(40)
    net = build_network(parse_config(SMALL), 0)
    for li in range(3):
        net = M.train_layer(net, li, X, y if li == 2 else None, epochs=1, seed=li).net
    Xv, _ = _images(12, seed=7)
    return net, np.concatenate([Xv, _corners()])


def _sims() -> list[str]:
    return [s for s in ("verilator", "icarus") if s in available_simulators()]


@pytest.mark.parametrize("sim", _sims())
def test_trained_network_matches_the_interpreter_line_by_line(trained, tmp_path, sim):
    net, X = trained
    if sim == "icarus":  # slower: two trained images and the corners
        X = X[-6:]
    v, info = emit_convstdp(net, tmp_path / "rtl", name="cs_top")
    r = verify_convstdp(net, v, X, workdir=tmp_path / "v", simulator=sim)
    assert r["mismatches"] == 0, r["first_mismatch"]
    assert not r["timed_out"]
    assert set(r["line_mismatches"]) == {"enc", "conv1", "pool1", "conv2", "pool2"}
    exp, decided = expected(net, X)
    assert r["decided"] == decided.tolist()
    assert decided.tolist() == M.predict(net, X).tolist()
    # the stimulus reaches the cases that matter: silent samples, fired and silent lines
    assert decided[-4] == -1  # the blank image: nothing spikes, the decision is NONE
    assert (exp[0] == SMALL["steps"]).all(axis=1)[-4]
    assert (decided[:-4] >= 0).mean() >= 0.5
    enc = exp[0][:-4]
    assert 0 < (enc < SMALL["steps"]).mean() < 1
    assert r["cycles_per_sample"] <= info["cycles_per_sample_bound"]


def test_without_inhibition_and_with_a_zero_threshold(trained, tmp_path):
    """``inhibit = 0`` writes every neuron's own step; ``threshold = 0`` fires at the last
    step when ``V > 0`` (SpykeTorch's infinite threshold)."""
    net, X = trained
    st = list(net.stages)
    st[1] = replace(st[1], inhibit=False)
    st[3] = replace(st[3], threshold=0)
    net2 = replace(net, stages=tuple(st))
    exp, _ = expected(net2, X)
    assert (exp[3] == SMALL["steps"] - 1).any()  # threshold 0 fired at the last step
    v, _ = emit_convstdp(net2, tmp_path / "rtl", name="cs_top")
    r = verify_convstdp(net2, v, X, workdir=tmp_path / "v")
    assert r["mismatches"] == 0, r["first_mismatch"]


def test_a_wrong_design_is_caught_at_its_stage(trained, tmp_path):
    net, X = trained
    st = list(net.stages)
    w = np.array(st[1].weights)
    w[0] = st[1].w_hi  # feature 0 of conv1 at full weight: it fires first everywhere
    wrong = replace(net, stages=(st[0], replace(st[1], weights=w), *st[2:]))
    v, _ = emit_convstdp(wrong, tmp_path / "rtl", name="cs_top")
    r = verify_convstdp(net, v, X, workdir=tmp_path / "v")
    assert r["mismatches"] > 0
    assert r["line_mismatches"]["enc"] == 0 and r["line_mismatches"]["conv1"] > 0
    assert r["first_mismatch"]["stage"] == "conv1"


def test_plan_refuses_what_the_rtl_does_not_build(trained):
    net, _ = trained
    with pytest.raises(ConfigError, match=r"ends with a convstdp rule=rstdp decision layer"):
        plan_convstdp(replace(net, stages=net.stages[:2]))
    with pytest.raises(ConfigError, match=r"starts with a rankcode stage"):
        plan_convstdp(replace(net, stages=net.stages[1:], inputs=2 * 144))


def test_compile_command_and_its_one_line_refusals(trained, tmp_path, capsys):
    from neutnngen.cli import main

    net, _ = trained
    save(net, tmp_path / "ir" / "model.json")
    assert main(["compile", str(tmp_path / "ir" / "model.json"), "--out",
                 str(tmp_path / "rtl"), "--top", "cs_top"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "convstdp" and Path(info["verilog"]).is_file()
    assert [s["kind"] for s in info["stages"]] == ["rank", "conv", "pool", "conv", "pool",
                                                   "conv"]
    rc = main(["compile", str(tmp_path / "ir" / "model.json"), "--out",
               str(tmp_path / "rtl2"), "--weights", "register"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1
    assert "--weights register for the convolutional STDP network" in err
    assert not (tmp_path / "rtl2").exists()


def _reduced_doc() -> dict:
    doc = tomllib.loads(EXAMPLE.read_text())
    doc["data"].update(n_train=500, n_val=100, n_test=40)
    return doc


def test_run_command_trains_compiles_verifies_and_reports(tmp_path, capsys, monkeypatch):
    """`neutnngen run` on the reduced example (fewer digits): the IR, the RTL verified on
    test digits with 0 mismatches, metrics and a report; a second run reuses the training."""
    from neutnngen.cli import main

    doc = _reduced_doc()
    sets = ["--set", "data.n_train=500", "--set", "data.n_val=100", "--set", "data.n_test=40",
            "--set", "verify.samples=2", "--set", "synth.target='none'"]
    monkeypatch.chdir(tmp_path)  # a relative output folder, as users type it
    out = Path("run")
    assert main(["run", str(EXAMPLE), "--out", "run", "-q", *sets]) == 0
    line = capsys.readouterr().out
    assert "RTL verified on 2 test digits, 0 mismatches" in line
    m = json.loads((out / "metrics.json").read_text())
    assert m["verification"]["mismatches"] == 0 and m["verification"]["samples"] == 2
    assert m["training"]["test"]["n"] == doc["data"]["n_test"]
    assert m["training"]["validation"]["accuracy"] > 0.3  # well above chance on 10 classes
    assert (out / "rtl" / "convstdp_top.v").is_file() and (out / "ir" / "model.json").is_file()
    rep = (out / "report.md").read_text()
    assert "## Verification" in rep and "logistic regression" in rep
    before = (out / "ir" / "model.json").stat().st_mtime_ns
    assert main(["run", str(EXAMPLE), "--out", str(out), *sets]) == 0
    assert "reusing the trained network" in capsys.readouterr().out
    assert (out / "ir" / "model.json").stat().st_mtime_ns == before
    # neutnngen verify on the run's design: the config's first verify.samples test digits
    ir, rtl = str(out / "ir" / "model.json"), str(out / "rtl")
    assert main(["verify", ir, "--rtl", rtl, "--config", str(EXAMPLE), *sets, "--top",
                 "convstdp_top", "--out", str(tmp_path / "v")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["mismatches"] == 0 and res["samples"] == 2
    rc = main(["verify", ir, "--rtl", rtl, "--config", str(EXAMPLE), "--mutants", "3"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1
    assert "--mutants is not available for convolutional STDP designs" in err


@pytest.mark.parametrize("key,value,msg", [
    ("verify.samples", "0", "verify.samples=0; expected test digits to simulate >= 1"),
    ("synth.target", "'vivado'", "synth.target='vivado'; expected one of ecp5, ice40"),
    ("verify.simulator", "'modelsim'", "verify.simulator='modelsim'; expected verilator"),
    ("synth.device", "'99k'", "synth.device: unknown ecp5 device '99k'; supported: 12k, 25k"),
    ("synth.device", "85", "synth.device=85; expected a device name such as '25k'"),
])
def test_run_bad_values_are_one_line_errors(tmp_path, capsys, key, value, msg):
    from neutnngen.cli import main

    rc = main(["run", str(EXAMPLE), "--out", str(tmp_path / "o"), "--set", f"{key}={value}"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and msg in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "ir").exists()  # refused before any training


def test_synth_device_option_and_a_design_that_does_not_fit():
    """``synth.device`` picks the FPGA (default: the flow's, 25k for ECP5); a device with
    another target is refused; a report whose design does not fit says so and what is
    over, instead of a bare '-' for Fmax."""
    from neutnngen.pipeline.tasks.convstdp import report_md, run_options

    assert run_options({})["device"] == "25k"
    assert run_options({"synth": {"device": "85k"}})["device"] == "85k"
    assert run_options({"synth": {"target": "ice40"}})["device"] == "hx8k"
    assert run_options({"synth": {"target": "none"}})["device"] is None
    with pytest.raises(ConfigError, match=r"synth.device='85k' with synth.target='generic'"):
        run_options({"synth": {"target": "generic", "device": "85k"}})
    m = {"name": "n", "cycles_per_digit": 10.0,
         "training": {"validation": {"error": 0.1, "n": 5}, "baselines_validation": {},
                      "n_fit": 5, "train_seconds": 1, "layers": []},
         "rtl": {"stages": [], "synapses": 1, "cycles_per_sample_bound": 10},
         "verification": {"samples": 1, "simulator": "icarus", "mismatches": 0,
                          "line_mismatches": {}, "sim_s": 0.1},
         "synthesis": {"target": "ecp5", "device": "25k", "fits": False, "luts": 3747,
                       "ram_blocks": 75, "over": {"DP16KD": [75, 56]}}}
    md = report_md(m)
    assert "| ecp5 | 25k | 3747 |" in md
    assert "does not fit the 25k device (DP16KD 75 of 56)" in md and "synth.device" in md
    m["synthesis"].update(fits=True, device="85k", fmax_mhz=50.0)
    assert "does not fit" not in report_md(m)


def test_small_design_synthesizes_for_ecp5_with_block_rams(trained, tmp_path):
    from neutnngen import flows

    net, _ = trained
    v, _ = emit_convstdp(net, tmp_path / "rtl", name="cs_top")
    r = flows.synth_ecp5(v.read_text(), "cs_top", timeout=1200).to_dict()
    assert r["luts"] > 100 and r["fmax_mhz"] > 10
    assert r["utilisation"]["DP16KD"][0] >= 1  # the step memories and ROMs: block RAM
    assert r["fits"]


def _random_net(seed: int) -> tuple[Network, np.ndarray]:
    """A random network the builder would not make: odd sizes, one or two channels, padding
    0 or more, pool stride other than its kernel, thresholds 0 or random, inhibition on or
    off, ``steps`` a power of two or not; random weights within the bounds, random images
    with blank and saturated ones among them."""
    from neutnngen.ir.common import TimeSpec
    from neutnngen.ir.stages.convstdp import ConvSTDP, RankCode
    from neutnngen.ir.stages.snn import MaxPool

    rng = np.random.default_rng(seed)
    H, W = int(rng.integers(7, 11)), int(rng.integers(7, 11))
    steps = int(rng.choice([1, 3, 8, 16, 17]))
    C, k0 = int(rng.integers(1, 3)), int(rng.choice([1, 3]))
    K = rng.integers(-300, 300, (C, k0, k0))
    in_bits = int(rng.choice([4, 8]))
    enc = RankCode("enc", (1, H, W), K, int(rng.integers(0, k0)),
                   int(rng.integers(0, 2000)), steps, in_bits)
    stages: list = [enc]
    shape = enc.out_shape
    fb = 8
    for li in range(2):
        F, k = int(rng.integers(2, 5)), int(rng.choice([2, 3]))
        w = rng.integers(0, (1 << fb) + 1, (F, shape[0], k, k))
        thr = int(rng.choice([0, int(rng.integers(1, w.sum(axis=(1, 2, 3)).min() + 2))]))
        node = ConvSTDP(f"conv{li + 1}", shape, w, int(rng.integers(0, k)), thr, fb,
                        inhibit=bool(rng.integers(0, 2)), w_hi=1 << fb)
        stages.append(node)
        shape = node.out_shape
        pk = int(rng.integers(1, 3))
        if min(shape[1:]) >= pk + 1:
            mp = MaxPool(f"pool{li + 1}", shape, pk, int(rng.integers(1, 3)))
            stages.append(mp)
            shape = mp.out_shape
    classes = int(rng.choice([1, 2]))
    F = classes * int(rng.integers(1, 4))
    k = int(min(shape[1:]))
    w = rng.integers(0, (1 << fb) + 1, (F, shape[0], k, k))
    stages.append(ConvSTDP("decision", shape, w, 0, 0, fb, 1, 0, False, "rstdp",
                           w_hi=1 << fb, classes=classes))
    net = Network(f"random{seed}", TimeSpec(), H * W, tuple(stages))
    top = (1 << in_bits) - 1
    X = rng.integers(0, top + 1, (6, H * W))
    X[0] = 0
    X[1] = top
    X[2] = rng.integers(0, 2, H * W) * top  # two levels: many ties in the filter values
    return net, X


@pytest.mark.parametrize("seed", [4, 6, 16, 22, 28])  # steps 17, 8, 17, 16, 3; some decide
def test_random_networks_match_the_interpreter(tmp_path, seed):
    net, X = _random_net(seed)
    _, decided = expected(net, X)
    assert (decided >= 0).any() and decided[0] == -1  # the blank image decides nothing
    v, _ = emit_convstdp(net, tmp_path / "rtl", name="cs_top")
    r = verify_convstdp(net, v, X, workdir=tmp_path / "v")
    assert r["mismatches"] == 0, (seed, r["first_mismatch"])
    assert not r["timed_out"]
