"""One exception hierarchy for neutnngen.

Every error carries an optional ``path`` (an IR path such as ``net/layer0/col0/n1/d0/s0``,
a config key such as ``train.epochs``, or a file) so that a user can find what is wrong.
"""

from __future__ import annotations

from typing import Any


class NeutnngenError(Exception):
    """Base class of every error neutnngen raises on purpose."""

    def __init__(self, message: str, path: str | None = None):
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class ConfigError(NeutnngenError):
    """A configuration value is missing, of the wrong type, or out of range."""


class FrontendError(NeutnngenError):
    """A model cannot be lowered to the IR (unsupported module, inconsistent shapes)."""


class IRValidationError(NeutnngenError):
    """An IR failed verification. ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: list, path: str | None = None):
        self.diagnostics = list(diagnostics)
        lines = [str(d) for d in self.diagnostics]
        head = f"IR verification failed with {len(lines)} problem(s):"
        super().__init__("\n  ".join([head, *lines]), path)


class IRFormatError(NeutnngenError):
    """An IR file or text cannot be read (unknown version, malformed, inconsistent)."""


class PassError(NeutnngenError):
    """A pass specification is malformed or a pass cannot be applied."""


class ToolchainError(NeutnngenError):
    """An external tool (Yosys, nextpnr, a simulator) is missing, failed or timed out."""


class DataError(NeutnngenError):
    """A dataset cannot be loaded (unknown name, offline without a local copy, bad shape)."""


class VerificationMismatch(NeutnngenError):
    """The RTL disagrees with the reference interpreter. ``first`` describes the first diff."""

    def __init__(self, message: str, first: dict | None = None, path: str | None = None):
        self.first = first or {}
        super().__init__(message, path)


def describe_os_error(e: OSError, what: str | None = None) -> str:
    """One line for a file-system error: the path, what went wrong in words and what would
    work (``what`` names the role of the path, e.g. ``--out`` or ``config``)."""
    import errno

    name = e.filename if e.filename is not None else "?"
    if e.filename2 is not None:
        name = f"{name} -> {e.filename2}"
    role = f"{what} " if what else ""
    code = e.errno
    if isinstance(e, IsADirectoryError):
        why = "is a folder; expected a file"
    elif isinstance(e, NotADirectoryError):
        why = "a part of the path is a file, not a folder; expected a path through folders"
    elif isinstance(e, PermissionError):
        why = "permission denied; expected a path you may read (inputs) or write (outputs)"
    elif isinstance(e, FileExistsError):
        why = "exists already and is not a folder; expected a new or existing folder"
    elif isinstance(e, FileNotFoundError):
        why = "no such file or folder"
    elif code == errno.ENAMETOOLONG:
        longest = max((len(p) for p in str(e.filename or "").split("/")), default=0)
        why = (f"name too long ({longest} characters in one name); the file system accepts "
               "at most 255")
    elif code == errno.EROFS:
        why = "read-only file system; expected a writable folder"
    elif code == errno.ENOSPC:
        why = "no space left on the device"
    else:
        why = f"{e.strerror or type(e).__name__}"
    return f"{role}{name!r}: {why}" if name != "?" else f"{role}{why}"


def read_text(path: Any, what: str = "file") -> str:
    """UTF-8 text of ``path``; a folder, an unreadable file or binary / UTF-16 content is an
    error naming the path and what was expected (never a bare ``UnicodeDecodeError``)."""
    from pathlib import Path

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(describe_os_error(e, what), path=str(p)) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{what} {str(p)!r} is UTF-16 text; expected UTF-8 (save it as UTF-8)",
                          path=str(p))
    if b"\0" in data:
        raise ConfigError(f"{what} {str(p)!r} is a binary file; expected UTF-8 text", path=str(p))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} {str(p)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} at "
                          f"offset {e.start}); expected UTF-8 text", path=str(p)) from None
