"""The Potjans & Diesmann (2014) cortical microcircuit as a ``recurrent`` stage (docs/model.md §13).

Reference: Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit,
Cereb. Cortex 24(3):785-806, in the parameterisation of the NEST example
(``pynest/examples/Potjans_2014``: ``network_params.py``, ``helpers.py``, ``network.py``):
8 populations, full-scale sizes ``N_FULL`` (77,169 neurons), connection probabilities
``CONN_PROBS`` [target, source] turned into total synapse counts by the
fixed-total-number rule, external in-degrees ``K_EXT`` at 8 Hz, PSP 0.15 mV (PSC 87.8 pA;
doubled for L4E -> L2/3E; g = -4), weights normal with relative sd 0.1 (redrawn to keep
their sign), delays normal 1.5 / 0.75 ms with relative sd 0.5 (redrawn below dt/2),
``iaf_psc_exp`` neurons (tau_m 10 ms, tau_syn 0.5 ms, C_m 250 pF, E_L = V_reset = -65 mV,
V_th = -50 mV, t_ref 2 ms), dt = 0.1 ms.

Downscaling (van Albada, Helias, Diesmann 2015, as the NEST example's
``adjust_weights_and_input_to_synapse_scaling``): neuron counts x ``scale``, synapse counts
x ``scale * k_scale`` (in-degrees x ``k_scale``), weights / sqrt(k_scale) and a DC current
``0.001 tau_syn (1 - sqrt(k_scale)) sum_src w K nu_full`` (plus the same for the external
input when it is Poisson) that restores the full-scale mean input, with the full-scale rates
``FULL_RATES``.

Quantization (everything integer; V measured from E_L): ``V`` in units of ``2**-v_frac`` mV
(``v_frac = 16``: 15 nV); ``alpha = exp(-dt/tau_syn)``, ``beta = exp(-dt/tau_m)`` as
``frac_bits = 20`` fractions. A current ``I`` pA becomes ``x = I kappa`` mV per step with
``kappa = tau_m (1 - alpha)(1 - beta) / C_m`` (with the quantized alpha, beta), so that the
integer neuron's steady state ``x / ((1 - alpha)(1 - beta))`` equals NEST's ``I tau_m / C_m``;
a spike of weight ``w`` pA adds ``w tau_syn / dt * kappa`` (the same charge). Every
quantized value and its relative error is in :attr:`PD14Build.quantization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..ir import Network
from ..ir.common import TimeSpec
from ..ir.stages.recurrent import MAX_DELAY, Population, Recurrent

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
CONN_PROBS = np.array([  # [target, source]
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
FULL_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
"""Full-scale mean rates (Hz) of the NEST microcircuit (``full_mean_rates`` of the NEST
example's ``network_params.py`` / the NEST microcircuit-PD14 model): the reference for the
validation and the rates the K-downscaling compensates with."""
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])  # 'optimized' V0 (mV)

DT, TAU_M, TAU_SYN, C_M = 0.1, 10.0, 0.5, 250.0
E_L, V_TH, T_REF = -65.0, -50.0, 2.0
PSP_E, G, W_REL_SD = 0.15, -4.0, 0.1
D_EXC, D_INH, D_REL_SD = 1.5, 0.75, 0.5
BG_RATE = 8.0
DRIVES = ("poisson", "dc")


def psc_over_psp(C_m: float = C_M, tau_m: float = TAU_M, tau_syn: float = TAU_SYN) -> float:
    """PSC amplitude (pA) per PSP peak (mV) of the exponential-current LIF neuron."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / C_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def full_synapses() -> np.ndarray:
    """Total synapse counts [target, source] of the full-scale circuit (fixed total number:
    ``log(1 - p) / log(1 - 1 / (N_t N_s))``)."""
    prod = np.outer(N_FULL, N_FULL).astype(float)
    return np.log1p(-CONN_PROBS) / np.log((prod - 1.0) / prod)


@dataclass
class PD14Build:
    """The built network and what it was built from (for reports and tests)."""

    network: Network
    params: dict[str, Any]
    sizes: np.ndarray
    synapses: np.ndarray  # [target, source] counts
    quantization: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def stage(self) -> Recurrent:
        return self.network.stages[0]


def _redraw(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray, lo: np.ndarray,
            hi: np.ndarray) -> np.ndarray:
    """Normal draws redrawn until inside ``[lo, hi]`` (NEST's ``redraw``)."""
    x = rng.normal(mean, sd)
    bad = (x < lo) | (x > hi)
    for _ in range(1000):
        if not bad.any():
            break
        x[bad] = rng.normal(mean[bad], sd[bad])
        bad = (x < lo) | (x > hi)
    return x


def _check(name: str, value: Any, ok: bool, want: str) -> None:
    if not ok:
        raise ConfigError(f"pd14: {name}={value!r}; expected {want}")


def build_pd14(scale: float = 0.1, k_scale: float = 1.0, seed: int = 1, steps: int = 10000,
               drive: str = "poisson", stimulus: dict[str, float] | None = None,
               v_frac: int = 16, frac_bits: int = 20, bg_draws: int = 16, bg_bits: int = 12,
               delay_rel_sd: float = D_REL_SD, weight_rel_sd: float = W_REL_SD,
               output: str = "count") -> PD14Build:
    """The PD14 microcircuit at neuron scale ``scale`` and in-degree scale ``k_scale``
    (both in (0, 1]) as a one-stage network (``inputs = n`` stimulus lines), ``steps`` steps
    of 0.1 ms. ``drive``: ``poisson`` (the external input as LFSR background events,
    ``bg_draws`` Bernoulli draws per step, so a binomial approximation of the Poisson count)
    or ``dc`` (its mean as a constant current). ``stimulus``: extra DC (pA) per population
    name. Same arguments -> byte-identical IR."""
    _check("scale", scale, isinstance(scale, (int, float)) and 0 < scale <= 1, "a number in (0, 1]")
    _check("k_scale", k_scale, isinstance(k_scale, (int, float)) and 0 < k_scale <= 1,
           "a number in (0, 1]")
    _check("seed", seed, isinstance(seed, int) and 0 <= seed < 1 << 32, "an integer 0..2**32-1")
    _check("steps", steps, isinstance(steps, int) and steps >= 1, "an integer >= 1")
    _check("drive", drive, drive in DRIVES, " or ".join(DRIVES))
    _check("v_frac", v_frac, isinstance(v_frac, int) and 0 <= v_frac <= 16, "an integer 0..16")
    _check("frac_bits", frac_bits, isinstance(frac_bits, int) and 8 <= frac_bits <= 24,
           "an integer 8..24")
    _check("bg_draws", bg_draws, isinstance(bg_draws, int) and 1 <= bg_draws <= 64,
           "an integer 1..64")
    _check("bg_bits", bg_bits, isinstance(bg_bits, int) and 4 <= bg_bits <= 16, "an integer 4..16")
    for k, v in (("delay_rel_sd", delay_rel_sd), ("weight_rel_sd", weight_rel_sd)):
        _check(k, v, isinstance(v, (int, float)) and 0 <= v <= 2, "a number in [0, 2]")
    stim = dict(stimulus or {})
    for k, v in stim.items():
        if k not in POPULATIONS:
            raise ConfigError(f"pd14: stimulus population {k!r} is unknown; known: "
                              f"{', '.join(POPULATIONS)}")
        _check(f"stimulus.{k}", v, isinstance(v, (int, float)) and math.isfinite(v),
               "a finite current in pA")

    rng = np.random.default_rng(seed)
    P = len(POPULATIONS)
    sizes = np.maximum(np.round(N_FULL * scale).astype(np.int64), 1)
    n = int(sizes.sum())
    K_full = full_synapses()
    n_syn = np.round(K_full * scale * k_scale).astype(np.int64)
    k_ext = np.round(K_EXT * k_scale).astype(np.int64)

    # currents in pA (NEST's parameterisation and its downscaling)
    psc_e = psc_over_psp() * PSP_E
    w_mean = np.tile(np.array([psc_e, G * psc_e]), (P, P // 2))
    w_mean[0, 2] *= 2
    psc_ext = psc_e
    dc_amp = (np.zeros(P) if drive == "poisson"
              else BG_RATE * K_EXT * psc_ext * TAU_SYN * 0.001)
    if k_scale != 1:
        indeg = K_full / N_FULL[:, None]
        input_rec = (w_mean * indeg * FULL_RATES).sum(axis=1)
        dc_amp = dc_amp + 0.001 * TAU_SYN * (1 - math.sqrt(k_scale)) * input_rec
        if drive == "poisson":
            dc_amp = dc_amp + 0.001 * TAU_SYN * (1 - math.sqrt(k_scale)) * psc_ext * K_EXT * BG_RATE
        w_mean = w_mean / math.sqrt(k_scale)
        psc_ext = psc_ext / math.sqrt(k_scale)
    dc_amp = dc_amp + np.array([stim.get(p, 0.0) for p in POPULATIONS])

    # fixed point
    F = frac_bits
    one = 1 << F
    alpha, beta = math.exp(-DT / TAU_SYN), math.exp(-DT / TAU_M)
    alpha_q, beta_q = round(alpha * one), round(beta * one)
    aq, bq = alpha_q / one, beta_q / one
    kappa = TAU_M * (1 - aq) * (1 - bq) / C_M  # mV per step per pA (see the module docstring)
    vs = float(1 << v_frac)
    theta_f = (V_TH - E_L) * vs
    theta = round(theta_f)
    spike_scale = TAU_SYN / DT * kappa * vs  # code per pA of a spike's PSC amplitude
    refractory = round(T_REF / DT)

    # neurons: initial membranes ('optimized' V0), DC per population
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    pop_of = np.repeat(np.arange(P), sizes)
    v0 = np.round(rng.normal(V0_MEAN[pop_of] - E_L, V0_SD[pop_of]) * vs).astype(np.int64)
    dc_f = dc_amp * kappa * vs
    dc = np.round(dc_f).astype(np.int64)[pop_of]

    # synapses: fixed total number per (target, source) pair of populations, multapses and
    # autapses allowed, source and target uniform; weights and delays per synapse
    srcs, tgts, ws, ds = [], [], [], []
    d_mean = np.tile(np.array([D_EXC, D_INH]), (P, P // 2))
    for ti in range(P):
        for si in range(P):
            m = int(n_syn[ti, si])
            if m == 0:
                continue
            srcs.append(bounds[si] + rng.integers(0, sizes[si], m))
            tgts.append(bounds[ti] + rng.integers(0, sizes[ti], m))
            mu = np.full(m, w_mean[ti, si])
            lo, hi = (np.zeros(m), np.full(m, np.inf)) if mu[0] > 0 else (np.full(m, -np.inf),
                                                                          np.zeros(m))
            ws.append(_redraw(rng, mu, np.abs(mu) * weight_rel_sd, lo, hi))
            dm = np.full(m, d_mean[ti, si])
            ds.append(_redraw(rng, dm, dm * delay_rel_sd, np.full(m, DT / 2), np.full(m, np.inf)))
    src = np.concatenate(srcs)
    order = np.argsort(src, kind="stable")
    tgt = np.concatenate(tgts)[order]
    w_f = np.concatenate(ws)[order] * spike_scale
    weights = np.round(w_f).astype(np.int64)
    delays = np.clip(np.round(np.concatenate(ds)[order] / DT), 1, MAX_DELAY).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(np.int64)

    # external drive
    bg_u = np.zeros(P, dtype=np.int64)
    bg_w_f = psc_ext * spike_scale
    bg_w = round(bg_w_f) if drive == "poisson" else 0
    lam = k_ext * BG_RATE * DT * 0.001  # expected external events per step
    if drive == "poisson":
        p_draw = lam / bg_draws
        if (p_draw > 1).any():
            raise ConfigError(f"pd14: bg_draws={bg_draws} too few for {float(lam.max()):.2f} "
                              f"external events per step; expected >= {math.ceil(lam.max())}")
        bg_u = np.round(p_draw * (1 << bg_bits)).astype(np.int64)
    pops = tuple(Population(name, int(sizes[i]), int(bg_u[i]), int(bg_w))
                 for i, name in enumerate(POPULATIONS))
    wmax = int(np.abs(weights).max()) if len(weights) else 1
    wmax = max(wmax, abs(bg_w), 1)
    weight_bits = max(int(wmax).bit_length() + 1, 2)
    node = Recurrent("pd14", n, pops, steps, theta, indptr, tgt, weights, delays, dc, v0,
                     mem_bits=32, beta_q=beta_q, alpha_q=alpha_q, frac_bits=F,
                     refractory=refractory, weight_bits=weight_bits,
                     bg_draws=bg_draws if drive == "poisson" else 0, bg_bits=bg_bits, seed=seed,
                     output=output)
    params = dict(scale=scale, k_scale=k_scale, seed=seed, steps=steps, drive=drive,
                  stimulus=stim, v_frac=v_frac, frac_bits=frac_bits, bg_draws=bg_draws,
                  bg_bits=bg_bits, delay_rel_sd=delay_rel_sd, weight_rel_sd=weight_rel_sd)
    meta = {"builder": "neutnngen.frontend.pd14", "reference": "Potjans & Diesmann 2014",
            **{k: str(v) for k, v in params.items()}}
    net = Network("pd14", TimeSpec(), n, (node,), tuple(meta.items()))

    def rel(q: float, f: float) -> float:
        return abs(q - f) / abs(f) if f else 0.0

    w_nz = w_f[w_f != 0]
    quant = {
        "threshold": {"float": theta_f, "code": theta, "rel_err": rel(theta, theta_f)},
        "alpha": {"float": alpha, "code": alpha_q, "rel_err": rel(aq, alpha)},
        "beta": {"float": beta, "code": beta_q, "rel_err": rel(bq, beta)},
        "tau_m_ms": {"float": TAU_M, "quantized": -DT / math.log(bq),
                     "rel_err": rel(-DT / math.log(bq), TAU_M)},
        "tau_syn_ms": {"float": TAU_SYN, "quantized": -DT / math.log(aq),
                       "rel_err": rel(-DT / math.log(aq), TAU_SYN)},
        "weight_mean_exc": {"float": float(w_mean[1, 0] * spike_scale),
                            "code": round(w_mean[1, 0] * spike_scale),
                            "rel_err": rel(round(w_mean[1, 0] * spike_scale),
                                           w_mean[1, 0] * spike_scale)},
        "weights_rms_rel_err": {"rel_err": float(np.sqrt(np.mean(((weights[w_f != 0] - w_nz)
                                                                  / w_nz) ** 2)))
                                if len(w_nz) else 0.0},
        "bg_weight": {"float": bg_w_f, "code": bg_w, "rel_err": rel(bg_w, bg_w_f)
                      if drive == "poisson" else 0.0},
        "dc_max_rel_err": {"rel_err": float(max((rel(dc_q, d) for dc_q, d in
                                                 zip(np.round(dc_f), dc_f, strict=True)),
                                                default=0.0))},
        "bg_rate_max_rel_err": {"rel_err": float(max((rel(u / (1 << bg_bits) * bg_draws, lm)
                                                      for u, lm in zip(bg_u, lam, strict=True)),
                                                     default=0.0)) if drive == "poisson" else 0.0},
        "delay_steps": {"rounding_ms": DT / 2},
    }
    return PD14Build(net, params, sizes, n_syn, quant)


CONFIG: dict[str, dict[str, Any]] = {
    "experiment": {"name": "pd14", "seed": 1},
    "pd14": {"scale": 0.1, "k_scale": 1.0, "drive": "poisson", "ms": 1000.0,
             "transient_ms": 200.0, "stimulus": {}, "v_frac": 16, "frac_bits": 20,
             "bg_draws": 16, "bg_bits": 12, "delay_rel_sd": D_REL_SD,
             "weight_rel_sd": W_REL_SD},
}
"""The tables and keys of a PD14 config file (``examples/pd14.toml``) with their defaults."""


def pd14_config(raw: dict) -> dict[str, dict[str, Any]]:
    """A PD14 config (parsed TOML) with defaults filled in; an unknown table or key or a value
    of the wrong type is a one-line :class:`ConfigError` naming it (the values themselves are
    checked by :func:`build_pd14`)."""
    out: dict[str, dict[str, Any]] = {}
    for sec in raw:
        if sec not in CONFIG:
            raise ConfigError(f"unknown section [{sec}] in a PD14 config; accepted: "
                              f"{', '.join(CONFIG)}", path=sec)
    for sec, defaults in CONFIG.items():
        table = raw.get(sec, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{sec}] must be a table", path=sec)
        for k, v in table.items():
            if k not in defaults:
                raise ConfigError(f"unknown key {sec}.{k}; accepted in [{sec}]: "
                                  f"{', '.join(defaults)}", path=f"{sec}.{k}")
            d = defaults[k]
            ok = (isinstance(v, dict) if isinstance(d, dict) else
                  isinstance(v, (int, float)) and not isinstance(v, bool)
                  if isinstance(d, float) else
                  isinstance(v, int) and not isinstance(v, bool) if isinstance(d, int) else
                  isinstance(v, str))
            if not ok:
                want = {dict: "a table", float: "a number", int: "an integer",
                        str: "a string"}[type(d)]
                raise ConfigError(f"{sec}.{k}={v!r}; expected {want}", path=f"{sec}.{k}")
        out[sec] = {**defaults, **table}
    return out


def build_from_config(cfg: dict[str, dict[str, Any]]) -> PD14Build:
    """The circuit of a :func:`pd14_config` (``ms`` of 0.1 ms steps)."""
    p = dict(cfg["pd14"])
    ms, _ = p.pop("ms"), p.pop("transient_ms")
    _check("pd14.ms", ms, ms > 0, "a duration > 0 ms")
    return build_pd14(seed=cfg["experiment"]["seed"], steps=max(int(round(ms / DT)), 1), **p)


def spike_statistics(events: np.ndarray, bounds: np.ndarray, start: int, stop: int,
                     dt_ms: float = DT, bin_ms: float = 3.0) -> dict[str, list[float]]:
    """Per population over steps ``start .. stop - 1`` of spike events ``[E, 2]`` (step,
    neuron): the mean rate (Hz, silent neurons included), the mean CV of the inter-spike
    intervals (neurons with at least 3 spikes; NaN when none has) and the synchrony, the
    variance / mean of the population's spike counts in ``bin_ms`` bins (every neuron of
    the population; NaN when it is silent)."""
    ev = np.asarray(events, dtype=np.int64).reshape(-1, 2)
    ev = ev[(ev[:, 0] >= start) & (ev[:, 0] < stop)]
    dur_s = (stop - start) * dt_ms * 1e-3
    per_bin = max(int(round(bin_ms / dt_ms)), 1)
    n_bins = max((stop - start) // per_bin, 1)
    rates, cvs, syncs = [], [], []
    for p in range(len(bounds) - 1):
        lo, hi = int(bounds[p]), int(bounds[p + 1])
        e = ev[(ev[:, 1] >= lo) & (ev[:, 1] < hi)]
        rates.append(len(e) / ((hi - lo) * dur_s) if dur_s > 0 else 0.0)
        order = np.lexsort((e[:, 0], e[:, 1]))
        e = e[order]
        cv = []
        if len(e):
            cuts = np.flatnonzero(np.diff(e[:, 1])) + 1
            for times in np.split(e[:, 0], cuts):
                if len(times) >= 3:
                    isi = np.diff(times).astype(float)
                    cv.append(isi.std() / isi.mean())
        cvs.append(float(np.mean(cv)) if cv else float("nan"))
        hist = np.bincount((e[:, 0] - start) // per_bin, minlength=n_bins)[:n_bins]
        syncs.append(float(hist.var() / hist.mean()) if hist.mean() > 0 else float("nan"))
    return {"rate_hz": rates, "cv_isi": cvs, "synchrony": syncs}


__all__ = ["CONFIG", "DRIVES", "build_from_config", "pd14_config", "FULL_RATES", "K_EXT", "N_FULL", "POPULATIONS", "PD14Build", "build_pd14",
           "full_synapses", "psc_over_psp", "spike_statistics"]
