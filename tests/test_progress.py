"""Progress display: tqdm bars on an interactive terminal only, stage lines in logs, nothing
under -q."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import sys
import termios
from pathlib import Path

from neutnngen.cli import main
from neutnngen.progress import Progress, display_enabled, track

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _in_pty(code: str) -> str:
    """Output of ``python -c code`` run on a pseudo-terminal of 120 columns."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv(sys.executable, [sys.executable, "-c", code])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    buf = b""
    while True:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
    os.waitpid(pid, 0)
    return buf.decode(errors="replace")


def test_bar_on_a_terminal_only():
    code = ("import time\n"
            "from neutnngen.progress import Progress, display_enabled\n"
            "print('enabled', display_enabled(True), display_enabled(False))\n"
            "with Progress('work', 4, unit='wave') as p:\n"
            "    for i in range(4): time.sleep(0.15); p.advance()\n"
            "    time.sleep(0.15); p.note('last')\n")
    out = _in_pty(code)
    assert "enabled True False" in out
    assert "work: 100%" in out and "4/4" in out and "wave" in out


def test_no_bar_off_a_terminal(capsys):
    assert not display_enabled(True)  # pytest captures: not a terminal
    with Progress("work", 3) as p:
        for _ in range(3):
            p.advance()
    assert p.done == 3
    assert list(track(range(3), "t")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_cli_stage_lines_in_logs_and_quiet(tmp_path, capsys):
    args = ["train", str(EXAMPLES / "ucr_italypowerdemand.toml"), "--out", str(tmp_path / "o"),
            "--set", "train.epochs=1"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "==> init + train" in err and "%|" not in err
    assert main(args + ["-q"]) == 0
    assert capsys.readouterr().err == ""
