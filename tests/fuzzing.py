"""Hypothesis strategies and properties for fuzzing the IR reader and the config loader
(#16). Used by ``tests/test_fuzz.py`` (a few hundred cases in the suite) and by
``benchmarks/bench_fuzz.py`` (10,000 cases, crashes counted).

The property: whatever a file holds, reading it either gives a valid object or raises one of
neutnngen's own errors (``NeutnngenError``: a clean one-line message at the CLI); anything
else is a crash. A network the reader accepts must also survive ``to_text`` and ``verify``.
"""

from __future__ import annotations

import copy
import io
import json
import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from neutnngen import config as cfgmod
from neutnngen.errors import NeutnngenError
from neutnngen.ir import Column, Layer, Network, Retime, SynapseBank, to_text, verify
from neutnngen.ir.serialize import from_dict, load, to_dict

# ------------------------------------------------------------------------------ values
json_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-3, 10), st.integers(-(2 ** 70), 2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([2.7, 0.5, -1.0, 1e300]),
    st.text(max_size=12), st.sampled_from(["", "..", "../..", "/etc/passwd", "layer", "retime",
                                            "wta1", "kwta(2)", "kwta(-1)", "s0/c0/theta", "rnl"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)

dtypes = st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32,
                          np.float32, np.float64, np.bool_, np.complex64, "U3", "S2"])


@st.composite
def arrays(draw) -> np.ndarray:
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=5)))
    dt = draw(dtypes)
    n = int(np.prod(shape)) if shape else 1
    vals = draw(st.lists(st.one_of(st.integers(-(2 ** 40), 2 ** 40), st.sampled_from(
        [0, 1, 7, 8, -1, 255])), min_size=n, max_size=n))
    a = np.array(vals, dtype=np.int64)
    if np.dtype(dt).kind == "f":
        a = a.astype(dt)
        if a.size and draw(st.booleans()):
            a.flat[0] = np.nan
    else:
        with np.errstate(all="ignore"):
            a = a.astype(dt)
    return a.reshape(shape)


# ------------------------------------------------------------------------------ a base network
def base_network(seed: int = 0) -> Network:
    """Two learning-free layers with a retime between, and one learning layer first."""
    from tests.conftest import make_column_net

    base = make_column_net(p=6, q=3, seed=seed)
    rng = np.random.default_rng(seed + 1)
    col = Column("c", 3, SynapseBank.dense(rng.integers(1, 8, (2, 1, 2, 3))),
                 np.full((2, 1, 2), 4))
    return Network("fuzz", base.time, 6, (base.layers[0], Retime("rt", 1, 7),
                                          Layer("layer1", 3, (col,))))


_BASE = to_dict(base_network())


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_documents(draw) -> tuple[Any, dict[str, np.ndarray]]:
    """The base network's (document, arrays) with 1-4 random mutations: a value replaced,
    a key deleted or added, an array replaced, dropped or renamed, the document replaced."""
    doc, arrs = copy.deepcopy(_BASE[0]), {k: v.copy() for k, v in _BASE[1].items()}
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "set", "set", "del", "add", "array", "array",
                                   "drop-array", "whole", "tweak", "tweak", "tweak-array",
                                   "tweak-array"]))
        if op == "tweak-array":  # same dtype and shape, other values: passes the schema often
            if arrs:
                key = draw(st.sampled_from(sorted(arrs)))
                a = arrs[key].copy()
                if a.size and a.dtype.kind in "iub":
                    i = draw(st.integers(0, a.size - 1))
                    a.flat[i] = draw(st.integers(0, 1 if a.dtype.kind == "b" else 9))
                arrs[key] = a
            continue
        if op == "whole":
            doc = draw(json_values)
            continue
        if op in ("array", "drop-array"):
            if not arrs:
                continue
            key = draw(st.sampled_from(sorted(arrs)))
            if op == "array":
                arrs[key] = draw(arrays())
            else:
                del arrs[key]
            continue
        paths = [p for p in _paths(doc) if p] if isinstance(doc, dict | list) else []
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        last = path[-1]
        if op == "tweak":  # a nearby integer where there is one
            if isinstance(parent[last], int) and not isinstance(parent[last], bool):
                parent[last] = parent[last] + draw(st.integers(-3, 3))
            elif isinstance(parent[last], str) and "wta" in parent[last]:
                parent[last] = draw(st.sampled_from(["wta1", "twta", "none", "kwta(1)",
                                                     "kwta(2)", "kwta(3)", "kwta(9)"]))
        elif op == "set":
            parent[last] = draw(json_values)
        elif op == "del" and isinstance(parent, dict):
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(json_values)
    return doc, arrs


