"""Mutation testing of the verification bench (neutnngen.verify.mutate, `verify --mutants`):
the mutant draw is seeded and token-local, a campaign kills real bugs and lists survivors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from neutnngen.errors import ToolchainError
from neutnngen.verify import mutate, run_verification

TEXT = """module top(a, b, y);
  assign \\$1  = a < b;
  assign \\$2  = a + b;
  assign y = sel ? \\$1  : 4'h3;
  always @* begin
    \\$5  = 3'h0;
    casez (sel1)
      8'h2d:
          \\$5  = 3'h7;
    endcase
  end
endmodule
"""


def test_sites_cover_the_generator_bug_kinds():
    kinds = {s.kind for s in mutate.sites(TEXT)}
    assert {"cmp", "op", "const", "mux", "weight", "wline", "invert"} <= kinds


def test_each_mutant_changes_one_line_and_the_draw_is_seeded():
    a = mutate.choose(TEXT, 6, seed=3)
    assert a == mutate.choose(TEXT, 6, seed=3)
    assert len(a) == 6 and len({(s.line, s.start, s.new) for s in a}) == 6
    orig = TEXT.split("\n")
    for s in a:
        new = mutate.apply(TEXT, s).split("\n")
        changed = [i for i, (x, y) in enumerate(zip(orig, new, strict=True)) if x != y]
        assert changed == [s.line]
    # round robin over kinds: the first picks are of different kinds
    assert len({s.kind for s in a[:5]}) == 5


def test_more_mutants_than_sites_gives_every_site_once():
    n = len(mutate.sites(TEXT))
    assert len(mutate.choose(TEXT, 10 * n, 0)) == n


def test_run_mutants_counts_killed_survived_invalid(tmp_path):
    src = tmp_path / "top.v"
    src.write_text(TEXT)
    calls = []

    def check(path, work):
        text = path.read_text()
        calls.append(path)
        if "3'h6" in text:  # pretend the build fails
            raise ToolchainError("does not build")
        return "<=" in text or "-" in text  # caught: comparison / operator changes

    rep = mutate.run_mutants(src, 20, 0, check, tmp_path / "m")
    assert rep.mutants == len(calls) == len(mutate.sites(TEXT))
    assert rep.killed + rep.survived + rep.invalid == rep.mutants
    assert rep.invalid == 1 and rep.killed == 2
    assert rep.kill_rate == round(2 / (rep.mutants - 1), 4)
    for s in rep.survivors:
        assert s["file"] == str(src) and s["line"] >= 1 and s["change"]
    assert src.read_text() == TEXT  # the original is never touched
    with pytest.raises(ValueError, match="mutants=0"):
        mutate.run_mutants(src, 0, 0, check, tmp_path / "m")


# --------------------------------------------------------------------------- with a simulator
@pytest.fixture(scope="module")
def small_column(tmp_path_factory):
    from neutnngen.hdl import emit
    from neutnngen.ir import Column, Interpreter, Layer, Network, SynapseBank, TimeSpec

    rng = np.random.default_rng(4)
    p, q = 12, 3
    w = rng.integers(0, 4, size=(q, 1, 1, p))
    theta = np.maximum(1, (w.sum(-1) * 0.3).astype(np.int64))
    col = Column("col0", p, SynapseBank.dense(w, wres=2), theta)
    net = Network("mut", TimeSpec(2, "rnl"), p, (Layer("layer0", p, (col,)),))
    X = rng.integers(0, 4, size=(24, p))
    X[rng.random(X.shape) < 0.3] = -1
    Y = Interpreter(net).forward(X)
    assert (Y >= 0).any()
    res = emit(net, tmp_path_factory.mktemp("mut"))
    return net, X, res


def test_schemata_holds_every_mutant_behind_mutsel():
    chosen = mutate.choose(TEXT, 5, 0)
    s = mutate.schemata(TEXT, chosen, "top")
    assert "reg [15:0] mutsel" in s
    for k, site in enumerate(chosen, start=1):
        assert f"top.mutsel == 16'd{k})" in s
        line = s.split("\n")[site.line + 1]  # one line inserted after the module header
        assert site.new.strip() in line
    with pytest.raises(ValueError, match="module nope"):
        mutate.schemata(TEXT, chosen, "nope")


@pytest.mark.requires_sim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_campaign_kills_mutants_and_reports_survivors(small_column, tmp_path, simulator):
    """Icarus: one build per mutant; Verilator: one schemata build, mutants by mutsel."""
    from neutnngen.flows.sim import simulator_available

    if not simulator_available(simulator):
        pytest.skip(f"{simulator} is not installed")
    net, X, res = small_column
    base = run_verification(net, res.verilog, res.names, X, simulator=simulator,
                            workdir=tmp_path / "base")
    assert base.passed
    rep = mutate.mutation_campaign(net, res.verilog, res.names, X, n=5, seed=1,
                                   simulator=simulator, workdir=tmp_path / "mut")
    assert (tmp_path / "mut" / "schemata").exists() == (simulator == "verilator")
    assert rep.mutants == 5
    assert rep.killed >= 3, rep.results  # the bench is not blind
    assert rep.survived == len(rep.survivors)
    saved = json.loads((tmp_path / "mut" / "report.json").read_text())
    assert saved["killed"] == rep.killed and len(saved["results"]) == 5
    # stop_on_mismatch ends a mutant's run at its first wrong beat
    killed = [r for r in rep.results if r["status"] == "killed"]
    assert killed


def test_cli_rejects_zero_mutants(tmp_path):
    r = subprocess.run([sys.executable, "-m", "neutnngen.cli", "verify", "x.json", "--rtl",
                        str(tmp_path), "--config", "examples/ucr_gunpoint.toml",
                        "--mutants", "0"], capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert "--mutants 0" in r.stderr and ">= 1" in r.stderr


@pytest.mark.requires_yosys
def test_survivors_are_classified_by_the_formal_check(tmp_path):
    """``a & a`` -> ``a | a`` is an equivalent mutant (proven); ``+ 1`` -> ``- 1`` is not."""
    src = tmp_path / "top.v"
    src.write_text("module top(clk, a, y);\n  input clk;\n  input [3:0] a;\n"
                   "  output reg [3:0] y = 4'h0;\n  wire [3:0] \\$1 ;\n  wire [3:0] \\$2 ;\n"
                   "  assign \\$1  = a & a;\n  assign \\$2  = \\$1  + 4'h1;\n"
                   "  always @(posedge clk) y <= \\$2 ;\nendmodule\n")
    text = src.read_text()
    sites = mutate.choose(text, 50, 0)
    keep = [k for k, s in enumerate(sites)
            if (s.kind == "op" and s.new in "|-")]
    assert len(keep) == 2
    rep = _survivors_report(src, sites, keep)
    out = mutate.classify_survivors(rep, "top", tmp_path / "cls")
    verdict = {s["change"].split(" in ")[0]: s["equivalent"] for s in out}
    # + -> -: no proof of equality; the sequential proof finds the input that differs
    assert verdict == {"& -> |": True, "+ -> -": False}, out
    minus = next(x for x in out if x["change"].startswith("+ -> -"))
    assert minus["formal"]["seq"]["status"] == "differs", minus


@pytest.mark.requires_yosys
def test_a_mutant_inside_a_minimum_is_proven_equivalent(tmp_path):
    """``d < w ? d : w`` -> ``d <= w ? d : w`` changes an internal net but never the
    minimum: proven equivalent (only ports and named registers are paired)."""
    src = tmp_path / "top.v"
    src.write_text("module top(clk, d, w, y);\n  input clk;\n  input [3:0] d;\n"
                   "  input [3:0] w;\n  output reg [3:0] y = 4'h0;\n  wire \\$1 ;\n"
                   "  wire [3:0] \\$2 ;\n  assign \\$1  = d < w;\n"
                   "  assign \\$2  = \\$1  ? d : w;\n"
                   "  always @(posedge clk) y <= \\$2 ;\nendmodule\n")
    text = src.read_text()
    sites = mutate.choose(text, 50, 0)
    keep = [k for k, s in enumerate(sites) if s.kind == "cmp" and s.new == "<="]
    assert len(keep) == 1
    rep = _survivors_report(src, sites, keep)
    out = mutate.classify_survivors(rep, "top", tmp_path / "cls")
    assert out[0]["equivalent"] is True, out


def _survivors_report(src, sites, keep) -> mutate.MutationReport:
    """A campaign report in which the mutants ``keep`` of ``sites`` survived."""
    return mutate.MutationReport(
        file=str(src), seed=0, mutants=len(sites), killed=0, survived=len(keep), invalid=0,
        kill_rate=0.0, by_kind={}, invalid_mutants=[], wall_s=0.0,
        survivors=[{"mutant": k, "file": str(src), "line": sites[k].line + 1,
                    "kind": sites[k].kind, "change": sites[k].desc} for k in keep])


MASKED = """module top(clk, c, z, y);
  input clk;
  input [1:0] c;
  input z;
  output reg y = 1'h0;
  reg hi = 1'h0;
  reg oh = 1'h0;
  wire \\$1 ;
  wire \\$2 ;
  wire \\$3 ;
  wire \\$4 ;
  assign \\$1  = c < 2'h3;
  assign \\$2  = c == 2'h3;
  always @(posedge clk)
    hi <= \\$1 ;
  always @(posedge clk)
    oh <= \\$2 ;
  assign \\$3  = z & hi;
  assign \\$4  = \\$3  | oh;
  always @(posedge clk)
    y <= \\$4 ;
