"""Verification adapter of stage kind ``retime``: combinational, nothing to observe."""

from __future__ import annotations

from . import VerifyAdapter


def _none(entry, it) -> int:  # pragma: no cover - a retime has no entries
    raise AssertionError("a retime stage has no observable state")


KIND = VerifyAdapter("retime", entries=lambda names, stage, tap: [], value=_none)
