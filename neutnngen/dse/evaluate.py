"""One design-space trial: a resolved config -> :func:`neutnngen.pipeline.run` in
``ROOT/<digest>/``.

Runs on a Dask worker (or in-process). Trials resume through the pipeline's store: the
directory is named by the content digest of the resolved config and the stages, its stages
resume like any run, and a finished trial writes ``result.json`` atomically and records it
(record ``dse-trial`` in the directory's ``state.json``), so the same config later (in this
study or another one sharing the directory) reuses it without rework. An exclusive file lock on ``ROOT/<digest>/.lock`` keeps two processes from working on
the same directory at once (the second waits, then reads the first's result). Failures are
returned (never raised) so that the study records them and goes on; they are not cached.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import time
import traceback
from pathlib import Path
from typing import Any

from .. import config as cfgmod
from .._io import digest, read_json, write_json
from ..pipeline import Store
from .paths import get_path, number_at

RESULT_SCHEMA = "neutnngen-dse-trial/1"


def trial_digest(cfg_dict: dict, stages: tuple[str, ...]) -> str:
    return digest(RESULT_SCHEMA, cfg_dict, list(stages))


def format_override(key: str, value: Any) -> str:
    """``key=value`` that ``config.parse_override`` reads back as ``value``."""
    if isinstance(value, bool):
        raw = str(value).lower()
    elif isinstance(value, list | tuple):
        raw = json.dumps(list(value))
    elif isinstance(value, float):
        raw = repr(value)
    else:
        raw = str(value)
    try:
        if cfgmod.parse_override(f"{key}={raw}")[1] != value:
            raw = json.dumps(value)
    except Exception:
        raw = json.dumps(value)
    return shlex.quote(f"{key}={raw}")


def command(config_path: str, params: dict[str, Any], out: str) -> str:
    """The ``neutnngen run`` line that reproduces a trial (full flow: adds verify and the
    report)."""
    sets = " ".join(f"--set {format_override(k, v)}" for k, v in params.items())
    return f"neutnngen run {shlex.quote(config_path)} {sets} --out {shlex.quote(out)}".replace(
        "  ", " ")


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


TRIAL = "dse-trial"
"""The store record of a finished trial in its directory."""


def cached(root: str | Path, dig: str) -> dict | None:
    """The result of the finished trial ``dig`` under ``root`` (None: not finished)."""
    tdir = Path(root) / dig
    f = tdir / "result.json"
    if not Store(tdir).fresh(TRIAL, dig, f):
        return None
    try:
        r = read_json(f)
    except (OSError, ValueError):
        return None
    if r.get("schema") == RESULT_SCHEMA and r.get("status") == "ok":
        return {**r, "cached": True, "forecast": None}
    return None


def evaluate(cfg_dict: dict, root: str, stages: tuple[str, ...] = ("train", "compile", "synth"),
             screen: dict | None = None) -> dict:
    """Run one trial and return ``{"status": "ok"|"screened"|"fail", "digest", "report",
    "features", "forecast", "duration_s", "cached", "error", "host", "pid"}``. Never raises.

    With ``screen`` (a :func:`~neutnngen.dse.forecast.screen_context`), the network is
    trained first and its cost forecast from the initial IR; when
    :func:`~neutnngen.dse.forecast.screen_decision` says it cannot reach the front, compile
    and synthesis are skipped (``status: "screened"``, report of the training stage only)."""
    t0 = time.perf_counter()
    stages = tuple(stages)
    dig = trial_digest(cfg_dict, stages)
    tdir = Path(root) / dig
    base = {"schema": RESULT_SCHEMA, "digest": dig, "host": os.uname().nodename,
            "pid": os.getpid()}
    try:
        with _locked(tdir / ".lock"):
            hit = cached(root, dig)
            if hit is not None:
                return {**hit, "duration_s": time.perf_counter() - t0, "run_s": hit.get("run_s")}
            _quiet_threads()
            from ..ir import load
            from ..pipeline import run
            from .forecast import features

            cfg = cfgmod.from_dict(cfg_dict)
            pred = None
            if screen is not None:
                from .forecast import screen_decision

                rep = run(cfg, tdir, stages=("train",), show=False)
                feats = features(load(tdir / "ir" / "initial.json"), cfg.hdl.weights,
                         cfg.hdl.architecture)
                skip, pred, opt, why = screen_decision(screen, rep, feats)
                if skip:
                    dt = time.perf_counter() - t0
                    return {**base, "status": "screened", "report": rep, "features": feats,
                            "forecast": pred, "optimistic": opt, "reason": why, "run_s": dt,
                            "duration_s": dt, "cached": False, "error": None}
            rep = run(cfg, tdir, stages=stages, show=False)
            feats = features(load(tdir / "ir" / "initial.json"), cfg.hdl.weights,
                         cfg.hdl.architecture)
            dt = time.perf_counter() - t0
            res = {**base, "status": "ok", "report": rep, "features": feats, "run_s": dt,
                   "duration_s": dt, "cached": False, "error": None, "forecast": pred}
            write_json(tdir / "result.json", res)
            Store(tdir).done(TRIAL, dig, tdir / "result.json")
            (tdir / "error.json").unlink(missing_ok=True)
            return res
    except BaseException as e:  # noqa: BLE001 - every failure is a recorded trial
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        msg = f"{type(e).__name__}: {e}"
        res = {**base, "status": "fail", "error": msg,
               "traceback": traceback.format_exc()[-4000:],
               "duration_s": time.perf_counter() - t0, "cached": False}
        with contextlib.suppress(Exception):
            write_json(tdir / "error.json", res)
        return res


def _quiet_threads() -> None:
    """One worker = one core: keep torch from spawning a thread per core."""
    try:
        import torch

        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
    except Exception:
        pass


__all__ = ["RESULT_SCHEMA", "cached", "command", "evaluate", "format_override", "get_path",
           "number_at", "trial_digest"]
