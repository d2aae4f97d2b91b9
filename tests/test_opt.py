"""``neutnngen opt FILE.json -p SPEC [-o OUT.json]``: golden IR text before and after a pass
pipeline, and one-line errors for a bad spec or a missing file.

The input is ``golden/opt/input.txt`` (canonical IR text, parsed and saved as JSON + NPZ);
each expected output is ``golden/opt/<case>.txt``. After an intended change of a pass or of
the text form, rewrite them with ``NEUTNNGEN_UPDATE_GOLDEN=1 pytest tests/test_opt.py`` and
read the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neutnngen.cli import main
from neutnngen.ir import load, parse, save, to_text

GOLDEN = Path(__file__).resolve().parent / "golden" / "opt"
CASES = {
    "none": "none",
    "prune_weight_max1": "prune-weight{max=1}",
    "weight_then_fraction": "prune-weight{max=2}, prune-fraction{target=0.5}",
    "fraction_per_neuron": "prune-fraction{target=0.25,scope=neuron}",
}


@pytest.fixture
def ir_file(tmp_path) -> Path:
    return save(parse((GOLDEN / "input.txt").read_text()), tmp_path / "net.json")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("NEUTNNGEN_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name}: IR text differs from {path}"


def test_input_round_trips(ir_file):
    assert to_text(load(ir_file)) == (GOLDEN / "input.txt").read_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_opt_prints_the_transformed_ir(name, ir_file, capsys):
    assert main(["opt", str(ir_file), "-p", CASES[name]]) == 0
    out, err = capsys.readouterr()
    _golden(name, out)
    if name == "none":
        assert out == (GOLDEN / "input.txt").read_text() and err == ""
    else:  # one summary line per pass on stderr, canonical spec first
        lines = err.splitlines()
        assert len(lines) == len(CASES[name].split("},"))
        assert all(" synapses" in ln and " -> " in ln for ln in lines)


def test_opt_writes_json_and_npz(ir_file, tmp_path, capsys):
    out = tmp_path / "sub" / "pruned.json"
    assert main(["opt", str(ir_file), "-p", CASES["weight_then_fraction"], "-o", str(out)]) == 0
    stdout, err = capsys.readouterr()
    assert out.is_file() and out.with_suffix(".npz").is_file()
    assert to_text(load(out)) == (GOLDEN / "weight_then_fraction.txt").read_text()
    assert stdout.startswith(f"wrote {out} and {out.with_suffix('.npz')} (passes: "
                             "prune-weight{max=2,bank=distal,keep=reachable},prune-fraction{")
    assert err.splitlines()[0] == \
        "prune-weight{max=2,bank=distal,keep=reachable}: 24 -> 13 synapses"


@pytest.mark.parametrize("spec,message", [
    ("prune-wieght{max=1}", "error: unknown pass 'prune-wieght' (did you mean 'prune-weight'?)"),
    ("prune-weight{max=x}", "error: prune-weight{max=x}: option max expects an integer, got 'x'"),
    ("prune-fraction{target=2}", "error: prune-fraction{target=2.0}: target=2.0 out of range"),
    ("prune-weight{max=1", "error: malformed pass pipeline 'prune-weight{max=1': '{' of "
                           "prune-weight has no matching '}'"),
    ("prune-inactive", "error: prune-inactive needs 'activity' in the pass context"),
])
def test_bad_spec_is_one_line_exit_2(spec, message, ir_file, capsys):
    assert main(["opt", str(ir_file), "-p", spec]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and err.count("\n") == 1


def test_missing_ir_file_is_one_line_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert main(["opt", str(missing), "-p", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.endswith(f"no IR file at {missing}\n")
    assert err.count("\n") == 1


def test_missing_passes_option_is_a_usage_error(ir_file, capsys):
    with pytest.raises(SystemExit) as e:
        main(["opt", str(ir_file)])
    assert e.value.code == 2 and "-p/--passes" in capsys.readouterr().err
