"""What a nextpnr run says: the utilisation block of its log, whether a failure means "does
not fit", and the achieved fmax and timing of its JSON report (:func:`pnr_outcome`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from neutnngen.errors import ToolchainError
from neutnngen.flows import tools
from neutnngen.flows.build import BuildRun
from neutnngen.flows.results import Ecp5Result, Ice40Result

__all__ = ["IO_RESOURCES", "io_only_failure", "parse_fit_failure", "parse_utilisation_log",
           "pnr_outcome"]

# nextpnr resources that are package pins: over capacity alone, they call for the harness
IO_RESOURCES = frozenset({"SB_IO", "TRELLIS_IO"})

_UTIL_LINE = re.compile(r"^Info:\s+([A-Za-z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%")
_FIT_PATTERNS = re.compile(
    r"no BELs remaining|Unable to find a placement location|Unable to place cell"
    r"|failed to place|Failed to route|Routing failed|exceeds the number of|too many",
    re.IGNORECASE,
)


def parse_utilisation_log(text: str) -> dict[str, tuple[int, int]]:
    """The last "Device utilisation:" block of a nextpnr log as resource -> (used, available)."""
    blocks = text.split("Device utilisation:")
    if len(blocks) < 2:
        return {}
    util: dict[str, tuple[int, int]] = {}
    for line in blocks[-1].splitlines()[1:]:
        m = _UTIL_LINE.match(line.strip())
        if not m:
            if util:
                break
            continue
        util[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return util


def parse_fit_failure(text: str) -> tuple[bool, str]:
    """(does-not-fit, error line) from a failed nextpnr log: a resource over 100% in the
    utilisation block, or a placement/routing error naming a lack of resources."""
    errors = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("ERROR")]
    over = [k for k, (u, a) in parse_utilisation_log(text).items() if u > a]
    capacity_error = next((e for e in reversed(errors) if _FIT_PATTERNS.search(e)), "")
    if over or capacity_error:
        line = capacity_error or (errors[-1] if errors else "")
        if over:
            line = (line + " " if line else "") + f"(over capacity: {', '.join(over)})"
        return True, line
    return False, errors[-1] if errors else ""


def _report(run: BuildRun) -> dict[str, Any]:
    try:
        data = json.loads(run.read_text("report.json"))
    except (OSError, ValueError) as exc:
        raise ToolchainError(
            f"{run.build.step}: cannot read report.json: {exc}\n{tools.log_tail(run.log_text())}",
            path=run.build.tool,
        ) from exc
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class PnrOutcome:
    fits: bool
    fit_error: str
    utilisation: dict[str, tuple[int, int]]
    fmax_by_clock: dict[str, float]
    fmax_mhz: float | None
    timing_met: bool | None


def pnr_outcome(run: BuildRun) -> PnrOutcome:
    text = run.log_text()
    if run.returncode != 0 or not run.path("report.json").is_file():
        no_fit, line = parse_fit_failure(text)
        if not no_fit:
            raise run.failure()
        return PnrOutcome(False, line, parse_utilisation_log(text), {}, None, None)
    rep = _report(run)
    util = {
        str(k): (int(v.get("used", 0)), int(v.get("available", 0)))
        for k, v in sorted(rep.get("utilization", {}).items())
    } or parse_utilisation_log(text)
    fmax = {str(k): float(v["achieved"]) for k, v in sorted(rep.get("fmax", {}).items())}
    met = all(
        float(v["achieved"]) >= float(v.get("constraint", 0)) for v in rep.get("fmax", {}).values()
    )
    return PnrOutcome(True, "", util, fmax, min(fmax.values()) if fmax else None, met)


def io_only_failure(result: Ice40Result | Ecp5Result) -> bool:
    """True when ``result`` did not fit only because its ports need more pins than the
    package has (every over-capacity resource is an I/O one: ``SB_IO``, ``TRELLIS_IO``)."""
    if result.fits:
        return False
    over = {k for k, (used, available) in result.utilisation.items() if used > available}
    if over:
        return over <= IO_RESOURCES
    return any(r in result.fit_error for r in IO_RESOURCES)
