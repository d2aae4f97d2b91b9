"""Batched inference of IR networks in torch (equal to ``Interpreter.forward``), and the
input checks shared with the trainer."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError
from ..ir.network import Network
from .convert import network_to_torch
from .network import TNNNetwork
from .threads import torch_threads


def resolve_device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def as_times(X, n: int, what: str = "X") -> np.ndarray:
    """``X`` as a 2-D integer array ``[samples, n]`` (its integer dtype is kept; any
    negative time is silent)."""
    try:
        a = np.asarray(X)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"{what} cannot be read as an array ({e})") from e
    if a.ndim != 2 or a.shape[1] != n:
        raise ConfigError(f"{what} has shape {a.shape}; expected [samples, {n}] integer spike "
                          "times (NONE = -1)")
    if not np.issubdtype(a.dtype, np.integer):
        if a.dtype == bool or (a.size and not np.all(np.equal(np.mod(a, 1), 0))):
            raise ConfigError(f"{what} holds non-integer spike times ({a.dtype}); expected integers")
        a = a.astype(np.int64)
    if a.dtype == np.uint64 or a.dtype == np.uint32:
        a = np.minimum(a, np.iinfo(np.int32).max).astype(np.int64)
    return a


def forward_numpy(model: TNNNetwork, X: np.ndarray, prox: dict[int, np.ndarray],
                   upto: int | None = None, batch: int = 8192) -> np.ndarray:
    dev = model.device
    outs = []
    with torch.no_grad():
        for b0 in range(0, max(len(X), 1), batch):
            xb = torch.as_tensor(X[b0:b0 + batch], device=dev)
            pb = {k: torch.as_tensor(v[b0:b0 + batch], device=dev) for k, v in prox.items()}
            outs.append(model(xb, pb, upto=upto).cpu().numpy())
    if not outs:
        return np.empty((0, model.outputs), dtype=np.int64)
    return np.concatenate(outs).astype(np.int64)


def infer(net: Network | TNNNetwork, X, *, proximal: dict[int, np.ndarray] | None = None,
          device=None, batch_size: int = 4096, threads: int | None = 1) -> np.ndarray:
    """Output volleys ``[N, outputs]`` (int64, NONE = -1) of the last layer for input
    volleys ``X[N, inputs]``, batched (equal to ``Interpreter.forward``).

    ``threads``: torch intra-op threads during the call on CPU (restored afterwards;
    ``None`` keeps torch's setting). The default 1 is deliberate: the per-batch ops are
    small, and on a shared 2-core machine one thread measured about 4x faster than two
    (a busy core stalls every parallel section); on an idle machine two threads gain less
    than 2x."""
    model = net if isinstance(net, TNNNetwork) else network_to_torch(net, resolve_device(device))
    X = as_times(X, model.inputs)
    prox = {k: np.asarray(v, dtype=np.int64) for k, v in (proximal or {}).items()}
    with torch_threads(threads, model.device):
        return forward_numpy(model, X, prox, batch=batch_size)
