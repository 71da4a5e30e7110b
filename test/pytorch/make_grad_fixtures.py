#!/usr/bin/python3
"""Write the grad fixtures of docs/grad-case.md into test/fixtures/grad/.

For every case NAME this writes
  NAME.case.json      the input of `lstm-lens grad` (config, tokens, targets, weights, h0, c0)
  NAME.expected.json  the float64 PyTorch answer (loss, logits, output, h_n, c_n, grads, trace)

The reference is a hand-unrolled LSTM (explicit per-step matmuls, retain_grad() on
every h_t and c_t, so that dh/dc are total derivatives), and it is cross-checked
against the real torch.nn.LSTM / nn.Embedding / nn.Linear with the same weights,
loaded by name; the script aborts if they disagree by more than 1e-10.

Every weight and initial state is rounded to float32 first, so the engine under
test (float32) reads exactly the numbers the reference used.

Deterministic: rerunning reproduces the same files byte for byte.
Run from the repository root (or anywhere):  /usr/bin/python3 test/pytorch/make_grad_fixtures.py
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

TOL = 1e-10
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "grad")
DT = torch.float64


def f32(t):
    """Round to float32 and back, so the value is exactly representable in float32."""
    return t.float().double()


def param_specs(cfg):
    """(name, shape, init) in PyTorch state_dict order, as docs/model.md."""
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    specs = []
    if E is not None:
        specs.append(("embedding.weight", (V, E), "normal"))
    for k in range(L):
        I = (V if E is None else E) if k == 0 else D * H
        for d in range(D):
            sfx = "_reverse" if d == 1 else ""
            specs.append((f"lstm.weight_ih_l{k}{sfx}", (4 * H, I), "uniform"))
            specs.append((f"lstm.weight_hh_l{k}{sfx}", (4 * H, H), "uniform"))
            specs.append((f"lstm.bias_ih_l{k}{sfx}", (4 * H,), "uniform"))
            specs.append((f"lstm.bias_hh_l{k}{sfx}", (4 * H,), "uniform"))
    specs.append(("head.weight", (V, D * H), "uniform"))
    specs.append(("head.bias", (V,), "uniform"))
    return specs


def make_inputs(cfg, B, T, seed, with_state=False, constant=None):
    g = torch.Generator().manual_seed(seed)
    V, H, L = cfg["vocab_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    weights = {}
    for name, shape, init in param_specs(cfg):
        if constant is not None:
            w = torch.full(shape, constant, dtype=DT)
        elif init == "normal":
            w = torch.randn(shape, generator=g, dtype=DT)
        else:
            w = torch.rand(shape, generator=g, dtype=DT) * 1.2 - 0.6
        weights[name] = f32(w)
    tokens = torch.randint(0, V, (B, T), generator=g)
    if cfg["mode"] == "many_to_many":
        targets = torch.randint(0, V, (B, T), generator=g)
    else:
        targets = torch.randint(0, V, (B,), generator=g)
    h0 = c0 = None
    if with_state:
        h0 = f32(torch.rand((L * D, B, H), generator=g, dtype=DT) * 1.6 - 0.8)
        c0 = f32(torch.rand((L * D, B, H), generator=g, dtype=DT) * 1.6 - 0.8)
    return weights, tokens, targets, h0, c0


def unrolled(cfg, weights, tokens, targets, h0, c0):
    """Hand-unrolled reference. Returns (results dict of tensors, params dict of leaf tensors)."""
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    B, T = tokens.shape
    P = {n: w.clone().requires_grad_(True) for n, w in weights.items()}

    if E is None:
        x = F.one_hot(tokens, V).to(DT)
    else:
        x = P["embedding.weight"][tokens]

    zeros = torch.zeros((B, H), dtype=DT)
    trace = []  # entries: dict with per-position lists
    h_n, c_n = [], []
    for k in range(L):
        dir_outputs = []
        for d in range(D):
            sfx = "_reverse" if d == 1 else ""
            W_ih, W_hh = P[f"lstm.weight_ih_l{k}{sfx}"], P[f"lstm.weight_hh_l{k}{sfx}"]
            b_ih, b_hh = P[f"lstm.bias_ih_l{k}{sfx}"], P[f"lstm.bias_hh_l{k}{sfx}"]
            h = zeros if h0 is None else h0[k * D + d]
            c = zeros if c0 is None else c0[k * D + d]
            rec = {key: [None] * T for key in ("i", "f", "g", "o", "c", "h")}
            order = range(T) if d == 0 else range(T - 1, -1, -1)
            for t in order:
                gates = x[:, t, :] @ W_ih.t() + b_ih + h @ W_hh.t() + b_hh
                gi, gf, gg, go = gates.chunk(4, dim=1)
                i, f, gt, o = torch.sigmoid(gi), torch.sigmoid(gf), torch.tanh(gg), torch.sigmoid(go)
                c = f * c + i * gt
                h = o * torch.tanh(c)
                h.retain_grad()
                c.retain_grad()
                for key, val in (("i", i), ("f", f), ("g", gt), ("o", o), ("c", c), ("h", h)):
                    rec[key][t] = val
            h_n.append(h)
            c_n.append(c)
            trace.append({"layer": k, "direction": "forward" if d == 0 else "backward", "rec": rec})
            dir_outputs.append(torch.stack(rec["h"], dim=1))  # (B, T, H)
        x = torch.cat(dir_outputs, dim=2)  # (B, T, D*H)
    output = x
    if cfg["mode"] == "many_to_many":
        logits = output @ P["head.weight"].t() + P["head.bias"]  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
    else:
        last = L - 1
        finals = [trace[last * D + d]["rec"]["h"][T - 1 if d == 0 else 0] for d in range(D)]
        logits = torch.cat(finals, dim=1) @ P["head.weight"].t() + P["head.bias"]  # (B, V)
        loss = F.cross_entropy(logits, targets)
    loss.backward()

    def grad_of(t):
        return torch.zeros_like(t) if t.grad is None else t.grad

    res = {
        "loss": loss.detach(),
        "logits": logits.detach(),
        "output": output.detach(),
        "h_n": torch.stack(h_n).detach(),
        "c_n": torch.stack(c_n).detach(),
        "grads": {n: grad_of(p).detach() for n, p in P.items()},
        "trace": [],
    }
    for e in trace:
        rec = e["rec"]
        entry = {"layer": e["layer"], "direction": e["direction"]}
        for key in ("i", "f", "g", "o", "c", "h"):
            entry[key] = torch.stack(rec[key], dim=1).detach()
        entry["dh"] = torch.stack([grad_of(v) for v in rec["h"]], dim=1)
        entry["dc"] = torch.stack([grad_of(v) for v in rec["c"]], dim=1)
        res["trace"].append(entry)
    return res


class LM(nn.Module):
    """The model of docs/model.md."""

    def __init__(self, cfg):
        super().__init__()
        V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
        D = 2 if cfg["bidirectional"] else 1
        self.cfg = cfg
        if E is not None:
            self.embedding = nn.Embedding(V, E)
        self.lstm = nn.LSTM(input_size=V if E is None else E, hidden_size=H, num_layers=L,
                            bidirectional=D == 2, batch_first=True)
        self.head = nn.Linear(D * H, V)

    def forward(self, tokens, state=None):
        cfg = self.cfg
        if cfg["embedding_size"] is None:
            x = F.one_hot(tokens, cfg["vocab_size"]).to(self.head.weight.dtype)
        else:
            x = self.embedding(tokens)
        output, (h_n, c_n) = self.lstm(x, state)
        if cfg["mode"] == "many_to_many":
            logits = self.head(output)
        else:
            D = 2 if cfg["bidirectional"] else 1
            L = cfg["num_layers"]
            logits = self.head(torch.cat([h_n[(L - 1) * D + d] for d in range(D)], dim=1))
        return logits, output, h_n, c_n


def torch_reference(cfg, weights, tokens, targets, h0, c0):
    m = LM(cfg).double()
    names = set(m.state_dict().keys())
    if names != set(weights.keys()):
        raise SystemExit(f"parameter names differ from nn.Module: {sorted(names ^ set(weights))}")
    m.load_state_dict({n: w.clone() for n, w in weights.items()}, strict=True)
    state = None if h0 is None else (h0.clone(), c0.clone())
    logits, output, h_n, c_n = m(tokens, state)
    V = cfg["vocab_size"]
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()
    grads = {}
    for n, p in m.named_parameters():
        grads[n] = torch.zeros_like(p) if p.grad is None else p.grad.detach()
    return {"loss": loss.detach(), "logits": logits.detach(), "output": output.detach(),
            "h_n": h_n.detach(), "c_n": c_n.detach(), "grads": grads}


def cross_check(name, ref, mod):
    worst = 0.0
    pairs = [(k, ref[k], mod[k]) for k in ("loss", "logits", "output", "h_n", "c_n")]
    pairs += [("grads." + n, ref["grads"][n], mod["grads"][n]) for n in ref["grads"]]
    for label, a, b in pairs:
        if a.shape != b.shape:
            raise SystemExit(f"{name}: {label}: shape {tuple(a.shape)} vs nn.LSTM {tuple(b.shape)}")
        diff = (a - b).abs().max().item() if a.numel() else 0.0
        if not diff <= TOL:
            raise SystemExit(f"{name}: {label}: hand-unrolled and nn.LSTM differ by {diff:g} > {TOL:g}")
        worst = max(worst, diff)
    return worst


def tolist(t):
    return None if t is None else t.tolist()


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(obj, indent=None, separators=(",", ":"), allow_nan=False))
        fh.write("\n")


def cfg_of(V, E, H, L, bi, mode):
    return {"vocab_size": V, "embedding_size": E, "hidden_size": H, "num_layers": L,
            "bidirectional": bi, "mode": mode}


M2M, M2O = "many_to_many", "many_to_one"

# name: (config, B, T, seed, with h0/c0)
CASES = [
    ("onehot_l1_m2m", cfg_of(7, None, 5, 1, False, M2M), 2, 4, 101, False),
    ("embed_l2_m2m", cfg_of(9, 4, 5, 2, False, M2M), 2, 5, 102, False),
    ("onehot_l3_m2m", cfg_of(6, None, 4, 3, False, M2M), 1, 4, 103, False),
    ("bidir_onehot_l1_m2m", cfg_of(7, None, 4, 1, True, M2M), 2, 4, 104, False),
    ("bidir_embed_l2_m2m", cfg_of(8, 3, 4, 2, True, M2M), 2, 5, 105, False),
    ("onehot_l1_m2o", cfg_of(7, None, 5, 1, False, M2O), 3, 4, 106, False),
    ("bidir_embed_l2_m2o", cfg_of(9, 4, 4, 2, True, M2O), 2, 5, 107, False),
    ("onehot_l3_m2o", cfg_of(6, None, 4, 3, False, M2O), 2, 4, 108, False),
    ("state_onehot_l2_m2m", cfg_of(7, None, 5, 2, False, M2M), 2, 4, 109, True),
    ("state_bidir_embed_l2_m2m", cfg_of(7, 3, 4, 2, True, M2M), 2, 4, 110, True),
    ("b1_t1_m2m", cfg_of(5, None, 3, 1, False, M2M), 1, 1, 111, False),
    ("b1_t1_bidir_m2o", cfg_of(5, None, 3, 2, True, M2O), 1, 1, 112, False),
    ("b3_t1_l2_m2m", cfg_of(6, None, 4, 2, False, M2M), 3, 1, 113, False),
    ("big_bidir_onehot_l2_m2m", cfg_of(20, None, 8, 2, True, M2M), 3, 6, 114, False),
]

ARTICLE_WORDS = "long ago the mice had a general council to consider the".split()


def article_case():
    vocab = []
    for w in ARTICLE_WORDS:
        if w not in vocab:
            vocab.append(w)
    ids = {w: i for i, w in enumerate(vocab)}
    assert len(vocab) == 10 and ids["mice"] == 3
    cfg = cfg_of(len(vocab), None, 5, 1, False, M2O)
    weights, _, _, _, _ = make_inputs(cfg, 1, 3, 0, constant=0.1)
    tokens = torch.tensor([[ids[w] for w in "long ago the".split()]])
    targets = torch.tensor([ids["mice"]])
    return cfg, weights, tokens, targets


def expected_json(res):
    return {
        "loss": res["loss"].item(),
        "logits": tolist(res["logits"]),
        "output": tolist(res["output"]),
        "h_n": tolist(res["h_n"]),
        "c_n": tolist(res["c_n"]),
        "grads": {n: tolist(g) for n, g in res["grads"].items()},
        "trace": [{k: (tolist(v) if torch.is_tensor(v) else v) for k, v in e.items()} for e in res["trace"]],
    }


def shape_of(x):
    s = []
    while isinstance(x, list):
        s.append(len(x))
        x = x[0] if x else None
    return tuple(s)


def validate(name, cfg, case, exp):
    """Every field present, every array in the shape section 2 promises."""
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    B, T = shape_of(case["tokens"])
    assert set(case) == {"config", "tokens", "targets", "weights", "h0", "c0"}, name
    assert set(exp) == {"loss", "logits", "output", "h_n", "c_n", "grads", "trace"}, name
    want_logits = (B, T, V) if cfg["mode"] == M2M else (B, V)
    assert shape_of(exp["logits"]) == want_logits, name
    assert shape_of(case["targets"]) == want_logits[:-1], name
    assert shape_of(exp["output"]) == (B, T, D * H), name
    assert shape_of(exp["h_n"]) == shape_of(exp["c_n"]) == (L * D, B, H), name
    specs = param_specs(cfg)
    assert list(case["weights"]) == [s[0] for s in specs], name
    assert list(exp["grads"]) == [s[0] for s in specs], name
    for pname, pshape, _ in specs:
        assert shape_of(case["weights"][pname]) == pshape, (name, pname)
        assert shape_of(exp["grads"][pname]) == pshape, (name, pname)
    assert len(exp["trace"]) == L * D, name
    for idx, e in enumerate(exp["trace"]):
        assert e["layer"] == idx // D and e["direction"] == ("forward" if idx % D == 0 else "backward"), name
        for key in ("i", "f", "g", "o", "c", "h", "dh", "dc"):
            assert shape_of(e[key]) == (B, T, H), (name, idx, key)
    if case["h0"] is not None:
        assert shape_of(case["h0"]) == shape_of(case["c0"]) == (L * D, B, H), name


def build(name, cfg, weights, tokens, targets, h0, c0):
    ref = unrolled(cfg, weights, tokens, targets, h0, c0)
    mod = torch_reference(cfg, weights, tokens, targets, h0, c0)
    worst = cross_check(name, ref, mod)
    case = {"config": cfg, "tokens": tolist(tokens), "targets": tolist(targets),
            "weights": {n: tolist(w) for n, w in weights.items()}, "h0": tolist(h0), "c0": tolist(c0)}
    exp = expected_json(ref)
    validate(name, cfg, case, exp)
    write_json(os.path.join(OUT_DIR, f"{name}.case.json"), case)
    write_json(os.path.join(OUT_DIR, f"{name}.expected.json"), exp)
    print(f"{name:26s} loss={exp['loss']:.6f}  max |unrolled - nn.LSTM| = {worst:.2e}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, cfg, B, T, seed, with_state in CASES:
        weights, tokens, targets, h0, c0 = make_inputs(cfg, B, T, seed, with_state)
        build(name, cfg, weights, tokens, targets, h0, c0)
    cfg, weights, tokens, targets = article_case()
    build("article", cfg, weights, tokens, targets, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
