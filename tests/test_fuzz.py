"""Property-based fuzzing (hypothesis) of the IR reader and the config loader (#16): any
input gives a valid object or one of neutnngen's own errors, never a crash. The suite runs a
few hundred cases (``NEUTNNGEN_FUZZ_EXAMPLES`` raises it);
``benchmarks/bench_fuzz.py`` runs 10,000 and reports the crash count."""

from __future__ import annotations

import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import fuzzing  # noqa: E402

N = int(os.environ.get("NEUTNNGEN_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=N, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def test_the_unmutated_base_reads():
    doc, arrays = fuzzing._BASE
    assert fuzzing.read_ir(doc, arrays) == "ok"


@FAST
@given(fuzzing.mutated_documents())
def test_ir_reader_never_crashes(case):
    doc, arrays = case
    assert fuzzing.read_ir(doc, arrays) in ("ok", "error")


@settings(FAST, max_examples=max(N // 3, 10))
@given(fuzzing.file_pairs())
def test_ir_files_never_crash(tmp_path, pair):
    assert fuzzing.read_ir_files(tmp_path, *pair) in ("ok", "error")


@FAST
@given(fuzzing.config_tables(), st.lists(fuzzing.override_texts, max_size=3))
def test_config_loader_never_crashes(tables, overrides):
    assert fuzzing.load_config(tables, overrides) in ("ok", "error")
