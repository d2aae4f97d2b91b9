"""Low-level file helpers every package may use: atomic writes, strict JSON and content
digests. Standard library and numpy only; nothing above ``errors`` is imported, so any
module of neutnngen can depend on this one without an import cycle.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "digest", "finite", "json_default",
           "read_json", "sha256_file", "to_json", "write_json"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename, so a reader never
    sees a half-written file (an interrupted write leaves the old file or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode())


def finite(o: Any) -> Any:
    """``o`` with every non-finite float (NaN, infinities: a metric with nothing to measure)
    replaced by None, numpy arrays as lists; for strict JSON."""
    if isinstance(o, float | np.floating):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, dict):
        return {k: finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [finite(v) for v in o]
    if isinstance(o, np.ndarray):
        return finite(o.tolist())
    return o


def json_default(o: Any) -> Any:
    """``json.dumps(default=...)`` for numpy scalars and arrays and paths."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def to_json(obj: Any) -> str:
    """Strict, canonical JSON text (sorted keys, 2-space indent, trailing newline; NaN and
    infinities become null)."""
    return json.dumps(finite(obj), indent=2, sort_keys=True, default=json_default,
                      allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write :func:`to_json` of ``obj`` atomically."""
    return atomic_write_text(path, to_json(obj))


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON document at ``path``."""
    return json.loads(Path(path).read_text())


def digest(*parts: Any) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of every part (order matters)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=json_default).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Full SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
