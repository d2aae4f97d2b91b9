"""Place cells on a user's own recorded path (data.trajectory, docs/data-files.md): the
shipped Sargolini path written to a file gives the same network as the shipped one; bad
files and keys fail with one line naming the row and the value, before any output folder
is made; a changed file is not resumed from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neutnngen.cli import main
from neutnngen.data.places import load_trajectory, read_trajectory
from neutnngen.errors import ConfigError, DataError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _write_csv(path, rows, header="t,x,y"):
    lines = ([header] if header else []) + [",".join(repr(float(v)) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _sargolini_rows() -> np.ndarray:
    tr = load_trajectory("sargolini")
    return np.column_stack([tr.t, tr.pos_cm])


def _train(argv, capsys):
    rc = main(["train", str(EXAMPLES / "place_cells.toml"), "-q", *argv])
    return rc, capsys.readouterr().err


def test_the_shipped_path_from_a_file_gives_the_shipped_network(tmp_path, capsys):
    f = _write_csv(tmp_path / "path.csv", _sargolini_rows())
    own, ship = tmp_path / "own", tmp_path / "ship"
    rc, err = _train(["--out", str(own), "--set", f"data.trajectory={f}",
                      "--set", "data.arena_cm=100,100", "--set", "data.name=my_rat"], capsys)
    assert rc == 0, err
    rc, err = _train(["--out", str(ship)], capsys)
    assert rc == 0, err
    a = json.loads((own / "metrics.json").read_text())
    b = json.loads((ship / "metrics.json").read_text())
    assert (own / "ir" / "model.json").read_bytes() == (ship / "ir" / "model.json").read_bytes()
    assert a["metrics"] == b["metrics"] and a["baseline"] == b["baseline"]
    assert a["dataset"]["name"] == "place cells (my_rat)"
    assert a["dataset"]["source"] == f"your file: {f}"
    assert a["dataset"]["citation"] == "your own recording"


def test_reader_drops_lost_positions_infers_the_arena_and_reads_npz(tmp_path):
    rows = [[0.0, 1.0, 2.0], [0.5, float("nan"), 3.0], [1.0, 40.2, 7.0], [1.5, 3.0, 19.5]]
    t = read_trajectory(_write_csv(tmp_path / "p.csv", rows))
    assert t.t.tolist() == [0.0, 1.0, 1.5] and t.pos_cm[:, 0].tolist() == [1.0, 40.2, 3.0]
    assert t.arena_cm == (41.0, 20.0) and t.name == "p"
    assert "1 rows without a position dropped" in t.source
    np.savez(tmp_path / "p.npz", X=np.array(rows))
    z = read_trajectory(tmp_path / "p.npz", (50, 25), name="rat7")
    assert np.array_equal(z.t, t.t) and np.array_equal(z.pos_cm, t.pos_cm)
    assert z.arena_cm == (50.0, 25.0) and z.name == "rat7"
    tsv = tmp_path / "p.tsv"
    tsv.write_text("0\t1\t2\n1\t40.2\t7\n1.5\t3\t19.5\n")  # no header
    assert np.array_equal(read_trajectory(tsv).pos_cm, t.pos_cm)


BAD = [
    ("backwards", [[0, 1, 2], [1, 3, 4], [0.5, 2, 2]], (), ["row 3", "t = 0.5", "increasing"]),
    ("repeated-time", [[0, 1, 2], [0, 3, 4]], (), ["row 2", "increasing"]),
    ("negative", [[0, 1, 2], [1, -3, 4], [2, 2, 2]], (), ["row 2", "x = -3", ">= 0"]),
    ("outside-arena", [[0, 1, 2], [1, 300, 4], [2, 2, 2]], (100, 100),
     ["row 2", "x = 300", "arena_cm"]),
    ("no-time", [[0, 1, 2], [float("nan"), 3, 4]], (), ["row 2", "finite time"]),
    ("one-row", [[0, 1, 2], [1, float("nan"), 4]], (), ["1 row(s)", "at least 2"]),
    ("two-columns", [[0, 1], [1, 3]], (), ["3 columns", "t [s], x [cm], y [cm]"]),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_a_bad_trajectory_fails_with_its_row_and_leaves_no_folder(tmp_path, capsys, case):
    _, rows, arena, needles = case
    f = _write_csv(tmp_path / "bad.csv", rows, header="")
    with pytest.raises(DataError) as e:
        read_trajectory(f, arena)
    for n in needles:
        assert n in str(e.value), (n, str(e.value))
    out = tmp_path / "o" / "run"
    argv = ["--out", str(out), "--set", f"data.trajectory={f}"]
    if arena:
        argv += ["--set", "data.arena_cm=" + ",".join(map(str, arena))]
    rc, err = _train(argv, capsys)
    assert rc == 2 and "Traceback" not in err and needles[0] in err
    assert err.startswith("error: data.trajectory:")
    assert not (tmp_path / "o").exists(), "a failed run left its output folder behind"


def test_an_existing_output_folder_is_kept_on_failure(tmp_path, capsys):
    f = _write_csv(tmp_path / "bad.csv", [[0, 1, 2], [0, 3, 4]])
    out = tmp_path / "mine"
    out.mkdir()
    rc, _ = _train(["--out", str(out), "--set", f"data.trajectory={f}"], capsys)
    assert rc == 2 and out.is_dir() and list(out.iterdir()) == []


@pytest.mark.parametrize("sets, needle", [
    (["data.arena_cm=100,100"], "data.arena_cm=[100.0, 100.0]: expected [width, height]"),
    (["data.trajectory=p.csv", "data.arena_cm=1,2,3"], "data.arena_cm=[1.0, 2.0, 3.0]"),
    (["data.trajectory=p.csv", "data.arena_cm=0,5"], "data.arena_cm=(0.0, 5.0) out of range"),
    (["data.trajectory=nowhere.csv"], "'nowhere.csv': file does not exist"),
    (["data.trajectory=p.ts"], "a trajectory is read from a .csv, .tsv, .npz file"),
])
def test_bad_trajectory_keys(tmp_path, capsys, monkeypatch, sets, needle):
    monkeypatch.chdir(tmp_path)
    _write_csv(tmp_path / "p.csv", [[0, 1, 2], [1, 3, 4]])
    (tmp_path / "p.ts").write_text("@problemName x\n")
    argv = ["--out", str(tmp_path / "o")]
    for s in sets:
        argv += ["--set", s]
    rc, err = _train(argv, capsys)
    assert rc == 2 and needle in err, err
    assert not (tmp_path / "o").exists()


def test_a_trajectory_belongs_to_place_cells():
    from neutnngen.config import load

    with pytest.raises(ConfigError, match="data.kind = 'place_cells', not 'ucr'"):
        load(EXAMPLES / "ucr_gunpoint.toml", ["data.trajectory=p.csv"])


def test_a_config_files_relative_path_and_a_changed_file(tmp_path, capsys):
    rows = _sargolini_rows()[:6000]
    _write_csv(tmp_path / "rat.csv", rows)
    cfg = (EXAMPLES / "place_cells.toml").read_text().replace(
        'name = "sargolini"', 'trajectory = "rat.csv"')
    (tmp_path / "pc.toml").write_text(cfg)
    out = tmp_path / "o"
    assert main(["train", str(tmp_path / "pc.toml"), "--out", str(out), "-q"]) == 0
    first = json.loads((out / "metrics.json").read_text())
    assert first["dataset"]["source"] == f"your file: {tmp_path / 'rat.csv'}"
    # the same command after the file changed trains on the new file, not the old result
    _write_csv(tmp_path / "rat.csv", rows[:4000])
    assert main(["train", str(tmp_path / "pc.toml"), "--out", str(out), "-q"]) == 0
    second = json.loads((out / "metrics.json").read_text())
    assert second["dataset"]["n_train"] < first["dataset"]["n_train"]
    capsys.readouterr()
