"""The Spyker side of benchmarks/bench_convstdp.py: run in a venv with the ``spyker`` wheel
(``python3.11 -m venv /work/spyker-venv && /work/spyker-venv/bin/pip install spyker numpy``),
not in the project's venv. Needs only spyker and numpy.

    python convstdp_spyker.py DIGITS.npz CONFIG.json OUT.json

``DIGITS.npz``: ``X_fit, y_fit, X_val, y_val`` (uint8 pixels [n, 28, 28], labels);
``CONFIG.json``: the network as neutnngen's parsed config (``dog``, ``dog_size``,
``dog_threshold``, ``steps``, ``w_mean``, ``w_std``, ``layers``, ``decision``, ``classes``)
plus ``batch`` (digits per Spyker call), ``threads`` and ``seed``. The network is the one of
Spyker's own Mozafari MNIST example, with neutnngen's fixed learning rates and epochs (no
rate schedules), trained greedily on ``X_fit``; the times are each layer's whole training
loop (the frozen layers' forward pass included, as Spyker recomputes it per batch).
"""

import json
import sys
import time

import numpy as np
import spyker


def main(digits, config, out):
    d = np.load(digits)
    c = json.load(open(config))
    spyker.set_max_threads(int(c["threads"]))
    spyker.random_seed(int(c["seed"]))
    B = int(c["batch"])
    filters = [spyker.DoGFilter(a, b) for a, b in c["dog"]]
    dog = spyker.DoG(c["dog_size"] // 2, filters, pad=c["dog_size"] // 2)

    def code(X):
        x = (X.astype(np.float32) / 255.0)[:, None]
        return spyker.code(spyker.threshold(dog(x), c["dog_threshold"]), c["steps"])

    convs, ths, wtas, pools = [], [], [], []
    ch = len(c["dog"])
    for L in c["layers"]:
        conv = spyker.Conv(ch, L["features"], L["kernel"], pad=L["padding"], mean=c["w_mean"],
                           std=c["w_std"])
        conv.stdpconfig = [spyker.STDPConfig(L["a_plus"], L["a_minus"])]
        convs.append(conv)
        ths.append(L["threshold"])
        wtas.append((L["radius"], L["kwta"]))
        pools.append(L["pool"])
        ch = L["features"]
    D = c["decision"]
    dec = spyker.Conv(ch, D["features"], D["kernel"], pad=D["padding"], mean=c["w_mean"],
                      std=c["w_std"])
    dec.stdpconfig = [spyker.STDPConfig(D["a_plus"], D["a_minus"], False, D["w_lo"], D["w_hi"]),
                      spyker.STDPConfig(D["p_plus"], D["p_minus"], False, D["w_lo"], D["w_hi"])]
    per_class = D["features"] // c["classes"]

    def below(x, upto):
        for i in range(upto):
            x = spyker.fire(convs[i](x), ths[i])
            if pools[i]:
                x = spyker.pool(x, pools[i])
        return x

    def decide(x):
        o = spyker.infinite(dec(x))
        ws = spyker.convwta(o, 0, 1)
        lab = np.full(len(ws), -1)
        for i, w in enumerate(ws):
            if len(w) == 1:
                lab[i] = w[0].z // per_class
        return o, ws, lab

    X, y = d["X_fit"], d["y_fit"]
    rng = np.random.default_rng(int(c["seed"]))
    from importlib.metadata import version

    rep = {"spyker_version": version("spyker"), "batch": B,
           "threads": int(c["threads"]), "layers": []}
    for li, L in enumerate(c["layers"]):
        t0, n = time.perf_counter(), 0
        for _ in range(L["epochs"]):
            order = rng.permutation(len(X))
            for s in range(0, len(X), B):
                x = below(code(X[order[s:s + B]]), li)
                o = spyker.inhibit(spyker.threshold(convs[li](x), ths[li]))
                convs[li].stdp(x, spyker.convwta(o, wtas[li][0], wtas[li][1]), spyker.fire(o))
                n += len(order[s:s + B])
        dt = time.perf_counter() - t0
        rep["layers"].append({"layer": li, "rule": "stdp", "samples": n, "seconds": round(dt, 3),
                              "digits_per_s": round(n / dt, 2)})
    t0, n, right = time.perf_counter(), 0, 0
    for _ in range(D["epochs"]):
        order = rng.permutation(len(X))
        for s in range(0, len(X), B):
            idx = order[s:s + B]
            x = below(code(X[idx]), len(convs))
            o, ws, lab = decide(x)
            for i, w in enumerate(ws):
                if len(w) == 1:
                    w[0].c = int(lab[i] != y[idx[i]])
            dec.stdp(x, ws, spyker.fire(o))
            right += int(np.sum(lab == y[idx]))
            n += len(idx)
    dt = time.perf_counter() - t0
    rep["layers"].append({"layer": len(convs), "rule": "rstdp", "samples": n,
                          "seconds": round(dt, 3), "digits_per_s": round(n / dt, 2),
                          "train_accuracy": round(right / max(n, 1), 4)})
    pred = np.concatenate([decide(below(code(d["X_val"][s:s + 64]), len(convs)))[2]
                           for s in range(0, len(d["X_val"]), 64)])
    acc = float(np.mean(pred == d["y_val"]))
    rep["validation"] = {"accuracy": round(acc, 4), "error": round(1 - acc, 4),
                         "silent": int(np.sum(pred == -1)), "n": int(len(pred)),
                         "predicted_per_class": np.bincount(pred[pred >= 0],
                                                            minlength=c["classes"]).tolist()}
    k = [spyker.to_numpy(cv.kernel) for cv in [*convs, dec]]
    rep["weights_mean_std"] = [[round(float(w.mean()), 4), round(float(w.std()), 4)] for w in k]
    with open(out, "w") as f:
        json.dump(rep, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