endmodule
"""


def test_cone_registers_and_hide_names():
    lines = MASKED.split("\n")
    ln = next(i for i, s in enumerate(lines) if "c < 2'h3" in s)
    assert mutate.cone_registers(MASKED, ln) == ["hi"]
    ln = next(i for i, s in enumerate(lines) if "z & hi" in s)
    assert mutate.cone_registers(MASKED, ln) == []  # y: a port of the top, never hidden
    h = mutate.hide_names(MASKED, ["hi"])
    assert "\\hi$cone  <= \\$1 ;" in h and "z & \\hi$cone ;" in h and "oh <=" in h


@pytest.mark.requires_yosys
def test_a_mutant_seen_only_by_a_masked_register_is_proven_at_the_ports(tmp_path):
    """``c < 3`` -> ``c <= 3`` changes the register ``hi`` (so the plain proof, which pairs
    it, stays unknown) but ``hi`` only matters where ``oh`` forces the result: the proof
    with ``hi`` unpaired shows the ports equal. ``c == 3`` -> ``c != 3`` stays unproven."""
    src = tmp_path / "top.v"
    src.write_text(MASKED)
    sites = mutate.choose(MASKED, 50, 0)
    keep = [k for k, s in enumerate(sites) if s.kind == "cmp"]
    assert len(keep) == 2
    rep = _survivors_report(src, sites, keep)
    out = mutate.classify_survivors(rep, "top", tmp_path / "cls")
    verdict = {s["change"].split(" in ")[0]: s for s in out}
    lt, eq = verdict["< -> <="], verdict["== -> !="]
    assert lt["equivalent"] is True and lt["formal"]["status"] == "unknown", lt
    assert lt["formal"]["cone"]["unpaired"] == ["hi"], lt
    assert eq["equivalent"] is False and eq["formal"]["seq"]["status"] == "differs", eq


MUX4 = """module mux(p, sel0, sel1, clk, lane);
  wire [3:0] \\$1 ;
  wire [3:0] \\$2 ;
  wire [3:0] \\$3 ;
  assign \\$5  = { p [8], p [1:0] };
  assign \\$6  = { p [9], p [3:2] };
  assign \\$1  = sel0[0] ? \\$6  : \\$5 ;
  assign \\$2  = sel0[0] ? 4'h0 : { p [10], p [5:4] };
  assign \\$3  = sel0[1] ? \\$2  : \\$1 ;
  always @(posedge clk)
    lane <= \\$3 ;
