"""Random weight sets for register-mode verification (neutnngen.verify.weights): seeded,
in range, neighbouring registers distinct, valid IR; a register design passes them; and a
mutant of the weight storage that the trained weights cannot show (every trained weight
equal) is killed by them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neutnngen.errors import ConfigError, VerificationMismatch
from neutnngen.ir import Column, Interpreter, Layer, Network, SynapseBank, TimeSpec
from neutnngen.verify import mutate
from neutnngen.verify.weights import (
    random_weights,
    sets_for,
    verify_random_weights,
    verify_weight_sets,
    weight_sets,
)


def _net(theta=(20, 24, 28), mask=None, prox=False) -> Network:
    """12 lines, 3 neurons, 2-bit weights, every trained weight 3 (all equal)."""
    p, q = 12, 3
    w = np.full((q, 1, 1, p), 3)
    m = np.ones(w.shape, bool) if mask is None else mask
    kw = {}
    if prox:
        kw = dict(proximal_inputs=2,
                  proximal=SynapseBank(np.full((q, 1, 1, 2), 1), np.ones((q, 1, 1, 2), bool), 1))
    col = Column("col0", p, SynapseBank(np.where(m, w, 0), m, 2),
                 np.asarray(theta).reshape(q, 1, 1), **kw)
    return Network("rw", TimeSpec(2, "rnl"), p, (Layer("layer0", p, (col,)),))


def _volleys(n=24, p=12, seed=4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, p))
    X[rng.random(X.shape) < 0.3] = -1
    return X


def test_random_weights_are_seeded_in_range_distinct_and_valid():
    mask = np.ones((3, 1, 1, 12), bool)
    mask[1, 0, 0, [2, 7]] = False  # pruned synapses stay absent
    net = _net(theta=(4, 4, 4), mask=mask, prox=True)
    a, b = random_weights(net, 3), random_weights(net, 3)
    ca, cb = a.layers[0].columns[0], b.layers[0].columns[0]
    assert np.array_equal(ca.distal.weights, cb.distal.weights)  # same seed: same weights
    assert np.array_equal(ca.proximal.weights, cb.proximal.weights)
    for other in (random_weights(net, 3, 1), random_weights(net, 4)):
        assert not np.array_equal(ca.distal.weights, other.layers[0].columns[0].distal.weights)
    col = net.layers[0].columns[0]
    assert np.array_equal(ca.distal.mask, col.distal.mask)
    assert np.array_equal(ca.theta, col.theta)
    w = ca.distal.weights
    assert w.min() >= 0 and w.max() <= col.distal.w_max and (w[~mask] == 0).all()
    assert set(np.unique(ca.proximal.weights)) <= {0, 1}
    seq = w[mask]  # the present synapses in register order
    assert (seq[1:] != seq[:-1]).all(), seq  # no two neighbouring registers equal
    m = col.distal.w_max + 1
    for i in range(0, len(seq) - m + 1, m):  # every block: a permutation of 0 .. w_max
        assert sorted(seq[i:i + m]) == list(range(m)), seq
    Interpreter(a)  # valid IR (validates on construction)
    assert (Interpreter(a).forward(_volleys()) != Interpreter(net).forward(_volleys())).any()


def test_unreachable_thresholds_get_weights_raised_until_valid():
    net = _net(theta=(30, 33, 36))  # the pattern sums to 18 per neuron; at most 36
    r = random_weights(net, 0)
    w = r.layers[0].columns[0].distal.weights.reshape(3, -1)
    assert (w.sum(-1) >= [30, 33, 36]).all() and (w <= 3).all()
    Interpreter(r)


def test_set_counts_default_by_weight_mode_and_bad_input_is_named():
    assert sets_for("register", None) == 1 and sets_for("hardwired", None) == 0
    assert sets_for("learn", None) == 0 and sets_for("register", 3) == 3
    assert sets_for("learn", 2) == 2  # learn designs load weights through wload_* too
    assert sets_for("hardwired", 0) == 0
    with pytest.raises(ConfigError, match="'hardwired'.*register-mode"):
        sets_for("hardwired", 2)
    for bad in (-1, True, 1.5):
        with pytest.raises(ConfigError, match=f"random weight sets {bad!r}; expected"):
            sets_for("register", bad)
    with pytest.raises(ConfigError, match="corner volleys -1"):
        weight_sets(_net(), _volleys(), 1, corner=-1)
    with pytest.raises(ConfigError, match="seed -2"):
        random_weights(_net(), -2)
    sets = weight_sets(_net(), _volleys(), 2, seed=5, corner=8)
    assert [s.index for s in sets] == [0, 1] and all(0 < s.corner <= 8 for s in sets)
    assert all(np.array_equal(s.X[:24], _volleys()) for s in sets)
    again = weight_sets(_net(), _volleys(), 2, seed=5, corner=8)
    assert all(np.array_equal(s.X, t.X) for s, t in zip(sets, again, strict=True))


# --------------------------------------------------------------------------- with Icarus
@pytest.fixture(scope="module")
def register_equal(tmp_path_factory):
    from neutnngen.flows.sim import simulator_available
    from neutnngen.hdl import emit

    if not simulator_available("icarus"):
        pytest.skip("icarus is not installed")
    net = _net()
    res = emit(net, tmp_path_factory.mktemp("rw"), weights="register")
    return net, _volleys(), res


def _storage_mutants(site, line) -> bool:
    """A swapped weight multiplexer and a wrong weight-address compare: with every trained
    weight equal and no weight written (the trained run loads none: the reset values are
    the trained weights), neither can change anything the trained run sees."""
    return ((site.kind == "mux" and "? w11 : w10" in line)
            or (site.kind == "cmp" and "wload_addr[1:0] == 2'h2" in line))


@pytest.mark.requires_sim
def test_register_design_passes_random_weight_sets(register_equal, tmp_path):
    net, X, res = register_equal
    sets = weight_sets(net, X, 2, seed=0)
    for ws in sets:
        assert (Interpreter(ws.net).forward(ws.X) != Interpreter(net).forward(ws.X)).any()
    rs = verify_weight_sets(sets, res.verilog, res.names, workdir=tmp_path, simulator="icarus",
                            bench_kind="stream", build_dir=tmp_path / "b")
    assert [r.passed for r in rs] == [True, True], [r.first_mismatch for r in rs]
    assert [r.waves for r in rs] == [len(ws.X) for ws in sets]
    out = verify_random_weights(net, res.verilog, res.names, X, None, workdir=tmp_path / "d",
                                simulator="icarus", build_dir=tmp_path / "b")
    assert len(out) == 1 and out[0]["mismatches"] == 0 and out[0]["bench"] == "stream"


@pytest.mark.requires_sim
def test_weight_storage_mutants_survive_trained_weights_and_die_with_random(register_equal,
                                                                           tmp_path):
    net, X, res = register_equal
    kw = dict(n=2, seed=0, simulator="icarus", accept=_storage_mutants)
    off = mutate.mutation_campaign(net, res.verilog, res.names, X, workdir=tmp_path / "m",
                                   random_weights=0, **kw)
    assert off.mutants == 2 and off.survived == 2, off.results
    assert {s["kind"] for s in off.survivors} == {"mux", "cmp"}
    assert off.random_weights is None
    on = mutate.mutation_campaign(net, res.verilog, res.names, X, workdir=tmp_path / "m", **kw)
    assert on.killed == 2, on.results  # default for a register design: one random set
    assert {r["killed_by"] for r in on.results} == {"random weights 0"}
    assert on.random_weights["sets"] == 1
    assert on.random_weights["killed_only_by_random_weights"] == 2
    saved = json.loads((tmp_path / "m" / "report.json").read_text())
    assert saved["random_weights"] == on.random_weights
    # the campaign refuses a design that fails the random weights itself: every mutant of
    # it would count as killed
    bad = tmp_path / "bad" / "neutnngen_top.v"
    bad.parent.mkdir()
    text = Path(res.verilog).read_text()
    site = mutate.choose(text, 1, 0, _storage_mutants)[0]
    bad.write_text(mutate.apply(text, site))
    with pytest.raises(VerificationMismatch, match="unmutated design .* random weight set 0"):
        mutate.mutation_campaign(net, bad, res.names, X, workdir=tmp_path / "mb", **kw)


@pytest.mark.requires_sim
def test_cli_verify_runs_a_random_set_on_register_designs(register_equal, tmp_path, capsys):
    """``neutnngen verify``: one random set by default on a register design (in the JSON
    output), none with ``--random-weights 0``; a hardwired design refuses a set."""
    from neutnngen.cli import main
    from neutnngen.ir import save

    net = register_equal[0]
    save(net, tmp_path / "net.json")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(30, 12)), y=rng.integers(0, 2, 30))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nkind = "files"\ntrain = "d.npz"\ntest = ""\n'
                   'test_fraction = 0.3\n[network]\ntimeres = 2\n')
    ir = str(tmp_path / "net.json")
    for mode in ("register", "hardwired"):
        assert main(["compile", ir, "--out", str(tmp_path / mode), "--weights", mode]) == 0
    capsys.readouterr()
    base = ["verify", ir, "--config", str(cfg), "--out", str(tmp_path / "v"),
            "--simulator", "icarus", "--rtl"]
    assert main([*base, str(tmp_path / "register")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mismatches"] == 0 and len(d["random_weights"]) == 1, d
    rw = d["random_weights"][0]
    assert rw["mismatches"] == 0 and rw["seed"] == 0 and rw["waves"] == d["waves"] + rw["corner"]
    assert main([*base, str(tmp_path / "register"), "--random-weights", "0"]) == 0
    assert "random_weights" not in json.loads(capsys.readouterr().out)
    assert main([*base, str(tmp_path / "hardwired"), "--random-weights", "1"]) == 2
    err = capsys.readouterr().err
    assert "random weight sets 1" in err and "register-mode" in err
    assert main([*base, str(tmp_path / "register"), "--random-weights", "-1"]) == 2
    assert "--random-weights -1; expected a number of weight sets >= 0" in \
        capsys.readouterr().err
