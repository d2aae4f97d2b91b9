"""Torch side of the ``encoder`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import ENCODER_KIND as KIND

__all__ = ["KIND"]