def read_ir(doc: Any, arrs: dict[str, np.ndarray]) -> str:
    """``"ok"`` or ``"error"`` (a NeutnngenError); any other exception propagates (a crash)."""
    try:
        net = from_dict(doc, arrs)
    except NeutnngenError:
        return "error"
    to_text(net)
    verify(net)
    return "ok"


def read_ir_files(tmp, doc_bytes: bytes, npz_bytes: bytes) -> str:
    """The same through files: arbitrary bytes as the JSON and the NPZ."""
    (tmp / "f.json").write_bytes(doc_bytes)
    (tmp / "f.npz").write_bytes(npz_bytes)
    try:
        net = load(tmp / "f.json")
    except NeutnngenError:
        return "error"
    to_text(net)
    verify(net)
    return "ok"


def npz_bytes(arrs: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    try:
        np.savez(buf, **arrs)
    except (ValueError, TypeError):
        return b""
    return buf.getvalue()


@st.composite
def file_pairs(draw) -> tuple[bytes, bytes]:
    """(JSON bytes, NPZ bytes): a mutated document and its arrays, sometimes with random
    bytes or a broken encoding instead."""
    doc, arrs = draw(mutated_documents())
    try:
        text = json.dumps(doc, allow_nan=True)
    except (ValueError, TypeError, OverflowError):
        text = "null"
    jb = text.encode()
    kind = draw(st.sampled_from(["plain", "plain", "utf16", "random", "truncate"]))
    if kind == "utf16":
        jb = text.encode("utf-16")
    elif kind == "random":
        jb = draw(st.binary(max_size=64))
    elif kind == "truncate" and jb:
        jb = jb[: draw(st.integers(0, len(jb) - 1))]
    nb = npz_bytes(arrs)
    if draw(st.integers(0, 4)) == 0:
        nb = draw(st.binary(max_size=64))
    return jb, nb


# ------------------------------------------------------------------------------ configs
_SECTIONS = {f.name: f.type for f in cfgmod.dataclasses.fields(cfgmod.Config)}
_KEYS = {name: [f.name for f in cfgmod.dataclasses.fields(cls)] for name, cls in (
    ("experiment", cfgmod.ExperimentConfig), ("data", cfgmod.DataConfig),
    ("network", cfgmod.NetworkConfig), ("train", cfgmod.TrainConfig), ("hdl", cfgmod.HdlConfig),
    ("verify", cfgmod.VerifyConfig), ("synth", cfgmod.SynthConfig),
    ("layers", cfgmod.LayerConfig))}
_GOOD_VALUES = st.sampled_from([0, 1, 2, 3, 8, -1, 28, 0.5, True, "wta1", "kwta(2)", "stdp",
                                "mnist", "ucr", "files", "generic,ice40", ["generic"], "hx8k",
                                "x", "", "../x", "none", "exact", "fast", "learn"])


@st.composite
def config_tables(draw) -> dict:
    """Raw config tables: known sections and keys (mostly) with plausible or random values."""
    d: dict[str, Any] = {}
    for sec in draw(st.lists(st.sampled_from(sorted(_KEYS)), max_size=4, unique=True)):
        keys = _KEYS[sec]
        table = {}
        for k in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            table[k] = draw(st.one_of(_GOOD_VALUES, json_values))
        if draw(st.integers(0, 9)) == 0:
            table[draw(st.text(max_size=6))] = draw(json_values)
        if sec == "layers":
            d[sec] = draw(st.one_of(st.just([table]), st.just([table, dict(table)]), json_values))
        else:
            d[sec] = table if draw(st.integers(0, 12)) else draw(json_values)
    if draw(st.integers(0, 15)) == 0:
        d[draw(st.text(max_size=6))] = draw(json_values)
    return d


override_texts = st.one_of(
    st.text(max_size=30),
    st.builds(lambda s, k, v: f"{s}.{k}={v}", st.sampled_from(sorted(_KEYS)),
              st.sampled_from(sorted({k for ks in _KEYS.values() for k in ks})),
              st.one_of(st.text(max_size=10), st.sampled_from(
                  ["3", '"3"', "nan", "inf", "-1", "[1,2]", "{a=1}", "true", "1e999"]))),
)


def load_config(tables: dict, overrides: list[str]) -> str:
    """``"ok"`` / ``"error"`` for loading ``tables`` with ``overrides`` and the pipeline's
    static checks; any other exception propagates (a crash)."""
    from neutnngen.pipeline import check

    try:
        d = cfgmod.apply_overrides(copy.deepcopy(tables), overrides)
        cfg = cfgmod.from_dict(d)
        check(cfg)
        text = cfgmod.to_toml(cfg)
        assert cfgmod.from_dict(cfgmod.tomllib.loads(text)) == cfg, "config does not round-trip"
    except NeutnngenError:
        return "error"
    return "ok"


def finite(x: float) -> bool:
    return math.isfinite(x)
