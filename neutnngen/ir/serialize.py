"""Versioned, deterministic IR files: ``NAME.json`` (structure) + ``NAME.npz`` (arrays).

The JSON names its array file and the file's SHA-256, so a stale or swapped ``.npz`` is
detected. Both files are written atomically (temporary file + rename) and byte-identically
for the same network (sorted keys, fixed zip timestamps).

Reading is strict (:func:`check_document`): the JSON is checked against a schema (types,
ranges, required keys, the stage kinds of the registry, each with its kind's
:meth:`~neutnngen.ir.kinds.StageKind.json_schema`) and the NPZ (a zip of ``.npy`` members
with plain names inside the archive, integer or boolean dtypes, no pickles, no object
arrays) before any node is built; every problem is reported with its path in the file.
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

from ..errors import ConfigError, IRFormatError, read_text
from . import schema as sch
from .common import RESPONSES, TimeSpec
from .kinds import UnknownStageKind, kind_named, kind_of, known_kinds
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


def _stage(v: Any, path: str, ctx: sch.Ctx) -> None:
    if not isinstance(v, dict):
        ctx.err(path, f"expected a stage object with a \"type\" ({', '.join(known_kinds())}), "
                      f"got {sch._kind(v)}")
        return
    t = v.get("type")
    if "type" not in v:
        ctx.err(f"{path}.type", f"required key is missing; expected one of "
                                f"{', '.join(known_kinds())}")
        return
    try:
        kind = kind_named(t)
    except UnknownStageKind:
        i = path[path.rfind("[") + 1:-1] if path.endswith("]") else path
        ctx.err(f"{path}.type", f"stage {i} ({v.get('name', '?')!r}): unknown stage kind "
                                f"{t!r}; known: {', '.join(known_kinds())}")
        return
    spec = kind.json_schema()
    if spec is not None:
        spec.check(v, path, ctx)


def _unique_names(stages: list, path: str, ctx: sch.Ctx) -> None:
    names = [st.get("name") for st in stages]
    for i, n in enumerate(names):
        if names.index(n) != i:
            ctx.err(f"{path}[{i}].name", f"stage name {n!r} is used by stage {names.index(n)} "
                                         "too; expected unique names")


def document_schema() -> sch.Spec:
    """The schema of an IR JSON document (stages by their kind's schema)."""
    return sch.Obj({
        "format": sch.Str((FORMAT,)),
        "version": sch.Int(),
        "name": sch.Str(max_len=200),
        "inputs": sch.Int(1, 1 << 24),
        "time": sch.Obj({"timeres": sch.Int(1, 8), "response": sch.Str(RESPONSES)}),
        "stages": sch.ListOf(sch.Custom(_stage), 1, 1 << 16),
    }, optional={
        "meta": sch.Obj({}, extra=True),
        "arrays": sch.Obj({}, optional={"file": sch.Str(pattern=r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,250}\.npz",
                                           what="a plain .npz file name next to the JSON "
                                                "(no folders, no '..')"),
                           "sha256": sch.Str(pattern="[0-9a-f]{64}", what="64 hex digits")}),
    }, check_fn=lambda d, p, ctx: _unique_names(d["stages"], "stages", ctx))


def check_document(doc: Any, arrays: dict[str, np.ndarray]) -> list[str]:
    """Every problem of an IR document and its arrays (empty: it can be read)."""
    if isinstance(doc, dict) and doc.get("format") == FORMAT and \
            doc.get("version") not in SUPPORTED_VERSIONS:
        return [f"version: IR file version {doc.get('version')!r} is not supported; this "
                f"neutnngen reads versions {', '.join(map(str, SUPPORTED_VERSIONS))}"]
    return sch.check(document_schema(), doc, arrays)


def _raise(problems: list[str], path: str | None = None) -> None:
    raise IRFormatError("malformed IR: " + "; ".join(problems), path=path)


def from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Network:
    """The network of a document checked by :func:`check_document` (every problem is an
    :class:`IRFormatError` naming its path in the file)."""
    problems = check_document(doc, arrays)
    if problems:
        _raise(problems)

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
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, ConfigError) as e:
        # a plugin kind without a schema, or a check the schema does not cover yet
        msg = e.message if isinstance(e, ConfigError) else f"{type(e).__name__}: {e}"
        raise IRFormatError(f"malformed IR JSON: {msg}") from None


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


