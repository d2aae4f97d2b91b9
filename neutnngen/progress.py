"""A small progress display for long work (stderr; a bar on a terminal, sparse lines in logs)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress("train", total) as p: p.update(done)``. Quiet when ``enabled`` is False."""

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        self.label = label
        self.total = max(int(total), 1)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._last = -1.0
        self._last_pct = -1

    def update(self, done: int, total: int | None = None) -> None:
        if total:
            self.total = max(int(total), 1)
        if not self.enabled:
            return
        now = time.perf_counter()
        pct = int(100 * done / self.total)
        if self.tty:
            if now - self._last < 0.1 and done < self.total:
                return
            w = 30
            fill = int(w * done / self.total)
            rate = done / max(now - self.t0, 1e-9)
            self.stream.write(f"\r{self.label:>10} [{'#' * fill}{'.' * (w - fill)}] "
                              f"{done}/{self.total} {rate:,.0f}/s")
            self.stream.flush()
        elif pct // 25 != self._last_pct // 25 or done >= self.total:
            if pct == self._last_pct:
                return
            self.stream.write(f"{self.label}: {done}/{self.total} ({pct}%)\n")
            self.stream.flush()
            self._last_pct = pct
        self._last = now

    def __call__(self, done: int, total: int | None = None) -> None:
        self.update(done, total)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def step(msg: str, enabled: bool = True) -> None:
    """One line announcing a pipeline stage."""
    if enabled:
        sys.stderr.write(f"==> {msg}\n")
        sys.stderr.flush()
