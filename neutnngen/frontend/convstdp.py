"""Convolutional STDP / R-STDP networks (docs/model.md §14) from a plain config: integer DoG
kernels, seeded initial weights, the IR network.

The config is a dict (a TOML table): ``encoder`` (DoG filters, threshold, steps), ``layers``
(the STDP feature layers, each optionally followed by a max pool) and ``decision`` (the
R-STDP layer). Real-valued settings (weights, thresholds, rates) are converted to the
``frac_bits`` fixed point here, once, with ``round`` (half to even, Python's); the IR holds
only integers. Every bad value is a one-line :class:`~neutnngen.errors.ConfigError` naming
the key and the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..ir.common import TimeSpec
from ..ir.network import Network
from ..ir.stages.convstdp import ConvSTDP, RankCode
from ..ir.stages.snn import MaxPool

KERNEL_SCALE = 1 << 10  # DoG kernel entries are round(K * 2**10)


@dataclass(frozen=True)
class FeatureLayer:
    features: int = 30
    kernel: int = 5
    padding: int = 2
    threshold: float = 15.0  # in real weight units (sum of w over the cumulative input)
    kwta: int = 5
    radius: int = 3
    a_plus: float = 0.004
    a_minus: float = -0.003
    pool: int = 2  # max pool kernel = stride after the layer; 0: none
    epochs: int = 1


@dataclass(frozen=True)
class Decision:
    features: int = 200
    kernel: int = 5
    padding: int = 2
    a_plus: float = 0.004
    a_minus: float = -0.003
    p_plus: float = -0.004
    p_minus: float = 0.0005
    w_lo: float = 0.2
    w_hi: float = 0.8
    epochs: int = 1
    # Mozafari et al. 2019's host-side schedule: each epoch the reward rates (a_plus,
    # a_minus) are scaled by the previous epoch's training error and the punishment rates
    # (p_plus, p_minus) by its accuracy (0.5 each in the first epoch)
    adaptive: bool = False
    # host-side too: every rate of epoch e is multiplied by decay**e (1.0: fixed rates)
    decay: float = 1.0
    # in the contract (docs/model.md §14, teach = 1): a punished sample also gives the
    # label's first neuron the reward update
    teach: bool = False

    @property
    def scheduled(self) -> bool:
        """Whether the rates change over the epochs (a host-side schedule is needed)."""
        return self.adaptive or self.decay != 1.0

    def rates(self, q, epoch: int, accuracy: float | None) -> tuple[int, int, int, int]:
        """The integer rates of one epoch (``q`` maps a real rate to weight units)."""
        s = self.decay ** epoch
        if not self.adaptive:
            return (q(self.a_plus * s), q(self.a_minus * s), q(self.p_plus * s),
                    q(self.p_minus * s))
        acc = 0.5 if accuracy is None else accuracy
        return (q(self.a_plus * (1 - acc) * s), q(self.a_minus * (1 - acc) * s),
                q(self.p_plus * acc * s), q(self.p_minus * acc * s))


@dataclass(frozen=True)
class ConvSTDPConfig:
    height: int = 28
    width: int = 28
    dog: tuple[tuple[float, float], ...] = ((3 / 9, 6 / 9), (6 / 9, 3 / 9), (7 / 9, 14 / 9),
                                            (14 / 9, 7 / 9), (13 / 9, 26 / 9), (26 / 9, 13 / 9))
    dog_size: int = 7
    dog_threshold: float = 0.02  # on the filter output of pixels in 0..1
    steps: int = 15
    frac_bits: int = 16
    w_mean: float = 0.8
    w_std: float = 0.05
    classes: int = 10
    layers: tuple[FeatureLayer, ...] = field(default_factory=lambda: (
        FeatureLayer(), FeatureLayer(250, 3, 1, 10.0, 8, 1, pool=3)))
    decision: Decision = Decision()


def _num(v: Any, key: str, lo: float | None = None, hi: float | None = None,
         integer: bool = False) -> Any:
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok:
        raise ConfigError(f"{key}={v!r}; expected {'an integer' if integer else 'a number'}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo if lo is not None else ''}..{hi if hi is not None else ''}"
        raise ConfigError(f"{key}={v!r}; expected {rng}")
    return v


def _fields(cls: type, d: dict, key: str) -> dict:
    if not isinstance(d, dict):
        raise ConfigError(f"{key}={d!r}; expected a table")
    known = cls.__dataclass_fields__
    for k in d:
        if k not in known:
            raise ConfigError(f"{key}.{k}: unknown key; known: {', '.join(known)}")
    return dict(d)


def parse_config(d: dict) -> ConvSTDPConfig:
    """A validated :class:`ConvSTDPConfig` from a dict (TOML table ``[convstdp]``)."""
    d = _fields(ConvSTDPConfig, d, "convstdp")
    base = ConvSTDPConfig()
    out: dict[str, Any] = {}
    ints = {"height": (1, 4096), "width": (1, 4096), "dog_size": (1, 63), "steps": (1, 4096),
            "frac_bits": (4, 20), "classes": (1, 1000)}
    for k, (lo, hi) in ints.items():
        out[k] = _num(d.get(k, getattr(base, k)), f"convstdp.{k}", lo, hi, integer=True)
    if out["dog_size"] % 2 == 0:
        raise ConfigError(f"convstdp.dog_size={out['dog_size']}; expected an odd size")
    out["dog_threshold"] = _num(d.get("dog_threshold", base.dog_threshold),
                                "convstdp.dog_threshold", 0.0)
    out["w_mean"] = _num(d.get("w_mean", base.w_mean), "convstdp.w_mean", 0.0, 1.0)
    out["w_std"] = _num(d.get("w_std", base.w_std), "convstdp.w_std", 0.0, 1.0)
    dog = d.get("dog", base.dog)
    if not isinstance(dog, (list, tuple)) or not dog:
        raise ConfigError(f"convstdp.dog={dog!r}; expected a list of [sigma1, sigma2] pairs")
    pairs = []
    for i, p in enumerate(dog):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ConfigError(f"convstdp.dog[{i}]={p!r}; expected [sigma1, sigma2]")
        s1 = _num(p[0], f"convstdp.dog[{i}][0]", 1e-3)
        s2 = _num(p[1], f"convstdp.dog[{i}][1]", 1e-3)
        if s1 == s2:
            raise ConfigError(f"convstdp.dog[{i}]={list(p)}; expected two different sigmas")
        pairs.append((float(s1), float(s2)))
    out["dog"] = tuple(pairs)
    layers = d.get("layers", [vars(x) for x in base.layers])
    if not isinstance(layers, (list, tuple)):
        raise ConfigError(f"convstdp.layers={layers!r}; expected a list of tables")
    parsed = []
    for i, ld in enumerate(layers):
        key = f"convstdp.layers[{i}]"
        ld = _fields(FeatureLayer, ld, key)
        b = FeatureLayer()
        v = {k: ld.get(k, getattr(b, k)) for k in b.__dataclass_fields__}
        for k in ("features", "kernel", "kwta"):
            _num(v[k], f"{key}.{k}", 1, 4096, integer=True)
        for k in ("padding", "radius", "pool", "epochs"):
            _num(v[k], f"{key}.{k}", 0, 4096, integer=True)
        _num(v["threshold"], f"{key}.threshold", 0.0)
        _num(v["a_plus"], f"{key}.a_plus", -1.0, 1.0)
        _num(v["a_minus"], f"{key}.a_minus", -1.0, 1.0)
        if v["padding"] >= v["kernel"]:
            raise ConfigError(f"{key}.padding={v['padding']}; expected below kernel={v['kernel']}")
        parsed.append(FeatureLayer(**v))
    out["layers"] = tuple(parsed)
    dd = _fields(Decision, d.get("decision", {}), "convstdp.decision")
    b = Decision()
    v = {k: dd.get(k, getattr(b, k)) for k in b.__dataclass_fields__}
    _num(v["features"], "convstdp.decision.features", 1, 100000, integer=True)
    _num(v["kernel"], "convstdp.decision.kernel", 1, 4096, integer=True)
    _num(v["padding"], "convstdp.decision.padding", 0, v["kernel"] - 1, integer=True)
    _num(v["epochs"], "convstdp.decision.epochs", 0, 100000, integer=True)
    for k in ("adaptive", "teach"):
        if not isinstance(v[k], bool):
            raise ConfigError(f"convstdp.decision.{k}={v[k]!r}; expected true or false")
    _num(v["decay"], "convstdp.decision.decay", 0.0, 1.0)
    if v["decay"] <= 0:
        raise ConfigError(f"convstdp.decision.decay={v['decay']!r}; expected a number in "
                          f"(0, 1] (the per-epoch rate multiplier)")
    for k in ("a_plus", "a_minus", "p_plus", "p_minus"):
        _num(v[k], f"convstdp.decision.{k}", -1.0, 1.0)
    _num(v["w_lo"], "convstdp.decision.w_lo", 0.0, 1.0)
    _num(v["w_hi"], "convstdp.decision.w_hi", 0.0, 1.0)
    if v["w_lo"] >= v["w_hi"]:
        raise ConfigError(f"convstdp.decision.w_lo={v['w_lo']}; expected below w_hi={v['w_hi']}")
    if v["features"] % out["classes"]:
        raise ConfigError(f"convstdp.decision.features={v['features']}; expected a multiple of "
                          f"classes={out['classes']}")
    out["decision"] = Decision(**v)
    return ConvSTDPConfig(**out)


def dog_kernel(s1: float, s2: float, size: int) -> np.ndarray:
    """Integer DoG ``round(2**10 * (G(s1) - G(s2)))`` on a ``size x size`` grid, each
    Gaussian normalised to sum 1 and the difference made zero-mean (on-centre for
    ``s1 < s2``, off-centre otherwise)."""
    r = np.arange(size) - size // 2
    d2 = r[:, None] ** 2 + r[None, :] ** 2
    g1 = np.exp(-d2 / (2 * s1 * s1))
    g2 = np.exp(-d2 / (2 * s2 * s2))
    k = g1 / g1.sum() - g2 / g2.sum()
    k = k - k.mean()
    k = k / np.abs(k).max()  # the strongest tap is +-1 before scaling
    return np.rint(k * KERNEL_SCALE).astype(np.int64)


def build_network(cfg: ConvSTDPConfig, seed: int = 0, name: str = "convstdp") -> Network:
    """The untrained network: ``rankcode`` -> (``convstdp`` [-> ``maxpool``])* -> ``convstdp``
    (rstdp). Initial weights ``round(2**frac_bits * N(w_mean, w_std))`` clipped to the
    layer's bounds, from ``np.random.default_rng(seed)`` layer by layer."""
    one = 1 << cfg.frac_bits
    q = lambda v: int(round(v * one))  # noqa: E731
    rng = np.random.default_rng(seed)
    K = np.stack([dog_kernel(a, b, cfg.dog_size) for a, b in cfg.dog])
    pad = cfg.dog_size // 2
    # pixels are 0..255 and K is scaled by 2**10: a threshold t on 0..1 pixels is t*255*2**10
    thr = int(round(cfg.dog_threshold * 255 * KERNEL_SCALE))
    enc = RankCode("enc", (1, cfg.height, cfg.width), K, pad, thr, cfg.steps, 8)
    stages: list = [enc]
    shape = enc.out_shape

    def weights(F, C, k, lo, hi):
        w = rng.normal(cfg.w_mean, cfg.w_std, size=(F, C, k, k))
        return np.clip(np.rint(w * one), lo, hi).astype(np.int64)

    for i, L in enumerate(cfg.layers):
        node = ConvSTDP(f"conv{i + 1}", shape, weights(L.features, shape[0], L.kernel, 0, one),
                        L.padding, q(L.threshold), cfg.frac_bits, L.kwta, L.radius, True, "stdp",
                        q(L.a_plus), q(L.a_minus), 0, 0, True, 0, one, 0)
        stages.append(node)
        shape = node.out_shape
        if L.pool:
            if L.pool > min(shape[1:]):
                raise ConfigError(f"convstdp.layers[{i}].pool={L.pool}; expected at most "
                                  f"{min(shape[1:])} (the layer's output is {shape[1]}x{shape[2]})")
            mp = MaxPool(f"pool{i + 1}", shape, L.pool, L.pool)
            stages.append(mp)
            shape = mp.out_shape
    D = cfg.decision
    lo, hi = q(D.w_lo), q(D.w_hi)
    if D.kernel > shape[1] + 2 * D.padding:
        raise ConfigError(f"convstdp.decision.kernel={D.kernel}; expected at most "
                          f"{shape[1] + 2 * D.padding} (input {shape[1]}x{shape[2]}, padding "
                          f"{D.padding})")
    stages.append(ConvSTDP("decision", shape, weights(D.features, shape[0], D.kernel, lo, hi),
                           D.padding, 0, cfg.frac_bits, 1, 0, False, "rstdp", q(D.a_plus),
                           q(D.a_minus), q(D.p_plus), q(D.p_minus), False, lo, hi, cfg.classes,
                           teach=D.teach))
    return Network(name, TimeSpec(), cfg.height * cfg.width, tuple(stages),
                   meta=(("builder", "neutnngen.frontend.convstdp"), ("seed", str(seed))))


__all__ = ["ConvSTDPConfig", "Decision", "FeatureLayer", "build_network", "dog_kernel",
           "parse_config"]
