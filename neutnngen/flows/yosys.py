"""Yosys-only flows: the generic CMOS yardstick and Liberty standard-cell area.

Each flow has a ``*_build`` function that returns the :class:`Build` (pure data, testable
without Yosys) and a ``synth_*`` function that runs it, parses ``stat -json`` and caches the
typed result by digest.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from neutnngen.errors import ConfigError, ToolchainError
from neutnngen.flows import tools
from neutnngen.flows.build import (
    Build,
    ResultCache,
    check_file_name,
    check_identifier,
    digest_parts,
    run_build,
    workspace,
)
from neutnngen.flows.results import GenericResult, LibertyResult

__all__ = [
    "LIBERTY_FALLBACK_SCRIPT",
    "Sources",
    "generic_build",
    "liberty_build",
    "read_stat_json",
    "sources",
    "synth_generic",
    "synth_liberty",
]

# Bump when parsing or result fields change, so old cache entries are not reused.
RESULT_SCHEMA = "flows-results-1"

Sources = str | Mapping[str, str]

# ABC's default Liberty script ends in "&nf", which fails without output ("Can't open ABC
# output file") when the library has no buffer cell. Same script with the classic mapper:
LIBERTY_FALLBACK_SCRIPT = (
    "+strash;&get,-n;&fraig,-x;&put;scorr;dc2;dretime;strash;&get,-n;&dch,-f;&put;map"
)


def sources(verilog: Sources) -> dict[str, str]:
    """Normalise Verilog input: one text becomes ``{"design.v": text}``; a mapping of
    relative file names to texts is kept in its order (the order of ``read_verilog``)."""
    if isinstance(verilog, str):
        files = {"design.v": verilog}
    elif isinstance(verilog, Mapping):
        files = {check_file_name(str(k)): v for k, v in verilog.items()}
    else:
        raise ConfigError(
            f"verilog must be a str or a mapping of file name -> text, not {type(verilog).__name__}",
            path="verilog",
        )
    if not files or not all(isinstance(v, str) and v.strip() for v in files.values()):
        raise ConfigError("verilog source is empty", path="verilog")
    return files


def read_cmd(files: Mapping[str, str]) -> str:
    return "read_verilog -sv " + " ".join(files)


def _yosys_build(
    step: str, files: Mapping[str, str | bytes], script: str, outputs: tuple[str, ...]
) -> Build:
    return Build(
        tool="yosys",
        files=dict(files),
        script=script,
        args=("-q", "-l", "yosys.log"),
        outputs=outputs,
        step=step,
        log="yosys.log",
    )


def generic_build(verilog: Sources, top: str) -> Build:
    """The generic CMOS flow (the project's transistor-count yardstick) as data."""
    check_identifier(top)
    files = sources(verilog)
    script = "\n".join(
        [
            read_cmd(files),
            f"synth -flatten -top {top}",
            "dfflegalize -cell $_DFF_P_ 01",
            "abc -g cmos2",
            "opt_clean",
            "tee -q -o stat.txt stat -tech cmos",
            "tee -q -o stat.json stat -json -tech cmos",
            "",
        ]
    )
    return _yosys_build(f"generic synthesis of {top}", files, script, ("stat.json", "stat.txt"))


def read_stat_json(text: str, top: str) -> dict[str, Any]:
    """The whole-design section of Yosys ``stat -json`` output (or the top module's)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ToolchainError(f"cannot parse Yosys stat -json output: {exc}", path="yosys") from exc
    section = data.get("design") or data.get("modules", {}).get(f"\\{top}")
    if not isinstance(section, dict) or "num_cells" not in section:
        raise ToolchainError(
            f"Yosys stat -json output has no design or module {top!r} section; "
            f"keys: {sorted(data)}",
            path="yosys",
        )
    return section


def _cell_types(section: Mapping[str, Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(section.get("num_cells_by_type", {}).items())}


def _is_ff(cell_type: str) -> bool:
    return "dff" in cell_type.lower()


def _cache(cache_dir: str | os.PathLike[str] | None) -> ResultCache:
    return ResultCache(cache_dir)


def synth_generic(
    verilog: Sources,
    top: str,
    *,
    workdir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
) -> GenericResult:
    """Synthesize to generic CMOS gates and count cells, flip-flops and transistors.

    Flow: ``read_verilog -sv; synth -flatten -top TOP; dfflegalize -cell $_DFF_P_ 01;
    abc -g cmos2; opt_clean; stat -tech cmos`` (text in ``stat.txt``, JSON in ``stat.json``).
    """
    build = generic_build(verilog, top)
    key = digest_parts(RESULT_SCHEMA, "generic", build.digest())
    cache = _cache(cache_dir)
    if use_cache and (hit := cache.get(key, GenericResult)) is not None:
        return hit
    version = tools.tool_version("yosys")
    with workspace(workdir, keep=not use_cache) as wd:
        run = run_build(build, wd, timeout=timeout)
        section = read_stat_json(run.read_text("stat.json"), top)
        types = _cell_types(section)
        raw = str(section.get("estimated_num_transistors", "0"))
        transistors = int(re.sub(r"\D", "", raw) or 0)
        result = GenericResult(
            top=top,
            cells=int(section["num_cells"]),
            flip_flops=sum(n for t, n in types.items() if _is_ff(t)),
            transistors=transistors,
            gate_equivalents=transistors / 4,
            cell_types=types,
            yosys_version=version,
            log=str(run.path("yosys.log")),
            digest=key,
            seconds=round(run.seconds, 3),
        )
        if not use_cache:
            return result
        arts = {n: run.path(n) for n in ("yosys.log", "stat.txt", "stat.json", "script.ys")}
        return cache.put(key, result, arts, {"log": "yosys.log"})


# ----------------------------------------------------------------------------- Liberty


_CELL_RE = re.compile(r"\bcell\s*\(\s*\"?([^\"()\s]+)\"?\s*\)")
_SEQ_RE = re.compile(r"\b(ff|ff_bank|latch|latch_bank|statetable)\s*\(")


def liberty_sequential_cells(text: str) -> set[str]:
    """Names of cells in a Liberty text that contain an ``ff``/``latch``/``statetable``
    group (a light scan, not a full parser)."""
    matches = list(_CELL_RE.finditer(text))
    seq = set()
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        if _SEQ_RE.search(text, m.end(), end):
            seq.add(m.group(1))
    return seq


def check_liberty(liberty_path: str | os.PathLike[str], what: str = "liberty") -> Path:
    """Read and sanity-check a Liberty file up front (before any data or tool run); a
    ConfigError naming ``what`` (the key or option) otherwise."""
    try:
        _load_liberty(liberty_path)
    except ConfigError as e:
        raise ConfigError(f"{what}: {e.message}", path=what) from None
    return Path(liberty_path).expanduser()


def _load_liberty(liberty_path: str | os.PathLike[str]) -> bytes:
    path = Path(liberty_path).expanduser()
    if not str(liberty_path).strip():
        raise ConfigError("liberty path '' is empty; expected a Liberty standard-cell library "
                          "(.lib, or .lib.gz)", path="liberty")
    if path.is_dir():
        raise ConfigError(f"liberty file {str(path)!r} is a folder; expected a Liberty "
                          "standard-cell library (.lib, or .lib.gz)", path=str(path))
    if not path.is_file():
        raise ConfigError(
            f"liberty file {str(path)!r} does not exist; expected a Liberty standard-cell "
            "library (.lib, or .lib.gz), e.g. sky130_fd_sc_hd__tt_025C_1v80.lib",
            path=str(path),
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read liberty file {str(path)!r}: {exc.strerror or exc}",
                          path=str(path)) from None
    if data[:2] == b"\x1f\x8b":  # gzip magic; YoWASP tools cannot read gzipped files
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ConfigError(
                f"cannot decompress liberty file {str(path)!r}: {exc}", path=str(path)
            ) from exc
    if b"library" not in data[:65536]:
        raise ConfigError(
            f"{str(path)!r} does not look like a Liberty file (no 'library' group near the start)",
            path=str(path),
        )
    return data


def liberty_build(
    verilog: Sources, top: str, liberty: bytes, abc_script: str | None = None
) -> Build:
    """The Liberty area flow as data; ``liberty`` is the (uncompressed) library content,
    written as ``cells.lib`` in the work directory."""
    check_identifier(top)
    files: dict[str, str | bytes] = dict(sources(verilog))
    if "cells.lib" in files:
        raise ConfigError("cells.lib is reserved for the liberty file", path="verilog")
    files["cells.lib"] = liberty
    abc = "abc -liberty cells.lib" + (f" -script {abc_script}" if abc_script else "")
    script = "\n".join(
        [
            read_cmd(sources(verilog)),
            f"synth -flatten -top {top}",
            "dfflibmap -liberty cells.lib",
            abc,
            "opt_clean",
            "tee -q -o stat.txt stat -liberty cells.lib",
            "tee -q -o stat.json stat -json -liberty cells.lib",
            "",
        ]
    )
    return _yosys_build(f"liberty synthesis of {top}", files, script, ("stat.json", "stat.txt"))


def synth_liberty(
    verilog: Sources,
    top: str,
    liberty_path: str | os.PathLike[str],
    *,
    workdir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
) -> LibertyResult:
    """Map to a Liberty library and report its area.

    Flow: ``synth -flatten -top TOP; dfflibmap -liberty cells.lib; abc -liberty cells.lib;
    opt_clean; stat -liberty cells.lib``. If ABC's default script fails (it does for a
    library without a buffer cell), the flow is rerun once with
    :data:`LIBERTY_FALLBACK_SCRIPT` and ``abc_script`` in the result says so.
    """
    lib = _load_liberty(liberty_path)
    seq_cells = liberty_sequential_cells(lib.decode("utf-8", "replace"))
    build = liberty_build(verilog, top, lib)
    key = digest_parts(RESULT_SCHEMA, "liberty", build.digest())
    cache = _cache(cache_dir)
    if use_cache and (hit := cache.get(key, LibertyResult)) is not None:
        return replace(hit, liberty=str(liberty_path))
    version = tools.tool_version("yosys")
    with workspace(workdir, keep=not use_cache) as wd:
        used_script = "default"
        run = run_build(build, wd, timeout=timeout, check=False)
        if run.returncode != 0 and "Can't open ABC output file" in run.log_text():
            build = liberty_build(verilog, top, lib, LIBERTY_FALLBACK_SCRIPT)
            used_script = LIBERTY_FALLBACK_SCRIPT
            run = run_build(build, wd, timeout=timeout, check=False)
        if run.returncode != 0 or not run.path("stat.json").is_file():
            raise run.failure()
        section = read_stat_json(run.read_text("stat.json"), top)
        types = _cell_types(section)
        unmapped = {t: n for t, n in types.items() if t.startswith("$")}
        result = LibertyResult(
            top=top,
            liberty=str(liberty_path),
            area_um2=float(section.get("area", 0.0)),
            sequential_area_um2=(
                float(section["sequential_area"]) if "sequential_area" in section else None
            ),
            cells=int(section["num_cells"]),
            flip_flops=sum(n for t, n in types.items() if t in seq_cells or _is_ff(t)),
            cell_types=types,
            unmapped=unmapped,
            abc_script=used_script,
            yosys_version=version,
            log=str(run.path("yosys.log")),
            digest=key,
            seconds=round(run.seconds, 3),
        )
        if not use_cache:
            return result
        arts = {n: run.path(n) for n in ("yosys.log", "stat.txt", "stat.json", "script.ys")}
        return cache.put(key, result, arts, {"log": "yosys.log"})
