"""A toy ``delay`` stage kind: ``x' = min(x + d[j], t_max)`` per line ``j``, NONE stays NONE.

It lives entirely outside ``neutnngen`` and is added at run time through the public
registries, as a plugin would be: :func:`register` / :func:`unregister`.

* ``ir.py``: the IR node, verifier, canonical-text and JSON+NPZ codecs, interpreter state;
* ``module.py``: the torch module and its IR <-> torch converters.
"""

from __future__ import annotations

from .ir import KIND, Delay, DelayKind


def register() -> None:
    """Register the kind at the IR and torch levels (idempotent)."""
    from neutnngen.ir import kinds
    from neutnngen.model import kinds as torch_kinds

    from .module import TORCH_KIND

    kinds.register(KIND, replace=True)
    torch_kinds.register(TORCH_KIND, replace=True)


def unregister() -> None:
    from neutnngen.ir import kinds
    from neutnngen.model import kinds as torch_kinds

    torch_kinds.unregister(KIND.name)
    kinds.unregister(KIND.name)


__all__ = ["KIND", "Delay", "DelayKind", "register", "unregister"]
