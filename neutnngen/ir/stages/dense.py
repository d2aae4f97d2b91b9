"""The ``dense`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import DENSE_KIND as KIND

__all__ = ["KIND"]
