"""The torch side of every built-in stage kind, one module (or package) per kind, named like
the kind (``layer``, ``retime``). Each exposes ``KIND``, its
:class:`~neutnngen.model.kinds.TorchKind` record."""
