"""Torch's thread count around the per-sample loops (neutnngen.model.threads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neutnngen.model import stdp
from neutnngen.model.stages import convstdp as stage
from neutnngen.model.threads import one_thread, torch_threads


@pytest.fixture
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def test_torch_threads_sets_and_restores(two_threads):
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with torch_threads(None):
        assert torch.get_num_threads() == 2
    with torch_threads(1, torch.device("cuda")):  # not the CPU: untouched
        assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2  # restored on an exception too

    @one_thread
    def f(a, b=0):
        return torch.get_num_threads(), a + b

    assert f(1, b=2) == (1, 3)
    assert f.__name__ == "f"
    assert torch.get_num_threads() == 2


def test_the_per_sample_loops_run_on_one_thread(two_threads, monkeypatch):
    """The convstdp trainer and predictor and the TNN trainer see one torch thread while
    they loop (a busy core stalled every op: 555 s against 15 s measured), and leave the
    caller's setting as it was."""
    from neutnngen.frontend.convstdp import build_network, parse_config
    from tests.test_convstdp import SMALL, _images

    seen = []
    real = stage.layer_fire

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return real(*a, **k)

    monkeypatch.setattr(stage, "layer_fire", spy)
    net = build_network(parse_config(SMALL), 0)
    X, y = _images(4)
    r = stage.train_layer(net, 0, X, epochs=1)
    r = stage.train_layer(r.net, 1, X, epochs=1)
    r = stage.train_layer(r.net, 2, X, y, epochs=1)
    stage.predict(r.net, X)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2

    seen.clear()
    from neutnngen.frontend.init import init_column_network

    real_fw = stdp.forward_numpy

    def spy_fw(*a, **k):
        seen.append(torch.get_num_threads())
        return real_fw(*a, **k)

    monkeypatch.setattr(stdp, "forward_numpy", spy_fw)
    tnn = init_column_network(6, 2, wres=2, timeres=2, seed=0)
    stdp.train(tnn, np.random.default_rng(1).integers(-1, 4, size=(5, 6)), epochs=1,
               backend="torch", device="cpu")
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2
