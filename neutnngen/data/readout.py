"""Reading a network's answer out of its output volleys (docs/model.md §8): the winner of a
wave, and the class a winner stands for."""

from __future__ import annotations

import numpy as np

__all__ = ["classify", "winners"]


def winners(out: np.ndarray) -> np.ndarray:
    """Predicted cluster per wave: index of the earliest output (lowest index on ties), or
    -1 when nothing fired."""
    out = np.asarray(out)
    big = np.where(out < 0, np.iinfo(np.int64).max, out)
    idx = np.argmin(big, axis=1)
    return np.where((out >= 0).any(axis=1), idx, -1)


def classify(out: np.ndarray, supervised: bool, train_out: np.ndarray | None = None,
             y_train: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Predicted class per wave: the winner itself when the last layer was trained with
    labels (neuron i = class i), else the majority training class of the winner (ties go to
    the lower class; -1 for a wave without winner or a winner that never won in training).
    Returns ``(prediction, how)`` where ``how`` names the decoder."""
    w = winners(out)
    if supervised:
        return w, "winner neuron = class (supervised last layer)"
    if train_out is None or y_train is None:
        raise ValueError("classify: an unsupervised decoder needs train_out and y_train")
    wt = winners(train_out)
    vote = np.full(out.shape[1], -1, dtype=np.int64)
    for i in range(out.shape[1]):
        ys = y_train[wt == i]
        if len(ys):
            vote[i] = np.bincount(ys).argmax()
    return np.where(w >= 0, vote[np.maximum(w, 0)], -1), "majority training class of the winner"
