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

from .errors import read_text  # re-exported: the reader of a user's text file

__all__ = ["atomic_write_bytes", "atomic_write_text", "check_in_file", "check_out_dir", "digest", "finite", "json_default",
           "read_json", "read_text", "sha256_file", "to_json", "write_json"]


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


# ------------------------------------------------------------------ user-named paths
NAME_MAX = 255
"""The longest single file name the common file systems accept."""




def check_in_file(value: str | os.PathLike[str], what: str) -> Path:
    """A user-named input file: exists, is a file (not a folder) and is readable."""
    from .errors import ConfigError

    s = os.fspath(value)
    if not str(s).strip():
        raise ConfigError(f"{what} '': expected a file path", path=what)
    p = Path(s)
    if not p.exists():
        raise ConfigError(f"{what} {s!r}: no such file", path=s)
    if p.is_dir():
        raise ConfigError(f"{what} {s!r} is a folder; expected a file", path=s)
    if not os.access(p, os.R_OK):
        raise ConfigError(f"{what} {s!r}: permission denied; expected a readable file", path=s)
    return p


def check_out_dir(value: str | os.PathLike[str], what: str, create: bool = True) -> Path:
    """A user-named output folder, checked before any work: not ``''``, not a file, not under
    a file, every name at most :data:`NAME_MAX` characters, writable; created when
    ``create``. Errors name the path and what is accepted."""
    from .errors import ConfigError, describe_os_error

    s = os.fspath(value)
    if not str(s).strip():
        raise ConfigError(f"{what} '': expected a folder path, e.g. out/run1", path=what)
    if "\0" in str(s):
        raise ConfigError(f"{what} {s!r}: a path cannot contain a NUL character", path=what)
    p = Path(s)
    for part in p.parts:
        if len(part.encode()) > NAME_MAX:
            raise ConfigError(f"{what}: the name {part[:40]!r}... has {len(part)} characters; "
                              f"the file system accepts at most {NAME_MAX} per name", path=what)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{what} {s!r} is a file; expected a folder (new or existing)",
                          path=s)
    anc = p
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if anc.exists() and not anc.is_dir():
        raise ConfigError(f"{what} {s!r} lies under the file {str(anc)!r}; expected a path "
                          "through folders", path=s)
    real = os.path.realpath(p)
    if real == "/proc" or real.startswith(("/proc/", "/sys/", "/dev/")) or real == "/sys":
        raise ConfigError(f"{what} {s!r} is in a kernel file system ({real.split('/')[1]}); "
                          "expected a normal writable folder", path=s)
    if create:
        try:
            p.mkdir(parents=True, exist_ok=True)
            probe = p / ".neutnngen-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise ConfigError(describe_os_error(e, what) + f" (cannot write into {s!r})",
                              path=s) from None
    return p
