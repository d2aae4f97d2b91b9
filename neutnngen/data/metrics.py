"""Clustering and classification metrics (docs/model.md §8).

Convention for a TNN column used as a clusterer: the predicted cluster of a sample is the
index of the winning (earliest, after inhibition) neuron, and ``-1`` means that nothing
fired. Samples without a winner are **not dropped**: for the Rand index, the adjusted Rand
index, purity and NMI they form one more cluster, labelled ``-1``, like any other.
``coverage`` reports how many samples had a winner, so a column that stays silent on part of
the data shows it there.

The scores are scikit-learn's (``sklearn.metrics``: ``rand_score``, ``adjusted_rand_score``,
``contingency_matrix``, ``normalized_mutual_info_score``; imported lazily), behind input
checks that turn a user's mistake into a one-line :class:`~neutnngen.errors.ConfigError`.
scikit-learn counts the pairs with exact integers and divides once, so RI, ARI and purity
are the exact pair-count ratios.
"""

from __future__ import annotations

import numbers

import numpy as np

from neutnngen.errors import ConfigError

__all__ = [
    "rand_index",
    "adjusted_rand_index",
    "purity",
    "normalized_mutual_info",
    "coverage",
    "clustering_metrics",
    "kmeans_baseline",
    "classification_error",
    "nearest_centroid_baseline",
    "logistic_baseline",
]


def _labels(func: str, name: str, labels) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ConfigError(f"{func}: {name} has shape {arr.shape}; expected a 1-D array of labels")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ConfigError(
                f"{func}: {name} holds non-integer floats; expected integer or string labels"
            )
        arr = arr.astype(np.int64)
    return arr


def _pair(
    func: str, labels_true, labels_pred, names: tuple[str, str] = ("labels_true", "labels_pred")
) -> tuple[np.ndarray, np.ndarray]:
    t = _labels(func, names[0], labels_true)
    p = _labels(func, names[1], labels_pred)
    if t.shape[0] != p.shape[0]:
        raise ConfigError(
            f"{func}: {names[0]} has {t.shape[0]} samples but {names[1]} has {p.shape[0]}; "
            f"expected the same number"
        )
    if t.shape[0] == 0:
        raise ConfigError(f"{func}: got 0 samples; expected at least 1")
    return t, p


def _winners(func: str, name: str, pred) -> np.ndarray:
    """Predicted winners: integers >= -1 (-1 = no winner)."""
    arr = _labels(func, name, pred)
    if arr.dtype.kind not in "iu" and arr.size:
        raise ConfigError(
            f"{func}: {name} has dtype {arr.dtype}; expected integer neuron indices (-1 = none)"
        )
    if arr.size and arr.min() < -1:
        raise ConfigError(
            f"{func}: {name} contains {int(arr.min())}; expected neuron indices >= 0 or -1 "
            f"for no winner"
        )
    return arr


def rand_index(labels_true, labels_pred) -> float:
    """Rand index: the share of sample pairs on which the two labelings agree.

    ``(tp + tn) / C(n, 2)``; 1.0 for a single sample. ``-1`` in ``labels_pred`` is an
    ordinary cluster (the samples with no winner). ``sklearn.metrics.rand_score``.
    """
    from sklearn.metrics import rand_score

    t, p = _pair("rand_index", labels_true, labels_pred)
    return float(rand_score(t, p))


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """Adjusted Rand index (Hubert and Arabie), chance-corrected: 0 = random, 1 = perfect.

    ``2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn))``, and 1.0 when the two
    labelings never disagree on a pair (``fn == fp == 0``, also for a single sample).
    ``-1`` in ``labels_pred`` is an ordinary cluster. ``sklearn.metrics.adjusted_rand_score``.
    """
    from sklearn.metrics import adjusted_rand_score

    t, p = _pair("adjusted_rand_index", labels_true, labels_pred)
    return float(adjusted_rand_score(t, p))


def purity(labels_true, labels_pred) -> float:
    """Purity: each predicted cluster votes for its majority class; share of samples covered.

    ``sum_j max_i n_ij / n`` over the contingency table ``n_ij``
    (``sklearn.metrics.cluster.contingency_matrix``). ``-1`` in ``labels_pred`` is one more
    cluster (so its majority class also counts); see ``coverage`` for how many samples had a
    winner.
    """
    from sklearn.metrics.cluster import contingency_matrix

    t, p = _pair("purity", labels_true, labels_pred)
    cont = contingency_matrix(t, p)
    return int(cont.max(axis=0).sum()) / int(cont.sum())


