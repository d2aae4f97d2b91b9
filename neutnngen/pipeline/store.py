"""The resume store: what a directory of results already holds, and for which inputs.

One ``state.json`` per output directory maps a *record name* (a stage: ``train``,
``compile``, ...; or a unit of a bigger job: a pruning point, a design-space trial) to the
digest of everything its result depends on (:func:`neutnngen._io.digest`) and the files that
hold the result (paths relative to the directory). A record is *fresh* when the digest
matches and every file exists; a rerun skips fresh work, so an interrupted run resumes and a
changed input reruns exactly what depends on it. Records are written only after their files
(atomically), so a killed run never leaves a fresh record without its result. A record
also holds the fingerprint of the neutnngen that computed it (:func:`code_fingerprint`):
results of another version (or of a record without one) are computed again, so an upgraded
generator never resumes the Verilog, IR or metrics of the old one.

``neutnngen run`` (stages), ``neutnngen prune`` (the base run, the activity replay, every
point) and ``neutnngen dse`` (every trial directory) all resume through this class. The
tool-level build cache of :mod:`neutnngen.flows` (Yosys / nextpnr results keyed by source,
script and tool version, shared by every directory in ``~/.cache``) is a different thing and
stays: it saves tool runs across directories, the store saves pipeline work inside one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .._io import read_json, write_json

STATE = "state.json"
RUN = "@run"
"""The record of the directory's run as a whole: ``status`` in progress / complete."""
IN_PROGRESS = "IN_PROGRESS"
"""The file present while a run into the directory has not finished."""


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """16 hex digits of SHA-256 over the package's Python sources (relative path and bytes,
    in sorted order): what a resumed result must have been computed by."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


class Store:
    """The records of one directory (``root/state.json``)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.path = self.root / STATE
        self.records: dict[str, dict[str, Any]] = {}
        self.reload()

    def reload(self) -> None:
        """Read the records again (another Store object may have written some)."""
        self.records = {}
        if not self.path.exists():
            return
        try:
            raw = read_json(self.path)
        except (OSError, json.JSONDecodeError):
            raw = {}  # a damaged state file: nothing is fresh, everything reruns
        for name, rec in (raw.items() if isinstance(raw, dict) else ()):
            if isinstance(rec, str):  # state.json of older versions: stage -> key
                rec = {"key": rec, "files": []}
            if isinstance(rec, dict) and isinstance(rec.get("key"), str):
                self.records[name] = rec

    def _abs(self, f: str | os.PathLike[str]) -> Path:
        p = Path(f)
        return p if p.is_absolute() else self.root / p

    def _rel(self, f: str | os.PathLike[str]) -> str:
        p = Path(f)
        try:
            return str(p.relative_to(self.root)) if p.is_absolute() else str(p)
        except ValueError:
            return str(p)

    def fresh(self, name: str, key: str, *files: str | os.PathLike[str]) -> bool:
        """Whether record ``name`` has digest ``key``, was computed by this neutnngen
        (:func:`code_fingerprint`) and all its files (the recorded ones and ``files``)
        exist."""
        rec = self.records.get(name)
        if rec is None or rec.get("key") != key or rec.get("code") != code_fingerprint():
            return False
        return all(self._abs(f).exists() for f in [*rec.get("files", []), *files])

    def done(self, name: str, key: str, *files: str | os.PathLike[str], **meta: Any) -> None:
        """Record ``name`` as finished for ``key`` with its result ``files``."""
        self.reload()
        self.records[name] = {"key": key, "files": sorted({self._rel(f) for f in files}),
                              "code": code_fingerprint(), **meta}
        self.save()

    def forget(self, name: str) -> None:
        self.reload()
        if self.records.pop(name, None) is not None:
            self.save()

    def get(self, name: str) -> dict[str, Any] | None:
        return self.records.get(name)

    def save(self) -> None:
        write_json(self.path, self.records)

    # ------------------------------------------------------------------ a run's lifetime
    def remove(self, *names: str) -> list[str]:
        """Delete the result files of records ``names`` and forget the records (results of
        an older config that must not stay next to a new one). Returns the removed paths."""
        self.reload()
        gone: list[str] = []
        root = self.root.resolve()
        for name in names:
            rec = self.records.pop(name, None)
            for f in (rec or {}).get("files", []):
                p = self._abs(f)
                if p.is_file() and root in p.resolve().parents:  # never outside the folder
                    p.unlink()
                    gone.append(str(f))
        self.save()
        return gone

    def begin(self, key: str, **meta: Any) -> dict[str, Any] | None:
        """Mark the directory *in progress* for a run of config digest ``key`` (record
        :data:`RUN`, and the file :data:`IN_PROGRESS` a user sees with ``ls``). Returns the
        previous run record (None for a new directory)."""
        self.reload()
        old = self.records.get(RUN)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / IN_PROGRESS).write_text(
            "A neutnngen run into this folder has not finished (running, or interrupted).\n"
            "Results here may be partial; run the same command again to resume.\n")
        self.records[RUN] = {"key": key, "files": [], "status": "in progress", **meta}
        self.save()
        return old

    def finish(self, key: str) -> None:
        """Mark the run of ``key`` complete (after its last stage committed)."""
        self.reload()
        rec = dict(self.records.get(RUN) or {"key": key, "files": []})
        rec["status"] = "complete"
        self.records[RUN] = rec
        self.save()
        (self.root / IN_PROGRESS).unlink(missing_ok=True)

    def start(self, key: str, reports: tuple[str, ...]) -> bool:
        """:meth:`begin` for ``key``, removing the ``reports`` (file names in the folder)
        when the previous run was for another key or did not finish (only in a folder
        neutnngen wrote before: a user's own files are never touched). Returns whether the
        previous run had the same key."""
        ours = self.path.exists()
        old = self.begin(key)
        same = old is not None and old.get("key") == key
        if ours and (not same or old.get("status") != "complete"):
            for f in reports:
                (self.root / f).unlink(missing_ok=True)
        return same

    def complete(self) -> bool:
        """Whether the last run into the directory finished."""
        rec = self.records.get(RUN)
        return rec is not None and rec.get("status") == "complete"