endmodule
"""


def test_mux_permutation_of_equal_weight_columns():
    """Lines 0, 1, 2 (line 3 has no synapse: a constant). Swapping the arms of ``\\$1``
    exchanges lines 0 and 1: equal for every input when their weight columns are equal,
    not otherwise; swapping ``\\$3`` moves line 2 to steps 0 / 1: never equal."""
    lines = MUX4.split("\n")
    s1 = next(s for s in mutate.sites(MUX4) if s.kind == "mux" and "\\$1 " in
              lines[s.line][:20])
    s3 = next(s for s in mutate.sites(MUX4) if s.kind == "mux" and "\\$3 " in
              lines[s.line][:20])
    assert mutate._mux_lines(MUX4, s1.line, 4) == [("line", 0), ("line", 1), ("line", 2),
                                                   ("const", 0)]
    same = np.array([[3, 3, 1, 0], [2, 2, 0, 0]])
    diff = np.array([[3, 2, 1, 0], [2, 2, 0, 0]])
    m1 = mutate.apply(MUX4, s1)
    assert mutate.mux_permutation(MUX4, m1, s1.line, same) == {"equal": True, "steps": [0, 1]}
    assert mutate.mux_permutation(MUX4, m1, s1.line, diff)["equal"] is False
    m3 = mutate.apply(MUX4, s3)
    assert mutate.mux_permutation(MUX4, m3, s3.line, same)["equal"] is False
    # the original does not pass line j at step j: no argument
    assert mutate.mux_permutation(m1, MUX4, s1.line, diff) is None


RESET = """module top(clk, rst, a, b, c, y, z, w);
  input clk;
  input rst;
  input a;
  input c;
  input [1:0] b;
  output y;
  output z;
  output [1:0] w;
  reg [1:0] m = 2'h0;
  reg v = 1'h0;
  reg [1:0] q = 2'h0;
  reg [1:0] \\$1 ;
  reg \\$2 ;
  always @* begin
    \\$1  = q;
    if (a) begin
      \\$1  = b;
    end
    if (rst) begin
      \\$1  = 2'h0;
    end
  end
  always @* begin
    \\$2  = v;
    if (a) begin
      \\$2  = a;
    end
    if (rst) begin
      \\$2  = 1'h0;
    end
  end
  always @(posedge clk)
    q <= \\$1 ;
  always @(posedge clk)
    v <= \\$2 ;
  always @(posedge clk)
    if (a) m <= b;
  assign y = c & v & q[0];
  assign z = v;
  assign w = m;
