"""Torch's intra-op threads around the per-sample loops of the trainers and inference.

The loops here run many small torch ops, one sample or one wave at a time; every op's
parallel section waits for all of torch's threads, so a busy core stalls the whole loop.
Measured on the 2-core development machine with the other core busy: the convstdp trainer
on ``examples/convstdp_mnist/reduced.toml`` took 15 s on one thread and 555 s on two (the
same network either way). On an idle machine two threads gain less than 2x.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


@contextmanager
def torch_threads(n: int | None, device: torch.device | None = None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, restoring torch's setting after.
    ``None``, or a ``device`` that is not the CPU, leaves the setting alone."""
    old = torch.get_num_threads()
    change = n is not None and (device is None or device.type == "cpu") and int(n) != old
    if change:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if change:
            torch.set_num_threads(old)


def one_thread(fn: F) -> F:
    """``fn`` run with one torch thread (:func:`torch_threads`)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with torch_threads(1):
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
