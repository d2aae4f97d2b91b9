"""PyTorch model and online STDP trainer of neutnngen (bit-exact with ``neutnngen.ir``).

* :class:`TNNColumns`, :class:`TNNLayer`, :class:`TNNRetime`, :class:`TNNNetwork`: batched,
  device-aware integer modules mirroring the IR; every stage kind has its torch record in
  :mod:`neutnngen.model.kinds` (modules under :mod:`neutnngen.model.stages`);
* :func:`network_to_torch` / :func:`network_from_torch`: IR <-> torch;
* :func:`train`: online STDP, ``exact`` (LFSR, equal to the interpreter after every wave)
  or ``fast`` (torch random draws); :func:`infer`: batched inference.
"""

from .columns import ColumnsTrace, TNNColumns
from .convert import network_from_torch, network_to_torch
from .infer import infer
from .network import TNNLayer, TNNNetwork, TNNRetime
from .stdp import TrainResult, train

__all__ = ["ColumnsTrace", "TNNColumns", "TNNLayer", "TNNNetwork", "TNNRetime", "TrainResult",
           "infer", "network_from_torch", "network_to_torch", "train"]
