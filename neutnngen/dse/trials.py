"""The study's trials as records: user-attribute names, who owns a RUNNING trial, when it
is stale (its owner died), and what the study holds (counts, completed points). Shared by
the engine (:mod:`.study`) and the reports (:mod:`.report`)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field

STALE_AFTER_S = 60.0
"""A RUNNING trial whose heartbeat is older than this is stale (crashed owner elsewhere)."""
HEARTBEAT_S = 10.0
OWNERLESS_GRACE_S = 5.0
"""A RUNNING trial without an owner (killed between ``ask`` and recording its owner, a
window of milliseconds) is stale once it is this old."""
POLL_S = 0.1

# user attributes of a trial (all JSON)
A_PARAMS, A_DIGEST, A_COMMAND, A_STATUS = "dse_params", "dse_digest", "dse_command", "dse_status"
A_DURATION, A_OBJ, A_CONS, A_FEAS = "dse_duration_s", "dse_objectives", "dse_constraints", "dse_feasible"
A_ERROR, A_SCREENED, A_FORECAST, A_FEATURES = "dse_error", "screened", "dse_forecast", "dse_features"
A_MEASURED, A_CACHED, A_OWNER, A_HEARTBEAT = "dse_measured", "dse_cached", "dse_owner", "dse_heartbeat"
A_STALE, A_RETRY, A_VIOL = "dse_stale", "dse_retry_of", "dse_constraint_violation"
A_HELD_OUT = "dse_held_out"  # metrics.val.X objective -> the trial's metrics.test.X (reported only)


def load_optuna():
    """optuna, imported on first use, with its info logging off."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _proc_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            st = fh.read()
    except OSError:
        return None
    fields = st[st.rfind(")") + 2:].split()
    if fields and fields[0] == "Z":
        return None  # zombie: dead, not yet reaped
    return fields[19] if len(fields) > 19 else "?"


def _alive(pid: int, start: str) -> bool:
    if os.path.exists("/proc/self/stat"):
        s = _proc_start(pid)
        return s is not None and (start in ("", "?") or s == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Owner:
    host: str = field(default_factory=lambda: os.uname().nodename)
    pid: int = field(default_factory=os.getpid)
    start: str = field(default_factory=lambda: _proc_start(os.getpid()) or "")
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def tag(self) -> str:
        return f"{self.host}:{self.pid}:{self.start}:{self.token}"


def stale_reason(t, me: Owner, now: float, stale_after: float = STALE_AFTER_S) -> str | None:
    tag = t.user_attrs.get(A_OWNER)
    if tag:
        host, pid, start, token = (tag.split(":") + ["", "", "", ""])[:4]
        if token == me.token:
            return None
        if host == me.host and pid.isdigit() and not _alive(int(pid), start):
            return f"owner process {pid} on {host} is gone"
    elif t.datetime_start is not None and now - t.datetime_start.timestamp() > OWNERLESS_GRACE_S:
        return "no owner recorded (its process died right after asking it)"
    hb = t.user_attrs.get(A_HEARTBEAT)
    if hb is None and t.datetime_start is not None:
        hb = t.datetime_start.timestamp()
    if hb is not None and now - float(hb) > stale_after:
        return f"no heartbeat for {now - float(hb):.0f} s"
    return None


def wait_ownerless(study, limit: float = OWNERLESS_GRACE_S + 1) -> None:
    """Wait (at most ``limit`` s) until RUNNING trials without an owner are old enough to
    judge: a live process records its owner milliseconds after asking."""
    from optuna.trial import TrialState

    t_end = time.time() + limit
    while time.time() < t_end:
        young = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                 if not t.user_attrs.get(A_OWNER) and t.datetime_start is not None
                 and time.time() - t.datetime_start.timestamp() <= OWNERLESS_GRACE_S]
        if not young:
            return
        time.sleep(0.5)


def fail_stale(study, me: Owner, stale_after: float = STALE_AFTER_S, log=None,
               names=None) -> list[int]:
    """Mark stale RUNNING trials FAIL (``dse_stale``) and enqueue their params again.

    Only a trial that holds its whole parameter set (every name in ``names``; without
    ``names``, any parameter) is asked again: a process killed inside ``study.ask`` leaves a
    trial with none or part of its parameters, which was never evaluated and names no point
    to retry (the sampler draws the next point anyway)."""
    optuna = load_optuna()
    from optuna.trial import TrialState

    out = []
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        why = stale_reason(t, me, now, stale_after)
        if why is None:
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(t._trial_id, A_STALE, why)
            storage.set_trial_user_attr(t._trial_id, A_STATUS, "stale")
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # finished or failed by someone else meanwhile
        out.append(t.number)
        whole = bool(t.params) and (names is None or set(names) <= set(t.params))
        if whole:
            study.enqueue_trial(dict(t.params), user_attrs={A_RETRY: t.number})
        if log:
            again = ("asked again" if whole else
                     "not asked again (killed before all its parameters were drawn)")
            log(f"trial {t.number}: stale ({why}); marked FAIL and {again}")
    return out


def counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    c = {"complete": 0, "screened": 0, "failed": 0, "stale": 0, "running": 0, "waiting": 0}
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE:
            c["complete"] += 1
        elif t.state == TrialState.PRUNED:
            c["screened"] += 1
        elif t.state == TrialState.FAIL:
            c["stale" if t.user_attrs.get(A_STALE) else "failed"] += 1
        elif t.state == TrialState.RUNNING:
            c["running"] += 1
        elif t.state == TrialState.WAITING:
            c["waiting"] += 1
    c["finished"] = c["complete"] + c["screened"] + c["failed"]
    return c



def completed_points(study, spec=None) -> tuple[list[dict], list[dict]]:
    """(feasible completed trials with objectives, measured forecast points)."""
    from optuna.trial import TrialState

    done, pts = [], []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        ua = t.user_attrs
        if ua.get(A_FEAS, True) and ua.get(A_OBJ):
            done.append({"number": t.number, "objectives": ua[A_OBJ]})
        if ua.get(A_FEATURES) and ua.get(A_MEASURED):
            pts.append({"key": t.number, "features": ua[A_FEATURES], "measured": ua[A_MEASURED]})
    return done, pts




__all__ = ["HEARTBEAT_S", "OWNERLESS_GRACE_S", "POLL_S", "STALE_AFTER_S", "Owner",
           "completed_points", "counts", "fail_stale", "stale_reason", "wait_ownerless"]
