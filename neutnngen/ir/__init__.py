"""The column-and-dendrite IR: nodes, verification, text form, files and the reference
interpreter. Imports numpy only (never torch, amaranth or cocotb).

A network is a sequence of stages of registered *stage kinds* (:mod:`.kinds`: ``layer``,
``retime``); each kind's IR lives in :mod:`.stages`."""

from .interp import Interpreter, column_forward, first_crossing, inhibit, potentials
from .kinds import StageKind, StageState, UnknownStageKind, kind_named, kind_of
from .nodes import (
    NONE,
    Column,
    Dendrite,
    Inhibition,
    Kernel,
    Layer,
    LearningRule,
    Network,
    Neuron,
    RandomSource,
    Retime,
    Segment,
    SynapseBank,
    TimeSpec,
    default_seeds,
)
from .serialize import load, save
from .text import parse, to_text
from .verify import Diagnostic, check, verify

__all__ = [
    "NONE", "Column", "Dendrite", "Diagnostic", "Inhibition", "Interpreter", "Kernel", "Layer",
    "LearningRule", "Network", "Neuron", "RandomSource", "Retime", "Segment", "StageKind",
    "StageState", "SynapseBank", "TimeSpec", "UnknownStageKind", "check", "column_forward",
    "default_seeds", "first_crossing", "inhibit", "kind_named", "kind_of", "load", "parse",
    "potentials", "save", "to_text", "verify",
]
