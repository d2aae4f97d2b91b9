"""Torch side of the ``lif`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import LIF_KIND as KIND

__all__ = ["KIND"]
