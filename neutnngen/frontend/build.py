"""Multi-layer NeuTNN networks built layer by layer (greedy training, docs/model.md §3).

A network is grown one layer at a time: :func:`init_layer` makes a fresh, seeded layer
whose thresholds are calibrated on the volleys that layer will actually see (the outputs of
the already *trained* layers below), and :func:`append_layer` adds it behind the existing
stages with the explicit saturating :class:`~neutnngen.ir.Retime` the IR demands when the
lower layer's output times can exceed ``t_max_in``.

Wiring of a layer with a receptive field (``rfsize > 0``): the layer's input is seen as an
image ``[H, W, C]`` with channels fastest (docs/model.md §6 pixel-interleaved layout); a
:class:`~neutnngen.ir.Kernel` gives every window its own column. A kernel layer's output is
again such an image, ``[grid_h, grid_w, neurons]`` (column-major outputs = pixel-interleaved
with the neurons as channels), so kernel layers stack.

Supervision: ``proximal="enable"`` gives each neuron one 1-bit label line (docs/model.md §3): during
training only the label's neuron may fire, so only its segments learn; at inference every
line is set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from ..ir.interp import Interpreter, retime
from ..ir.nodes import (
    Column,
    Inhibition,
    Kernel,
    Layer,
    LearningRule,
    Lut,
    Network,
    RandomSource,
    Retime,
    SynapseBank,
    TimeSpec,
    default_seeds,
)
from ..ir.verify import check
from .init import _initial_weights, default_theta

PROXIMAL = ("none", "enable")


@dataclass(frozen=True)
class LayerPlan:
    """What :func:`init_layer` builds (validated there).

    ``rfsize = 0``: one column over every input line; else a Kernel of ``rfsize x rfsize``
    pixels moved by ``stride`` (``0`` = ``rfsize``, non-overlapping windows).
    ``theta = None``: calibrate on the layer's input volleys (:func:`default_theta`, at
    ``theta_quantile``). ``learning = None``: a frozen layer.
    """

    name: str
    neurons: int
    dendrites: int = 1
    segments: int = 1
    rfsize: int = 0
    stride: int = 0
    theta: int | None = None
    theta_quantile: float = 0.5
    column_inhibition: Inhibition = Inhibition()
    segment_inhibition: Inhibition = Inhibition()
    proximal: str = "none"
    learning: LearningRule | None = LearningRule()
    wres: int = 3
    w_init: str = "uniform"
    tie: str = "lowest"  # M1: lowest | overshoot


def readout_layer(name: str, lines: int) -> Layer:
    """A frozen winner-take-all TNN column over ``lines`` lines that passes the earliest of
    them through (docs/model.md §12): neuron ``o`` has one synapse of weight 1 (``wres = 1``)
    on line ``o``, ``theta = 1``, so it fires at its line's time (``rnl`` and ``snl`` alike);
    ``wta1`` keeps the earliest (ties: the lowest line). Behind a ``lut`` stage it makes the
    most-voted class the one output spike."""
    eye = np.eye(lines, dtype=np.int64).reshape(lines, 1, 1, lines)
    col = Column("c0", lines, SynapseBank(eye, eye.astype(bool), 1),
                 np.ones((lines, 1, 1), dtype=np.int64))
    return Layer(name, lines, (col,), learning=None)


def layer_shape(net: Network | None, image: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
    """The ``[H, W, C]`` view of the input of the next layer: the data's image shape for the
    first layer, a kernel layer's ``[grid_h, grid_w, neurons]`` after it, else ``None``."""
    if net is None or not net.layers:
        return image
    last = net.layers[-1]
    if last.kernel is None:
        return None
    qs = {c.neurons for c in last.columns}
    if len(qs) != 1:
        return None
    gh, gw = last.kernel.grid
    return (gh, gw, qs.pop())


def output_t_max(net: Network) -> int:
    """The largest output time of the network's last layer (``T - 1`` of its slowest column)."""
    last = net.layers[-1]
    return max(c.wave_length(net.time) for c in last.columns) - 1


def retime_between(net: Network, name: str) -> Retime | None:
    """The smallest saturating shift that maps the last layer's outputs into ``t_max_in``
    (``None`` when they already fit)."""
    t_top, t_in = output_t_max(net), net.time.t_max_in
    if t_top <= t_in:
        return None
    shift = 0
    while (t_top >> shift) > t_in:
        shift += 1
    return Retime(name, shift, t_in)


