"""PyTorch model and online STDP trainer of neutnngen (bit-exact with ``neutnngen.ir``).

* :class:`TNNColumns`, :class:`TNNLayer`, :class:`TNNRetime`, :class:`TNNNetwork`: batched,
  device-aware integer modules mirroring the IR;
* :func:`train`: online STDP, ``exact`` (LFSR, equal to the interpreter after every wave)
  or ``fast`` (torch random draws); :func:`infer`: batched inference.
"""

from .columns import ColumnsTrace, TNNColumns
from .network import TNNLayer, TNNNetwork, TNNRetime
from .stdp import TrainResult, infer, train

__all__ = ["ColumnsTrace", "TNNColumns", "TNNLayer", "TNNNetwork", "TNNRetime", "TrainResult",
           "infer", "train"]
