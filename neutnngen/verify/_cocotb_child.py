"""One call of cocotb's public runner API, in a child process of :mod:`neutnngen.verify.run`.

``python _cocotb_child.py JOB`` with ``JOB`` a JSON object: ``sim`` (runner name), ``method``
(``build`` or ``test``), ``kwargs`` (the method's keyword arguments, paths as strings),
``sys_path`` (this process's ``sys.path``; cocotb hands it to the simulator's Python as
``PYTHONPATH``), ``env`` (variables to set) and ``unset`` (variables to remove). It runs
``cocotb_tools.runner.get_runner(sim).<method>(**kwargs)`` and exits with 0, or non-zero
when the runner fails (a failing build raises, a failing simulation exits with the
simulator's status).

It runs as a script, not as ``-m neutnngen...``, so that it imports nothing but the standard
library and cocotb; the parent starts it in its own process group and kills that group (the
compiler, make, the simulator) at the verification deadline.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    job = json.loads(argv[1])
    sys.path[:] = job["sys_path"]
    for key in job.get("unset", ()):
        os.environ.pop(key, None)
    os.environ.update(job.get("env", {}))
    from cocotb_tools.runner import get_runner

    kwargs = dict(job["kwargs"])
    if kwargs.get("timescale") is not None:
        kwargs["timescale"] = tuple(kwargs["timescale"])
    getattr(get_runner(job["sim"]), job["method"])(**kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
