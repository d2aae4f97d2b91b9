"""One exception hierarchy for neutnngen.

Every error carries an optional ``path`` (an IR path such as ``net/layer0/col0/n1/d0/s0``,
a config key such as ``train.epochs``, or a file) so that a user can find what is wrong.
"""

from __future__ import annotations


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
