"""Torch side of the ``conv2d`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import CONV2D_KIND as KIND

__all__ = ["KIND"]
