"""snnTorch and NIR models -> :class:`~.snn_float.FloatSNN`; integer networks -> NIR.

Supported (anything else is a :class:`FrontendError` naming the node, its type and this set):

* snnTorch (an ``nn.Sequential``): ``Flatten``, ``Linear``, ``Conv2d`` (dilation 1, groups 1,
  zero padding), ``AvgPool2d``/``MaxPool2d`` (no padding), ``snn.Leaky`` (uniform beta and
  threshold, reset ``subtract`` or ``zero``, ``reset_delay=True`` for subtract).
* NIR (``nir.read``): ``Input``, ``Output``, ``Affine``, ``Linear``, ``Conv2d``,
  ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Scale`` (uniform), ``LIF``, ``IF``. A NIR LIF
  ``tau dv/dt = (v_leak - v) + r I`` is discretized by forward Euler with the time step
  ``dt`` (an option: snnTorch writes 1e-4 and records it nowhere):
  ``v <- (1 - dt/tau) v + (dt r / tau) I``; the input gain ``dt r / tau`` is folded into the
  synapses before it. NIR has no reset mode (only ``v_reset``): ``reset`` is an option, and
  ``zero`` (what the file says) is used with a warning when it is not given.

Every option that the source does not record (``dt``, ``reset``, ``steps``, encoding,
readout) is kept in :attr:`FloatSNN.options` (and from there in the IR's meta), and a
default taken for it is a warning in :attr:`FloatSNN.warnings`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FrontendError
from .snn_float import FLIF, FConv, FDense, FFlatten, FloatSNN, FPool

SNNTORCH_SUPPORTED = ("Flatten, Linear, Conv2d, AvgPool2d, MaxPool2d, snntorch.Leaky, "
                      "snntorch.Synaptic")
NIR_SUPPORTED = ("Input, Output, Affine, Linear, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale, "
                 "LIF, IF, CubaLIF")
SNNTORCH_DT = 1e-4


def _uniform(value: Any, what: str, path: str) -> float:
    a = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value,
                   dtype=np.float64).reshape(-1)
    if a.size == 0:
        raise FrontendError(f"{what} is empty", path)
    if not np.allclose(a, a[0], rtol=0, atol=1e-7):
        raise FrontendError(f"{what} differs between neurons ({a.min():g}..{a.max():g}); "
                            f"only uniform values are supported", path)
    return float(a[0])


def _pair(v: Any, what: str, path: str) -> int:
    t = tuple(v) if isinstance(v, (tuple, list, np.ndarray)) else (v, v)
    t = tuple(int(x) for x in np.asarray(t).reshape(-1))
    if len(set(t)) != 1:
        raise FrontendError(f"{what}={list(t)}; only square values are supported", path)
    return t[0]


def _options(net: FloatSNN, opts: dict, defaults: dict) -> None:
    for k, v in defaults.items():
        if opts.get(k) is None:
            net.warnings.append(f"{k} not given; using the default {k}={v!r}")
            net.options[k] = v
        else:
            net.options[k] = opts[k]


# =========================================================================== snnTorch
def from_snntorch(model: Any, input_shape: tuple[int, ...], *, steps: int | None = None,
                  encoding: str | None = None, in_bits: int | None = None,
                  in_unit: float | None = None, readout: str | None = None) -> FloatSNN:
    """The float SNN of an snnTorch ``nn.Sequential`` whose one call is one time step, for
    samples of ``input_shape`` (without the batch axis)."""
    import snntorch as snn
    from torch import nn

    if not isinstance(model, nn.Sequential):
        raise FrontendError(f"unsupported model type {type(model).__name__}; expected a "
                            f"torch.nn.Sequential of {SNNTORCH_SUPPORTED}")
    shape = tuple(int(s) for s in input_shape)
    ops: list = []
    for i, m in enumerate(model):
        path = f"model[{i}]"
        if isinstance(m, nn.Flatten):
            ops.append(FFlatten())
            shape = (int(np.prod(shape)),)
        elif isinstance(m, nn.Linear):
            if len(shape) != 1 or shape[0] != m.in_features:
                raise FrontendError(f"Linear expects {m.in_features} inputs; gets shape "
                                    f"{list(shape)}", path)
            w = m.weight.detach().double().numpy()
            b = (m.bias.detach().double().numpy() if m.bias is not None
                 else np.zeros(m.out_features))
            ops.append(FDense(w, b))
            shape = (m.out_features,)
        elif isinstance(m, nn.Conv2d):
            if len(shape) != 3 or shape[0] != m.in_channels:
                raise FrontendError(f"Conv2d expects ({m.in_channels}, H, W) inputs; gets "
                                    f"shape {list(shape)}", path)
            if _pair(m.dilation, "dilation", path) != 1 or m.groups != 1:
                raise FrontendError(f"Conv2d dilation={m.dilation} groups={m.groups}; only "
                                    f"dilation 1 and groups 1 are supported", path)
            if m.padding_mode != "zeros" or isinstance(m.padding, str):
                raise FrontendError(f"Conv2d padding={m.padding!r} padding_mode="
                                    f"{m.padding_mode!r}; only integer zero padding", path)
            w = m.weight.detach().double().numpy()
            b = (m.bias.detach().double().numpy() if m.bias is not None
                 else np.zeros(m.out_channels))
            op = FConv(w, b, shape, _pair(m.stride, "stride", path),
                       _pair(m.padding, "padding", path))
            ops.append(op)
            shape = op.out_shape
        elif isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
            mode = "avg" if isinstance(m, nn.AvgPool2d) else "max"
            k = _pair(m.kernel_size, "kernel_size", path)
            s = _pair(m.stride if m.stride is not None else k, "stride", path)
            if _pair(m.padding, "padding", path) != 0 or m.ceil_mode:
                raise FrontendError(f"{type(m).__name__} padding={m.padding} ceil_mode="
                                    f"{m.ceil_mode}; only padding 0, ceil_mode False", path)
            if len(shape) != 3:
                raise FrontendError(f"{type(m).__name__} needs (C, H, W) inputs; gets shape "
                                    f"{list(shape)}", path)
            op = FPool(mode, shape, k, s)
            ops.append(op)
            shape = op.out_shape
        elif isinstance(m, snn.Synaptic):
            if m.reset_mechanism not in ("subtract", "zero"):
                raise FrontendError(f"Synaptic reset_mechanism={m.reset_mechanism!r}; expected "
                                    f"'subtract' or 'zero'", path)
            if not getattr(m, "reset_delay", True) or getattr(m, "state_quant", False):
                raise FrontendError("Synaptic with reset_delay=False or state_quant is not "
                                    "supported", path)
            ops.append(FLIF(min(max(_uniform(m.beta, "beta", path), 0.0), 1.0),
                            _uniform(m.threshold, "threshold", path), m.reset_mechanism,
                            alpha=min(max(_uniform(m.alpha, "alpha", path), 0.0), 1.0)))
        elif isinstance(m, snn.Leaky):
            reset = m.reset_mechanism
            if reset not in ("subtract", "zero"):
                raise FrontendError(f"Leaky reset_mechanism={reset!r}; expected 'subtract' or "
                                    f"'zero'", path)
            if reset == "subtract" and not getattr(m, "reset_delay", True):
                raise FrontendError("Leaky reset_delay=False with subtract reset is not "
                                    "supported (docs/model.md §11 is snnTorch's default order)",
                                    path)
            if getattr(m, "state_quant", False):
                raise FrontendError("Leaky with state_quant is not supported (the quantizer "
                                    "chooses the integer state)", path)
            beta = _uniform(m.beta, "beta", path)
            th = _uniform(m.threshold, "threshold", path)
            ops.append(FLIF(min(max(beta, 0.0), 1.0), th, reset))
        else:
            raise FrontendError(f"unsupported module {type(m).__module__}.{type(m).__name__}; "
                                f"supported: {SNNTORCH_SUPPORTED}", path)
    net = FloatSNN(int(np.prod(input_shape)), ops)
    _finish(net, dict(steps=steps, encoding=encoding, in_bits=in_bits, in_unit=in_unit,
                      readout=readout), source="snntorch")
    return net


def _finish(net: FloatSNN, opts: dict, source: str) -> None:
    if not any(isinstance(op, FLIF) for op in net.ops):
        raise FrontendError(f"the {source} model has no neuron layer (Leaky/LIF/IF)")
    _options(net, opts, {"steps": 16, "encoding": "direct", "in_bits": 8,
                         "in_unit": 1.0 / 255, "readout": "count"})
    net.steps = int(net.options["steps"])
    net.encoding = str(net.options["encoding"])
    net.in_bits = int(net.options["in_bits"])
    net.in_unit = float(net.options["in_unit"])
    net.readout = str(net.options["readout"])
    net.options["source"] = source
    net.options["order"] = "snntorch (reset of step t applied at t+1 after the leak)"


# =========================================================================== NIR
def _chain(graph: Any) -> list[str]:
    """Node names from input to output (a :class:`FrontendError` for cycles and branches)."""
    import nir

    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for a, b in graph.edges:
        if a == b:
            raise FrontendError(f"NIR graph has a cycle: node {a!r} feeds itself")
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    indeg = {k: len(pred.get(k, [])) for k in graph.nodes}
    ready = [k for k, d in indeg.items() if d == 0]
    while ready:  # Kahn: whatever is never ready lies on a cycle
        k = ready.pop()
        for b in succ.get(k, []):
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    cyc = sorted(k for k, d in indeg.items() if d > 0)
    if cyc:
        raise FrontendError(f"NIR graph has a cycle through nodes {', '.join(map(repr, cyc))} "
                            f"(recurrent connections are not supported)")
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise FrontendError(f"NIR graph has {len(inputs)} Input nodes; expected 1")
    order, seen = [inputs[0]], {inputs[0]}
    while succ.get(order[-1]):
        nxt = succ[order[-1]]
        if len(nxt) != 1:
            raise FrontendError(f"NIR node {order[-1]!r} feeds {len(nxt)} nodes "
                                f"({', '.join(map(repr, nxt))}); only chains are supported")
        if nxt[0] in seen:
            raise FrontendError(f"NIR graph has a cycle through node {nxt[0]!r}")
        if len(pred.get(nxt[0], [])) != 1:
            raise FrontendError(f"NIR node {nxt[0]!r} has {len(pred[nxt[0]])} inputs; only "
                                f"chains are supported")
        order.append(nxt[0])
        seen.add(nxt[0])
    missing = set(graph.nodes) - seen
    if missing:
        raise FrontendError(f"NIR nodes not on the input->output chain: "
                            f"{', '.join(sorted(map(repr, missing)))}")
    return order


def from_nir(graph_or_path: Any, *, dt: float | None = None, reset: str | None = None,
             steps: int | None = None, encoding: str | None = None, in_bits: int | None = None,
             in_unit: float | None = None, readout: str | None = None) -> FloatSNN:
    """The float SNN of a NIR graph (or ``.nir`` file); see the module doc for the options."""
    import nir

    graph = graph_or_path
    if isinstance(graph_or_path, (str, Path)):
        try:
            graph = nir.read(str(graph_or_path))
        except (OSError, KeyError, ValueError) as e:
            raise FrontendError(f"cannot read NIR file: {type(e).__name__}: {e}",
                                str(graph_or_path)) from None
    if reset is not None and reset not in ("zero", "subtract"):
        raise FrontendError(f"reset={reset!r}; expected 'zero' or 'subtract'")
    if dt is not None and not dt > 0:
        raise FrontendError(f"dt={dt!r}; expected a positive time step in seconds")
    order = _chain(graph)
    net = FloatSNN(0, [])
    _options(net, {"dt": dt, "reset": reset}, {"dt": SNNTORCH_DT, "reset": "zero"})
    dt_, reset_ = float(net.options["dt"]), str(net.options["reset"])
    shape: tuple[int, ...] = ()
    pending = 1.0  # a Scale waiting to be folded into the next synapses
    for name in order:
        nd = graph.nodes[name]
        path = f"nir/{name}"
        tname = type(nd).__name__
        if isinstance(nd, nir.Input):
            shape = tuple(int(s) for s in np.asarray(nd.input_type["input"]).reshape(-1))
            net.inputs = int(np.prod(shape))
        elif isinstance(nd, nir.Output):
            continue
        elif isinstance(nd, (nir.Affine, nir.Linear)):
            w = np.asarray(nd.weight, dtype=np.float64) * pending
            pending = 1.0
            if w.ndim != 2 or len(shape) != 1 or w.shape[1] != shape[0]:
                raise FrontendError(f"{tname} weight shape {w.shape} does not take inputs of "
                                    f"shape {list(shape)}", path)
            b = (np.asarray(nd.bias, dtype=np.float64).reshape(-1)
                 if isinstance(nd, nir.Affine) else np.zeros(w.shape[0]))
            net.ops.append(FDense(w, b))
            shape = (w.shape[0],)
        elif isinstance(nd, nir.Conv2d):
            w = np.asarray(nd.weight, dtype=np.float64) * pending
            pending = 1.0
            if len(shape) != 3 or w.ndim != 4 or w.shape[1] != shape[0]:
                raise FrontendError(f"Conv2d weight shape {w.shape} does not take inputs of "
                                    f"shape {list(shape)}", path)
            if _pair(nd.dilation, "dilation", path) != 1 or int(nd.groups) != 1:
                raise FrontendError("Conv2d dilation/groups other than 1 are not supported",
                                    path)
            pad = nd.padding
            if isinstance(pad, str):
                raise FrontendError(f"Conv2d padding={pad!r}; only integer padding", path)
            op = FConv(w, np.asarray(nd.bias, dtype=np.float64).reshape(-1), shape,
                       _pair(nd.stride, "stride", path), _pair(pad, "padding", path))
            net.ops.append(op)
            shape = op.out_shape
        elif isinstance(nd, (nir.SumPool2d, nir.AvgPool2d)):
            if len(shape) != 3 or _pair(nd.padding, "padding", path) != 0:
                raise FrontendError(f"{tname} needs (C, H, W) inputs and no padding; gets "
                                    f"shape {list(shape)}", path)
            op = FPool("sum" if isinstance(nd, nir.SumPool2d) else "avg", shape,
                       _pair(nd.kernel_size, "kernel_size", path), _pair(nd.stride, "stride", path))
            net.ops.append(op)
            shape = op.out_shape
        elif isinstance(nd, nir.Flatten):
            net.ops.append(FFlatten())
            shape = (int(np.prod(shape)),)
        elif isinstance(nd, nir.Scale):
            pending *= _uniform(nd.scale, "Scale.scale", path)
        elif isinstance(nd, nir.CubaLIF):
            if not net.ops or not isinstance(net.ops[-1], (FDense, FConv)):
                raise FrontendError("CubaLIF must follow Affine/Linear/Conv2d", path)
            th = _uniform(nd.v_threshold, "v_threshold", path)
            if abs(_uniform(nd.v_reset, "v_reset", path)) > 1e-12 or \
                    abs(_uniform(nd.v_leak, "v_leak", path)) > 1e-12:
                raise FrontendError("v_reset or v_leak != 0 is not supported", path)
            decay = []
            for tau_name, gain_name in (("tau_syn", "w_in"), ("tau_mem", "r")):
                tau = _uniform(getattr(nd, tau_name), tau_name, path)
                g = _uniform(getattr(nd, gain_name), gain_name, path)
                if not tau > 0:
                    raise FrontendError(f"{tau_name}={tau}; expected > 0", path)
                if math.isfinite(tau):
                    b = 1.0 - dt_ / tau
                    if not 0.0 <= b <= 1.0:
                        raise FrontendError(f"dt={dt_:g} with {tau_name}={tau:g} gives a decay "
                                            f"of {b:g}; expected dt <= {tau_name}", path)
                    decay.append((b, dt_ * g / tau))
                else:
                    decay.append((1.0, 1.0))
            (alpha, g_syn), (beta, g_mem) = decay
            syn = net.ops[-1]
            gain = g_syn * g_mem  # both input gains are linear: folded into the synapses
            if abs(gain - 1.0) > 1e-6:
                syn.weight = syn.weight * gain
                syn.bias = syn.bias * gain
            net.ops.append(FLIF(beta, th, reset_, alpha=alpha))
        elif isinstance(nd, (nir.LIF, nir.IF)):
            if not net.ops or not isinstance(net.ops[-1], (FDense, FConv)):
                raise FrontendError(f"{tname} must follow Affine/Linear/Conv2d (the quantizer "
                                    f"pairs synapses with neurons)", path)
            th = _uniform(nd.v_threshold, "v_threshold", path)
            if abs(_uniform(nd.v_reset, "v_reset", path)) > 1e-12:
                raise FrontendError("v_reset != 0 is not supported (reset to zero or by "
                                    "subtraction only)", path)
            r = _uniform(nd.r, "r", path)
            if isinstance(nd, nir.LIF):
                if abs(_uniform(nd.v_leak, "v_leak", path)) > 1e-12:
                    raise FrontendError("v_leak != 0 is not supported", path)
                tau = _uniform(nd.tau, "tau", path)
                if not tau > 0:
                    raise FrontendError(f"tau={tau}; expected > 0", path)
                beta = 1.0 - dt_ / tau if math.isfinite(tau) else 1.0
                gain = dt_ * r / tau if math.isfinite(tau) else 1.0
                if not 0.0 <= beta <= 1.0:
                    raise FrontendError(f"dt={dt_:g} with tau={tau:g} gives beta={beta:g}; "
                                        f"expected dt <= tau", path)
            else:
                beta, gain = 1.0, r
            syn = net.ops[-1]
            if abs(gain - 1.0) > 1e-6:
                syn.weight = syn.weight * gain
                syn.bias = syn.bias * gain
            net.ops.append(FLIF(beta, th, reset_))
        else:
            raise FrontendError(f"unsupported NIR node {name!r} of type {tname}; supported: "
                                f"{NIR_SUPPORTED}", path)
    _finish(net, dict(steps=steps, encoding=encoding, in_bits=in_bits, in_unit=in_unit,
                      readout=readout), source="nir")
    return net


# =========================================================================== NIR export
def to_nir(net: Any, scales: dict[str, float] | None = None, dt: float = SNNTORCH_DT) -> Any:
    """The integer network ``net`` (IR) as a NIR graph: weights dequantized by each layer's
    scale (meta ``scale.<lif name>``, or ``scales``), biases without the quantizer's rounding
    offset (``rounding_offset`` in the metadata), thresholds ``theta / S``, and per node the
    integer facts (bit widths, shift, leak, reset, order) in its metadata. Re-quantizing the
    imported export with the same settings gives the same integer stages."""
    import nir

    from ..ir.stages.snn import LIF, Conv2d, Dense, Encoder, Flatten, MaxPool, SumPool

    meta = dict(net.meta)
    scales = dict(scales or {})
    for k, v in meta.items():
        if k.startswith("scale."):
            scales.setdefault(k[6:], float(v))
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    prev = "input"
    stages = list(net.stages)
    graph_meta: dict[str, Any] = {"neutnngen": {"inputs": net.inputs, "order": "snntorch"}}
    nodes["input"] = nir.Input(input_type={"input": np.array([net.inputs])})
    from ..ir.kinds import kind_of

    width = net.inputs
    for i, st in enumerate(stages):
        w_in, width = width, kind_of(st).outputs(st, width)
        if isinstance(st, Encoder):
            graph_meta["neutnngen"].update(steps=st.steps, encoding=st.mode, in_bits=st.in_bits)
            continue
        if isinstance(st, (Dense, Conv2d)):
            lif = stages[i + 1] if i + 1 < len(stages) else None
            if not isinstance(lif, LIF) or lif.name not in scales:
                raise FrontendError(f"stage {st.name!r}: no scale for its neuron layer (meta "
                                    f"'scale.<lif name>'); only quantized networks export")
            Sa = scales[lif.name] * 2 ** st.shift
            half = (1 << (st.shift - 1)) if st.shift else 0  # the quantizer's rounding offset
            md = {"neutnngen": {"weight_bits": st.weight_bits, "acc_shift": st.shift,
                                "acc_scale": Sa, "rounding_offset": half}}
            if isinstance(st, Dense):
                node = nir.Affine(weight=(st.weights / Sa).astype(np.float32),
                                  bias=((st.bias - half) / Sa).astype(np.float32), metadata=md)
            else:
                node = nir.Conv2d(input_shape=st.in_shape[1:],
                                  weight=(st.weights / Sa).astype(np.float32),
                                  stride=st.stride, padding=st.padding, dilation=1, groups=1,
                                  bias=((st.bias - half) / Sa).astype(np.float32),
                                  metadata=md)
        elif isinstance(st, LIF):
            S = scales[st.name]
            beta = st.beta
            n = st.n
            tau = np.full(n, dt / (1 - beta) if beta < 1 else np.inf, dtype=np.float32)
            md = {"neutnngen": {"mem_bits": st.mem_bits, "threshold_int": st.threshold,
                                "scale": S, "leak": st.leak, "leak_shift": st.leak_shift,
                                "beta_q": st.beta_q, "frac_bits": st.frac_bits, "beta": beta,
                                "reset": st.reset, "refractory": st.refractory,
                                "output": st.output, "dt": dt}}
            if st.alpha_q >= 0:
                alpha = st.alpha_q / 2 ** st.frac_bits
                md["neutnngen"]["alpha_q"] = st.alpha_q
                md["neutnngen"]["alpha"] = alpha
                tau_syn = np.full(n, dt / (1 - alpha) if alpha < 1 else np.inf, np.float32)
                node = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau, r=(tau / dt).astype(np.float32),
                                   v_leak=np.zeros(n, np.float32),
                                   v_threshold=np.full(n, st.threshold / S, np.float32),
                                   v_reset=np.zeros(n, np.float32),
                                   w_in=(tau_syn / dt).astype(np.float32), metadata=md)
            elif beta < 1:
                node = nir.LIF(tau=tau, r=(tau / dt).astype(np.float32),
                               v_leak=np.zeros(n, np.float32),
                               v_threshold=np.full(n, st.threshold / S, np.float32),
                               v_reset=np.zeros(n, np.float32), metadata=md)
            else:
                node = nir.IF(r=np.ones(n, np.float32),
                              v_threshold=np.full(n, st.threshold / S, np.float32),
                              v_reset=np.zeros(n, np.float32), metadata=md)
        elif isinstance(st, MaxPool):
            raise FrontendError(f"stage {st.name!r}: NIR has no max pool; cannot export")
        elif isinstance(st, SumPool):
            node = nir.SumPool2d(kernel_size=np.array([st.kernel] * 2),
                                 stride=np.array([st.stride] * 2), padding=np.array([0, 0]))
        elif isinstance(st, Flatten):
            node = nir.Flatten(input_type={"input": np.array([w_in])}, start_dim=0, end_dim=-1)
        else:
            raise FrontendError(f"stage {getattr(st, 'name', i)!r} of type "
                                f"{type(st).__name__} has no NIR form")
        name = str(i)
        nodes[name] = node
        edges.append((prev, name))
        prev = name
    last = stages[-1]
    nodes["output"] = nir.Output(output_type={"output": np.array([last.n])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta, type_check=False)


def spike_trains_nirdata(net: Any, X: np.ndarray, dt: float = SNNTORCH_DT,
                         spikes: list[np.ndarray] | None = None) -> Any:
    """The integer network's spike trains for input integers ``X`` as NIR data
    (``nir.NIRGraphData``): node ``"input"`` holds the encoder's trains, each ``lif`` stage
    (named by its stage index, as in :func:`to_nir`) its spikes, both as boolean
    ``TimeGriddedData [samples, steps, neurons]`` with time step ``dt``; ``nir.write_data``
    stores it. ``spikes`` (one ``[samples, steps, neurons]`` array per ``lif`` stage, in
    order) replaces the computed trains: the RTL's, as the SNN bench reads them."""
    import nir

    from ..ir.interp import Interpreter
    from ..ir.stages.snn import LIF, Encoder, lif_run

    it = Interpreter(net)
    h = np.asarray(X, dtype=np.int64)
    nodes: dict[str, Any] = {}
    given = list(spikes) if spikes is not None else None
    for i, (st, state) in enumerate(zip(net.stages, it.states, strict=True)):
        if isinstance(st, LIF):
            h = given.pop(0) if given else lif_run(h, st)[0]
            nodes[str(i)] = nir.NIRNodeData({"spikes": nir.TimeGriddedData(h.astype(bool), dt)})
            continue
        h, _ = state.forward(h, None)
        if isinstance(st, Encoder):
            nodes["input"] = nir.NIRNodeData({"spikes": nir.TimeGriddedData(h.astype(bool)
                                                                           if st.mode != "direct"
                                                                           else h.astype(np.float64),
                                                                           dt)})
    return nir.NIRGraphData(nodes)
