"""``data.kind = "files"``: a user's own series or images from .npz / .csv / .tsv / .ts files.

Readers and their one-line errors run on small files the tests write; the end-to-end test
exports the real ItalyPowerDemand splits (aeon) to .npz and checks that a ``files`` run on
them trains, compiles and verifies (cocotb) exactly like ``data.kind = "ucr"`` on the same
data (same IR, same metrics)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neutnngen import config
from neutnngen.cli import main
from neutnngen.data import load_files
from neutnngen.errors import DataError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _series(n=40, p=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = np.sin(np.linspace(0, 3, p))[None] * (1 + y[:, None]) + 0.1 * rng.standard_normal((n, p))
    return X, y


def _write_delimited(path: Path, X, y=None, sep=",", label="first", header=None):
    lines = [sep.join(header)] if header else []
    for i, row in enumerate(X):
        vals = [f"{v:.6g}" for v in row]
        if y is not None:
            vals = [str(y[i])] + vals if label == "first" else vals + [str(y[i])]
        lines.append(sep.join(vals))
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------ readers
def test_npz_csv_tsv_ts_read_the_same_samples(tmp_path):
    X, y = _series()
    np.savez(tmp_path / "s.npz", X=X, y=y)
    _write_delimited(tmp_path / "s.csv", X, y, ",", "last", header=[f"t{i}" for i in range(12)] + ["cls"])
    _write_delimited(tmp_path / "s.tsv", X, y, "\t", "first")
    a = load_files(tmp_path / "s.npz", seed=3)
    b = load_files(tmp_path / "s.csv", labels="last", seed=3)
    c = load_files(tmp_path / "s.tsv", seed=3)
    for d in (a, b, c):
        assert d.X_train.shape == (28, 12) and d.X_test.shape == (12, 12)
        assert d.classes == ("0", "1") and d.image_shape is None and d.labelled
        # stratified: both classes keep their share in both parts
        assert np.bincount(d.y_train).tolist() == [14, 14]
        assert np.bincount(d.y_test).tolist() == [6, 6]
    np.testing.assert_allclose(a.X_train, b.X_train, rtol=1e-5)
    np.testing.assert_array_equal(b.X_train, c.X_train)
    assert not a.X_train.flags.writeable
    # the same seed gives the same split; another seed another one
    assert np.array_equal(load_files(tmp_path / "s.npz", seed=3).X_test, a.X_test)
    assert not np.array_equal(load_files(tmp_path / "s.npz", seed=4).X_test, a.X_test)


def test_ts_file_and_train_test_files(tmp_path):
    from neutnngen.data import load_ucr

    ts = EXAMPLES / "data" / "ItalyPowerDemand_TRAIN.ts"
    ds = load_ucr("ItalyPowerDemand")
    full = load_files(ts, ts, labels="first")  # the same file as train and test
    np.testing.assert_array_equal(full.X_train, ds.X_train)
    assert full.classes == tuple(ds.classes)
    assert [full.classes[i] for i in full.y_train] == [ds.classes[i] for i in ds.y_train]
    assert "given" in full.split


def test_images_from_npz_and_from_rows(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.random((20, 4, 6))
    y = np.repeat(["cat", "dog"], 10)
    np.savez(tmp_path / "img.npz", X=imgs, y=y)
    d = load_files(tmp_path / "img.npz", test_fraction=0.25)
    assert d.image_shape == (4, 6) and d.X_train.shape == (15, 4, 6) and d.classes == ("cat", "dog")
    _write_delimited(tmp_path / "img.csv", imgs.reshape(20, 24), y)
    r = load_files(tmp_path / "img.csv", image_shape=(4, 6), test_fraction=0.25)
    assert r.image_shape == (4, 6)
    np.testing.assert_allclose(r.X_train, d.X_train, rtol=1e-5)


def test_unlabelled_samples(tmp_path):
    X, _ = _series()
    _write_delimited(tmp_path / "u.csv", X)
    d = load_files(tmp_path / "u.csv", labels="none")
    assert not d.labelled and d.classes == () and (d.y_train == 0).all()


# ------------------------------------------------------------------------------ errors
def _bad(tmp_path, name: str, content, **kw) -> str:
    p = tmp_path / name
    if isinstance(content, str):
        p.write_text(content)
    elif isinstance(content, bytes):
        p.write_bytes(content)
    else:
        np.savez(p, **content)
    with pytest.raises(DataError) as ei:
        load_files(p, **kw)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith("data.") and str(p) in msg or "image_shape" in msg, msg
    return msg


@pytest.mark.parametrize("name,content,kw,fragment", [
    ("r.csv", "1,2,3\n1,2\n", {}, "line 2 has 1 values, the lines before 2"),
    ("n.csv", "a,1,2\nb,1,x\n", {}, "line 2, field 3: 'x' is not a number"),
    ("nan.csv", "a,1,2\nb,1,NaN\n", {}, "missing, NaN or infinite"),
    ("gap.tsv", "a\t1\t\nb\t1\t2\n", {}, "missing, NaN or infinite"),
    ("inf.npz", {"X": np.array([[1.0, np.inf], [1, 2]]), "y": np.array([0, 1])}, {},
     "missing, NaN or infinite"),
    ("count.npz", {"X": np.zeros((5, 3)), "y": np.zeros(4)}, {}, "5 samples but labels of shape [4]"),
    ("nolab.npz", {"X": np.zeros((5, 3))}, {}, "has no array 'y' of labels"),
    ("nox.npz", {"data": np.zeros((5, 3))}, {}, "expected an array 'X'"),
    ("rank.npz", {"X": np.zeros((2, 2, 2, 2)), "y": np.zeros(2)}, {}, "expected [n, length] series"),
    ("empty.npz", {"X": np.zeros((0, 3)), "y": np.zeros(0)}, {}, "expected [n, length] series"),
    ("str.npz", {"X": np.array([["a", "b"]]), "y": np.zeros(1)}, {}, "expected numbers"),
    ("obj.npz", {"X": np.array([[1, "a"]], dtype=object)}, {}, "pickled (object) arrays"),
    ("neg.npz", {"X": -np.ones((4, 2, 2)), "y": np.zeros(4)}, {}, "image pixels must be >= 0"),
    ("shape.csv", "a,1,2,3\nb,1,2,3\n", {"image_shape": (2, 2)}, "needs 4"),
    ("bin.csv", b"\xff\xfe\x00\x01", {}, "is not UTF-8 text"),
    ("no.tsv", "a 1 2\nb 1 2\n", {}, "has no tab"),
    ("few.csv", "a,1\nb,2\n", {"test_fraction": 0.1}, "leave 2 for training and 0 for testing"),
    ("lab.csv", "a,1\n,2\n", {}, "labels are empty"),
    ("x.xlsx", "1", {}, "unsupported file type '.xlsx'"),
    ("h.csv", "", {}, "holds no samples"),
])
def test_bad_files_give_one_line_errors(tmp_path, name, content, kw, fragment):
    assert fragment in _bad(tmp_path, name, content, **kw)


def test_missing_directory_mismatched_and_multivariate_files(tmp_path):
    with pytest.raises(DataError, match="file does not exist"):
        load_files(tmp_path / "nope.npz")
    with pytest.raises(DataError, match="is a directory"):
        load_files(tmp_path)
    np.savez(tmp_path / "a.npz", X=np.zeros((6, 3)), y=np.arange(6) % 2)
    np.savez(tmp_path / "b.npz", X=np.zeros((6, 4)), y=np.arange(6) % 2)
    with pytest.raises(DataError, match=r"test series have shape \[4\], the training ones \[3\]"):
        load_files(tmp_path / "a.npz", tmp_path / "b.npz")
    mv = tmp_path / "mv.ts"
    mv.write_text("@problemName x\n@timeStamps false\n@univariate false\n@dimensions 2\n"
                  "@equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n"
                  "1,2,3:4,5,6:a\n1,2,3:4,5,7:b\n")
    ds = load_files(mv, test_fraction=0.5)  # multivariate series: [n, channels, length]
    assert ds.X_train.shape == (1, 2, 3) and ds.image_shape is None
    assert (ds.info()["channels"], ds.info()["length"]) == (2, 3)
    with pytest.raises(DataError, match=r"multivariate series \(2 channels of 3 values\)"):
        load_files(mv, test_fraction=0.5, image_shape=(2, 3))
    # a 3-D .npz is images unless data.layout = "series" says it holds channels
    np.savez(tmp_path / "mv.npz", X=-np.arange(24.0).reshape(4, 2, 3), y=np.arange(4) % 2)
    with pytest.raises(DataError, match=r"pixels must be >= 0.*data.layout = 'series'"):
        load_files(tmp_path / "mv.npz", test_fraction=0.5)
    npz = load_files(tmp_path / "mv.npz", test_fraction=0.5, layout="series")
    assert npz.image_shape is None and npz.X_train.shape == (2, 2, 3)
    assert npz.info()["channels"] == 2
    with pytest.raises(DataError, match="data.layout='rows'; expected 'auto' or 'series'"):
        load_files(tmp_path / "mv.npz", layout="rows")
    np.savez(tmp_path / "img.npz", X=np.ones((2, 2, 3)), y=np.arange(2))  # [n, 2, 3] images
    with pytest.raises(DataError, match=r"mv.ts' holds series but .*img.npz' holds images"):
        load_files(tmp_path / "img.npz", mv)
    with pytest.raises(DataError, match=r"img.npz' holds images but .*mv.ts' holds series"):
        load_files(mv, tmp_path / "img.npz")
    bad = tmp_path / "bad.ts"
    bad.write_text("@data\n1,2,3:a\n1,2:b\n")
    with pytest.raises(DataError, match="bad.ts"):
        load_files(bad)


def test_config_errors_before_any_work(tmp_path, capsys):
    X, _ = _series()
    _write_delimited(tmp_path / "u.csv", X)
    base = ["run", str(EXAMPLES / "files_italypower.toml"), "--out", str(tmp_path / "o"), "-q"]
    cases = [
        (["--set", "data.train="], "needs data.train"),
        (["--set", f"data.train={tmp_path / 'missing.npz'}"], "file does not exist"),
        (["--set", f"data.train={tmp_path / 'u.csv'}", "--set", "data.labels=none",
          "--set", "network.neurons=0"], "network.neurons=0 means one neuron per class, but the "
                                         "samples are unlabelled"),
        (["--set", f"data.train={tmp_path / 'u.csv'}", "--set", "data.labels=none",
          "--set", "train.rule=rstdp"], "nothing can be learned with labels"),
        (["--set", "data.labels=middle"], "data.labels='middle'; accepted: first, last, none"),
        (["--set", "data.test_fraction=1.5"], "data.test_fraction=1.5 out of range"),
    ]
    for extra, fragment in cases:
        assert main(base + extra) == 2, extra
        err = capsys.readouterr().err
        assert fragment in err and "Traceback" not in err and err.count("\n") == 1, err
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_relative_paths_follow_the_config_file(tmp_path):
    from neutnngen.pipeline import load_config

    cfg = load_config(EXAMPLES / "files_italypower.toml")
    assert Path(cfg.data.train) == EXAMPLES / "data" / "ItalyPowerDemand_TRAIN.ts"
    cfg = load_config(EXAMPLES / "files_italypower.toml", ["data.train=mine.csv"])
    assert cfg.data.train == "mine.csv"  # an override is relative to the current folder


def test_files_task_trains_images_and_unlabelled_samples(tmp_path):
    """Images through the image encoders (pooled), unlabelled series through coverage only."""
    from neutnngen import pipeline

    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    imgs = np.zeros((40, 8, 8))
    imgs[y == 0, :4] = 1.0  # top half bright vs bottom half bright
    imgs[y == 1, 4:] = 1.0
    imgs += 0.2 * rng.random(imgs.shape)
    np.savez(tmp_path / "img.npz", X=imgs, y=y)
    cfg = config.from_dict({"data": {"kind": "files", "train": str(tmp_path / "img.npz"),
                                     "encoder": "posneg", "pool": 2},
                            "train": {"epochs": 2}})
    rep = pipeline.run(cfg, tmp_path / "img", stages=("train",), show=False)
    assert rep["dataset"]["image"] == [4, 4, 2] and rep["ir"]["inputs"] == 32
    m = rep["metrics"]["test"]
    assert {"rand_index", "error", "coverage", "winner_counts"} <= set(m)
    assert set(rep["baseline"]) == {"kmeans", "nearest_centroid"}
    assert pipeline.primary_metric(cfg) == ("adjusted_rand_index", True)
    X, _ = _series()
    _write_delimited(tmp_path / "u.csv", X)
    cfg = config.from_dict({"data": {"kind": "files", "train": str(tmp_path / "u.csv"),
                                     "labels": "none"},
                            "network": {"neurons": 3}, "train": {"epochs": 1}})
    rep = pipeline.run(cfg, tmp_path / "u", stages=("train",), show=False)
    assert rep["baseline"] == {} and set(rep["metrics"]["test"]) == {
        "coverage", "n", "winner_counts", "active_neurons"}
    assert pipeline.primary_metric(cfg) == ("coverage", True)
    assert "unlabelled" in pipeline.headline(rep)


def test_files_task_trains_multivariate_ts(tmp_path):
    """A multivariate .ts file (UEA layout, ':' between channels) is one series per sample
    with every channel z-normalised on its own: 2 channels x 6 values -> 12 lines."""
    from neutnngen import pipeline

    rng = np.random.default_rng(1)
    lines = ["@problemName mv", "@timeStamps false", "@univariate false", "@dimensions 2",
             "@equalLength true", "@seriesLength 6", "@classLabel true up down", "@data"]
    for i in range(24):
        up = i % 2 == 0
        a = np.arange(6) * (1 if up else -1) + rng.normal(0, 0.3, 6)
        b = 50 + 10 * rng.normal(0, 1, 6)  # offset and scale of a channel do not matter
        lines.append(",".join(f"{v:.3f}" for v in a) + ":" + ",".join(f"{v:.3f}" for v in b)
                     + (":up" if up else ":down"))
    (tmp_path / "mv.ts").write_text("\n".join(lines) + "\n")
    cfg = config.from_dict({"data": {"kind": "files", "train": str(tmp_path / "mv.ts")},
                            "network": {"neurons": 2}, "train": {"epochs": 2}})
    # the same samples as an .npz of [n, channels, length] with data.layout = "series"
    from neutnngen.data.readers import read_samples
    from neutnngen.pipeline import get_task

    X, y = read_samples(tmp_path / "mv.ts")
    np.savez(tmp_path / "mv.npz", X=X, y=y)
    same = {"data": {"kind": "files", "train": str(tmp_path / "mv.npz"), "layout": "series"},
            "network": {"neurons": 2}}
    a = get_task(config.from_dict(same)).prepare(config.from_dict(same))
    b = get_task(cfg).prepare(cfg)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    rep = pipeline.run(cfg, tmp_path / "mv", stages=("train",), show=False)
    assert rep["ir"]["inputs"] == 12
    assert (rep["dataset"]["channels"], rep["dataset"]["length"]) == (2, 6)
    assert rep["metrics"]["test"]["error"] <= 0.25  # the first channel's slope separates
    from neutnngen.report.render import sections

    ds = dict(sections(rep, "", "error"))["Dataset"]
    assert "| channels x samples per series (multivariate) | 2 x 6 |" in ds


def test_changed_file_content_retrains(tmp_path, capsys):
    from neutnngen import pipeline

    X, y = _series()
    f = tmp_path / "s.npz"
    np.savez(f, X=X, y=y)
    cfg = config.from_dict({"data": {"kind": "files", "train": str(f)}, "train": {"epochs": 1}})
    pipeline.run(cfg, tmp_path / "o", stages=("train",))
    pipeline.run(cfg, tmp_path / "o", stages=("train",))
    assert "train: up to date (resumed)" in capsys.readouterr().err
    np.savez(f, X=X[::-1], y=y[::-1])
    pipeline.run(cfg, tmp_path / "o", stages=("train",))
    assert "train: up to date" not in capsys.readouterr().err


# ------------------------------------------------------------------------------ end to end
@pytest.mark.slow
@pytest.mark.requires_sim
def test_files_npz_trains_compiles_and_verifies_like_ucr(tmp_path):
    """The real ItalyPowerDemand splits written to .npz: ``data.kind = "files"`` trains,
    compiles and verifies (cocotb, every compared wave) and gives the same IR and metrics as
    ``data.kind = "ucr"`` on the same data."""
    from neutnngen.data import load_ucr

    ds = load_ucr("ItalyPowerDemand")
    np.savez(tmp_path / "train.npz", X=ds.X_train, y=np.asarray(ds.classes)[ds.y_train])
    np.savez(tmp_path / "test.npz", X=ds.X_test, y=np.asarray(ds.classes)[ds.y_test])
    common = ["--set", "train.epochs=2", "--set", "verify.samples=60",
              "--set", "synth.targets=[]", "-q"]
    files = ["run", str(EXAMPLES / "files_italypower.toml"), "--out", str(tmp_path / "f"),
             "--set", f"data.train={tmp_path / 'train.npz'}",
             "--set", f"data.test={tmp_path / 'test.npz'}", *common]
    assert main(files) == 0
    ucr = ["run", str(EXAMPLES / "ucr_italypowerdemand.toml"), "--out", str(tmp_path / "u"),
           "--set", "experiment.name=files_italypower", *common]
    assert main(ucr) == 0
    f = json.loads((tmp_path / "f" / "report.json").read_text())
    u = json.loads((tmp_path / "u" / "report.json").read_text())
    assert f["dataset"]["kind"] == "files" and f["dataset"]["n_test"] == len(ds.y_test)
    assert f["verify"]["mismatches"] == 0 and f["verify"]["waves"] == 60
    assert (tmp_path / "f" / "ir" / "model.txt").read_text() == \
        (tmp_path / "u" / "ir" / "model.txt").read_text()
    for k in ("rand_index", "adjusted_rand_index", "purity", "coverage", "winner_counts"):
        assert f["metrics"]["test"][k] == u["metrics"]["test"][k], k
    assert f["baseline"]["kmeans"] == u["baseline"]["kmeans"]
    assert 0 <= f["metrics"]["test"]["error"] <= 1
    assert (tmp_path / "f" / "report.html").exists()


@pytest.mark.slow
@pytest.mark.requires_sim
def test_files_example_runs(tmp_path):
    out = tmp_path / "ex"
    assert main(["run", str(EXAMPLES / "files_italypower.toml"), "--out", str(out),
                 "--set", "synth.targets=[]", "-q"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["dataset"]["n_train"] == 47 and rep["dataset"]["n_test"] == 20
    assert rep["verify"]["mismatches"] == 0 and rep["verify"]["waves"] == 20
