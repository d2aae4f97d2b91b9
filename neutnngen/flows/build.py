"""A build is data: input files, a script, a tool and its arguments.

A :class:`Build` can be printed, hashed and unit-tested without the tool. :func:`run_build`
writes its files into a work directory and runs it there with relative file names (the
YoWASP tools cannot read absolute ``/tmp`` paths). :class:`ResultCache` stores typed flow
results under a digest so that an identical second request does not run any tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from neutnngen.errors import ConfigError, ToolchainError
from neutnngen.flows import tools

__all__ = [
    "Build",
    "BuildRun",
    "ResultCache",
    "SCRIPT_NAME",
    "check_file_name",
    "check_identifier",
    "default_cache_dir",
    "digest_parts",
    "run_build",
    "workspace",
]

SCRIPT_NAME = "script.ys"  # a Build's script is written here and passed as ``-s script.ys``
_FORMAT = b"neutnngen-build-v1"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def check_identifier(name: str, what: str = "top") -> str:
    """``name`` if it is a plain Verilog identifier, else :class:`ConfigError`."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise ConfigError(
            f"{what} module name {name!r} is not a plain Verilog identifier "
            "([A-Za-z_][A-Za-z0-9_$]*)",
            path=what,
        )
    return name


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$")


def check_file_name(name: str) -> str:
    """``name`` if it is a safe relative file name (letters, digits, ``_.+-``, ``/``)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name.split("/"):
        raise ConfigError(
            f"build file name {name!r} must be a relative path of letters, digits and _.+- "
            "without '..' (tools run in the work directory and get relative names only)",
            path=str(name),
        )
    return name


def _feed(h: Any, tag: str, data: str | bytes) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    h.update(tag.encode("ascii") + b"\0" + str(len(raw)).encode("ascii") + b"\0" + raw)


def digest_parts(*parts: str | bytes) -> str:
    """sha256 hex digest over length-prefixed parts (unambiguous concatenation)."""
    h = hashlib.sha256(_FORMAT)
    for part in parts:
        _feed(h, "part", part)
    return h.hexdigest()


@dataclass(frozen=True)
class Build:
    """One tool invocation as data.

    ``files`` maps relative names to contents written into the work directory before the run.
    A non-empty ``script`` (a Yosys script) is written to ``script.ys`` and ``-s script.ys`` is
    appended to ``args``. ``outputs`` are files the tool must leave behind. ``step`` names the
    build in error messages.
    """

    tool: str
    files: Mapping[str, str | bytes]
    script: str = ""
    args: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    step: str = ""
    log: str | None = None  # the tool's own log file (relative), used for error tails

    def __post_init__(self) -> None:
        if self.tool not in tools.TOOLS:
            raise ConfigError(
                f"unknown tool {self.tool!r}; known: {', '.join(sorted(tools.TOOLS))}",
                path="tool",
            )
        object.__setattr__(self, "args", tuple(str(a) for a in self.args))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        for name in [*self.files, *self.outputs, *([self.log] if self.log else [])]:
            check_file_name(name)
        if self.script and SCRIPT_NAME in self.files:
            raise ConfigError(f"{SCRIPT_NAME} is reserved for the build script", path=SCRIPT_NAME)

    @property
    def argv(self) -> tuple[str, ...]:
        """Arguments passed to the tool (the executable itself excluded)."""
        return (*self.args, "-s", SCRIPT_NAME) if self.script else self.args

    def digest(self, tool_version: str | None = None) -> str:
        """sha256 over tool name, tool version, script, args, outputs and all files (sorted).

        ``tool_version`` defaults to the installed tool's version (queried once, cached).
        """
        version = tools.tool_version(self.tool) if tool_version is None else tool_version
        h = hashlib.sha256(_FORMAT)
        _feed(h, "tool", self.tool)
        _feed(h, "version", version)
        _feed(h, "script", self.script)
        for a in self.args:
            _feed(h, "arg", a)
        for o in self.outputs:
            _feed(h, "output", o)
        for name in sorted(self.files):
            _feed(h, "file", name)
            _feed(h, "content", self.files[name])
        return h.hexdigest()

    def describe(self) -> str:
        """Human-readable form: the command line, the files and the script."""
        files = ", ".join(f"{n} ({len(c)} B)" for n, c in sorted(self.files.items()))
        text = f"# {self.step or self.tool}\n{self.tool} {' '.join(self.argv)}\n# files: {files}\n"
        return text + (f"# {SCRIPT_NAME}:\n{self.script}" if self.script else "")


@dataclass(frozen=True)
class BuildRun:
    """What :func:`run_build` did: where, how long, and the tool's exit status and output."""

    build: Build
    workdir: Path
    returncode: int
    output: str
    seconds: float
    run: tools.ToolRun = field(repr=False)

    def path(self, name: str) -> Path:
        return self.workdir / name

    def read_text(self, name: str) -> str:
        return (self.workdir / name).read_text("utf-8", "replace")

    def log_text(self) -> str:
        """The tool's log file if it has one and it exists, else its captured output."""
        if self.build.log and (self.workdir / self.build.log).is_file():
            return self.read_text(self.build.log)
        return self.output

    def failure(self) -> ToolchainError:
        return tools.failure(self.run, step=self.build.step or None, log_file=self.build.log)


