"""The ``maxpool`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import MAXPOOL_KIND as KIND

__all__ = ["KIND"]
