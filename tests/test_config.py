"""Config loading, overrides and error messages; driver helpers; CLI error paths."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from neutnngen import config
from neutnngen.cli import main
from neutnngen.driver import training_order, winners
from neutnngen.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_examples_load_and_round_trip():
    for p in sorted(EXAMPLES.glob("ucr_*.toml")):
        cfg = config.load(p)
        assert config.from_dict(tomllib.loads(config.to_toml(cfg))) == cfg
    assert config.load(EXAMPLES / "ucr_gunpoint.toml").network.neurons == 2


def test_to_toml_writes_every_key_deterministically_and_reads_back():
    """The resolved config is written by a TOML writer (tomli-w): strings that need escaping,
    lists and [[layers]] tables read back to the same config, and the bytes depend only on
    the config."""
    # data.train: a free string (experiment.name is a safe folder name, see test_badinput)
    sets = ['data.train="quote \\" back\\\\slash \u00e9t\u00e9"', "synth.targets=generic,ecp5,ice40"]
    cfg = config.load(EXAMPLES / "mnist_neutnn.toml", sets)
    assert cfg.data.train == 'quote " back\\slash \u00e9t\u00e9'
    text = config.to_toml(cfg)
    assert text == config.to_toml(config.load(EXAMPLES / "mnist_neutnn.toml", sets))
    d = tomllib.loads(text)
    assert config.from_dict(d) == cfg
    assert d["synth"]["targets"] == ["generic", "ecp5", "ice40"]
    assert [t["name"] for t in d["layers"]] == ["features", "digits"]
    assert text.startswith("[experiment]\n") and "\n[[layers]]\n" in text
    assert set(d) == {"experiment", "data", "network", "train", "hdl", "verify", "synth", "layers"}
    assert len(d["network"]) == len(config.to_dict(cfg)["network"])  # every key, defaults too


def test_overrides_apply_and_coerce():
    cfg = config.load(EXAMPLES / "ucr_gunpoint.toml",
                      ["train.epochs=3", "hdl.weights=register", "synth.targets=generic", "verify.waves=true"])
    assert (cfg.train.epochs, cfg.hdl.weights, cfg.synth.targets, cfg.verify.waves) == (
        3, "register", ("generic",), True)


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("hdl.weights=flash", "hdl.weights='flash'; accepted: hardwired, register"),
        ("train.epochs=many", "train.epochs='many': expected an integer"),
        ("train.mu_min=2000", "train.mu_min=2000 out of range; expected 0..1024"),
        ("network.colour=2", "unknown key network.colour; accepted in [network]"),
        ("gpu.count=2", "unknown section [gpu]"),
        ("network.column_inhibition=kwta(two)", "kwta(k) needs an integer k"),
        ("synth.targets=generic,asic", "synth.targets contains 'asic'"),
        ("synth.targets=liberty", "synth.liberty (a .lib path) is empty"),
        ("epochs=3", "must be section.key"),
        ("train.epochs", "expected section.key=value"),
    ],
)
def test_config_errors_name_key_value_and_accepted(override, fragment):
    with pytest.raises(ConfigError) as ei:
        config.load(EXAMPLES / "ucr_gunpoint.toml", [override])
    assert fragment in str(ei.value)


def test_missing_and_malformed_config(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nepochs=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(bad)


def test_winners_earliest_lowest_index_or_none():
    out = np.array([[3, 2], [-1, -1], [4, 4], [-1, 6]])
    assert winners(out).tolist() == [1, -1, 0, 1]


def test_training_order_is_seeded_and_covers_every_epoch():
    a = training_order(50, 3, seed=1, shuffle=True)
    assert len(a) == 150 and all(sorted(a[i * 50:(i + 1) * 50]) == list(range(50)) for i in range(3))
    assert a.tolist() == training_order(50, 3, seed=1, shuffle=True).tolist()
    assert a.tolist() != training_order(50, 3, seed=2, shuffle=True).tolist()
    assert training_order(5, 2, 0, shuffle=False).tolist() == [0, 1, 2, 3, 4] * 2


def test_cli_reports_config_errors_with_exit_2(capsys):
    rc = main(["train", str(EXAMPLES / "ucr_gunpoint.toml"), "--set", "train.mode=turbo"])
    assert rc == 2
    assert "train.mode='turbo'; accepted: exact, fast" in capsys.readouterr().err


def test_cli_ir_show_and_verify(tmp_path, capsys):
    from conftest import make_column_net

    from neutnngen.ir import save, to_text

    net = make_column_net()
    p = save(net, tmp_path / "m")
    assert main(["ir", "show", str(p)]) == 0
    assert capsys.readouterr().out == to_text(net)
    assert main(["ir", "verify", str(p)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert main(["ir", "show", str(tmp_path / "missing.json")]) == 2
    assert "no IR file" in capsys.readouterr().err