def run_build(
    build: Build,
    workdir: str | os.PathLike[str],
    *,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
    check: bool = True,
) -> BuildRun:
    """Write ``build.files`` (and its script) into ``workdir`` and run the tool there.

    With ``check``, a non-zero exit status or a missing declared output raises
    :class:`ToolchainError` with the log tail.
    """
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    for name, content in build.files.items():
        target = wd / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
    if build.script:
        (wd / SCRIPT_NAME).write_text(build.script, encoding="utf-8")
    for name in build.outputs:  # a stale output must not pass for a fresh one
        (wd / name).unlink(missing_ok=True)
    run = tools.run_tool(
        build.tool,
        build.argv,
        cwd=wd,
        timeout=timeout,
        step=build.step or None,
        check=check,
        log_file=build.log,
    )
    result = BuildRun(build, wd, run.returncode, run.output, run.seconds, run)
    if check:
        missing = [o for o in build.outputs if not (wd / o).is_file()]
        if missing:
            raise ToolchainError(
                f"{build.step or build.tool} exited 0 but did not write {', '.join(missing)} "
                f"in {wd}\n  log tail:\n{tools.log_tail(result.log_text())}",
                path=build.tool,
            )
    return result


@contextmanager
def workspace(workdir: str | os.PathLike[str] | None, keep: bool) -> Iterator[Path]:
    """The given ``workdir`` (created), or a fresh temporary one, removed afterwards unless
    ``keep`` or an exception escapes (its logs are what the error message points at)."""
    if workdir is not None:
        wd = Path(workdir).resolve()
        wd.mkdir(parents=True, exist_ok=True)
        yield wd
        return
    wd = Path(tempfile.mkdtemp(prefix="neutnngen-flow-"))
    try:
        yield wd
    except BaseException:
        keep = True  # keep the logs an error message points at
        raise
    finally:
        if not keep:
            shutil.rmtree(wd, ignore_errors=True)


def default_cache_dir() -> Path:
    """``$NEUTNNGEN_CACHE`` if set, else ``~/.cache/neutnngen/flows``."""
    env = os.environ.get("NEUTNNGEN_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "neutnngen" / "flows"


class _Result(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R")


class ResultCache:
    """Typed flow results stored by digest: ``<dir>/<d[:2]>/<d>/result.json`` plus copies of
    the run's artifacts (logs, reports). Entries are published atomically (a temporary folder
    renamed into place), so parallel writers never leave a half-written entry."""

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()

    def entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def get(self, key: str, cls: type[R]) -> R | None:
        path = self.entry(key) / "result.json"
        try:
            data = json.loads(path.read_text("utf-8"))
            return cls.from_dict(data["result"])  # type: ignore[attr-defined, no-any-return]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(
        self,
        key: str,
        result: R,
        artifacts: Mapping[str, Path],
        path_fields: Mapping[str, str] | None = None,
    ) -> R:
        """Store ``result`` with copies of ``artifacts`` (name -> file).

        ``path_fields`` maps a result field to an artifact name; the stored (and returned)
        result points that field at the cached copy, so it stays valid after the work
        directory is gone. Returns the result as stored.
        """
        final = self.entry(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        updates = {f: str(final / a) for f, a in (path_fields or {}).items() if a in artifacts}
        stored = replace(result, **updates)  # type: ignore[type-var]
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=final.parent))
        try:
            for name, src in artifacts.items():
                if src.is_file():
                    shutil.copyfile(src, tmp / check_file_name(name))
            payload = {"key": key, "created": time.time(), "result": stored.to_dict()}  # type: ignore[attr-defined]
            (tmp / "result.json").write_text(json.dumps(payload, indent=1, sort_keys=True))
            try:
                os.replace(tmp, final)
            except OSError:
                # Another process published the same key first (its entry is equivalent),
                # or a broken entry is in the way: replace only the broken one.
                if not (final / "result.json").is_file():
                    shutil.rmtree(final, ignore_errors=True)
                    os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return stored
