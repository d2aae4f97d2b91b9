"""One-way imports: the import-linter contracts of pyproject.toml hold (layers, no cycles),
and the task registry covers every data kind the config accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> Path:
    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        pytest.fail("lint-imports is not installed in this environment; install the dev extra: "
                    "pip install -e '.[dev]'")
    return exe


def test_import_contracts_hold():
    r = subprocess.run([str(_lint_imports()), "--no-logo", "--no-cache"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "Contracts: 2 kept, 0 broken." in out, out[-4000:]


def test_contract_catches_an_upward_import(tmp_path):
    """The same contract fails on a copy of the package where a low module imports a high
    one (so the test above can fail)."""
    import shutil

    pkg = tmp_path / "neutnngen"
    shutil.copytree(ROOT / "neutnngen", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(pkg / "data" / "readout.py", "a") as fh:
        fh.write("\nfrom neutnngen.pipeline import run  # noqa: E402,F401\n")
    r = subprocess.run([str(_lint_imports()), "--no-logo", "--no-cache"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    out = r.stdout + r.stderr
    assert r.returncode != 0, out[-4000:]
    assert "neutnngen.data is not allowed to import neutnngen.pipeline" in out, out[-4000:]


def test_every_data_kind_has_a_task():
    from neutnngen.config import CHOICES
    from neutnngen.pipeline import TASKS, get_task

    assert set(TASKS) == set(CHOICES["data.kind"])
    for kind, task in TASKS.items():
        assert task.kind == kind and get_task(kind) is task


def test_ir_imports_no_heavy_package():
    code = ("import sys, neutnngen.ir, neutnngen._io, neutnngen.config, neutnngen.progress; "
            "print(sorted(m for m in ('torch', 'amaranth', 'cocotb', 'neutnngen.pipeline') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
