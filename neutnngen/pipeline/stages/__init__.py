"""The stages of a run (``train``, ``compile``, ``verify``, ``synth``, ``report``) as objects
over one context and one resume store; see :mod:`.base`."""

from .base import Context, Stage, run_stage
from .hardware import (
    CompileStage,
    SynthStage,
    VerifyLearningStage,
    VerifyStage,
    mutation_learning_stream,
    verify_stimulus,
    with_progress,
)
from .report import ReportStage
from .train import SCHEMA, TrainStage

__all__ = ["SCHEMA", "CompileStage", "Context", "ReportStage", "Stage", "SynthStage",
           "TrainStage", "VerifyLearningStage", "VerifyStage", "mutation_learning_stream", "run_stage",
           "verify_stimulus",
           "with_progress"]
