"""docs/model.md, the model contract, stays true: its version line and section anchors exist,
every "docs/model.md §N" reference in the repository names a section, and the numbers it
quotes (worked examples, LFSR draws, stabilisation table, seed derivation) are what the
reference implementation computes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from neutnngen.ir.interp import first_crossing, potentials
from neutnngen.ir.nodes import RandomSource, default_seeds
from neutnngen.ir.rng import advance, draws_per_wave, stabilisation_table

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "model.md").read_text()


def test_version_line_sections_and_anchors():
    head = re.search(r"^\*\*Model contract v(\d+)\.\*\*", DOC, re.M)
    assert head
    # the version line names the newest changelog entry
    log = DOC[DOC.index('<a id="changelog"></a>'):]
    assert int(head.group(1)) == max(int(v) for v in re.findall(r"^- \*\*v(\d+)\*\*", log,
                                                                  re.M))
    for n, title in enumerate(["Time and values", "Synapse response and segment firing",
                               "Hierarchy", "Lateral inhibition", "STDP", "Encoders",
                               "Pruning", "Metrics", "The RTL contract",
                               "Published reference numbers", "Clock-driven SNN stages",
                               "Spiking look-up tables (`lut`)"],
                              start=1):
        assert re.search(rf'<a id="s{n}"></a>\n## {n}\. {re.escape(title)}', DOC), n
    assert '<a id="changelog"></a>\n## Changelog' in DOC
    for target in re.findall(r"\]\(#([\w-]+)\)", DOC):  # internal links resolve
        assert f'<a id="{target}"></a>' in DOC, target


def _sources() -> list[Path]:
    """.py / .md / .toml files of the repository (not the venv, build or output folders)."""
    out = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if not x.startswith(".") and x not in ("out", "build")]
        out += [Path(d) / f for f in files if f.endswith((".py", ".md", ".toml"))]
    return out


def test_references_name_existing_sections():
    refs = []
    for path in _sources():
        for m in re.finditer(r"docs/model\.md (§§?[\d ,\-–]+)", path.read_text("utf-8", "ignore")):
            refs += [(path, int(n)) for n in re.findall(r"\d+", m.group(1))]
    assert refs  # the code cites the contract
    sections = {int(n) for n in re.findall(r"^## (\d+)\.", DOC, re.M)}
    assert all(n in sections for _, n in refs), [r for r in refs if r[1] not in sections]


def test_quoted_numbers_are_the_implementation_s():
    # §2 worked example
    for response, V_doc, fire in (("rnl", [1, 2, 4, 5, 6], 4), ("snl", [3, 3, 10], 2)):
        assert "V = " + ", ".join(map(str, V_doc)) in DOC
        V = potentials(np.array([[0, 2, -1]]), np.array([[3, 7, 5]]), np.ones((1, 3), bool),
                       response, 14 if response == "rnl" else 8)
        assert V[0, 0, :len(V_doc)].tolist() == V_doc
        assert first_crossing(V, np.array([6])).item() == fire
    # §5 stabilisation table (w_max = 7) and the first LFSR draws from state 1
    up, down = stabilisation_table(7)
    assert "`u_up = " + ", ".join(map(str, up.tolist())) + "`" in DOC
    assert down.tolist() == up.tolist()[::-1]
    draws, _ = advance(RandomSource(np.array([1])), np.array([1]), 5)
    assert "the first draws are " + ", ".join(map(str, draws[0].tolist())) in DOC
    assert "tap mask `0xd008`" in DOC and hex(RandomSource(np.array([1])).tapmask) == "0xd008"
    assert draws_per_wave(7) == 5 + 7 + 1 and "`5 + w_max + 1` draws" in DOC


def test_seed_derivation_as_written():
    def doc_seed(seed: int, i: int, salt: int, width: int = 16) -> int:
        m = (1 << 64) - 1
        z = (seed * 0x9E3779B97F4A7C15 + (salt << 32) + i + 1) & m
        z ^= z >> 30
        z = (z * 0xBF58476D1CE4E5B9) & m
        z ^= z >> 27
        z = (z * 0x94D049BB133111EB) & m
        z ^= z >> 31
        return z % ((1 << width) - 1) + 1

    for seed, salt in ((0, 0), (7, 0), (3, 4096 + 2)):
        assert default_seeds(6, seed, salt=salt).tolist() == [doc_seed(seed, i, salt) for i in range(6)]
