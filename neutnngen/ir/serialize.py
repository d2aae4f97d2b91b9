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
from .nodes import (
    Column,
    Inhibition,
    Kernel,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    Retime,
    SynapseBank,
    TimeSpec,
)

FORMAT = "neutnngen-ir"
VERSION = 1
SUPPORTED_VERSIONS = (1,)


def to_dict(net: Network) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(structure, arrays)``: JSON-ready structure whose arrays are named keys."""
    arrays: dict[str, np.ndarray] = {}

    def arr(key: str, a: np.ndarray, dtype: Any) -> str:
        arrays[key] = np.ascontiguousarray(np.asarray(a, dtype=dtype))
        return key

    stages = []
    for si, st in enumerate(net.stages):
        if isinstance(st, Retime):
            stages.append({"type": "retime", "name": st.name, "shift": st.shift, "t_max": st.t_max})
            continue
        cols = []
        for ci, c in enumerate(st.columns):
            base = f"s{si}/c{ci}"
            cd: dict[str, Any] = {
                "name": c.name, "inputs": c.inputs, "wres": c.distal.wres,
                "distal_weights": arr(f"{base}/distal_weights", c.distal.weights, np.int16),
                "distal_mask": arr(f"{base}/distal_mask", c.distal.mask, np.bool_),
                "theta": arr(f"{base}/theta", c.theta, np.int32),
                "segment_inhibition": str(c.segment_inhibition),
                "column_inhibition": str(c.column_inhibition),
                "proximal_mode": c.proximal_mode, "proximal_inputs": c.proximal_inputs,
                "proximal": None, "proximal_theta": None, "random": None,
            }
            if c.proximal is not None:
                cd["proximal"] = {
                    "wres": c.proximal.wres,
                    "weights": arr(f"{base}/proximal_weights", c.proximal.weights, np.int16),
                    "mask": arr(f"{base}/proximal_mask", c.proximal.mask, np.bool_),
                }
            if c.proximal_theta is not None:
                cd["proximal_theta"] = arr(f"{base}/proximal_theta", c.proximal_theta, np.int32)
            if c.random is not None:
                r = c.random
                cd["random"] = {"kind": r.kind, "width": r.width, "taps": list(r.taps),
                                "steps_per_draw": r.steps_per_draw, "draw_bits": r.draw_bits,
                                "sharing": r.sharing,
                                "seeds": arr(f"{base}/seeds", r.seeds, np.int64)}
            cols.append(cd)
        lr = st.learning
        stages.append({
            "type": "layer", "name": st.name, "inputs": st.inputs, "columns": cols,
            "kernel": None if st.kernel is None else {
                "height": st.kernel.height, "width": st.kernel.width,
                "channels": st.kernel.channels, "rfsize": st.kernel.rfsize,
                "stride": st.kernel.stride},
            "learning": None if lr is None else {
                "kind": lr.kind, "credit": lr.credit, "mu_capture": lr.mu_capture,
                "mu_minus": lr.mu_minus, "mu_search": lr.mu_search,
                "mu_backoff": lr.mu_backoff, "mu_min": lr.mu_min},
        })
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
        stages: list[Layer | Retime] = []
        for st in doc["stages"]:
            if st["type"] == "retime":
                stages.append(Retime(st["name"], st["shift"], st["t_max"]))
                continue
            cols = []
            for cd in st["columns"]:
                prox = None
                if cd["proximal"] is not None:
                    p = cd["proximal"]
                    prox = SynapseBank(get(p["weights"]), get(p["mask"]), p["wres"])
                rs = None
                if cd["random"] is not None:
                    r = cd["random"]
                    rs = RandomSource(seeds=get(r["seeds"]), kind=r["kind"], width=r["width"],
                                      taps=tuple(r["taps"]), steps_per_draw=r["steps_per_draw"],
                                      draw_bits=r["draw_bits"], sharing=r["sharing"])
                cols.append(Column(
                    name=cd["name"], inputs=cd["inputs"],
                    distal=SynapseBank(get(cd["distal_weights"]), get(cd["distal_mask"]), cd["wres"]),
                    theta=get(cd["theta"]),
                    segment_inhibition=Inhibition.parse(cd["segment_inhibition"]),
                    column_inhibition=Inhibition.parse(cd["column_inhibition"]),
                    proximal_mode=cd["proximal_mode"], proximal_inputs=cd["proximal_inputs"],
                    proximal=prox,
                    proximal_theta=None if cd["proximal_theta"] is None else get(cd["proximal_theta"]),
                    random=rs))
            k = st["kernel"]
            lr = st["learning"]
            stages.append(Layer(
                name=st["name"], inputs=st["inputs"], columns=tuple(cols),
                kernel=None if k is None else Kernel(**k),
                learning=None if lr is None else LearningRule(**lr)))
        return Network(doc["name"], TimeSpec(**doc["time"]), doc["inputs"], tuple(stages),
                       tuple(doc.get("meta", {}).items()))
    except (KeyError, TypeError) as e:
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
    return from_dict(doc, arrays)
