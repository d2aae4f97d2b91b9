"""Mutation testing of a verification bench: how many seeded bugs in the generated Verilog
does it catch?

:func:`sites` lists every place of a generated Verilog text (Amaranth -> Yosys
``write_verilog`` style) where a small, token-local change is the kind of bug a generator
makes: a comparison off by one or inverted (``<`` / ``<=``, ``==`` / ``!=``), an operator
swapped (``+``/``-``, ``&``/``|``), a constant +/- 1 (thresholds, reset values, sequencer
line tokens), a hardwired weight (a case value) changed by one, a weight table entry moved
to the neighbouring line (a case label), a memory initializer word +/- 1 (``rom``: the
weights, biases and indices of an SNN design), swapped multiplexer arms, an inverted
condition.
:func:`choose` draws ``n`` of them, seeded, round-robin over the kinds present (so the
many weight-table entries do not drown the rare kinds). :func:`run_mutants` writes each
mutant next to the original, runs a check on it (``check(verilog_path, workdir) -> caught``)
and reports the kill rate and every surviving mutant (file, line, change).

A mutant that the simulator cannot build counts as ``invalid`` and is left out of the kill
rate; a mutant that hangs the design is caught by the bench's progress check.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ToolchainError, VerificationMismatch

_ASSIGN = re.compile(r"^(\s*assign\s+\S+\s*=\s*)(.*);\s*$")
_CMP = re.compile(r"(?<![<>=!])(<=|>=|<|>|==|!=)(?![<>=])")
_ARITH = re.compile(r"(?<=\s)([+\-&|^])(?=\s)")
_CONST = re.compile(r"(\d+)'h([0-9a-fA-F]+)")
_MUX = re.compile(r"^(.*?\?\s*)([^:?]+?)(\s*:\s*)([^:?;]+)$")
_CASE_VAL = re.compile(r"^(\s*\\\$\d+\s*=\s*)(\d+)'h([0-9a-fA-F]+);\s*$")
_CASE_LBL = re.compile(r"^(\s*)(\d+)'h([0-9a-fA-F]+):\s*$")
_NB_CONST = re.compile(r"^(\s*\S+\s*<=\s*)(\d+)'h([0-9a-fA-F]+);\s*$")  # reset values
_MEM_INIT = re.compile(r"^(\s*\S+\[\d+\]\s*=\s*)(\d+)'h([0-9a-fA-F]+);\s*$")  # memory words

SWAP_CMP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
SWAP_OP = {"+": "-", "-": "+", "&": "|", "|": "&", "^": "|"}
KINDS = ("cmp", "const", "invert", "mux", "op", "reset", "rom", "weight", "wline")


@dataclass(frozen=True)
class Site:
    """One mutation: on 0-based ``line``, the characters ``start:end`` become ``new``."""

    line: int
    kind: str  # one of KINDS
    start: int
    end: int
    new: str
    desc: str


def _bump(width: int, hexv: str, d: int) -> str | None:
    v = int(hexv, 16) + d
    if v < 0 or v >= (1 << width):
        return None
    return f"{width}'h{v:x}"


def sites(text: str) -> list[Site]:
    """Every mutable place of a generated Verilog text, in file order."""
    out: list[Site] = []
    in_comb = in_seq = in_init = False
    for n, ln in enumerate(text.split("\n")):
        s = ln.strip()
        if s.startswith("initial begin"):
            in_init = True
        elif in_init and s == "end":
            in_init = False
        elif in_init:
            m = _MEM_INIT.match(ln)
            if m:
                _word_site(out, n, "rom", m, m.end(1), +1, f"memory word {{}} -> {{}} in `{s}`")
            continue
        if s.startswith("always @*"):
            in_comb, in_seq = True, False
        elif s.startswith("always @(posedge"):
            in_comb, in_seq = False, True
        elif s.startswith(("assign", "endmodule", "module")):
            in_comb = in_seq = False
        m = _ASSIGN.match(ln)
        if m:
            r0, rhs = m.end(1), m.group(2)
            for c in _CMP.finditer(rhs):
                new = SWAP_CMP[c.group(1)]
                out.append(Site(n, "cmp", r0 + c.start(), r0 + c.end(), new,
                                f"{c.group(1)} -> {new} in `{s}`"))
            for c in _ARITH.finditer(rhs):
                new = SWAP_OP[c.group(1)]
                out.append(Site(n, "op", r0 + c.start(), r0 + c.end(), new,
                                f"{c.group(1)} -> {new} in `{s}`"))
            for c in _CONST.finditer(rhs):
                w = int(c.group(1))
                nv = _bump(w, c.group(2), +1) or _bump(w, c.group(2), -1)
                if nv:
                    out.append(Site(n, "const", r0 + c.start(), r0 + c.end(), nv,
                                    f"{c.group(0)} -> {nv} in `{s}`"))
            mm = _MUX.match(rhs)
            if mm and rhs.count("?") == 1:
                # keep the whitespace after each arm: an escaped identifier (``\\$47 ``)
                # ends at whitespace
                a, b = mm.group(2).rstrip() + " ", mm.group(4).rstrip() + " "
                if a.strip() != b.strip():
                    out.append(Site(n, "mux", r0, r0 + len(rhs),
                                    f"{mm.group(1)}{b}{mm.group(3)}{a}",
                                    f"multiplexer arms swapped in `{s}`"))
            if not rhs.startswith(("~", "!")) and "=" not in rhs and len(rhs) < 60 \
                    and " " in rhs:
                out.append(Site(n, "invert", r0, r0 + len(rhs), f"~({rhs})",
                                f"inverted `{s}`"))
            continue
        if in_comb:
            m = _CASE_VAL.match(ln)
            if m:
                _word_site(out, n, "weight", m, m.end(1), -1, f"case value {{}} -> {{}} in `{s}`")
            m = _CASE_LBL.match(ln)
            if m:
                _word_site(out, n, "wline", m, len(m.group(1)), +1, "case label {} -> {}")
        elif in_seq:
            m = _NB_CONST.match(ln)
            if m:
                _word_site(out, n, "reset", m, m.end(1), +1,
                           f"register value {{}} -> {{}} in `{s}`")
    return out


def _word_site(out: list[Site], n: int, kind: str, m: re.Match, start: int, d: int,
               desc: str) -> None:
    """Append the site that moves the sized constant of ``m`` (groups 2: width, 3: hex
    digits; at column ``start``) by ``d``, or by ``-d`` at the end of its range; ``desc``
    gets the old and new constant."""
    w = int(m.group(2))
    old = f"{m.group(2)}'h{m.group(3)}"
    nv = _bump(w, m.group(3), d) or _bump(w, m.group(3), -d)
    if nv:
        out.append(Site(n, kind, start, start + len(old), nv, desc.format(old, nv)))


def apply(text: str, site: Site) -> str:
    """``text`` with the one mutation ``site``."""
    lines = text.split("\n")
    ln = lines[site.line]
    lines[site.line] = ln[:site.start] + site.new + ln[site.end:]
    return "\n".join(lines)


def choose(text: str, n: int, seed: int,
           accept: Callable[[Site, str], bool] | None = None) -> list[Site]:
    """``n`` sites (fewer when the text has fewer), seeded, without replacement, taken
    round-robin over the kinds present in :data:`KINDS` order; ``accept(site, line)``
    filters the sites first (e.g. memory words that are always written before they are
    read: their mutants are equivalent)."""
    rng = random.Random(seed)
    by: dict[str, list[Site]] = {}
    lines = text.split("\n") if accept is not None else []
    for s in sites(text):
        if accept is not None and not accept(s, lines[s.line]):
            continue
        by.setdefault(s.kind, []).append(s)
    for v in by.values():
        rng.shuffle(v)
    order = [k for k in KINDS if k in by]
    chosen: list[Site] = []
    i = 0
    while len(chosen) < n and any(by.values()):
        k = order[i % len(order)]
        if by[k]:
            chosen.append(by[k].pop())
        i += 1
    return chosen


@dataclass
class MutationReport:
    """Outcome of a mutation campaign."""

    file: str
    seed: int
    mutants: int  # drawn
    killed: int
    survived: int
    invalid: int  # did not build; not in the kill rate
    kill_rate: float | None  # killed / (killed + survived)
    by_kind: dict[str, list[int]]  # kind -> [killed, total valid]
    survivors: list[dict[str, Any]]  # file, line, kind, change
    invalid_mutants: list[dict[str, Any]]
    wall_s: float
    results: list[dict[str, Any]] = field(default_factory=list)  # one per mutant
    # register-mode campaigns: the random weight sets run after the trained weights
    # (sets, seed, corner volleys, waves per set, mutants only they killed)
    random_weights: dict[str, Any] | None = None
    # learn-mode campaigns: the training stream run through the learning bench (waves,
    # labels or not, mutants only it killed)
    learning: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# (mutated Verilog, work dir) -> caught; a str (truthy) names the run that caught it
Check = Callable[[Path, Path], "bool | str"]


def run_mutants(verilog: str | Path, n: int, seed: int, check: Check, workdir: str | Path,
                progress: Callable[[int, int], None] | None = None,
                accept: Callable[[Site, str], bool] | None = None) -> MutationReport:
    """Apply ``n`` seeded mutations (:func:`choose`) one at a time to the Verilog file
    ``verilog`` and run ``check(path, workdir)`` on each: ``True`` when the bench caught
    the mutant (a mismatch or a protocol error; a string: caught, by the run it names, kept
    as the entry's ``killed_by``). A :class:`VerificationMismatch` raised by
    ``check`` counts as caught, a :class:`ToolchainError` (the mutant did not build) as
    invalid. The mutant files are written as ``workdir/mNNN/<name>``."""
    if n < 1:
        raise ValueError(f"mutants={n!r}; expected a number of mutants >= 1")
    t0 = time.monotonic()
    src = Path(verilog)
    text = src.read_text()
    chosen = choose(text, n, seed, accept)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    lines = text.split("\n")
    for k, site in enumerate(chosen):
        mdir = work / f"m{k:03d}"
        if mdir.exists():
            shutil.rmtree(mdir)
        mdir.mkdir(parents=True)
        path = mdir / src.name
        path.write_text(apply(text, site))
        entry = {"mutant": k, "file": str(src), "line": site.line + 1, "kind": site.kind,
                 "change": site.desc, "original": lines[site.line].strip()}
        tm = time.monotonic()
        try:
            caught = check(path, mdir)
            entry["status"] = "killed" if caught else "survived"
            if isinstance(caught, str):
                entry["killed_by"] = caught
        except VerificationMismatch as exc:
            entry["status"], entry["reason"] = "killed", str(exc)[:300]
        except ToolchainError as exc:
            entry["status"], entry["reason"] = "invalid", str(exc)[:300]
        entry["seconds"] = round(time.monotonic() - tm, 2)
        results.append(entry)
        if progress is not None:
            progress(k + 1, len(chosen))
    killed = sum(r["status"] == "killed" for r in results)
    survived = [r for r in results if r["status"] == "survived"]
    invalid = [r for r in results if r["status"] == "invalid"]
    by_kind: dict[str, list[int]] = {}
    for r in results:
        if r["status"] != "invalid":
            v = by_kind.setdefault(r["kind"], [0, 0])
            v[0] += r["status"] == "killed"
            v[1] += 1
    valid = killed + len(survived)
    keep = ("mutant", "file", "line", "kind", "change")
    return MutationReport(
        file=str(src), seed=seed, mutants=len(chosen), killed=killed, survived=len(survived),
        invalid=len(invalid), kill_rate=round(killed / valid, 4) if valid else None,
        by_kind=by_kind, survivors=[{k: r[k] for k in keep} for r in survived],
        invalid_mutants=[{k: r[k] for k in (*keep, "reason")} for r in invalid],
        wall_s=round(time.monotonic() - t0, 2), results=results)


def mutation_campaign(net, verilog: str | Path, names: str | Path, X, *, n: int, seed: int = 0,
                      simulator: str | None = None, workdir: str | Path,
                      timeout: float = 600, schemata_build: bool | None = None,
                      random_weights: int | None = None, weight_seed: int = 0,
                      weight_corner: int | None = None,
                      accept: Callable[[Site, str], bool] | None = None,
                      learning: Mapping[str, Any] | None = None,
                      **bench: Any) -> MutationReport:
    """:func:`run_mutants` with the inference bench (:func:`neutnngen.verify.run_verification`
    on the volleys ``X``, stopping at the first wrong output beat; ``bench``: its other
    keyword arguments, e.g. ``prox``, ``load_weights``). The full report (one entry per
    mutant) is written to ``workdir/report.json``.

    ``schemata_build`` (default: on for Verilator, whose builds are slow, off for Icarus):
    build one :func:`schemata` of all drawn mutants and select each with ``mutsel``; its
    ``mutsel = 0`` run must pass first (else :class:`VerificationMismatch`). A mutant that
    breaks the schemata build makes the campaign fall back to one build per mutant.

    ``random_weights``: the number of seeded random weight sets
    (:func:`neutnngen.verify.weights.weight_sets`, seed ``weight_seed``, each with up to
    ``weight_corner`` (default :data:`~neutnngen.verify.weights.CORNER`) corner volleys
    chosen for it) loaded through ``wload_*`` and run after the trained weights; default 1
    for a ``register``-mode design, 0 otherwise. A mutant is killed when the trained run
    or any set's run mismatches (``killed_by``: ``trained`` or ``random weights <i>``); a
    set runs only on mutants the runs before it missed. The original design must pass
    every set first (else :class:`VerificationMismatch`: every mutant would count as
    killed). The report's ``random_weights`` says what ran and what only it killed.
    ``accept``: as for :func:`choose` (only the sites it accepts are drawn).

    ``learning`` (``learn``-mode designs): ``{"X": volleys, "labels": labels or None}``, a
    training stream run with ``learn_en`` high through the learning bench
    (:func:`neutnngen.verify.learn.run_learning_verification`: outputs, every weight and
    LFSR state after every wave, the ``wread`` read-back at the end) on every mutant the
    inference run misses (``killed_by``: ``learning``), before the random weight sets.
    The unmutated design must pass it first. On a ``learn``-mode design ``random_weights``
    defaults to 1 (its weights load through ``wload_*`` like a register design's)."""
    import json

    from .protocol import TopInfo
    from .run import run_verification
    from .simulators import default_simulator
    from .weights import CORNER, sets_for, verify_weight_sets, weight_sets

    work = Path(workdir).resolve()
    build = work / "sim_build"
    sim = simulator or default_simulator()
    if schemata_build is None:
        schemata_build = sim == "verilator"
    src = Path(verilog)
    names_d = json.loads(Path(names).read_text())
    top = names_d["top"].get("name", "neutnngen_top")
    mode = TopInfo.from_names(names_d).weights
    if learning is not None and mode != "learn":
        raise ValueError(f"a learning stream was given, but the design's weights are {mode!r}; "
                         "it needs a learn-mode design")
    # a learn-mode design loads weights like a register-mode one (wload_*, learn_en low)
    n_sets = sets_for(mode, 1 if random_weights is None and mode == "learn" else random_weights)
    sets = weight_sets(net, X, n_sets, weight_seed,
                       CORNER if weight_corner is None else weight_corner,
                       prox=bench.get("prox"))

    def learn_run(path: Path, mdir: Path, **kw: Any):
        from .learn import run_learning_verification

        assert learning is not None
        return run_learning_verification(
            net, path, names, learning["X"], labels=learning.get("labels"), simulator=sim,
            workdir=mdir / "learn", build_dir=build, timeout=timeout, **kw)

    def baseline(path: Path, mdir: Path, **kw: Any) -> None:
        """The unmutated design (``path``) must pass the learning stream and every random
        weight set."""
        if learning is not None:
            r = learn_run(path, mdir, **kw)
            if not r.passed:
                raise VerificationMismatch(
                    f"the unmutated design {path} fails the learning stream: "
                    f"{r.mismatches} output, {r.weight_mismatches} weight, {r.rng_mismatches} "
                    f"LFSR, {r.readout_mismatches} read-back mismatches; the mutants cannot "
                    "be judged with it", first=r.first_weight_mismatch or r.first_mismatch)
        for r, ws in zip(verify_weight_sets(sets, path, names, workdir=mdir, simulator=sim,
                                            build_dir=build, timeout=timeout, **kw, **bench),
                         sets, strict=False):
            if r.mismatches:
                raise VerificationMismatch(
                    f"the unmutated design {path} fails random weight set {ws.index} (seed "
                    f"{ws.seed}): {r.first_mismatch}; the mutants cannot be judged with it",
                    first=r.first_mismatch)

    schem: Path | None = None
    if schemata_build:
        chosen = choose(src.read_text(), n, seed, accept)
        schem = work / "schemata" / src.name
        schem.parent.mkdir(parents=True, exist_ok=True)
        schem.write_text(schemata(src.read_text(), chosen, top))
        try:
            r0 = run_verification(net, schem, names, X, simulator=sim, workdir=schem.parent,
                                  build_dir=build, timeout=timeout, mutsel=0, **bench)
        except ToolchainError:
            schem = None  # some mutant does not build: one build per mutant instead
        else:
            if r0.mismatches:
                raise VerificationMismatch(
                    f"the mutant schemata {schem} with mutsel=0 (no mutant) fails the bench: "
                    f"{r0.first_mismatch}", first=r0.first_mismatch)
            baseline(schem, schem.parent, mutsel=0)
    if (sets or learning is not None) and schem is None:
        baseline(src, work / "original")
    index = {}

    def check(path: Path, mdir: Path) -> bool | str:
        kw: dict[str, Any] = {}
        if schem is not None:
            kw["mutsel"] = index.setdefault(mdir.name, len(index) + 1)
            path = schem
        run = dict(simulator=sim, build_dir=build, timeout=timeout, stop_on_mismatch=True,
                   **kw, **bench)
        r = run_verification(net, path, names, X, workdir=mdir, **run)
        if r.mismatches:
            return "trained" if sets or learning is not None else True
        if learning is not None:
            try:
                rl = learn_run(path, mdir, stop_on_mismatch=True, **kw)
            except VerificationMismatch:  # a protocol error
                return "learning"
            if not rl.passed:
                return "learning"
        for ws in sets:
            try:
                rs = verify_weight_sets([ws], path, names, workdir=mdir, **run)[0]
            except VerificationMismatch:  # a protocol error: caught, by this set
                return f"random weights {ws.index}"
            if rs.mismatches:
                return f"random weights {ws.index}"
        return False

    rep = run_mutants(verilog, n, seed, check, work, accept=accept)
    if learning is not None:
        only = [r["mutant"] for r in rep.results if r.get("killed_by") == "learning"]
        lab = learning.get("labels")
        rep.learning = {"waves": int(len(learning["X"])), "labels": lab is not None,
                        "killed_only_by_learning": len(only), "mutants": only}
    if sets:
        only = [r["mutant"] for r in rep.results
                if str(r.get("killed_by", "")).startswith("random weights")
                and r["status"] == "killed"]
        rep.random_weights = {"sets": len(sets), "seed": weight_seed,
                              "corner": [ws.corner for ws in sets],
                              "waves": [len(ws.X) for ws in sets],
                              "killed_only_by_random_weights": len(only), "mutants": only}
    (work / "report.json").write_text(json.dumps(rep.to_dict(), indent=1))
    return rep


MUTSEL_BITS = 16


def schemata(text: str, chosen: list[Site], top: str) -> str:
    """Every mutation of ``chosen`` in ONE text (a mutant schemata), mutant ``k`` (1-based,
    list order) active while the register ``mutsel`` added to module ``top`` holds ``k``
    (0: the original design); submodules read it as ``top.mutsel``. A campaign then
    builds once (Verilator) and the bench sets ``mutsel`` before reset."""
    lines = text.split("\n")
    ref = f"{top}.mutsel"
    by_line: dict[int, list[tuple[int, Site]]] = {}
    for k, s in enumerate(chosen, start=1):
        by_line.setdefault(s.line, []).append((k, s))
    for n, items in by_line.items():
        orig = lines[n]
        for rx, end in ((_ASSIGN, ";"), (_CASE_VAL, ";"), (_CASE_LBL, ":"), (_NB_CONST, ";")):
            m = rx.match(orig)
            if m is None:
                continue
            old = orig[m.end(1):].rstrip().rstrip(end).rstrip()
            expr = f"({old} )"  # the space ends an escaped identifier (``\\$5 ``)
            for k, s in reversed(items):
                mut = orig[:s.start] + s.new + orig[s.end:]
                new = mut[m.end(1):].rstrip().rstrip(end).rstrip()
                expr = f"(({ref} == {MUTSEL_BITS}'d{k}) ? ({new} ) : {expr})"
            lines[n] = f"{orig[:m.end(1)]}{expr}{end}"
            break
        else:
            raise ValueError(f"cannot put the mutation of line {n + 1} into a schemata: "
                             f"{orig!r}")
    head = re.compile(rf"^module {re.escape(top)}\(.*\);\s*$")
    for n, ln in enumerate(lines):
        if head.match(ln):
            lines.insert(n + 1, f"  reg [{MUTSEL_BITS - 1}:0] mutsel = {MUTSEL_BITS}'d0;")
            break
    else:
        raise ValueError(f"module {top} not found in the Verilog text")
    return "\n".join(lines)


_IDENT = re.compile(r"\\\S+|[A-Za-z_][A-Za-z0-9_$]*")
_KEYWORDS = {"assign", "always", "begin", "end", "if", "else", "case", "casez", "endcase",
             "posedge", "negedge", "or", "reg", "wire", "input", "output", "full_case"}


def _idents(text: str) -> set[str]:
    """The identifiers of a Verilog fragment (escaped ones without the trailing space;
    sized constants and keywords left out)."""
    text = _CONST.sub(" ", re.sub(r"\d+'[bdh][0-9a-fA-FxzXZ_]+", " ", text))
    return {t for t in _IDENT.findall(text) if t not in _KEYWORDS}


def cone_registers(text: str, line: int) -> list[str]:
    """The named registers that the net changed on 0-based ``line`` reaches through
    combinational logic inside its module (the first register stage: ``assign`` and
    ``always @*`` blocks followed, stopping at each ``always @(posedge`` target), ports of
    the top module excluded. A mutant that changes such a register is told from the
    original by it although the ports may never differ (e.g. a bit the consumer masks)."""
    lines = text.split("\n")
    head = next((i for i in range(line, -1, -1) if lines[i].startswith("module ")), 0)
    tail = next((i for i in range(line, len(lines)) if lines[i].startswith("endmodule")),
                len(lines))
    comb: list[tuple[set[str], set[str]]] = []  # (read, written)
    seq: list[tuple[set[str], str]] = []
    i = head
    while i < tail:
        s = lines[i].strip()
        m = _ASSIGN.match(lines[i])
        if m:
            lhs = _idents(m.group(1).split("=", 1)[0].replace("assign", ""))
            comb.append((_idents(m.group(2)), lhs))
        elif s.startswith("always @*"):
            j, body = i + 1, []
            while j < tail and lines[j] != "  end":
                body.append(lines[j])
                j += 1
            written = {next(iter(_idents(b.split("=", 1)[0])), "") for b in body
                       if re.match(r"^\s*\S+(\s*\[[^]]*\])?\s*=[^=]", b)}
            comb.append((_idents("\n".join(body)) - written, written - {""}))
            i = j
        elif s.startswith("always @(posedge") and i + 1 < tail:
            m2 = re.match(r"^\s*(\S+)\s*<=\s*(.*);\s*$", lines[i + 1])
            if m2:
                seq.append((_idents(m2.group(2)), m2.group(1)))
        i += 1
    start = _ASSIGN.match(lines[line])
    if start:
        reached = _idents(start.group(1).split("=", 1)[0].replace("assign", ""))
    else:
        m3 = re.match(r"^\s*(\S+)\s*(<=|=)", lines[line])
        reached = {m3.group(1)} if m3 else set()
        blk = next((k for k in range(line, head, -1) if lines[k].strip().startswith("always")),
                   None)
        if blk is not None and lines[blk].strip().startswith("always @*"):
            j, body = blk + 1, []
            while j < tail and lines[j] != "  end":
                body.append(lines[j])
                j += 1
            reached |= {next(iter(_idents(b.split("=", 1)[0])), "") for b in body
                        if re.match(r"^\s*\S+(\s*\[[^]]*\])?\s*=[^=]", b)} - {""}
    changed = True
    while changed:
        changed = False
        for rd, wr in comb:
            if rd & reached and not wr <= reached:
                reached |= wr
                changed = True
    regs = {r for rd, r in seq if rd & reached or r in reached}
    top_ports: set[str] = set()
    m4 = re.search(r"^module (\S+)\((.*)\);", text, re.M)
    if m4:
        top_ports = {p.strip() for p in m4.group(2).split(",")}
    return sorted(r for r in regs if "$" not in r and r not in top_ports)


def hide_names(text: str, names: list[str], tag: str = "$cone") -> str:
    """``text`` with every whole-word use of each plain identifier in ``names`` renamed
    to an escaped one holding ``$`` (``\\name$cone ``), in every module: Yosys's
    ``rename -hide w:*$*`` (the ``hide_internal`` proof) then leaves it unpaired."""
    for n in names:
        text = re.sub(rf"(?<![\w$\\]){re.escape(n)}(?![\w$])", f"\\\\{n}{tag} ", text)
    return text


_LEAF = re.compile(r"^\{\s*\S+\s*\[(\d+)\],\s*\S+\s*\[(\d+):(\d+)\]\s*\}$")
_SEL = re.compile(r"^(sel[01])\[(\d+)\]\s*\?\s*(.+)$")


def _arms(rest: str) -> tuple[str, str] | None:
    """``a : b`` split at the colon outside brackets and braces."""
    depth = 0
    for i, c in enumerate(rest):
        if c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        elif c == ":" and depth == 0:
            return rest[:i], rest[i + 1:]
    return None


def _mux_lines(text: str, line: int, n: int) -> list[tuple[str, int]] | None:
    """The input line (``("line", i)``) or constant (``("const", v)``) that the input
    multiplexer of the module holding ``line`` passes at each step ``j < n`` (``sel0``
    and ``sel1`` both ``j``: the sequencer's line counter and its one-cycle delay, the
    registers between the stages taken as wires); ``None`` when the module is not such a
    multiplexer tree (one root; ``{spike bit, time bits}`` leaves)."""
    lines = text.split("\n")
    head = next((i for i in range(line, -1, -1) if lines[i].startswith("module ")), 0)
    tail = next((i for i in range(line, len(lines)) if lines[i].startswith("endmodule")),
                len(lines))
    expr: dict[str, str] = {}
    regs: dict[str, str] = {}
    for i in range(head, tail):
        m = _ASSIGN.match(lines[i])
        if m:
            expr[m.group(1).split("=", 1)[0].replace("assign", "").strip()] = m.group(2)
        elif lines[i].strip().startswith("always @(posedge") and i + 1 < tail:
            m2 = re.match(r"^\s*(\S+)\s*<=\s*(.*?)\s*;\s*$", lines[i + 1])
            if m2:
                regs[m2.group(1)] = m2.group(2)
    mux = {k: v for k, v in expr.items() if _SEL.match(v.strip())}
    if not mux:
        return None
    read: set[str] = set()
    for v in mux.values():
        read |= _idents(v)
    for r in [r for r in regs if r in read]:  # a stage register between two mux stages
        read |= _idents(regs[r])
    roots = [k for k in mux if k not in read]
    if len(roots) != 1:
        return None

    def ev(term: str, j: int, depth: int = 0) -> tuple[str, int] | None:
        term = term.strip()
        if depth > 64:
            return None
        m = _SEL.match(term)
        if m:
            arms = _arms(m.group(3))
            if arms is None:
                return None
            return ev(arms[0] if (j >> int(m.group(2))) & 1 else arms[1], j, depth + 1)
        m = _LEAF.match(term)
        if m:
            hi, lo = int(m.group(2)), int(m.group(3))
            return ("line", lo // (hi - lo + 1))
        m = _CONST.fullmatch(term)
        if m:
            return ("const", int(m.group(2), 16))
        if term in expr:
            return ev(expr[term], j, depth + 1)
        if term in regs:
            return ev(regs[term], j, depth + 1)
        return None

    out = [ev(roots[0], j) for j in range(n)]
    return None if any(o is None for o in out) else out  # type: ignore[misc]


def mux_permutation(text: str, mutant: str, line: int, weights) -> dict[str, Any] | None:
    """Whether a mutant of the input multiplexer (module holding 0-based ``line``) only
    permutes input lines among equal weight columns: with ``weights[G, n]`` (every
    segment's weight of each line, e.g. a hardwired column's trained weights; step ``j``
    of the serial sum uses column ``j``), the original must pass line ``j`` (or a constant
    for an all-zero column) at step ``j``; the mutant is then equal for every input when
    every line meets the same multiset of non-zero weight columns in both (the serial sum
    and its sticky threshold test do not depend on the order of non-negative terms).
    ``{"equal": bool, "steps": changed steps}``, or ``None`` when the module is not such a
    multiplexer. An argument about the generated architecture, not a SAT proof."""
    from collections import Counter

    import numpy as np

    W = np.asarray(weights)
    n = W.shape[1]
    a, b = _mux_lines(text, line, n), _mux_lines(mutant, line, n)
    if a is None or b is None:
        return None
    zero = ~W.any(axis=0)
    if any(not (a[j] == ("line", j) or (a[j][0] == "const" and zero[j])) for j in range(n)):
        return None

    def terms(m: list[tuple[str, int]]) -> Counter:
        return Counter((m[j][1], tuple(int(v) for v in W[:, j])) for j in range(n)
                       if m[j][0] == "line" and not zero[j])

    changed = [j for j in range(n) if a[j] != b[j]]
    return {"equal": terms(a) == terms(b), "steps": changed}


def _cone_proof(text: str, mut: Path, line: int, top: str, work: Path, timeout: float,
                rounds: int) -> dict[str, Any] | None:
    """The proof of :func:`classify_survivors` with the first register stage of the
    mutated net (and then the registers left unproven) unpaired; ``None`` when the net
    reaches no named register. A ``proven`` status covers every port of the top and every
    register still paired, in every cycle: the hidden registers may differ only where no
    port sees it."""
    from .formal import equiv_netlist

    hid = cone_registers(text, line)
    if not hid:
        return None
    m = re.search(r"^module (\S+)\((.*)\);", text, re.M)
    ports = {p.strip() for p in m.group(2).split(",")} if m else set()
    out: dict[str, Any] = {}
    for k in range(max(1, rounds)):
        d = work / f"r{k}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "gold_src.v").write_text(hide_names(text, hid))
        (d / "gate_src.v").write_text(hide_names(mut.read_text(), hid))
        r = equiv_netlist(d / "gold_src.v", d / "gate_src.v", top, d, timeout=timeout,
                          hide_internal=True)
        out = {"unpaired": list(hid), "rounds": k + 1,
               **{key: r.get(key) for key in ("status", "reason", "seconds")}}
        if r["status"] != "unknown":
            break
        new = [n.strip().lstrip("\\").rsplit(".", 1)[-1].split(" ")[0]
               for n in r.get("unproven_signals", [])]
        if not new or any(n in ports or "$" in n or n in hid for n in new) \
                or len(new) >= 20:
            break
        hid = sorted(set(hid) | set(new))
    return out


def classify_survivors(report: MutationReport, top: str, workdir: str | Path,
                       timeout: float = 600, cone: bool = True, rounds: int = 3,
                       weights=None, seq_timeout: float = 120,
                       cut: list[str] | None = None) -> list[dict[str, Any]]:
    """Try to prove each surviving mutant equal to the original with Yosys ``equiv_*``
    (:func:`neutnngen.verify.formal.equiv_netlist`, RTL vs RTL, pairing only the ports and
    the named registers, so that the mutated internal net itself is not a pair):
    ``equivalent`` ``True``
    when every signal pair is proven (the mutant is no bug: no bench can kill it), ``None``
    when unproven (a bug the stimulus misses, or a change hidden from the outputs). Adds
    ``equivalent`` and ``formal`` (status, reason) to each entry of ``report.survivors``.

    ``cone``: an unproven survivor gets a second proof in which the named registers that
    the mutated net reaches first (:func:`cone_registers`) are hidden in both texts
    (:func:`hide_names`), so only the ports and the other registers are paired; when it
    proves every pair, the mutant is equivalent at the ports (``formal["cone"]`` says
    which registers were left unpaired); while registers (never ports of the top) stay
    unproven, they are unpaired too and the proof reruns, up to ``rounds`` proofs.

    ``seq_timeout`` (seconds; 0: off): a survivor still unproven gets the sequential
    proof from power-on (:func:`neutnngen.verify.formal.seq_equiv`: ABC ``scorr`` then
    ``pdr``), which needs no register to be equal in every cycle (a reset value or an
    in-wave difference that never reaches a port), for every input sequence that keeps
    the stream contract (``stream_contract``: docs/rtl-contract.md rule 1, the rule every
    bench keeps); ``formal["seq"]`` holds it. ``cut`` (register names, e.g. a
    register or learn design's weights and LFSR states from ``names.json``): that proof
    runs first with those registers as cut points (``seq_equiv(cut=...)``: smaller, and
    a proof still covers the design), and only when it does not prove the mutant, again
    without them for a verdict. ``proven``
    makes the mutant equivalent; ``differs`` sets ``equivalent`` to ``False``: an input
    sequence of ``formal["seq"]["depth"]`` cycles shows the bug the bench missed.

    ``weights[G, n]`` (a hardwired single-column design's weights): an unproven ``mux``
    survivor in the input multiplexer that only swaps lines of equal weight columns
    (:func:`mux_permutation`) gets ``equivalent_by`` (the argument; ``equivalent`` stays
    ``None``: not a SAT proof)."""
    from .formal import equiv_netlist, seq_equiv

    work = Path(workdir).resolve()
    src = Path(report.file)
    text = src.read_text()
    chosen = choose(text, report.mutants, report.seed)
    for s in report.survivors:
        mut = work / f"m{int(s['mutant']):03d}" / src.name
        if not mut.is_file():
            mut.parent.mkdir(parents=True, exist_ok=True)
            mut.write_text(apply(text, chosen[int(s["mutant"])]))
        r = equiv_netlist(src, mut, top, mut.parent / "formal", timeout=timeout,
                          hide_internal=True)
        formal = {k: r.get(k) for k in ("status", "reason", "seconds")}
        if r["status"] == "unknown" and cone:
            r2 = _cone_proof(text, mut, chosen[int(s["mutant"])].line, top,
                             mut.parent / "formal_cone", timeout, rounds)
            if r2 is not None:
                formal["cone"] = r2
                if r2["status"] == "proven":
                    r = r2
        s["equivalent"] = True if r["status"] == "proven" else None
        if s["equivalent"] is None and seq_timeout:
            rs = {"status": "unknown"}
            if cut:
                rs = seq_equiv(src, mut, top, mut.parent / "formal_seq_cut",
                               timeout=seq_timeout, stream_contract=True, cut=cut)
            if rs["status"] != "proven":
                rs = seq_equiv(src, mut, top, mut.parent / "formal_seq", timeout=seq_timeout,
                               stream_contract=True)
            formal["seq"] = {k: rs.get(k) for k in ("status", "method", "depth", "contract",
                                                     "cut", "reason", "seconds")}
            s["equivalent"] = {"proven": True, "differs": False}.get(rs["status"])
        s["formal"] = formal
        if s["equivalent"] is None and weights is not None and s["kind"] == "mux":
            perm = mux_permutation(text, mut.read_text(), chosen[int(s["mutant"])].line,
                                   weights)
            if perm is not None and perm["equal"]:
                s["equivalent_by"] = ("input permutation: steps "
                                      f"{perm['steps']} read lines whose weight columns "
                                      "are equal (argued, not SAT-proven)")
    return report.survivors
