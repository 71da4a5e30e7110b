#!/usr/bin/python3
"""Write the surprise and attribution fixtures (docs/cli.md, inspect --attribute) into test/fixtures/why/.

For every case NAME this writes NAME.json:
  config, vocab (char tokens "a", "b", ...), text (the tokens as characters), tokens (T ids),
  weights (PyTorch shapes), and the float64 PyTorch answer, read as `lstm-lens inspect` reads a
  text (batch 1, zero initial state, the head at every position whatever the mode):
    loss        mean cross-entropy of positions 0..T-2 predicting tokens 1..T-1
    token_loss  (T-1) the cross-entropy of each of those positions
    clamps      units held at a constant (the units contract's --clamp), [] for none
    attributions  for several positions P: target (the id of token P+1), grad_norm (T) and
                grad_x_input (T): the L2 norm of d log p(token P+1 | position P) / d x_k and its
                dot product with x_k, x_k token k's input (its one-hot row, or its embedding row).

The reference is the real torch.nn.LSTM and nn.Linear in float64 with the weights loaded by name;
layer 0's input is a leaf tensor (the one-hot rows as floats, or the embedding rows copied out),
so autograd's gradient at it is the gradient at every x_k. Checks before writing: a unidirectional
model's gradient at positions after P is exactly zero, and grad_x_input agrees with a central
finite difference of log p along x_k (x_k scaled by 1 + e).

Weights are rounded to float32 first, so the engine under test reads the numbers used here.
Deterministic: rerunning reproduces the same files byte for byte.
Run:  /usr/bin/python3 test/pytorch/make_why_fixtures.py
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_grad_fixtures import DT, cfg_of, make_inputs, tolist, write_json  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "why")
M2M, M2O = "many_to_many", "many_to_one"

# name: (config, T, seed, positions P)
CASES = [
    ("onehot_l2", cfg_of(7, None, 5, 2, False, M2M), 10, 201, [0, 3, 8]),
    ("embed_bidir_l2", cfg_of(7, 4, 4, 2, True, M2M), 9, 202, [0, 4, 7]),
    ("onehot_bidir_l1", cfg_of(6, None, 4, 1, True, M2M), 8, 203, [0, 6]),
    ("embed_l3", cfg_of(8, 5, 3, 3, False, M2M), 11, 204, [0, 5, 9]),
    ("onehot_l1_m2o", cfg_of(7, None, 5, 1, False, M2O), 9, 205, [0, 2, 7]),
]
# Clamped cases (the units contract: a forward cell's c_t[U] or h_t[U] assigned V at every step):
# name: (config, T, seed, positions, clamps)
CLAMPED = [
    ("onehot_l2_clamped", cfg_of(7, None, 5, 2, False, M2M), 10, 206, [0, 4, 8], ["c:0:1=0.5", "h:1:2=-0.3"]),
    ("embed_l2_clamped", cfg_of(7, 4, 4, 2, False, M2M), 9, 207, [0, 3, 7], ["h:0:0=0.8", "c:1:3=-1.2"]),
]


def modules(cfg, weights):
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    lstm = nn.LSTM(V if E is None else E, H, L, bidirectional=D == 2, batch_first=True).to(DT)
    head = nn.Linear(D * H, V).to(DT)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(weights[f"lstm.{name}"])
        head.weight.copy_(weights["head.weight"])
        head.bias.copy_(weights["head.bias"])
    return lstm, head


def log_probs(lstm, head, x):
    out, _ = lstm(x)
    return F.log_softmax(head(out)[0], dim=-1)  # (T, V): the head at every position


def parse_clamp(spec):
    state, layer, rest = spec.split(":")
    unit, value = rest.split("=")
    return state, int(layer), int(unit), float(value)


def unrolled_log_probs(cfg, weights, x, clamps):
    """A hand-unrolled unidirectional LSTM, the clamps as assignments (c first, then h) at every step
    of their layer; nothing flows through an assigned value. x: (1, T, I)."""
    H, L = cfg["hidden_size"], cfg["num_layers"]
    cl = [parse_clamp(c) for c in clamps]
    inp = x[0]
    for k in range(L):
        W_ih, W_hh = weights[f"lstm.weight_ih_l{k}"], weights[f"lstm.weight_hh_l{k}"]
        b = weights[f"lstm.bias_ih_l{k}"] + weights[f"lstm.bias_hh_l{k}"]
        h, c = torch.zeros(H, dtype=DT), torch.zeros(H, dtype=DT)
        outs = []
        for t in range(inp.shape[0]):
            z = W_ih @ inp[t] + W_hh @ h + b
            i, f, g, o = torch.sigmoid(z[:H]), torch.sigmoid(z[H:2 * H]), torch.tanh(z[2 * H:3 * H]), torch.sigmoid(z[3 * H:])
            c = f * c + i * g
            for state, layer, unit, value in cl:
                if layer == k and state == "c":
                    c = c.clone()
                    c[unit] = value
            h = o * torch.tanh(c)
            for state, layer, unit, value in cl:
                if layer == k and state == "h":
                    h = h.clone()
                    h[unit] = value
            outs.append(h)
        inp = torch.stack(outs)
    return F.log_softmax(inp @ weights["head.weight"].T + weights["head.bias"], dim=-1)


def build(name, cfg, T, seed, positions, clamps=()):
    V, E = cfg["vocab_size"], cfg["embedding_size"]
    weights, _, _, _, _ = make_inputs(cfg, 1, T, seed)
    # Every token of the vocabulary appears (a char tokenizer built on the text has all V), then random ones.
    g = torch.Generator().manual_seed(seed + 1000)
    ids = torch.cat([torch.randperm(V, generator=g), torch.randint(0, V, (T - V,), generator=g)])
    lstm, head = modules(cfg, weights)
    if E is None:
        x = F.one_hot(ids, V).to(DT).unsqueeze(0)
    else:
        x = weights["embedding.weight"][ids].clone().unsqueeze(0)
    x.requires_grad_(True)
    lp = log_probs(lstm, head, x)
    if not cfg["bidirectional"]:
        # The hand-unrolled reference, unclamped, is nn.LSTM.
        worst = float((unrolled_log_probs(cfg, weights, x, []) - lp).abs().max())
        assert worst < 1e-10, f"{name}: unrolled vs nn.LSTM {worst}"
    if clamps:
        lp = unrolled_log_probs(cfg, weights, x, clamps)
    token_loss = -lp[torch.arange(T - 1), ids[1:]]
    attributions = []
    for P in positions:
        assert 0 <= P <= T - 2
        target = int(ids[P + 1])
        (grad,) = torch.autograd.grad(lp[P, target], x, retain_graph=True)
        grad = grad[0]
        grad_norm = grad.norm(dim=1)
        gxi = (grad * x[0]).sum(dim=1).detach()
        if not cfg["bidirectional"]:
            assert torch.all(grad[P + 1:] == 0), f"{name}: a gradient after P={P}"
        # grad · x_k is d/de log p with x_k scaled by (1 + e): a central difference agrees.
        eps = 1e-6
        for k in range(T):
            def at(e):
                with torch.no_grad():
                    y = x.detach().clone()
                    y[0, k] *= 1 + e
                    return float((unrolled_log_probs(cfg, weights, y, clamps) if clamps else log_probs(lstm, head, y))[P, target])
            fd = (at(eps) - at(-eps)) / (2 * eps)
            assert abs(fd - float(gxi[k])) < 1e-7 * max(1.0, abs(fd)), f"{name}: P={P} k={k} fd {fd} autograd {float(gxi[k])}"
        attributions.append({"position": P, "target": target, "grad_norm": tolist(grad_norm), "grad_x_input": tolist(gxi)})
    vocab = [chr(ord("a") + v) for v in range(V)]
    write_json(os.path.join(OUT_DIR, f"{name}.json"), {
        "config": cfg,
        "clamps": list(clamps),
        "vocab": {"kind": "char", "tokens": vocab},
        "text": "".join(vocab[int(i)] for i in ids),
        "tokens": tolist(ids),
        "weights": {n: tolist(w) for n, w in weights.items()},
        "loss": float(token_loss.mean()),
        "token_loss": tolist(token_loss.detach()),
        "attributions": attributions,
    })
    print(f"{name:18s} T={T} loss={float(token_loss.mean()):.6f} positions {positions}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, cfg, T, seed, positions in CASES:
        build(name, cfg, T, seed, positions)
    for name, cfg, T, seed, positions, clamps in CLAMPED:
        build(name, cfg, T, seed, positions, clamps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
