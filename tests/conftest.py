"""Shared fixtures: small hand-built IRs with seeded numpy RNGs, and the simulator tier's
``sim`` (every installed Verilog simulator) and ``build_root`` (builds shared per module)."""

from __future__ import annotations

import numpy as np
import pytest

from neutnngen.flows import sim as flows_sim
from neutnngen.ir import (
    Column,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    SynapseBank,
    TimeSpec,
    default_seeds,
)


def make_column_net(p=16, q=3, D=1, S=1, theta=None, seed=0, learning=True, name="net",
                    response="rnl", wres=3, timeres=3, sharing="segment", rule=None):
    rng = np.random.default_rng(seed)
    w = rng.integers(0, (1 << wres), size=(q, D, S, p))
    if theta is None:
        theta = max(1, int(p * ((1 << wres) - 1) / 4))
    rs = None
    if learning:
        n = 1 if sharing == "column" else q * D * S
        rs = RandomSource(default_seeds(n, seed), sharing=sharing)
    col = Column("col0", p, SynapseBank.dense(w, wres), np.full((q, D, S), theta), random=rs)
    lr = (rule or LearningRule()) if learning else None
    return Network(name, TimeSpec(timeres, response), p, (Layer("layer0", p, (col,), learning=lr),))


@pytest.fixture
def column_net():
    return make_column_net()


@pytest.fixture(params=list(flows_sim.SIMULATORS))
def sim(request):
    """Each supported simulator in turn; skipped where it is not installed."""
    if not flows_sim.simulator_available(request.param):
        pytest.skip(f"{request.param} is not installed")
    return request.param


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    """Builds shared by the tests of one module (a design is compiled once per simulator)."""
    return tmp_path_factory.mktemp("sim_builds")


SNN_SMALL = ["--hidden", "48", "--epochs", "3", "--steps", "8", "--n-train", "2000",
             "--augment", "0"]
"""The example script's small SNN (48 hidden neurons, 3 epochs, 8 steps): well under a minute."""


def small_snn_config(tmp) -> str:
    """examples/snn_mnist.toml with its model in ``tmp/model/`` (trained on first use with
    :data:`SNN_SMALL`) and the builder path made absolute: the config text."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cfg = (root / "examples" / "snn_mnist.toml").read_text()
    cfg = cfg.replace('path = "../runs/snn_mnist/model.pt"', f'path = "{tmp}/model/model.pt"')
    cfg = cfg.replace('builder = "snn_mnist/model.py"',
                      f'builder = "{root}/examples/snn_mnist/model.py"')
    return cfg.replace("train_args = []", f"train_args = {json.dumps(SNN_SMALL)}")