def normalized_mutual_info(labels_true, labels_pred) -> float:
    """Normalized mutual information, ``I(T; P) / mean(H(T), H(P))`` (arithmetic mean):
    0 = independent, 1 = the same partition up to renaming. ``-1`` in ``labels_pred`` is an
    ordinary cluster. ``sklearn.metrics.normalized_mutual_info_score`` (1.0 when both
    labelings are a single cluster)."""
    from sklearn.metrics import normalized_mutual_info_score

    t, p = _pair("normalized_mutual_info", labels_true, labels_pred)
    return float(normalized_mutual_info_score(t, p))


def coverage(pred) -> float:
    """Share of samples with a winner (``pred != -1``)."""
    p = _winners("coverage", "pred", pred)
    if p.size == 0:
        raise ConfigError("coverage: got 0 samples; expected at least 1")
    return int((p != -1).sum()) / p.size


def clustering_metrics(y_true, y_pred) -> dict:
    """All clustering metrics for one labeling.

    ``y_pred`` holds winner indices (``-1`` = no winner). Returns a dict with keys
    ``rand_index``, ``adjusted_rand_index``, ``normalized_mutual_info``, ``purity``,
    ``coverage`` (floats) and ``n`` (the number of samples, int). The adjusted Rand index is
    the primary clustering metric (chance-corrected); the Rand index is kept for comparison
    with earlier reports.
    """
    t, p = _pair("clustering_metrics", y_true, y_pred, ("y_true", "y_pred"))
    p = _winners("clustering_metrics", "y_pred", p)
    return {
        "rand_index": rand_index(t, p),
        "adjusted_rand_index": adjusted_rand_index(t, p),
        "normalized_mutual_info": normalized_mutual_info(t, p),
        "purity": purity(t, p),
        "coverage": coverage(p),
        "n": int(t.shape[0]),
    }


def kmeans_baseline(X_train, X_test, y_train, y_test, k: int, seed: int,
                    silent: float | None = None, X_val=None, y_val=None) -> dict:
    """k-means on the same data, split and encoding as the TNN (the docs/model.md §8 baseline).

    Pass the encoded spike-time arrays (``int16``, ``-1`` = silent) or any float features.
    With ``silent`` given, every ``-1`` becomes that value (the pipeline passes ``2**timeres``:
    a silent line is "after the last step"); else the arrays are used unchanged.
    ``sklearn.cluster.KMeans(n_clusters=k, n_init=10, random_state=seed)`` is fitted on
    ``X_train`` only, then assigns clusters to every split. Returns
    ``{"train": clustering_metrics(...), "test": clustering_metrics(...)}`` (and ``"val"``
    when ``X_val``/``y_val`` are given; coverage is always 1.0 for k-means).
    """
    func = "kmeans_baseline"
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"{func}: k={k!r} is not accepted; expected an integer >= 1")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"{func}: seed={seed!r} is not accepted; expected an integer >= 0")
    xs = []
    for name, X in (("X_train", X_train), ("X_test", X_test)):
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2:
            raise ConfigError(f"{func}: {name} has shape {arr.shape}; expected [n, features]")
        if not np.isfinite(arr).all():
            raise ConfigError(f"{func}: {name} has non-finite values; expected finite numbers")
        xs.append(arr)
    Xtr, Xte = xs
    if Xtr.shape[1] != Xte.shape[1]:
        raise ConfigError(
            f"{func}: X_train has {Xtr.shape[1]} features but X_test has {Xte.shape[1]}; "
            f"expected the same encoding for both splits"
        )
    if k > Xtr.shape[0]:
        raise ConfigError(
            f"{func}: k={k} is larger than the {Xtr.shape[0]} training samples; expected "
            f"k <= n_train"
        )
    for name, X, y in (("y_train", Xtr, y_train), ("y_test", Xte, y_test)):
        if len(np.asarray(y)) != X.shape[0]:
            raise ConfigError(
                f"{func}: {name} has {len(np.asarray(y))} labels for {X.shape[0]} samples"
            )

    from sklearn.cluster import KMeans

    def feat(X: np.ndarray) -> np.ndarray:
        return X if silent is None else np.where(X == -1, float(silent), X)

    km = KMeans(n_clusters=int(k), n_init=10, random_state=int(seed)).fit(feat(Xtr))
    out = {
        "train": clustering_metrics(y_train, km.predict(feat(Xtr)).astype(np.int64)),
        "test": clustering_metrics(y_test, km.predict(feat(Xte)).astype(np.int64)),
    }
    if X_val is not None and len(X_val):
        Xv = np.asarray(X_val, dtype=np.float64)
        if Xv.ndim != 2 or Xv.shape[1] != Xtr.shape[1]:
            raise ConfigError(f"{func}: X_val has shape {Xv.shape}; expected [n, {Xtr.shape[1]}]")
        out["val"] = clustering_metrics(y_val, km.predict(feat(Xv)).astype(np.int64))
    return out


