"""PyTorch model <-> IR, and the network initialiser used by configs."""

from .convert import from_torch, to_torch
from .init import default_theta, init_column_network

__all__ = ["default_theta", "from_torch", "init_column_network", "to_torch"]