def init_layer(plan: LayerPlan, *, inputs: int, shape: tuple[int, int, int] | None,
               time: TimeSpec, X: np.ndarray, seed: int, salt: int = 0) -> Layer:
    """A fresh layer over ``inputs`` lines whose volleys are ``X[N, inputs]`` (used only to
    calibrate thresholds). ``salt`` separates the LFSR seeds of different layers."""
    p = plan
    where = f"layer {p.name!r}"
    if p.proximal not in PROXIMAL:
        raise ConfigError(f"{where}: proximal={p.proximal!r}; accepted: {', '.join(PROXIMAL)}")
    for key in ("neurons", "dendrites", "segments"):
        if int(getattr(p, key)) < 1:
            raise ConfigError(f"{where}: {key}={getattr(p, key)!r}; expected an integer >= 1")
    kernel = None
    if p.rfsize:
        if shape is None:
            raise ConfigError(f"{where}: rfsize={p.rfsize} needs an image-shaped input (the data's "
                              "images, or a kernel layer below with equal columns); use rfsize=0")
        H, W, C = shape
        stride = p.stride or p.rfsize
        if p.rfsize > min(H, W):
            raise ConfigError(f"{where}: rfsize={p.rfsize} is larger than its {H}x{W} input")
        kernel = Kernel(H, W, C, p.rfsize, stride)
        if kernel.inputs != inputs:
            raise ConfigError(f"{where}: a {H}x{W}x{C} kernel input has {kernel.inputs} lines, "
                              f"the layer sees {inputs}")
        windows = [kernel.window(c) for c in range(kernel.windows)]
    else:
        windows = [np.arange(inputs)]
    w_max = (1 << p.wres) - 1
    rng = np.random.default_rng([seed, salt])
    X = np.asarray(X, dtype=np.int64)
    cols = []
    for ci, win in enumerate(windows):
        shp = (p.neurons, p.dendrites, p.segments, len(win))
        w = _initial_weights(p.w_init, shp, w_max, rng, X[:, win], time.t_max_in)
        mask = np.ones(shp, dtype=bool)
        if p.theta is None:
            th = default_theta(w, mask, time, w_max, X[:, win], p.theta_quantile)
        else:
            th = int(p.theta)
        random = None
        if p.learning is not None:
            random = RandomSource(seeds=default_seeds(p.neurons * p.dendrites * p.segments, seed,
                                                      salt=salt * 4096 + ci))
        col = Column(f"c{ci}", len(win), SynapseBank(w, mask, p.wres),
                     np.full(shp[:3], th, dtype=np.int64), p.segment_inhibition,
                     p.column_inhibition, random=random, tie=p.tie)
        if p.proximal == "enable":
            col = replace(col, proximal_mode="enable", proximal_inputs=p.neurons)
        cols.append(col)
    return Layer(p.name, inputs, tuple(cols), kernel=kernel, learning=p.learning)


def append_layer(net: Network | None, layer: Layer, *, name: str, time: TimeSpec,
                 inputs: int) -> Network:
    """``net`` followed by ``layer`` (and a Retime in between when needed); the first layer
    starts a new network called ``name``."""
    if net is None:
        return check(Network(name, time, inputs, (layer,)))
    stages = list(net.stages)
    rt = retime_between(net, f"rt{len(net.layers)}")
    if rt is not None:
        stages.append(rt)
    stages.append(layer)
    return check(replace(net, stages=tuple(stages)))


def append_lut(net: Network | None, lut: Lut, *, readout: str, name: str, time: TimeSpec,
               inputs: int) -> Network:
    """``net`` followed by a ``lut`` stage and its :func:`readout_layer` (the first stages
    of a new network called ``name`` when ``net`` is ``None``). The lut compares times, so
    it needs no Retime before it."""
    stages = [] if net is None else list(net.stages)
    stages += [lut, readout_layer(readout, lut.outputs)]
    if net is None:
        return check(Network(name, time, inputs, tuple(stages)))
    return check(replace(net, stages=tuple(stages)))


def layer_inputs(net: Network | None, X: np.ndarray) -> np.ndarray:
    """The volleys the next appended layer sees for network inputs ``X`` (retimed like
    :func:`append_layer` will). No label gating: calibration uses inference behaviour."""
    if net is None:
        return np.asarray(X, dtype=np.int64)
    h = Interpreter(net).forward(X)
    rt = retime_between(net, "probe")
    return h if rt is None else retime(h, rt)
