"""Torch side of the ``flatten`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import FLATTEN_KIND as KIND

__all__ = ["KIND"]
