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
