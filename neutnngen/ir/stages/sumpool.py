"""The ``sumpool`` SNN stage kind (implemented in :mod:`.snn`)."""

from .snn import SUMPOOL_KIND as KIND

__all__ = ["KIND"]
