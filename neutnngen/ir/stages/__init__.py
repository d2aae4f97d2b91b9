"""The IR side of every built-in stage kind, one module (or package) per kind, named like
the kind: ``layer``, ``retime``. Each exposes ``KIND``, its
:class:`~neutnngen.ir.kinds.StageKind` record; :data:`neutnngen.ir.kinds.BUILTIN` lists
them and the registry imports them lazily."""
