"""The ``recurrent`` stage kind (docs/model.md §13) and the PD14 microcircuit builder:
text/JSON round trips, every verifier diagnostic, hand-computed kernels, interpreter ==
torch, equivalence with the §11 ``lif`` without synapses, determinism, bad builder
parameters, and the reduced-size circuit's activity against the reference rates."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile

import numpy as np
import pytest
import torch

from neutnngen.errors import ConfigError, IRFormatError
from neutnngen.frontend.pd14 import (
    FULL_RATES,
    POPULATIONS,
    build_pd14,
    spike_statistics,
)
from neutnngen.ir import Network
from neutnngen.ir.common import TimeSpec
from neutnngen.ir.interp import Interpreter
from neutnngen.ir.rng import lfsr_step
from neutnngen.ir.serialize import from_dict, to_dict
from neutnngen.ir.stages.recurrent import (
    TAPMASK,
    BackgroundDraws,
    Population,
    Recurrent,
    bg_seeds,
    recurrent_run,
)
from neutnngen.ir.stages.snn import LIF, lif_run
from neutnngen.ir.text import parse, to_text
from neutnngen.ir.verify import verify
from neutnngen.model.kinds import torch_kind_named

F = 20
ALPHA_Q, BETA_Q = 858501, 1038142  # exp(-0.2), exp(-0.01) at 20 fraction bits


def _node(**kw) -> Recurrent:
    """Three neurons in two populations: 0 -> 1 (delay 3), 0 -> 2 (delay 1), 2 -> 0."""
    base = dict(name="rc", n=3, pops=(Population("E", 2, 100, 7), Population("I", 1, 0, 0)),
                steps=40, threshold=1000, indptr=[0, 2, 2, 3], targets=[1, 2, 0],
                weights=[900, -50, 30], delays=[3, 1, 2], dc=[300, 0, 0], v0=[0, 0, 5],
                mem_bits=16, beta_q=BETA_Q, alpha_q=ALPHA_Q, frac_bits=F, refractory=2,
                weight_bits=12, bg_draws=2, bg_bits=10, seed=7, output="spikes")
    base.update(kw)
    return Recurrent(**base)


def _net(node: Recurrent) -> Network:
    return Network("t", TimeSpec(), node.n, (node,))


def _small(seed: int = 1, **kw):
    kw.setdefault("scale", 0.002)
    kw.setdefault("k_scale", 0.05)
    kw.setdefault("steps", 300)
    return build_pd14(seed=seed, **kw)


# --------------------------------------------------------------------------- codecs
def test_text_round_trip():
    net = _net(_node())
    text = to_text(net)
    assert "  recurrent name=\"rc\" n=3 steps=40" in text
    assert "    neuron i=0 dc=300 v0=0 targets=[1,2] weights=[900,-50] delays=[3,1]" in text
    back = parse(text)
    assert to_text(back) == text
    st = back.stages[0]
    assert st.pops == _node().pops and list(st.indptr) == [0, 2, 2, 3]


def test_text_round_trip_built_circuit():
    net = _small().network
    assert to_text(parse(to_text(net))) == to_text(net)


def test_json_npz_round_trip():
    net = _small(drive="poisson").network
    doc, arrays = to_dict(net)
    back = from_dict(doc, arrays)
    assert to_text(back) == to_text(net)
    a, b = net.stages[0], back.stages[0]
    for k in ("indptr", "targets", "weights", "delays", "dc", "v0"):
        assert np.array_equal(getattr(a, k), getattr(b, k))
    assert json.loads(json.dumps(doc)) == doc


def _put(d: dict, a: dict, key: str, value: np.ndarray) -> None:
    a[f"bad_{key}"] = value
    d[key] = f"bad_{key}"


@pytest.mark.parametrize("mutate, expect", [
    (lambda d, a: d.update(output="trains"),
     "stages[0].output: expected one of 'spikes', 'count', got 'trains'"),
    (lambda d, a: _put(d, a, "delays", np.zeros(3, np.int16)), "expected values 1..1024, got 0"),
    (lambda d, a: d["pops"][0].update(size=5), "population sizes sum to 6; expected n=3"),
    (lambda d, a: _put(d, a, "dc", np.zeros(4, np.int64)), "one per neuron"),
    (lambda d, a: _put(d, a, "targets", np.zeros(3, np.float32)), "expected int array"),
])
def test_schema_rejects(mutate, expect):
    doc, arrays = to_dict(_net(_node()))
    arrays = dict(arrays)
    mutate(doc["stages"][0], arrays)
    with pytest.raises(IRFormatError, match=re.escape(expect)):
        from_dict(doc, arrays)


def test_text_rejects_missing_neuron():
    text = to_text(_net(_node()))
    bad = "\n".join(ln for ln in text.splitlines() if "neuron i=1 " not in ln)
    with pytest.raises(IRFormatError, match="1 of 3 neuron lines missing"):
        parse(bad)


# --------------------------------------------------------------------------- verifier
BAD = [
    (dict(_inputs=5), "n=3; expected 5 (one stimulus line per neuron)"),
    (dict(pops=(Population("E", 2), Population("E", 1))), "duplicate population name 'E'"),
    (dict(pops=(Population("E", 3), Population("I", 0))), "population 'I' size=0; expected >= 1"),
    (dict(pops=(Population("E", 1), Population("I", 1))), "population sizes sum to 2; expected n=3"),
    (dict(pops=(Population("E", 2, 2000), Population("I", 1))), "population 'E' bg_u=2000"),
    (dict(pops=(Population("E", 2, 0, 5000), Population("I", 1))), "population 'E' bg_w=5000"),
    (dict(steps=0), "steps=0"),
    (dict(mem_bits=40), "mem_bits=40"),
    (dict(threshold=40000), "threshold=40000"),
    (dict(frac_bits=30), "frac_bits=30"),
    (dict(beta_q=(1 << F) + 1), f"beta_q={(1 << F) + 1}"),
    (dict(alpha_q=-1), "alpha_q=-1"),
    (dict(refractory=5000), "refractory=5000"),
    (dict(output="trains"), "output='trains'"),
    (dict(bg_draws=65), "bg_draws=65"),
    (dict(bg_bits=0), "bg_bits=0"),
    (dict(seed=-1), "seed=-1"),
    (dict(weight_bits=1), "weight_bits=1"),
    (dict(dc=[0, 0]), "dc shape (2,); expected (3,)"),
    (dict(v0=[0, 1 << 20, 0]), f"v0[1]={1 << 20} outside the 16-bit membrane range"),
    (dict(indptr=[0, 2, 3]), "indptr shape (3,); expected (4,)"),
    (dict(indptr=[0, 2, 1, 3]), "indptr must rise from 0 to the synapse count 3"),
    (dict(weights=[1, 2]), "weights shape (2,); expected (3,) like targets"),
    (dict(targets=[1, 3, 0]), "1 target(s) outside 0..2, first targets[1]=3"),
    (dict(weights=[900, -5000, 30]), "1 weight(s) outside -2047..2047 (weight_bits=12), first weights[1]=-5000"),
    (dict(delays=[3, 0, 2]), "1 delay(s) outside 1..1024 steps, first delays[1]=0"),
    (dict(delays=[3, 70000, 2]), "1 delay(s) outside 1..1024 steps, first delays[1]=70000"),
]


@pytest.mark.parametrize("kw, msg", BAD, ids=[m.split(";")[0][:40] for _, m in BAD])
def test_every_verifier_diagnostic(kw, msg):
    kw = dict(kw)
    assert verify(_net(_node())) == []
    inputs = kw.pop("_inputs", 3)
    diags = verify(Network("t", TimeSpec(), inputs, (_node(**kw),)))
    assert len(diags) == 1, [str(d) for d in diags]
    assert msg in diags[0].message and "\n" not in str(diags[0])
    assert diags[0].path.startswith("t/rc")


# --------------------------------------------------------------------------- semantics
def test_equals_lif_without_synapses():
    """No synapses, no background: the §11 lif (leak=mul, alpha, zero reset, refractory)."""
    rng = np.random.default_rng(4)
    n, T = 6, 60
    stim = rng.integers(-200, 900, (2, n))
    node = _node(n=n, pops=(Population("A", n),), steps=T, indptr=np.zeros(n + 1), targets=[],
                 weights=[], delays=[], dc=np.zeros(n), v0=np.zeros(n), bg_draws=0,
                 mem_bits=14)
    spikes, tr = recurrent_run(node, stim)
    lif = LIF("l", n, node.threshold, node.mem_bits, "mul", 0, BETA_Q, F, "zero", 2, "spikes",
              ALPHA_Q)
    ref, rtr = lif_run(np.broadcast_to(stim[:, None, :], (2, T, n)), lif)
    assert spikes.sum() > 10
    assert np.array_equal(spikes, ref) and np.array_equal(tr.v, rtr.v)
    assert np.array_equal(tr.saturations, rtr.saturations) and tr.saturations.sum() > 0


def test_delay_and_order_hand_computed():
    """Neuron 0 alone is driven; its spike at step t reaches neuron 1 at step t + 3 (weight
    900 in one step: V = (beta V + (900 << F)) >> F = 900 on an empty neuron), and
    neuron 2 (weight -50) at t + 1."""
    node = _node(dc=[400, 0, 0], v0=[0, 0, 0], bg_draws=0, threshold=899, weights=[900, -50, 0])
    spikes, _ = recurrent_run(node, np.zeros((1, 3), np.int64))
    t0 = int(np.argmax(spikes[0, :, 0]))
    assert spikes[0, :, 0].sum() >= 2
    assert int(np.argmax(spikes[0, :, 1])) == t0 + 3  # 900 > 899 the step the input arrives
    one = recurrent_run(dataclasses.replace(node, steps=t0 + 2), np.zeros((1, 3), np.int64))[1]
    assert one.v[0, 2] == (-50 << F) >> F  # arrived at t0 + 1, nothing else before
    two = recurrent_run(dataclasses.replace(node, steps=t0 + 1), np.zeros((1, 3), np.int64))[1]
    assert two.v[0, 2] == 0


def test_background_draws_are_the_lfsr():
    node = _node(bg_draws=3, bg_bits=10)
    bg = BackgroundDraws(node)
    state = bg_seeds(node)
    u = np.array([100, 100, 0])
    for _ in range(5):
        want = np.zeros(3, np.int64)
        for _ in range(3):
            for _ in range(10):
                state = lfsr_step(state, 16, TAPMASK)
            want += (state & 1023) < u
        assert np.array_equal(bg.step(), want)


def test_interpreter_equals_torch():
    b = _small(seed=3, scale=0.004, k_scale=0.2, steps=400, output="spikes",
               stimulus={"L4E": 30.0})
    st = b.stage
    stim = np.random.default_rng(1).integers(-300, 300, (2, st.n))
    spikes, tr = recurrent_run(st, stim)
    out = Interpreter(b.network).forward(stim)
    assert np.array_equal(out, spikes) and spikes.sum() > 50
    m = torch_kind_named("recurrent").to_torch(st, b.network.time)
    got = m(torch.as_tensor(stim))
    assert np.array_equal(got.numpy(), spikes)
    assert np.array_equal(m.last_trace.v, tr.v) and np.array_equal(m.last_trace.saturations,
                                                                    tr.saturations)
    cm = dataclasses.replace(st, output="count")
    assert np.array_equal(torch_kind_named("recurrent").to_torch(cm, None)(torch.as_tensor(stim))
                          .numpy(), spikes.sum(axis=1))


def _bytes(net: Network) -> bytes:
    doc, arrays = to_dict(net)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k in sorted(arrays):
            z.writestr(k, np.ascontiguousarray(arrays[k]).tobytes() + str(arrays[k].dtype).encode())
    return json.dumps(doc, sort_keys=True).encode() + buf.getvalue()


def test_builder_is_deterministic(tmp_path):
    from neutnngen.ir import save

    a, b, c = _small(seed=5), _small(seed=5), _small(seed=6)
    assert _bytes(a.network) == _bytes(b.network)
    assert to_text(a.network) == to_text(b.network)
    assert _bytes(a.network) != _bytes(c.network)
    files = []
    for i, x in enumerate((a, b)):
        j = save(x.network, tmp_path / f"d{i}" / "model.json")
        files.append((j.read_bytes(), j.with_suffix(".npz").read_bytes()))
    assert files[0] == files[1]  # the saved IR files are byte-identical


def test_builder_scaling_and_quantization():
    b = build_pd14(scale=0.01, k_scale=0.25, steps=10, seed=2)
    st = b.stage
    assert list(b.sizes) == [207, 58, 219, 55, 48, 11, 144, 29] and st.n == 771
    assert st.threshold == 15 << 16 and st.refractory == 20
    assert st.synapse_count == int(b.synapses.sum())
    assert verify(b.network) == []
    # weights / sqrt(k_scale): an excitatory synapse's mean code doubles at k_scale 1/4
    full = build_pd14(scale=0.002, k_scale=1.0, steps=10, seed=2).quantization["weight_mean_exc"]
    assert full["code"] == 2076
    assert b.quantization["weight_mean_exc"]["float"] == pytest.approx(2 * full["float"])
    assert all(q.get("rel_err", 0) < 0.01 for q in b.quantization.values())
    # DC compensation: the lost mean input is a positive current in every population
    assert (st.dc > 0).all()


@pytest.mark.parametrize("kw, msg", [
    (dict(scale=-0.1), "pd14: scale=-0.1; expected a number in (0, 1]"),
    (dict(k_scale=0), "pd14: k_scale=0; expected a number in (0, 1]"),
    (dict(drive="noise"), "pd14: drive='noise'; expected poisson or dc"),
    (dict(stimulus={"L7E": 5.0}), "pd14: stimulus population 'L7E' is unknown"),
    (dict(stimulus={"L4E": float("nan")}), "pd14: stimulus.L4E=nan"),
    (dict(steps=0), "pd14: steps=0"),
    (dict(bg_draws=1, k_scale=1.0), "pd14: bg_draws=1 too few"),
    (dict(seed=-3), "pd14: seed=-3"),
])
def test_bad_builder_parameters(kw, msg):
    with pytest.raises(ConfigError) as e:
        _small(**kw)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_spike_statistics_on_known_trains():
    # population 0: 2 neurons, regular every 10 steps; population 1: silent
    ev = [(t, j) for j in (0, 1) for t in range(0, 300, 10)]
    s = spike_statistics(np.array(ev), np.array([0, 2, 3]), 0, 300, bin_ms=3.0)
    assert s["rate_hz"][0] == pytest.approx(60 / (2 * 0.03)) and s["rate_hz"][1] == 0
    assert s["cv_isi"][0] == 0 and np.isnan(s["cv_isi"][1])
    # 10 bins of 30 steps, each holding 6 spikes: variance 0
    assert s["synchrony"][0] == 0


def test_reduced_circuit_activity():
    """Scale 0.02, in-degrees x 0.5, 300 ms (100 ms transient dropped): every population
    fires, each within a factor 3 of the reference rate, and in every layer the inhibitory
    population fires faster than the excitatory one (as in the reference)."""
    b = build_pd14(scale=0.02, k_scale=0.5, steps=3000, seed=1)
    _, tr = recurrent_run(b.stage, np.zeros((1, b.stage.n), np.int64), events=True)
    s = spike_statistics(tr.events, b.stage.pop_bounds, 1000, 3000)
    rates = np.array(s["rate_hz"])
    ratio = rates / FULL_RATES
    assert (ratio > 1 / 3).all() and (ratio < 3).all(), dict(zip(POPULATIONS, rates, strict=True))
    assert (rates[1::2] > rates[0::2]).all()
    assert tr.saturations.sum() == 0
    cv = np.array(s["cv_isi"])
    assert np.nanmean(cv) > 0.3  # irregular firing, not a clock


def test_example_config_and_config_errors():
    import tomllib
    from pathlib import Path

    from neutnngen.frontend.pd14 import build_from_config, pd14_config

    raw = tomllib.loads((Path(__file__).parents[1] / "examples" / "pd14.toml").read_text())
    cfg = pd14_config(raw)
    assert cfg["pd14"]["scale"] == 0.1 and cfg["pd14"]["drive"] == "poisson"
    small = pd14_config({"pd14": {"scale": 0.002, "k_scale": 0.05, "ms": 5.0,
                                  "stimulus": {"L4E": 10.0}}})
    b = build_from_config(small)
    assert b.stage.steps == 50 and b.params["stimulus"] == {"L4E": 10.0}
    for bad, msg in [({"pd14": {"scael": 0.1}}, "unknown key pd14.scael; accepted in [pd14]"),
                     ({"pd14": {"scale": "big"}}, "pd14.scale='big'; expected a number"),
                     ({"pd14": {"bg_draws": 2.5}}, "pd14.bg_draws=2.5; expected an integer"),
                     ({"network": {}}, "unknown section [network] in a PD14 config")]:
        with pytest.raises(ConfigError) as e:
            pd14_config(bad)
        assert msg in str(e.value)
    with pytest.raises(ConfigError, match=r"pd14: pd14.ms=-1.0; expected a duration > 0 ms"):
        build_from_config(pd14_config({"pd14": {"ms": -1.0}}))


def test_run_pd14_task_writes_ir_metrics_report(tmp_path):
    from neutnngen.ir import load
    from neutnngen.pipeline.tasks.pd14 import is_pd14_config, run_pd14

    raw = {"experiment": {"seed": 2}, "pd14": {"scale": 0.002, "k_scale": 0.05, "ms": 30.0,
                                                "transient_ms": 10.0}}
    assert is_pd14_config(raw) and not is_pd14_config({"snn": {}})
    m = run_pd14(raw, tmp_path)
    net = load(tmp_path / "ir" / "model.json")
    assert net.stages[0].steps == 300 and verify(net) == []
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["rate_hz"] == m["rate_hz"] and len(m["rate_hz"]) == 8
    ev = np.load(tmp_path / "spikes.npy")
    assert len(ev) == m["spikes"] and "| L4E | 4.414 |" in (tmp_path / "report.md").read_text()


def test_run_command_builds_and_simulates_the_example(tmp_path, capsys):
    """`neutnngen run examples/pd14.toml` at a reduced size: the IR, the spikes, the metrics
    and the report land in the output folder; a bad value is one line, exit 2."""
    from pathlib import Path

    from neutnngen.cli import main

    ex = str(Path(__file__).resolve().parents[1] / "examples" / "pd14.toml")
    rc = main(["run", ex, "--set", "pd14.scale=0.005", "--set", "pd14.k_scale=0.1",
               "--set", "pd14.ms=200", "--set", "pd14.transient_ms=50", "--out",
               str(tmp_path / "o"), "-q"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "PD14 N x 0.005, K x 0.1" in out and "rates / reference" in out
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    from neutnngen.frontend.pd14 import N_FULL

    assert m["neurons"] == int(np.maximum(np.round(N_FULL * 0.005), 1).sum())
    assert len(m["rate_hz"]) == 8 and m["spikes"] > 0
    assert (tmp_path / "o" / "ir" / "model.json").is_file()
    assert np.load(tmp_path / "o" / "spikes.npy").shape == (m["spikes"], 2)
    rc = main(["run", ex, "--set", "pd14.drive='laser'", "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "drive" in err and len(err.splitlines()) == 1
