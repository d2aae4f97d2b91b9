"""Tasks: one per ``data.kind``, behind one protocol (:class:`~.base.Task`).

Adding a data kind = one new module here with a :class:`~.base.Task` subclass, one entry in
:data:`TASKS` and its name in ``config.CHOICES["data.kind"]``.
"""

from __future__ import annotations

from ...config import CHOICES, Config
from ...errors import ConfigError
from .base import Data, Task, infer, supervised_config, supervised_last
from .files import FilesTask
from .mnist import MnistTask
from .place_cells import PlaceCellsTask, place_centres
from .ucr import UcrTask

TASKS: dict[str, Task] = {t.kind: t for t in (UcrTask(), MnistTask(), PlaceCellsTask(),
                                               FilesTask())}


def get_task(kind: str | Config) -> Task:
    """The task of a ``data.kind`` (or of a config)."""
    if isinstance(kind, Config):
        kind = kind.data.kind
    try:
        return TASKS[kind]
    except KeyError:
        raise ConfigError(f"data.kind={kind!r}; accepted: {', '.join(CHOICES['data.kind'])}",
                          path="data.kind") from None


__all__ = ["TASKS", "Data", "Task", "get_task", "infer", "place_centres", "supervised_config",
           "supervised_last"]
