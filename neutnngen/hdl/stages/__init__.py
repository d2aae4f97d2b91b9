"""One module per stage kind: its planner, its stream component and its ``names.json``
contribution, each registered once in :mod:`neutnngen.hdl.kinds`."""