endmodule
"""


@pytest.mark.requires_yosys
def test_a_reset_value_hidden_by_a_valid_bit_is_proven_from_power_on(tmp_path):
    """``q`` and ``v`` load ``b`` and 1 when ``a``; ``y`` reads ``q`` when ``c``.
    ``q``'s reset value 0 -> 1 is never seen: ``v``, reset to 0, masks ``q`` until both
    load, however late that is. The pairing proofs stay unknown (``q`` may differ for any
    number of cycles, and with ``q`` unpaired ``y`` is not pinned down: induction from an
    arbitrary state reaches ``v = 1`` with ``q`` differing); the sequential proof from
    power-on (ABC scorr + pdr) proves it. ``v``'s reset value 0 -> 1 shows at ``z`` after a reset:
    ``differs``."""
    src = tmp_path / "top.v"
    src.write_text(RESET)
    sites = mutate.choose(RESET, 80, 0)
    keep = [k for k, s in enumerate(sites) if s.kind == "weight"]
    assert len(keep) == 2, [s.desc for s in sites]
    rep = _survivors_report(src, sites, keep)
    out = mutate.classify_survivors(rep, "top", tmp_path / "cls", seq_timeout=60)
    by = {s["change"].split("`")[1]: s for s in out}
    q, v = by["\\$1  = 2'h0;"], by["\\$2  = 1'h0;"]
    assert q["formal"]["status"] == "unknown", q
    assert q["formal"]["cone"]["status"] == "unknown", q
    assert q["formal"]["seq"]["status"] == "proven", q
    assert q["equivalent"] is True
    assert v["equivalent"] is False and v["formal"]["seq"]["status"] == "differs", v
    assert v["formal"]["seq"]["depth"] >= 1


@pytest.mark.requires_yosys
def test_seq_equiv_reports_yosys_errors_as_failed(tmp_path):
    from neutnngen.verify.formal import seq_equiv

    (tmp_path / "a.v").write_text(RESET)
    (tmp_path / "b.v").write_text("module top(clk); input clk; endmodule\n")
    r = seq_equiv(tmp_path / "a.v", tmp_path / "b.v", "nope", tmp_path / "w", timeout=10)
    assert r["status"] == "failed" and r["reason"], r


@pytest.mark.requires_sim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_learn_mode_mutants_are_caught_by_the_learning_stream(tmp_path, simulator):
    """Mutants of the learn pass (``learn_pass``) leave inference alone, so the inference
    bench and the random weight set miss them; the learning stream (outputs, weights and
    LFSR states after every wave) kills them, ``killed_by == "learning"``. Verilator: one
    schemata build, ``mutsel`` set through the learning bench's wrapper."""
    from test_learn import small_learning_column

    from neutnngen.flows.sim import simulator_available
    from neutnngen.hdl import emit

    if not simulator_available(simulator):
        pytest.skip(f"{simulator} is not installed")
    net, X = small_learning_column(40)
    r = emit(net, tmp_path / "rtl", weights="learn", name="small_learn")

    def learn_only(site, line):
        return "learn_pass" in line

    rep = mutate.mutation_campaign(net, r.verilog, r.names, X[:10], n=2, seed=0,
                                   simulator=simulator, workdir=tmp_path / "mut",
                                   accept=learn_only, learning={"X": X, "labels": None})
    assert rep.mutants == 2 and rep.killed == 2, rep.results
    assert [x["killed_by"] for x in rep.results] == ["learning", "learning"]
    assert rep.learning == {"waves": 40, "labels": False, "killed_only_by_learning": 2,
                            "mutants": [0, 1]}
    assert rep.random_weights["sets"] == 1  # learn designs load weights like register ones
    assert rep.random_weights["killed_only_by_random_weights"] == 0
    # without the stream the same mutants survive: the inference bench cannot see them
    rep0 = mutate.mutation_campaign(net, r.verilog, r.names, X[:10], n=2, seed=0,
                                    simulator=simulator, workdir=tmp_path / "mut0",
                                    accept=learn_only)
    assert rep0.survived == 2 and rep0.learning is None


