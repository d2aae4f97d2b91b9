"""verify.run drives cocotb through its public runner API only (get_runner, build, test), each
call in a child process group that the verification deadline kills: a build or a simulation
past ``timeout`` is a ToolchainError that says so, and leaves no compiler or simulator behind.
(The streamed bench's deadline: tests/test_verify_stream.py.)"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

import pytest
from test_verify import passthrough_net, volleys, write_hand

from neutnngen.errors import ToolchainError
from neutnngen.flows import sim as flows_sim
from neutnngen.verify import run_verification
from neutnngen.verify import simulators as vrun


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (a unique work folder)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmd:
            found.append(cmd)
    return found


def test_runner_uses_only_the_public_api():
    src = inspect.getsource(vrun) + Path(vrun.__file__).with_name("_cocotb_child.py").read_text()
    for private in ("_build_command", "_get_sim_cmd_prefix", "_test_command", "_execute"):
        assert private not in src
    from cocotb_tools.runner import Runner

    assert not issubclass(vrun._ChildRunner, Runner)
    assert vrun._make_escape(r"a b\c") == r"a\ b\\c"


@pytest.mark.requires_sim
def test_simulation_past_the_deadline_is_killed(tmp_path):
    if not flows_sim.simulator_available("icarus"):
        pytest.skip("icarus is not installed")
    v, nm = write_hand(tmp_path / "d")
    X = volleys(120_000, 4, seed=1)  # 600k cycles: a minute of Icarus or more
    work = tmp_path / "slow-sim"
    t0 = time.monotonic()
    with pytest.raises(ToolchainError, match=r"the simulation timed out \(raise the timeout "
                                             r"argument\); log .*sim-icarus\.log"):
        run_verification(passthrough_net(4), v, nm, X, simulator="icarus", workdir=work,
                         timeout=5, bench_kind="cocotb")
    assert time.monotonic() - t0 < 5 + 5
    # vvp was killed with its process group; a loaded machine may take a moment to let a
    # SIGKILLed grandchild go (seen once with four busy processes on the two cores)
    gone = time.monotonic() + 3
    while _processes_mentioning(str(work)) and time.monotonic() < gone:
        time.sleep(0.1)
    assert _processes_mentioning(str(work)) == []


@pytest.mark.requires_sim
def test_build_past_the_deadline_is_killed(tmp_path):
    if not vrun._usable("verilator"):
        pytest.skip("verilator (with make and a C++ compiler) is not installed")
    v, nm = write_hand(tmp_path / "d")
    work = tmp_path / "slow-build"
    t0 = time.monotonic()
    with pytest.raises(ToolchainError, match=r"building .*hand_top\.v timed out \(raise the "
                                             r"timeout argument\); log .*build-verilator\.log"):
        run_verification(passthrough_net(4), v, nm, volleys(4, 4, seed=1),
                         simulator="verilator", workdir=work, timeout=1.0, bench_kind="cocotb")
    assert time.monotonic() - t0 < 1.0 + 5
    assert _processes_mentioning(str(work)) == []  # make and c++ were killed too
