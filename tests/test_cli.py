"""The command line: --version, and every subcommand's --help names every option, its
metavar and its choices (so a user never has to read the code to find e.g. ``learn``)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from neutnngen.cli import build_parser, main


def _subparsers(ap: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in ap._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    raise AssertionError("no subcommands")


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"neutnngen {version('neutnngen')}"


def test_top_level_help_lists_every_subcommand():
    ap = build_parser()
    text = ap.format_help()
    subs = _subparsers(ap)
    assert {"run", "train", "ir", "opt", "compile", "verify", "synth", "dse", "prune"} <= set(subs)
    for name in subs:
        assert re.search(rf"\b{name}\b", text), name
    assert "--version" in text


@pytest.mark.parametrize("name", sorted(_subparsers(build_parser())))
def test_every_option_and_choice_is_in_the_help(name):
    sub = _subparsers(build_parser())[name]
    text = " ".join(sub.format_help().split())  # argparse wraps lines
    for a in sub._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        assert a.help and a.help != argparse.SUPPRESS, f"{name} {a.option_strings or a.dest}: no help"
        for opt in a.option_strings:
            assert opt in text, f"{name}: {opt} not in --help"
        for choice in a.choices or ():
            assert str(choice) in text, f"{name} {a.option_strings or a.dest}: {choice!r} not in --help"


def test_compile_help_names_learn_mode():
    text = _subparsers(build_parser())["compile"].format_help()
    assert "{hardwired,register,learn}" in text


def test_compile_rejects_an_unknown_weight_mode(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compile", "x.json", "--out", "o", "--weights", "flash"])
    assert e.value.code == 2
    assert "invalid choice: 'flash'" in capsys.readouterr().err


def test_installed_script_runs():
    out = subprocess.run([sys.executable, "-m", "neutnngen.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "usage: neutnngen" in out and "opt" in out