def test_a_learning_stream_needs_a_learn_mode_design(small_column, tmp_path):
    net, X, res = small_column
    with pytest.raises(ValueError, match="learn-mode design"):
        mutate.mutation_campaign(net, res.verilog, res.names, X, n=1, seed=0,
                                 simulator="icarus", workdir=tmp_path,
                                 learning={"X": X, "labels": None})


HANDSHAKE = """module top(clk, rst, in_valid, in_time, in_ready, out_valid, out_time);
  input clk;
  input rst;
  input in_valid;
  input [3:0] in_time;
  output in_ready;
  output reg out_valid = 1'h0;
  output reg [3:0] out_time = 4'h0;
  reg [1:0] c = 2'h0;
  wire go;
  assign go = ADVANCE;
  assign in_ready = in_valid & (c == 2'h2);
  always @(posedge clk) begin
    if (rst) c <= 2'h0;
    else if (go) c <= (c == 2'h2) ? 2'h0 : c + 2'h1;
    out_valid <= in_ready & ~rst;
    if (in_ready) out_time <= in_time;
  end
endmodule
"""


@pytest.mark.requires_yosys
def test_seq_equiv_under_the_stream_contract(tmp_path):
    """A beat takes three cycles. Advancing while ``c != 0`` even with ``in_valid`` low
    differs only for a source that drops ``in_valid`` before the handshake: not equal in
    general, proven under rule 1 (:func:`stream_env`); a real change stays ``differs``."""
    from neutnngen.verify.formal import seq_equiv, stream_env

    gold, gate, bad = (tmp_path / f"{n}.v" for n in ("gold", "gate", "bad"))
    gold.write_text(HANDSHAKE.replace("ADVANCE", "in_valid"))
    gate.write_text(HANDSHAKE.replace("ADVANCE", "in_valid | (c != 2'h0)"))
    bad.write_text(HANDSHAKE.replace("ADVANCE", "in_valid").replace(
        "out_time <= in_time", "out_time <= in_time + 4'h1"))
    env, name = stream_env(gold.read_text(), "top")
    assert name == "top_env" and "h_in_time" in env and "h_out_time" not in env
    free = seq_equiv(gold, gate, "top", tmp_path / "free", timeout=60)
    assert free["status"] == "differs" and free["contract"] is None, free
    kept = seq_equiv(gold, gate, "top", tmp_path / "kept", timeout=60, stream_contract=True)
    assert kept["status"] == "proven" and kept["contract"], kept
    wrong = seq_equiv(gold, bad, "top", tmp_path / "bad", timeout=60, stream_contract=True)
    assert wrong["status"] == "differs", wrong
    assert stream_env("module top(clk, a); input clk; input a; endmodule", "top") is None


