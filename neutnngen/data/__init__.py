"""Datasets, value -> spike-time encoders and metrics (numpy only; aeon and scikit-learn
are imported lazily inside the functions that need them).

* :mod:`neutnngen.data.ucr`: ``load_ucr``, ``shipped_ucr_datasets``, ``Dataset``.
* :mod:`neutnngen.data.encoders`: SPEC section 6 encoders (``int16`` spike times, ``-1`` =
  silent).
* :mod:`neutnngen.data.metrics`: SPEC section 8 metrics and the k-means baseline.
"""

from neutnngen.data.encoders import (
    NONE,
    encode_images_grayscale,
    encode_images_onoff,
    encode_images_posneg,
    encode_positions,
    encode_timeseries,
    grid_centres,
)
from neutnngen.data.metrics import (
    adjusted_rand_index,
    classification_error,
    clustering_metrics,
    coverage,
    kmeans_baseline,
    purity,
    rand_index,
)
from neutnngen.data.ucr import Dataset, load_ucr, shipped_ucr_datasets

__all__ = [
    "NONE",
    "Dataset",
    "adjusted_rand_index",
    "classification_error",
    "clustering_metrics",
    "coverage",
    "encode_images_grayscale",
    "encode_images_onoff",
    "encode_images_posneg",
    "encode_positions",
    "encode_timeseries",
    "grid_centres",
    "kmeans_baseline",
    "load_ucr",
    "purity",
    "rand_index",
    "shipped_ucr_datasets",
]
