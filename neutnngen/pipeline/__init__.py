"""The pipeline: tasks (one per ``data.kind``) and stages (train, compile, verify, synth,
report) with one resume store, shared by ``neutnngen run``, ``prune`` and ``dse``.

* :mod:`.tasks`: :class:`~.tasks.Task` and the registry :data:`~.tasks.TASKS`
  (``ucr``, ``mnist``, ``place_cells``, ``files``);
* :mod:`.network`: the config's network, built and trained greedily;
* :mod:`.stages`: :class:`~.stages.Stage` objects and :func:`~.stages.run_stage`;
* :mod:`.store`: :class:`~.store.Store`, the resume records of a directory;
* :mod:`.run`: :func:`run`, the short list of stages over a task.
"""

from .network import (
    build_and_train,
    init_network,
    ir_summary,
    layer_epochs,
    layer_plan,
    learning_rule,
    needs_labels,
    train_network,
    training_order,
)
from .run import (
    ALL_STAGES,
    check,
    headline,
    load_config,
    plan,
    prepare_data,
    primary_metric,
    resolve_data_paths,
    run,
    version,
)
from .stages import Context, Stage, mutation_learning_stream, run_stage, verify_stimulus
from .store import Store
from .tasks import TASKS, Data, Task, get_task, infer

__all__ = ["ALL_STAGES", "TASKS", "Context", "Data", "Stage", "Store", "Task",
           "build_and_train", "check", "get_task", "headline", "infer", "init_network", "ir_summary",
           "layer_epochs", "layer_plan", "learning_rule", "load_config", "mutation_learning_stream",
           "needs_labels", "plan",
           "prepare_data", "primary_metric", "resolve_data_paths", "run", "run_stage",
           "train_network", "training_order", "verify_stimulus", "version"]