def _read_npz(npath: Path, blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of an NPZ archive, strictly: a zip of ``NAME.npy`` members with plain
    relative names, no pickles or object arrays."""
    where = str(npath)
    if not blob:
        raise IRFormatError("array file is empty; expected an NPZ archive written by "
                            "neutnngen", path=where)
    try:
        zf = zipfile.ZipFile(io.BytesIO(blob))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise IRFormatError(f"array file is not an NPZ (zip) archive: {e}",
                            path=where) from None
    arrays: dict[str, np.ndarray] = {}
    with zf:
        infos = zf.infolist()
        if len(infos) > 1 << 16:
            raise IRFormatError(f"array file has {len(infos)} members; expected at most "
                                f"{1 << 16}", path=where)
        for info in infos:
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else None
            if key is None or not sch.ARRAY_KEY.fullmatch(key):
                raise IRFormatError(f"array file: member {name[:80]!r} is not a plain "
                                    "NAME.npy inside the archive (no '', '.', '..' or absolute "
                                    "names)", path=where)
            if info.file_size > 1 << 31:
                raise IRFormatError(f"array file: member {name!r} unpacks to "
                                    f"{info.file_size} bytes; expected at most 2 GiB", path=where)
            try:
                with zf.open(info) as f:
                    a = np.lib.format.read_array(io.BytesIO(f.read()), allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError,
                    NotImplementedError, OverflowError, SyntaxError) as e:
                why = ("it holds Python objects (pickled), which are never loaded"
                       if "pickle" in str(e).lower() or "object" in str(e).lower() else str(e))
                raise IRFormatError(f"array file: member {name!r} cannot be read: {why}",
                                    path=where) from None
            if a.dtype.hasobject:
                raise IRFormatError(f"array file: member {name!r} is an object array; "
                                    "expected integer or boolean arrays", path=where)
            arrays[key] = a
    return arrays


def load(path: str | os.PathLike) -> Network:
    """Read a network written by :func:`save` (JSON path, or the stem), strictly (see the
    module docstring): any problem is an :class:`IRFormatError` naming the file and the
    path inside it."""
    if not str(path).strip():
        raise IRFormatError("IR path '': expected an IR file (.json with its .npz beside it)",
                            path="IR file")
    jpath, _ = _paths(path)
    if jpath.is_dir() or Path(path).is_dir():
        raise IRFormatError("is a folder; expected an IR file (.json with its .npz "
                            "beside it)", path=str(path))
    if not jpath.exists():
        raise IRFormatError(f"no IR file at {jpath}", path=str(jpath))
    try:
        text = read_text(jpath, "IR file")
    except ConfigError as e:
        raise IRFormatError(e.message, path=str(jpath)) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise IRFormatError(f"{jpath} is not valid JSON: {e}", path=str(jpath)) from e
    except RecursionError:
        raise IRFormatError("JSON nested too deeply", path=str(jpath)) from None
    if not isinstance(doc, dict):
        raise IRFormatError(f"expected a JSON object with format, version, name, "
                            f"inputs, time and stages, got {sch._kind(doc)}", path=str(jpath))
    if doc.get("format") != FORMAT:
        raise IRFormatError(f"format={doc.get('format')!r}; expected {FORMAT!r} (not "
                            "a neutnngen IR file)", path=str(jpath))
    ref = doc.get("arrays")
    if ref is None:
        ref = {}
    file_spec = document_schema().optional["arrays"]
    problems = sch.check(file_spec, ref, {})
    if problems:
        raise IRFormatError(f"arrays: {problems[0].removeprefix('(top level): ')}",
                            path=str(jpath))
    npath = jpath.with_name(ref.get("file", jpath.with_suffix(".npz").name))
    if not npath.exists():
        raise IRFormatError(f"array file {npath} named by {jpath} is missing", path=str(npath))
    if npath.is_dir():
        raise IRFormatError(f"array file {npath} is a folder; expected an NPZ archive",
                            path=str(npath))
    try:
        blob = npath.read_bytes()
    except OSError as e:
        raise IRFormatError(f"cannot read array file {npath}: {e.strerror or e}",
                            path=str(npath)) from None
    if ref.get("sha256") and hashlib.sha256(blob).hexdigest() != ref["sha256"]:
        raise IRFormatError(f"{npath} does not match the checksum recorded in {jpath} "
                            "(the two files come from different saves)", path=str(npath))
    arrays = _read_npz(npath, blob)
    try:
        return from_dict(doc, arrays)
    except IRFormatError as e:
        if e.path is not None:
            raise
        raise IRFormatError(e.message, path=str(jpath)) from None
