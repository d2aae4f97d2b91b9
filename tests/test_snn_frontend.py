"""snnTorch/NIR import, the float simulator, post-training quantization and NIR export
(neutnngen/frontend/snn_*.py), with the one-line errors for unsupported input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

snn = pytest.importorskip("snntorch")
nir = pytest.importorskip("nir")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from neutnngen.errors import ConfigError, FrontendError  # noqa: E402
from neutnngen.frontend.snn_float import float_predict, float_run  # noqa: E402
from neutnngen.frontend.snn_import import from_nir, from_snntorch, to_nir  # noqa: E402
from neutnngen.frontend.snn_quant import predict_int, quantize, run_int  # noqa: E402
from neutnngen.ir.text import to_text  # noqa: E402

OPTS = dict(steps=8, encoding="direct", in_bits=8, in_unit=1 / 255, readout="count")


def _leaky(shape, reset="subtract", beta=0.875, output=False):
    return snn.Leaky(beta=torch.full(shape, beta), threshold=torch.full(shape, 1.0),
                     reset_mechanism=reset, init_hidden=True, output=output)


def mlp(reset="subtract", beta=0.875, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(36, 24), _leaky((24,), reset, beta),
                        nn.Linear(24, 5), _leaky((5,), reset, beta, output=True))
    with torch.no_grad():
        net[1].weight.mul_(4.0)
        net[3].weight.mul_(3.0)
    return net


def conv(pool=nn.MaxPool2d):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), _leaky((4, 6, 6)), pool(2), nn.Flatten(),
                        nn.Linear(36, 5), _leaky((5,), output=True))
    with torch.no_grad():
        net[0].weight.mul_(6.0)
        net[4].weight.mul_(3.0)
    return net


def snntorch_counts(net, X, shape, steps, in_unit):
    from snntorch import utils

    utils.reset(net)
    x = torch.as_tensor(X * in_unit, dtype=torch.float32).reshape(len(X), *shape)
    tot = 0
    with torch.no_grad():
        for _ in range(steps):
            spk, mem = net(x)
            tot = tot + spk
    return tot.numpy()


def data(n=64, seed=3):
    return np.random.default_rng(seed).integers(0, 256, (n, 36))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("beta", [0.875, 0.9, 1.0])
def test_float_simulator_is_snntorch(reset, beta):
    net, X = mlp(reset, beta), data()
    f = from_snntorch(net, (36,), **OPTS)
    assert f.warnings == []
    ours = float_run(f, X)["out"]
    ref = snntorch_counts(net, X, (36,), 8, 1 / 255)
    assert ref.sum() > 0
    # float32 (snnTorch) vs float64 (ours): a membrane within rounding of the threshold may
    # flip; all but a few of the counts agree exactly
    assert (ours == ref).mean() > 0.97


@pytest.mark.parametrize("pool", [nn.MaxPool2d, nn.AvgPool2d])
def test_conv_import_quantize_and_interp_equals_torch(pool):
    from neutnngen.model.convert import network_to_torch

    net, X = conv(pool), data()
    f = from_snntorch(net, (1, 6, 6), **OPTS)
    ref = snntorch_counts(net, X, (1, 6, 6), 8, 1 / 255)
    assert (float_run(f, X)["out"] == ref).mean() > 0.97
    q, rep = quantize(f, data(200, seed=9), weight_bits=8, mem_bits=16)
    kinds = [type(s).__name__ for s in q.stages]
    assert kinds == ["Encoder", "Conv2d", "LIF", "MaxPool" if pool is nn.MaxPool2d else "SumPool",
                     "Flatten", "Dense", "LIF"]
    out, v, sat = run_int(q, X)
    torch_out = network_to_torch(q)(X).numpy()
    assert np.array_equal(out, torch_out)
    # the integer network follows the float one closely
    assert (np.abs(out - ref) <= 1).mean() > 0.9


def test_quantized_mlp_tracks_float_and_reports():
    net, X = mlp(), data(200)
    f = from_snntorch(net, (36,), **OPTS)
    q, rep = quantize(f, data(300, seed=5), weight_bits=8, mem_bits=16)
    fl = float_predict(f, float_run(f, X))
    it, sat = predict_int(q, X)
    assert (fl == it).mean() > 0.9
    d = rep.as_dict()
    assert [layer["leak"] for layer in d["layers"]] == ["shift", "shift"]
    for layer in d["layers"]:
        s = layer["scale"]
        assert s == 2.0 ** round(np.log2(s))  # power-of-two scales by default
        assert layer["threshold_int"] == round(s)  # threshold 1.0
    assert dict(q.meta)["import.steps"] == "8"
    assert d["saturations_calibration"] == sum(sat) == 0 or sat is not None


def test_saturation_is_counted():
    net, X = mlp(), data(100)
    f = from_snntorch(net, (36,), **OPTS)
    q, rep = quantize(f, X, weight_bits=6, mem_bits=8, vclip=1.5)
    assert rep.saturations > 0
    assert rep.saturations == sum(d["saturations_calibration"] for d in rep.layers)
    _, _, sat = run_int(q, X)
    assert sum(sat) == rep.saturations


def test_nir_round_trip_of_the_integer_network(tmp_path):
    net, X = mlp(), data(100)
    f = from_snntorch(net, (36,), **OPTS)
    q, _ = quantize(f, X)
    g = to_nir(q)
    nir.write(tmp_path / "q.nir", g)
    back = nir.read(tmp_path / "q.nir")
    assert back.nodes["3"].metadata["neutnngen"]["threshold_int"] == q.stages[3].threshold
    h = from_nir(tmp_path / "q.nir", reset="subtract", steps=8, encoding="direct", in_bits=8,
                 in_unit=1.0, readout="count")
    assert h.warnings == ["dt not given; using the default dt=0.0001"]
    q2, _ = quantize(h, X)

    def stages(n):
        return [ln for ln in to_text(n).splitlines() if "meta" not in ln]
    assert stages(q2) == stages(q)


def test_nir_reset_default_warns_and_dt_changes_beta(tmp_path):
    net = mlp()
    from snntorch.export_nir import export_to_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = export_to_nir(net, torch.zeros(1, 36), ignore_dims=[0])
    f = from_nir(g, steps=8, encoding="direct", in_bits=8, in_unit=1 / 255, readout="count")
    assert any("reset not given" in w for w in f.warnings)
    assert f.ops[2].reset == "zero" and abs(f.ops[2].beta - 0.875) < 1e-6
    f2 = from_nir(g, dt=2e-4, reset="subtract", **OPTS)
    assert abs(f2.ops[2].beta - 0.75) < 1e-6 and f2.ops[2].reset == "subtract"


# ----------------------------------------------------------------------------- bad input
def test_unsupported_module_names_it():
    net = nn.Sequential(nn.Flatten(), nn.Linear(36, 4), nn.ReLU())
    with pytest.raises(FrontendError, match=r"model\[2\]: unsupported module .*ReLU; supported: "
                                            r"Flatten, Linear"):
        from_snntorch(net, (36,), **OPTS)
    with pytest.raises(FrontendError, match="Linear expects 36 inputs; gets shape \\[30\\]"):
        from_snntorch(mlp(), (30,), **OPTS)
    rec = nn.Sequential(nn.Linear(4, 4), snn.RLeaky(beta=0.9, linear_features=4,
                                                    init_hidden=True))
    with pytest.raises(FrontendError, match="unsupported module .*RLeaky"):
        from_snntorch(rec, (4,), **OPTS)


def test_nir_cycle_and_unsupported_node():
    w = np.eye(3, dtype=np.float32)
    lif = nir.LIF(tau=np.full(3, 1e-3), r=np.full(3, 10.0), v_leak=np.zeros(3),
                  v_threshold=np.ones(3), v_reset=np.zeros(3))
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}), "a": nir.Affine(w, np.zeros(3)),
             "l": lif, "output": nir.Output(output_type={"output": np.array([3])})}
    g = nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "l"), ("l", "a"), ("l", "output")],
                     type_check=False)
    with pytest.raises(FrontendError, match="cycle through nodes .a., .l."):
        from_nir(g, **OPTS)
    g = nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "l"), ("l", "l"), ("l", "output")],
                     type_check=False)
    with pytest.raises(FrontendError, match="cycle: node .l. feeds itself"):
        from_nir(g, **OPTS)
    nodes2 = {**nodes, "l": nir.LI(tau=np.full(3, 1e-3), r=np.ones(3), v_leak=np.zeros(3))}
    g = nir.NIRGraph(nodes=nodes2, edges=[("input", "a"), ("a", "l"), ("l", "output")],
                     type_check=False)
    with pytest.raises(FrontendError, match="unsupported NIR node 'l' of type LI; supported: "):
        from_nir(g, **OPTS)


def test_quantizer_refuses_bad_settings():
    f = from_snntorch(mlp(), (36,), **OPTS)
    with pytest.raises(ConfigError, match="needs calibration data"):
        quantize(f, None)
    with pytest.raises(ConfigError, match="weight_bits=64; expected an integer 2..16"):
        quantize(f, data(), weight_bits=64)
    with pytest.raises(ConfigError, match="mem_bits=2; expected an integer 4..32"):
        quantize(f, data(), mem_bits=2)
    with pytest.raises(ConfigError, match=r"calibration data has shape \(64, 10\)"):
        quantize(f, data()[:, :10])


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("beta,mem_bits", [(0.875, 16), (0.9, 16), (0.875, 9), (1.0, 12)])
def test_snntorch_resimulates_the_exported_integer_network_exactly(reset, beta, mem_bits,
                                                                   tmp_path):
    from neutnngen.frontend.snn_resim import resimulate

    net, X = mlp(reset, beta), data(150)
    f = from_snntorch(net, (36,), **OPTS)
    q, rep = quantize(f, X[:100], mem_bits=mem_bits, vclip=3.0 if mem_bits == 9 else None)
    out, v, sat = run_int(q, X)
    assert out.sum() > 0
    nir.write(tmp_path / "q.nir", to_nir(q))
    counts, mem = resimulate(nir.read(tmp_path / "q.nir"), X)
    assert np.array_equal(counts, out)
    assert np.array_equal(mem, v)
    if mem_bits == 9:
        assert sum(sat) > 0  # saturation is re-simulated too


def test_rate_encoded_import_uses_the_ir_lfsr():
    from neutnngen.model.convert import network_to_torch

    net, X = mlp(), data(120)
    f = from_snntorch(net, (36,), **{**OPTS, "encoding": "rate"})
    q, rep = quantize(f, X)
    assert "mode=rate" in to_text(q)
    fl = float_predict(f, float_run(f, X))
    it, _ = predict_int(q, X)
    assert (fl == it).mean() > 0.85
    assert np.array_equal(run_int(q, X)[0], network_to_torch(q)(X).numpy())


def test_fake_quant_hook_sees_the_integer_weights_and_passes_gradients():
    from snntorch import utils

    from neutnngen.frontend.snn_qat import attach_fake_quant, detach_fake_quant

    net, X = mlp(), data(64)
    f = from_snntorch(net, (36,), **OPTS)
    q, rep = quantize(f, X, weight_bits=4)
    w0 = net[1].weight.detach().clone()
    attach_fake_quant(net, rep)
    Sa, unit = rep.layers[0]["acc_scale"], rep.layers[0]["input_unit"]
    dense = q.stages[2]
    assert torch.allclose(net[1].weight.double() * unit * Sa,
                          torch.tensor(np.array(dense.weights), dtype=torch.float64), atol=1e-3)
    # the fake-quantized float network is the integer network's float twin
    g = from_snntorch(net, (36,), **OPTS)
    q2, _ = quantize(g, X, weight_bits=4)
    assert np.array_equal(q2.stages[2].weights, dense.weights)
    # gradients reach the float weights (straight through), and a step changes them
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    utils.reset(net)
    x = torch.as_tensor(X / 255.0, dtype=torch.float32)
    tot = 0
    for _ in range(8):
        spk, mem = net(x)
        tot = tot + spk + mem
    tot.sum().backward()
    grad = net[1].parametrizations.weight.original.grad
    assert grad is not None and grad.abs().sum() > 0
    opt.step()
    detach_fake_quant(net)
    assert not torch.equal(net[1].weight, w0) and not hasattr(net[1], "parametrizations")


def test_spike_trains_as_nir_data(tmp_path):
    from neutnngen.frontend.snn_import import spike_trains_nirdata

    net, X = mlp(), data(20)
    q, _ = quantize(from_snntorch(net, (36,), **OPTS), X)
    gd = spike_trains_nirdata(q, X)
    nir.write_data(tmp_path / "trains.nir", gd)
    back = nir.read_data(str(tmp_path / "trains.nir"))
    out, _, _ = run_int(q, X)
    assert sorted(back.nodes) == ["3", "5", "input"]  # stage indices of the lif stages
    last = back.nodes["5"].observables["spikes"].data
    assert last.shape == (20, 8, 5) and last.dtype == bool
    assert np.array_equal(last.sum(axis=1), out)
    assert back.nodes["input"].observables["spikes"].data.shape == (20, 8, 36)


def _nir_graph(first=None, lif=None, n_in=3):
    w = np.eye(3, n_in, dtype=np.float32)
    lif = lif or nir.LIF(tau=np.full(3, 8e-4), r=np.full(3, 8.0), v_leak=np.zeros(3),
                         v_threshold=np.ones(3), v_reset=np.zeros(3))
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "a": first or nir.Affine(w, np.zeros(3)), "l": lif,
             "output": nir.Output(output_type={"output": np.array([3])})}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "a"), ("a", "l"), ("l", "output")],
                        type_check=False)


def test_nir_bad_input_is_one_line():
    f = from_nir(_nir_graph(), reset="subtract", **OPTS)
    assert abs(f.ops[1].beta - 0.875) < 1e-6 and np.allclose(f.ops[0].weight, np.eye(3))
    with pytest.raises(FrontendError, match=r"nir/a: Affine weight shape \(3, 5\) does not take "
                                            r"inputs of shape \[3\]"):
        from_nir(_nir_graph(n_in=5), **OPTS)
    uneven = nir.LIF(tau=np.full(3, 8e-4), r=np.full(3, 8.0), v_leak=np.zeros(3),
                     v_threshold=np.array([1.0, 2.0, 1.0]), v_reset=np.zeros(3))
    with pytest.raises(FrontendError, match="nir/l: v_threshold differs between neurons"):
        from_nir(_nir_graph(lif=uneven), **OPTS)
    leaky = nir.LIF(tau=np.full(3, 8e-4), r=np.full(3, 8.0), v_leak=np.full(3, 0.5),
                    v_threshold=np.ones(3), v_reset=np.zeros(3))
    with pytest.raises(FrontendError, match="v_leak != 0 is not supported"):
        from_nir(_nir_graph(lif=leaky), **OPTS)
    with pytest.raises(FrontendError, match=r"dt=0.01 with tau=0.0008 gives beta=-11.5"):
        from_nir(_nir_graph(), dt=1e-2, **OPTS)
    with pytest.raises(FrontendError, match="dt=-1; expected a positive time step"):
        from_nir(_nir_graph(), dt=-1, **OPTS)
    with pytest.raises(FrontendError, match="reset='hard'; expected 'zero' or 'subtract'"):
        from_nir(_nir_graph(), reset="hard", **OPTS)
    with pytest.raises(FrontendError, match="cannot read NIR file"):
        from_nir("/nonexistent/x.nir", **OPTS)


def test_conv_nir_import_equals_module_import():
    from snntorch.export_nir import export_to_nir

    net = conv(nn.AvgPool2d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = export_to_nir(net, torch.zeros(1, 1, 6, 6), ignore_dims=[0])
    X = data(80)
    f = from_snntorch(net, (1, 6, 6), **OPTS)
    h = from_nir(g, reset="subtract", dt=1e-4, **OPTS)
    assert [type(o).__name__ for o in h.ops] == [type(o).__name__ for o in f.ops]
    assert np.array_equal(float_run(h, X)["out"], float_run(f, X)["out"])


def test_magnitude_pruning_drops_the_smallest_weights():
    from neutnngen.frontend.snn_quant import prune_magnitude

    net, X = mlp(), data(60)
    q, _ = quantize(from_snntorch(net, (36,), **OPTS), X)
    p = prune_magnitude(q, 0.5)
    for a, b in zip(q.stages, p.stages, strict=True):
        if hasattr(a, "weights"):
            wa, wb = np.array(a.weights), np.array(b.weights)
            kept = wb != 0
            assert abs(kept.sum() - np.count_nonzero(wa) / 2) <= 1
            assert np.array_equal(wb[kept], wa[kept])  # survivors unchanged
            assert np.abs(wa[~kept]).max() <= np.abs(wa[kept]).min()
    assert to_text(prune_magnitude(q, 0.0)) == to_text(q)
    with pytest.raises(ConfigError, match="prune fraction 1.0"):
        prune_magnitude(q, 1.0)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_synaptic_import_float_is_snntorch_and_int_follows(reset):
    from neutnngen.model.convert import network_to_torch

    torch.manual_seed(4)
    net = nn.Sequential(nn.Flatten(), nn.Linear(36, 24),
                        snn.Synaptic(alpha=torch.full((24,), 0.75), beta=torch.full((24,), 0.875),
                                     threshold=torch.full((24,), 1.0), reset_mechanism=reset,
                                     init_hidden=True),
                        nn.Linear(24, 5),
                        snn.Synaptic(alpha=torch.full((5,), 0.5), beta=torch.full((5,), 0.875),
                                     threshold=torch.full((5,), 1.0), reset_mechanism=reset,
                                     init_hidden=True, output=True))
    with torch.no_grad():
        net[1].weight.mul_(2.0)
        net[3].weight.mul_(3.0)
    X = data(100)
    f = from_snntorch(net, (36,), **OPTS)
    assert f.ops[2].alpha == 0.75
    from snntorch import utils

    utils.reset(net)
    x = torch.as_tensor(X / 255.0, dtype=torch.float32)
    tot = 0
    with torch.no_grad():
        for _ in range(8):
            spk, syn, mem = net(x)
            tot = tot + spk
    ours = float_run(f, X)["out"]
    assert tot.sum() > 0 and (ours == tot.numpy()).mean() > 0.97
    q, _ = quantize(f, X)
    assert "alpha_q=192" in to_text(q) and "alpha_q=128" in to_text(q)
    out, _, _ = run_int(q, X)
    assert np.array_equal(out, network_to_torch(q)(X).numpy())
    assert (np.abs(out - ours) <= 1).mean() > 0.9


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_synaptic_export_reimport_and_exact_snntorch_resimulation(reset, tmp_path):
    from neutnngen.frontend.snn_resim import resimulate

    torch.manual_seed(5)
    net = nn.Sequential(nn.Flatten(), nn.Linear(36, 24),
                        snn.Synaptic(alpha=torch.full((24,), 0.75), beta=torch.full((24,), 0.875),
                                     threshold=torch.full((24,), 1.0), reset_mechanism=reset,
                                     init_hidden=True),
                        nn.Linear(24, 5),
                        snn.Synaptic(alpha=torch.full((5,), 0.5), beta=torch.full((5,), 0.9),
                                     threshold=torch.full((5,), 1.0), reset_mechanism=reset,
                                     init_hidden=True, output=True))
    with torch.no_grad():
        net[1].weight.mul_(2.0)
        net[3].weight.mul_(3.0)
    X = data(120)
    q, _ = quantize(from_snntorch(net, (36,), **OPTS), X)
    out, v, _ = run_int(q, X)
    assert out.sum() > 0
    nir.write(tmp_path / "s.nir", to_nir(q))
    g = nir.read(tmp_path / "s.nir")
    assert type(g.nodes["3"]).__name__ == "CubaLIF"
    counts, mem = resimulate(g, X)
    assert np.array_equal(counts, out) and np.array_equal(mem, v)
    h = from_nir(tmp_path / "s.nir", reset=reset, steps=8, encoding="direct", in_bits=8,
                 in_unit=1.0, readout="count")
    q2, _ = quantize(h, X)

    def stages(n):
        return [ln for ln in to_text(n).splitlines() if "meta" not in ln]
    assert stages(q2) == stages(q)