def classification_error(y_true, y_pred) -> float:
    """Fraction of samples classified wrongly; a prediction of ``-1`` (no answer) is wrong.

    ``y_true`` holds class indices ``>= 0``, ``y_pred`` class indices or ``-1``.
    """
    func = "classification_error"
    t, p = _pair(func, y_true, y_pred, ("y_true", "y_pred"))
    t = _winners(func, "y_true", t)
    p = _winners(func, "y_pred", p)
    if (t < 0).any():
        raise ConfigError(f"{func}: y_true contains -1; expected class indices >= 0")
    return int((p != t).sum()) / t.shape[0]


def nearest_centroid_baseline(X_train, X_test, y_train, y_test, timeres: int) -> dict:
    """A non-spiking classifier on the same encoded spike times as the TNN (the MNIST
    reference): every test volley gets the class whose mean training volley is nearest
    (Euclidean). Silent lines (``-1``) count as time ``2**timeres``, later than any spike.
    Returns ``{"test": {"error", "accuracy"}}``."""
    func = "nearest_centroid_baseline"
    late = 1 << int(timeres)
    Xtr, Xte = (np.asarray(X, dtype=np.float64) for X in (X_train, X_test))
    if Xtr.ndim != 2 or Xte.ndim != 2 or Xtr.shape[1] != Xte.shape[1]:
        raise ConfigError(f"{func}: X_train {Xtr.shape} and X_test {Xte.shape}; expected "
                          "[n, lines] arrays with the same lines")
    ytr = _winners(func, "y_train", y_train)
    classes = np.unique(ytr)
    Xtr, Xte = (np.where(X < 0, late, X) for X in (Xtr, Xte))
    cents = np.stack([Xtr[ytr == c].mean(axis=0) for c in classes])
    d2 = ((Xte[:, None, :] - cents[None]) ** 2).sum(axis=-1)
    err = classification_error(y_test, classes[d2.argmin(axis=1)])
    return {"test": {"error": err, "accuracy": 1 - err}}


def logistic_baseline(X_train, X_test, y_train, y_test, timeres: int, seed: int = 0) -> dict:
    """A linear non-spiking classifier on the same encoded spike times as the TNN (the
    MNIST reference next to the nearest centroid): multinomial logistic regression
    (``sklearn.linear_model.LogisticRegression``, L2, C = 1, lbfgs, at most 500 iterations,
    seeded) on the spike times scaled to 0..1, silent lines as ``2**timeres`` (after the last
    step). Returns ``{"test": {"error", "accuracy"}}``."""
    func = "logistic_baseline"
    late = 1 << int(timeres)
    Xtr, Xte = (np.asarray(X, dtype=np.float64) for X in (X_train, X_test))
    if Xtr.ndim != 2 or Xte.ndim != 2 or Xtr.shape[1] != Xte.shape[1]:
        raise ConfigError(f"{func}: X_train {Xtr.shape} and X_test {Xte.shape}; expected "
                          "[n, lines] arrays with the same lines")
    ytr = _winners(func, "y_train", y_train)
    if np.unique(ytr).size < 2:
        raise ConfigError(f"{func}: y_train has one class; expected at least 2")
    Xtr, Xte = (np.where(X < 0, late, X) / late for X in (Xtr, Xte))
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(max_iter=500, random_state=int(seed)).fit(Xtr, ytr)
    err = classification_error(y_test, clf.predict(Xte).astype(np.int64))
    return {"test": {"error": err, "accuracy": 1 - err}}
