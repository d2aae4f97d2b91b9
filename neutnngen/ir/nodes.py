"""Every IR node class in one namespace (docs/model.md §§1-5), for compatibility and convenience.

The nodes live where they belong: the shared building blocks (``TimeSpec``, ``Inhibition``,
``LearningRule``, ``RandomSource``, ``SynapseBank``) in :mod:`.common`, the ``Network`` in
:mod:`.network`, and each stage kind's nodes in its own module under :mod:`.stages`
(``Layer``, ``Column``, ``Kernel``, ... in :mod:`.stages.layer`; ``Retime`` in
:mod:`.stages.retime`). See :mod:`.kinds` for what a stage kind is.
"""

from __future__ import annotations

from .common import (
    CREDITS,
    INHIBITION_POLICIES,
    LEARNING_KINDS,
    MU_NAMES,
    MU_ONE,
    NONE,
    PROXIMAL_MODES,
    RANDOM_KINDS,
    RANDOM_SHARING,
    RESPONSES,
    Inhibition,
    LearningRule,
    RandomSource,
    SynapseBank,
    TimeSpec,
    default_seeds,
)
from .network import Network
from .stages.layer.nodes import Column, Dendrite, Kernel, Layer, Neuron, Segment
from .stages.lut import Lut
from .stages.retime import Retime

__all__ = [
    "CREDITS", "INHIBITION_POLICIES", "LEARNING_KINDS", "MU_NAMES", "MU_ONE", "NONE",
    "PROXIMAL_MODES", "RANDOM_KINDS", "RANDOM_SHARING", "RESPONSES", "Column", "Dendrite",
    "Inhibition", "Kernel", "Layer", "LearningRule", "Lut", "Network", "Neuron", "RandomSource",
    "Retime", "Segment", "SynapseBank", "TimeSpec", "default_seeds",
]