def test_mutation_learning_stream_is_the_training_order_plus_bound_streams():
    from neutnngen.errors import ConfigError
    from neutnngen.pipeline import (
        init_network,
        load_config,
        mutation_learning_stream,
        prepare_data,
        training_order,
    )
    from neutnngen.verify.corner import learn_streams

    cfg = load_config("examples/ucr_gunpoint.toml", [])
    data = prepare_data(cfg)
    net = init_network(cfg, data)
    s = mutation_learning_stream(cfg, data, net, waves=20, corner=16, seed=3)
    order = training_order(len(data.X_train), cfg.train.epochs, cfg.experiment.seed,
                           cfg.train.shuffle)[:20]
    np.testing.assert_array_equal(s["X"][:20], data.X_train[order])
    np.testing.assert_array_equal(s["X"][20:], learn_streams(net, 16, seed=3))
    assert (s["real"], s["corner"], s["labels"]) == (20, 16, None)
    with pytest.raises(ConfigError, match="waves=-1; expected a number of volleys >= 0"):
        mutation_learning_stream(cfg, data, net, waves=-1)


@pytest.mark.requires_sim
def test_cli_mutants_of_a_learn_design_run_the_learning_stream(tmp_path, capsys):
    """``neutnngen verify --mutants`` on a learn-mode design: the campaign's report says
    how many training and weight-bound volleys the learning bench ran on the mutants."""
    from test_learn import small_learning_column

    from neutnngen.cli import main
    from neutnngen.ir import save

    net, _ = small_learning_column(1)
    ir = str(tmp_path / "net.json")
    save(net, ir)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(30, 12)), y=rng.integers(0, 2, 30))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nkind = "files"\ntrain = "d.npz"\ntest = ""\n'
                   f'test_fraction = 0.3\n[network]\ntimeres = {net.time.timeres}\n')
    assert main(["compile", ir, "--out", str(tmp_path / "rtl"), "--weights", "learn"]) == 0
    capsys.readouterr()
    assert main(["verify", ir, "--config", str(cfg), "--rtl", str(tmp_path / "rtl"),
                 "--out", str(tmp_path / "v"), "--simulator", "icarus", "--mutants", "2"]) == 0
    m = json.loads(capsys.readouterr().out)["mutation"]
    assert m["mutants"] == 2 and m["killed"] + m["survived"] + m["invalid"] == 2, m
    assert m["learning"]["waves"] > 48 and m["learning"]["labels"] is False, m
    assert m["random_weights"]["sets"] == 1, m


@pytest.mark.requires_yosys
def test_seq_equiv_with_cut_points(tmp_path):
    """Cutting the store ``m`` (its value a shared free input, its next value compared)
    keeps the reset-value proof; a change to ``m``'s next value is caught, but with ``m``
    free a counterexample is no verdict: ``unknown``."""
    from neutnngen.verify.formal import seq_equiv

    gold, hidden, store = (tmp_path / f"{n}.v" for n in ("gold", "hidden", "store"))
    gold.write_text(RESET)
    hidden.write_text(RESET.replace("\\$1  = 2'h0;", "\\$1  = 2'h1;"))
    store.write_text(RESET.replace("if (a) m <= b;", "if (a) m <= ~b;"))
    r = seq_equiv(gold, hidden, "top", tmp_path / "h", timeout=60, cut=["m"])
    assert r["status"] == "proven" and r["cut"] == 1, r
    r = seq_equiv(gold, store, "top", tmp_path / "s", timeout=60, cut=["m"])
    assert r["status"] == "unknown" and "cut registers free" in r["reason"], r
    assert seq_equiv(gold, store, "top", tmp_path / "s2", timeout=60)["status"] == "differs"
