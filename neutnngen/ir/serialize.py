"""Versioned, deterministic IR files: ``NAME.json`` (structure) + ``NAME.npz`` (arrays).

The JSON names its array file and the file's SHA-256, so a stale or swapped ``.npz`` is
detected. Both files are written atomically (temporary file + rename) and byte-identically
for the same network (sorted keys, fixed zip timestamps).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IRFormatError
from .common import TimeSpec
from .kinds import UnknownStageKind, kind_named, kind_of
from .network import Network

FORMAT = "neutnngen-ir"
VERSION = 1
SUPPORTED_VERSIONS = (1,)


def to_dict(net: Network) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(structure, arrays)``: JSON-ready structure whose arrays are named keys. Stage ``i``
    is ``{"type": <kind name>, ...}`` as its kind writes it, arrays under ``s<i>/...``."""
    arrays: dict[str, np.ndarray] = {}

    def arr(key: str, a: np.ndarray, dtype: Any) -> str:
        arrays[key] = np.ascontiguousarray(np.asarray(a, dtype=dtype))
        return key

    stages = []
    for si, st in enumerate(net.stages):
        kind = kind_of(st)
        stages.append({"type": kind.name, **kind.to_json(st, f"s{si}", arr)})
    doc = {
        "format": FORMAT, "version": VERSION, "name": net.name, "inputs": net.inputs,
        "time": {"timeres": net.time.timeres, "response": net.time.response},
        "meta": dict(net.meta), "stages": stages,
    }
    return doc, arrays


def from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Network:
    if doc.get("format") != FORMAT:
        raise IRFormatError(f"format={doc.get('format')!r}; expected {FORMAT!r}")
    v = doc.get("version")
    if v not in SUPPORTED_VERSIONS:
        raise IRFormatError(
            f"IR file version {v!r} is not supported; this neutnngen reads versions "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))}")

    def get(key: str) -> np.ndarray:
        if key not in arrays:
            raise IRFormatError(f"array {key!r} missing from the .npz file")
        return arrays[key]

    try:
        stages = []
        for si, st in enumerate(doc["stages"]):
            try:
                kind = kind_named(st["type"])
            except UnknownStageKind as e:
                raise IRFormatError(f"stage {si} ({st.get('name', '?')!r}): {e.message}") from None
            stages.append(kind.from_json(st, get))
        return Network(doc["name"], TimeSpec(**doc["time"]), doc["inputs"], tuple(stages),
                       tuple(doc.get("meta", {}).items()))
    except (KeyError, TypeError, AttributeError) as e:
        raise IRFormatError(f"malformed IR JSON: {type(e).__name__}: {e}") from e


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            b = io.BytesIO()
            np.lib.format.write_array(b, arrays[key], allow_pickle=False)
            zf.writestr(info, b.getvalue())
    return buf.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix == ".json":
        return p, p.with_suffix(".npz")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".npz")


def save(net: Network, path: str | os.PathLike) -> Path:
    """Write ``net`` to ``path`` (``X.json`` + ``X.npz``). Returns the JSON path."""
    jpath, npath = _paths(path)
    jpath.parent.mkdir(parents=True, exist_ok=True)
    doc, arrays = to_dict(net)
    blob = _npz_bytes(arrays)
    doc["arrays"] = {"file": npath.name, "sha256": hashlib.sha256(blob).hexdigest()}
    _atomic_write(npath, blob)
    _atomic_write(jpath, (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode())
    return jpath


def load(path: str | os.PathLike) -> Network:
    """Read a network written by :func:`save` (JSON path, or the stem)."""
    jpath, _ = _paths(path)
    if not jpath.exists():
        raise IRFormatError(f"no IR file at {jpath}", path=str(jpath))
    try:
        doc = json.loads(jpath.read_text())
    except json.JSONDecodeError as e:
        raise IRFormatError(f"{jpath} is not valid JSON: {e}", path=str(jpath)) from e
    ref = doc.get("arrays") or {}
    npath = jpath.with_name(ref.get("file", jpath.with_suffix(".npz").name))
    if not npath.exists():
        raise IRFormatError(f"array file {npath} named by {jpath} is missing", path=str(npath))
    blob = npath.read_bytes()
    if ref.get("sha256") and hashlib.sha256(blob).hexdigest() != ref["sha256"]:
        raise IRFormatError(f"{npath} does not match the checksum recorded in {jpath} "
                            "(the two files come from different saves)", path=str(npath))
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    try:
        return from_dict(doc, arrays)
    except IRFormatError as e:
        if e.path is not None:
            raise
        raise IRFormatError(e.message, path=str(jpath)) from e
