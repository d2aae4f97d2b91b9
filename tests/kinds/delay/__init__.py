"""A toy ``delay`` stage kind: ``x' = min(x + d[j], t_max)`` per line ``j``, NONE stays NONE.

It lives entirely outside ``neutnngen`` and is added at run time through the public
registries, as a plugin would be: :func:`register` / :func:`unregister`.

* ``ir.py``: the IR node, verifier, canonical-text and JSON+NPZ codecs, interpreter state;
* ``module.py``: the torch module and its IR <-> torch converters;
* ``hdl.py``: the HDL planner + Amaranth stream stage, and the verification adapter.
"""

from __future__ import annotations

from .ir import KIND, Delay, DelayKind


def register(levels: tuple[str, ...] = ("ir", "torch", "hdl")) -> None:
    """Register the kind at the given levels (idempotent; ``hdl`` includes verification)."""
    from neutnngen.ir import kinds

    kinds.register(KIND, replace=True)
    if "torch" in levels:
        from neutnngen.model import kinds as torch_kinds

        from .module import TORCH_KIND

        torch_kinds.register(TORCH_KIND, replace=True)
    if "hdl" in levels:
        from neutnngen.hdl import kinds as hdl_kinds
        from neutnngen.verify import stages as verify_kinds

        from .hdl import HDL_KIND, VERIFY_KIND

        hdl_kinds.register(HDL_KIND, replace=True)
        verify_kinds.register(VERIFY_KIND, replace=True)


def unregister() -> None:
    from neutnngen.hdl import kinds as hdl_kinds
    from neutnngen.ir import kinds
    from neutnngen.model import kinds as torch_kinds
    from neutnngen.verify import stages as verify_kinds

    verify_kinds.unregister(KIND.name)
    hdl_kinds.unregister(KIND.name)
    torch_kinds.unregister(KIND.name)
    kinds.unregister(KIND.name)


__all__ = ["KIND", "Delay", "DelayKind", "register", "unregister"]
