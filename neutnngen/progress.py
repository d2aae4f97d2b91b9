"""Progress display for long work: tqdm bars on stderr, and one ``==> stage`` line per stage.

Bars are shown only on an interactive terminal (stderr and stdout both TTYs) and never
under ``-q`` (``show=False``); in logs and pipes they stay silent. Stage lines
(:func:`step`) are printed whenever ``show`` is true, TTY or not.

Any long loop takes a *progress hook*: a callable ``hook(done, total)`` (``total`` may be
None when unchanged). :class:`Progress` is one; the trainer, the activity replay and (once
the cocotb bench calls it) the verification runner report through it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

ProgressHook = Callable[..., None]
"""``hook(done: int, total: int | None = None)``: ``done`` units of ``total`` finished."""

T = TypeVar("T")


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def display_enabled(show: bool = True, stream=None) -> bool:
    """Whether a bar may be drawn: ``show`` and an interactive terminal."""
    return bool(show) and _isatty(stream or sys.stderr) and _isatty(sys.stdout)


class Progress:
    """``with Progress("train", total, enabled=show) as p: p.update(done)`` (or ``p(done,
    total)`` as a hook, ``p.advance()`` for one more unit). A tqdm bar when
    :func:`display_enabled`, else it does nothing."""

    def __init__(self, label: str, total: int | None, enabled: bool = True, stream=None,
                 unit: str = "it"):
        self.label = label
        self.total = None if total is None else max(int(total), 1)
        self.stream = stream or sys.stderr
        self.enabled = display_enabled(enabled, self.stream)
        self.done = 0
        self._bar = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=label, unit=unit, file=self.stream,
                             dynamic_ncols=True, leave=False, mininterval=0.1)

    def update(self, done: int, total: int | None = None) -> None:
        if total:
            self.total = max(int(total), 1)
            if self._bar is not None and self._bar.total != self.total:
                self._bar.total = self.total
        self.done = int(done)
        if self._bar is not None:
            self._bar.update(self.done - self._bar.n)

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """One more unit done; ``note`` shows next to the bar (e.g. the current item)."""
        if note is not None and self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)
        self.update(self.done + n)

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text)

    def __call__(self, done: int, total: int | None = None) -> None:
        self.update(done, total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(items: Iterable[T], label: str, total: int | None = None, show: bool = True,
          note: Callable[[T], str] | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate ``items`` with a bar (``note(item)`` names the current one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(label, total, enabled=show, unit=unit) as bar:
        for item in items:
            if note is not None:
                bar.note(note(item))
            yield item
            bar.advance()


def step(msg: str, enabled: bool = True) -> None:
    """One line announcing a pipeline stage (stderr; written around an active bar)."""
    if enabled:
        write(f"==> {msg}")


def write(msg: str, file=None) -> None:
    """Print a line without tearing an active bar."""
    stream = file or sys.stderr
    try:
        from tqdm import tqdm

        tqdm.write(msg, file=stream)
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        stream.write(msg + "\n")
    stream.flush()
