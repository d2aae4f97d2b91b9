"""The pipeline's pieces without tools: the resume store, stage running and resuming, the
stage plan of a config, the task registry."""

from __future__ import annotations

import json

import pytest

from neutnngen import config
from neutnngen.pipeline import Context, Stage, Store, get_task, plan, run_stage
from neutnngen.pipeline.stages import (
    CompileStage,
    SynthStage,
    TrainStage,
    VerifyLearningStage,
    VerifyStage,
)
from neutnngen.pipeline.store import code_fingerprint


def test_results_of_another_neutnngen_are_not_resumed(tmp_path):
    """A record computed by other sources (an older or newer neutnngen: its fingerprint
    differs) is stale even with the same key and files: an upgraded generator recomputes."""
    f = tmp_path / "x.json"
    f.write_text("{}")
    Store(tmp_path).done("x", "k1", f)
    assert Store(tmp_path).fresh("x", "k1", f)
    doc = json.loads((tmp_path / "state.json").read_text())
    doc["x"]["code"] = "0" * 16
    (tmp_path / "state.json").write_text(json.dumps(doc))
    assert not Store(tmp_path).fresh("x", "k1", f)
    assert len(code_fingerprint()) == 16 and code_fingerprint() == code_fingerprint()


def test_store_records_keys_and_files(tmp_path):
    s = Store(tmp_path)
    f = tmp_path / "a" / "x.json"
    assert not s.fresh("x", "k1", f)
    f.parent.mkdir()
    f.write_text("{}")
    s.done("x", "k1", f)
    assert s.fresh("x", "k1") and not s.fresh("x", "k2")
    assert json.loads((tmp_path / "state.json").read_text())["x"] == {
        "key": "k1", "files": ["a/x.json"], "code": code_fingerprint()}
    # another Store object on the same folder keeps both records (done re-reads the file)
    t = Store(tmp_path)
    s.done("y", "k", f)
    t.done("z", "k", f)
    assert set(Store(tmp_path).records) == {"x", "y", "z"}
    f.unlink()  # a result file gone: not fresh any more
    assert not Store(tmp_path).fresh("x", "k1")


def test_store_reads_old_and_damaged_state(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"train": "abc", "junk": 3}))
    s = Store(tmp_path)
    # an old record is read, but no code fingerprint says which neutnngen made it: not fresh
    assert s.records["train"]["key"] == "abc" and "junk" not in s.records
    assert not s.fresh("train", "abc")
    (tmp_path / "state.json").write_text("{not json")
    assert Store(tmp_path).records == {}


class Count(Stage):
    name = "count"

    def __init__(self, key: str):
        self.k = key
        self.computed = 0

    def key(self, ctx):
        return self.k

    def files(self, ctx):
        return [ctx.outdir / "count.txt"]

    def compute(self, ctx):
        self.computed += 1
        (ctx.outdir / "count.txt").write_text(self.k)
        return self.k

    def load(self, ctx):
        return (ctx.outdir / "count.txt").read_text() + " (loaded)"

    def apply(self, ctx, result):
        ctx.report["count"] = result


def test_run_stage_resumes_fresh_work(tmp_path, capsys):
    cfg = config.load()
    ctx = Context.open(cfg, tmp_path, get_task(cfg))
    st = Count("v1")
    assert run_stage(st, ctx) == "v1" and st.computed == 1
    assert run_stage(st, ctx) == "v1 (loaded)" and st.computed == 1
    assert "count: up to date (resumed)" in capsys.readouterr().err
    st.k = "v2"  # a changed input reruns
    assert run_stage(st, ctx) == "v2" and st.computed == 2 and ctx.report["count"] == "v2"
    assert "count" in ctx.timing


def test_plan_follows_the_config():
    def kinds(overrides, stages=("train", "compile", "verify", "synth", "report")):
        return [type(s) for s in plan(config.load(None, overrides), stages)]

    assert kinds([]) == [TrainStage, CompileStage, VerifyStage, SynthStage]
    assert kinds(["hdl.weights=learn"]) == [TrainStage, CompileStage, VerifyLearningStage,
                                            SynthStage]
    assert kinds(["verify.enabled=false", "synth.targets=[]"]) == [TrainStage, CompileStage]
    assert kinds([], ("train",)) == [TrainStage]


def test_primary_metrics_per_task():
    from neutnngen.pipeline import primary_metric

    assert primary_metric(config.load()) == ("adjusted_rand_index", True)
    assert primary_metric(config.load(None, ["data.kind=mnist"])) == ("error", False)
    assert primary_metric(config.load(None, ["data.kind=files", "train.rule=rstdp"])) == \
        ("error", False)
    assert primary_metric(config.load(None, ["data.kind=files", "data.labels=none"])) == \
        ("coverage", True)
    with pytest.raises(Exception, match="data.kind"):
        get_task("sound")
