"""Torch side of the ``rankcode`` stage kind (implemented in :mod:`.convstdp`)."""

from .convstdp import RANKCODE_KIND as KIND

__all__ = ["KIND"]
