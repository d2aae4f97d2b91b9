"""Post-training quantization of a :class:`~.snn_float.FloatSNN` into integer IR stages.

One scale per synapse -> neuron pair (docs/snn.md "Quantization"): ``S`` maps the float
membrane to integers, ``V_int ~ v_float * S``. With ``unit`` the float value of one integer
on the synapses' input lines (``in_unit`` for direct-current inputs, 1 for 0/1 spikes,
``1/k**2`` after an average pool of spikes):

* the weights use their full range at the accumulator scale
  ``Sa = (2**(weight_bits-1) - 1) / (unit * max|W|)``;
* the membrane range comes from calibration: ``s_mem = (2**(mem_bits-1) - 1) / vmax``, with
  ``vmax`` the largest |V| of the float network on the calibration inputs (or
  ``vclip * threshold`` when ``vclip`` is given: a membrane beyond it saturates);
* the accumulator shift ``r = ceil(log2(Sa / s_mem))`` (``>= 0``) brings the current onto the
  membrane scale ``S = Sa / 2**r`` (rounded to nearest: ``2**(r-1)`` joins the bias);
* ``pow2`` rounds ``S`` down to a power of two (so the dequantized network is exact in
  binary floating point: what the exact NIR/snnTorch re-simulation needs);
* ``W_q = round(W * unit * Sa)``, ``b_q = round(b * Sa) + 2**(r-1)``,
  ``theta = round(threshold * S)``; the leak is ``shift`` when ``beta = 1 - 2**-k``,
  ``none`` when ``beta = 1`` and ``mul`` with ``frac_bits`` otherwise.

Saturation is counted by running the integer network (the interpreter) on the calibration
inputs: :class:`QuantReport` lists per neuron layer the scale, the shift, the threshold, the
calibrated range and the saturation events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..ir.common import TimeSpec
from ..ir.network import Network
from ..ir.stages.snn import (
    LIF,
    Conv2d,
    Dense,
    Encoder,
    Flatten,
    MaxPool,
    SumPool,
)
from .snn_float import FLIF, FConv, FDense, FFlatten, FloatSNN, FPool, float_run


@dataclass
class QuantReport:
    """What the quantizer chose and measured, per neuron layer (JSON-ready)."""

    weight_bits: int
    mem_bits: int
    layers: list[dict] = field(default_factory=list)
    calibration_samples: int = 0
    saturations: int = 0  # on the calibration inputs, all layers

    def as_dict(self) -> dict:
        return {"weight_bits": self.weight_bits, "mem_bits": self.mem_bits,
                "calibration_samples": self.calibration_samples,
                "saturations_calibration": self.saturations, "layers": self.layers}


def _check_bits(weight_bits: int, mem_bits: int, frac_bits: int) -> None:
    if not isinstance(weight_bits, int) or not 2 <= weight_bits <= 16:
        raise ConfigError(f"weight_bits={weight_bits!r}; expected an integer 2..16")
    if not isinstance(mem_bits, int) or not 4 <= mem_bits <= 32:
        raise ConfigError(f"mem_bits={mem_bits!r}; expected an integer 4..32")
    if not isinstance(frac_bits, int) or not 1 <= frac_bits <= 16:
        raise ConfigError(f"frac_bits={frac_bits!r}; expected an integer 1..16")


def leak_of(beta: float, frac_bits: int) -> dict:
    """The integer leak of a float ``beta``: IF, an exact shift, or a multiply."""
    if not 0.0 <= beta <= 1.0 + 1e-9:
        raise ConfigError(f"beta={beta}; expected 0..1 (a decay factor per step)")
    if beta >= 1.0 - 1e-6:
        return {"leak": "none"}
    k = -math.log2(1.0 - beta)
    if abs(k - round(k)) < 1e-5 and 1 <= round(k) <= 31:
        return {"leak": "shift", "leak_shift": int(round(k))}
    return {"leak": "mul", "beta_q": int(np.rint(beta * 2 ** frac_bits)), "frac_bits": frac_bits}


def quantize(net: FloatSNN, calib_X: np.ndarray | None, *, weight_bits: int = 8,
             mem_bits: int = 16, frac_bits: int = 8, pow2: bool = True,
             vclip: float | None = None, name: str = "snn") -> tuple[Network, QuantReport]:
    """The integer IR network of ``net`` and the :class:`QuantReport` (see the module doc).

    ``calib_X``: input integers ``[N, inputs]`` of calibration samples (training data, never
    the test split). Float weights need them: without, a :class:`ConfigError`."""
    _check_bits(weight_bits, mem_bits, frac_bits)
    if calib_X is None or len(calib_X) == 0:
        raise ConfigError("quantizing float weights needs calibration data (calib_X: input "
                          "integers of training samples); got none")
    calib_X = np.asarray(calib_X)
    if calib_X.ndim != 2 or calib_X.shape[1] != net.inputs:
        raise ConfigError(f"calibration data has shape {calib_X.shape}; expected "
                          f"[N, {net.inputs}]")
    if vclip is not None and not vclip > 1:
        raise ConfigError(f"vclip={vclip!r}; expected a number of thresholds > 1")
    cal = float_run(net, calib_X)
    qw = (1 << (weight_bits - 1)) - 1
    qv = (1 << (mem_bits - 1)) - 1
    names = net.names()
    stages: list = [Encoder("enc", net.encoding, net.steps, net.in_bits,
                            int(net.options.get("seed", 1)))]
    report = QuantReport(weight_bits, mem_bits, calibration_samples=len(calib_X))
    unit = net.in_unit if net.encoding == "direct" else 1.0
    li = 0
    i = 0
    ops = net.ops
    n_lif = sum(isinstance(op, FLIF) for op in ops)
    while i < len(ops):
        op, nm = ops[i], names[i]
        if isinstance(op, FFlatten):
            stages.append(Flatten(nm))
        elif isinstance(op, FPool):
            cls = MaxPool if op.mode == "max" else SumPool
            stages.append(cls(nm, op.in_shape, op.kernel, op.stride))
            if op.mode == "avg":
                unit /= op.kernel ** 2
        elif isinstance(op, FLIF):
            raise ConfigError(f"{nm}: a neuron layer must follow a synapse layer (Linear/"
                              f"Conv2d) to be quantized; got it after "
                              f"{type(ops[i - 1]).__name__ if i else 'the input'}")
        else:
            if i + 1 >= len(ops) or not isinstance(ops[i + 1], FLIF):
                nxt = type(ops[i + 1]).__name__ if i + 1 < len(ops) else "the end"
                raise ConfigError(f"{nm}: a synapse layer must feed a neuron layer directly to "
                                  f"be quantized; it is followed by {nxt}")
            lif, lnm = ops[i + 1], names[i + 1]
            wmax = float(np.abs(op.weight).max()) if op.weight.size else 0.0
            if wmax == 0.0:
                raise ConfigError(f"{nm}: every weight is 0; nothing to quantize")
            if not lif.threshold > 0:
                raise ConfigError(f"{lnm}: threshold={lif.threshold}; expected > 0")
            s_w = qw / (unit * wmax)
            vmax = (max(cal["vmax"][li], lif.threshold) if vclip is None
                    else vclip * lif.threshold)
            s_v = qv / vmax
            r = max(0, math.ceil(math.log2(s_w / s_v)))
            S = s_w / 2 ** r
            if pow2:
                S = 2.0 ** math.floor(math.log2(S))
            Sa = S * 2 ** r
            Wq = np.clip(np.rint(op.weight * unit * Sa), -qw, qw).astype(np.int64)
            bq = np.rint(op.bias * Sa).astype(np.int64) + (1 << (r - 1) if r else 0)
            theta = int(np.rint(lif.threshold * S))
            if not 1 <= theta < qv:
                raise ConfigError(f"{lnm}: threshold {lif.threshold} quantizes to {theta} at "
                                  f"scale {S:g}; expected 1..{qv - 1} (try more mem_bits)")
            if isinstance(op, FDense):
                stages.append(Dense(nm, Wq, bq, weight_bits, r))
            else:
                assert isinstance(op, FConv)
                stages.append(Conv2d(nm, op.in_shape, Wq, bq, op.stride, op.padding,
                                     weight_bits, r))
            out = net.readout if li == n_lif - 1 else "spikes"
            leak = leak_of(lif.beta, frac_bits)
            if lif.alpha is not None:  # a synaptic current: both decays as multiplies
                leak = {"leak": "mul", "beta_q": int(np.rint(lif.beta * 2 ** frac_bits)),
                        "frac_bits": frac_bits,
                        "alpha_q": int(np.rint(lif.alpha * 2 ** frac_bits))}
            stages.append(LIF(lnm, int(Wq.shape[0] if isinstance(op, FDense)
                                       else np.prod(op.out_shape)),
                              theta, mem_bits, reset=lif.reset, output=out, **leak))
            report.layers.append({
                "synapses": nm, "neurons": lnm, "scale": S, "acc_scale": Sa, "acc_shift": r,
                "threshold_int": theta, "threshold": lif.threshold, "beta": lif.beta,
                "leak": stages[-1].leak, "vmax_calibration": cal["vmax"][li],
                "limited_by": "weights" if s_w <= s_v else "membrane",
                "weight_codes_used": int(np.abs(Wq).max()), "input_unit": unit})
            unit = 1.0
            li += 1
            i += 1
        i += 1
    meta = {"source": "snn-import", "weight_bits": str(weight_bits), "mem_bits": str(mem_bits),
            "quant.pow2": str(pow2), "quant.vclip": str(vclip),
            "quant.calibration_samples": str(len(calib_X)),
            **{f"import.{k}": str(v) for k, v in sorted(net.options.items())},
            **{f"scale.{d['neurons']}": repr(float(d["scale"])) for d in report.layers}}
    qnet = Network(name, TimeSpec(), net.inputs, tuple(stages), tuple(meta.items()))
    sat = saturations(qnet, calib_X)
    for d, s in zip(report.layers, sat, strict=True):
        d["saturations_calibration"] = s
    report.saturations = int(sum(sat))
    return qnet, report


def run_int(net: Network, X: np.ndarray, batch: int = 250):
    """Integer interpreter over ``X`` in batches: ``(out, final V of the last layer,
    saturation events per neuron layer)``."""
    from ..ir.interp import Interpreter

    it = Interpreter(net)
    outs, vs = [], []
    sat = None
    for i in range(0, len(X), batch):
        res = it._evaluate(np.asarray(X[i:i + batch], dtype=np.int64), {})
        outs.append(res.outputs[-1])
        vs.append(res.traces[-1].v)
        s = [int(tr.saturations.sum()) for tr in res.traces]
        sat = s if sat is None else [a + b for a, b in zip(sat, s, strict=True)]
    return np.concatenate(outs), np.concatenate(vs), sat or []


def saturations(net: Network, X: np.ndarray) -> list[int]:
    """Saturation events per neuron layer of the integer network on inputs ``X``."""
    return run_int(net, X)[2]


def predict_int(net: Network, X: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Classes of the integer network (docs/model.md §11 tie rules) and saturations."""
    from ..ir.stages.snn import LIFTrace, predict

    out, v, sat = run_int(net, X)
    return predict(out, LIFTrace(v, None), net.layers[-1].output), sat


def prune_magnitude(net: Network, fraction: float) -> Network:
    """``net`` with the ``fraction`` smallest-magnitude nonzero weights of every ``dense`` and
    ``conv2d`` stage set to 0 (ties by index; no data is looked at)."""
    from dataclasses import replace

    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"prune fraction {fraction}; expected 0 <= fraction < 1")
    stages = []
    for st in net.stages:
        if isinstance(st, (Dense, Conv2d)):
            w = np.array(st.weights)
            flat = w.reshape(-1)
            nz = np.flatnonzero(flat)
            k = int(round(fraction * len(nz)))
            if k:
                order = nz[np.argsort(np.abs(flat[nz]), kind="stable")[:k]]
                flat[order] = 0
            st = replace(st, weights=w)
        stages.append(st)
    return replace(net, stages=tuple(stages))
