#!/usr/bin/python3
"""Write the clamp fixtures of the units contract into test/fixtures/units/.

For every case NAME this writes NAME.json:
  config, weights (PyTorch shapes), clamps (specs "h:K:U=V" / "c:K:U=V"), tokens (B, T),
  targets (B, T: token t+1 at position t, -100 at the last position, as `lstm-lens inspect`
  reads a text), and for the char case the text and its vocabulary;
  expected: the float64 PyTorch answer with the clamps applied: loss (mean cross-entropy over
  the counted targets), logits (B, T, V), the trace (i, f, g, o, c, h, dh, dc per layer and
  direction, each (B, T, H)) and the gradient of every parameter.

The clamps are assignments in a hand-unrolled LSTM, exactly as the contract says: at every step
of layer K's forward direction, c_t is computed, then c_t[:, U] = V (on a copy), so h_t =
o * tanh(c_t) reads V; then h_t[:, U] = V. The next step, the layer above and the head read the
clamped tensors; retain_grad() on them gives the trace's dh and dc (the gradient arriving at the
clamped value). Autograd stops at an assignment: nothing flows through a clamped value. The script
asserts that: the gradient of the value before the assignment is exactly zero at U.

Without clamps the same code is cross-checked against make_grad_fixtures.py's reference (itself
checked against torch.nn.LSTM).

Deterministic: rerunning reproduces the same files byte for byte.
Run:  /usr/bin/python3 test/pytorch/make_units_fixtures.py
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_grad_fixtures import DT, cfg_of, f32, make_inputs, param_specs, tolist, unrolled, write_json  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "units")
IGNORE = -100


def parse_clamp(spec):
    state, rest = spec.split(":", 1)
    layer, rest = rest.split(":", 1)
    unit, value = rest.split("=")
    return {"state": state, "layer": int(layer), "unit": int(unit), "value": float(value)}


def clamped_lstm(cfg, weights, tokens, targets, clamps):
    """Hand-unrolled, with the clamps as assignments. Returns the expected JSON and the raw gradients."""
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    B, T = tokens.shape
    P = {n: w.clone().requires_grad_(True) for n, w in weights.items()}
    x = F.one_hot(tokens, V).to(DT) if E is None else P["embedding.weight"][tokens]
    cl = [parse_clamp(s) for s in clamps]
    zeros = torch.zeros((B, H), dtype=DT)
    trace, raw = [], []  # raw: (tensor before the assignment, unit) for every clamped value
    for k in range(L):
        outs = []
        for d in range(D):
            sfx = "_reverse" if d == 1 else ""
            W_ih, W_hh = P[f"lstm.weight_ih_l{k}{sfx}"], P[f"lstm.weight_hh_l{k}{sfx}"]
            b_ih, b_hh = P[f"lstm.bias_ih_l{k}{sfx}"], P[f"lstm.bias_hh_l{k}{sfx}"]
            h, c = zeros, zeros
            rec = {key: [None] * T for key in ("i", "f", "g", "o", "c", "h")}
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                z = x[:, t, :] @ W_ih.t() + b_ih + h @ W_hh.t() + b_hh
                zi, zf, zg, zo = z.chunk(4, dim=1)
                i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
                c = f * c + i * g
                if d == 0:
                    for cc in cl:
                        if cc["state"] == "c" and cc["layer"] == k:
                            c.retain_grad()
                            raw.append((c, cc["unit"]))
                            c = c.clone()
                            c[:, cc["unit"]] = cc["value"]
                h = o * torch.tanh(c)
                if d == 0:
                    for cc in cl:
                        if cc["state"] == "h" and cc["layer"] == k:
                            h.retain_grad()
                            raw.append((h, cc["unit"]))
                            h = h.clone()
                            h[:, cc["unit"]] = cc["value"]
                h.retain_grad()
                c.retain_grad()
                for key, val in (("i", i), ("f", f), ("g", g), ("o", o), ("c", c), ("h", h)):
                    rec[key][t] = val
            trace.append({"layer": k, "direction": "forward" if d == 0 else "backward", "rec": rec})
            outs.append(torch.stack(rec["h"], dim=1))
        x = torch.cat(outs, dim=2)
    logits = x @ P["head.weight"].t() + P["head.bias"]  # (B, T, V): the head at every position
    loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T), ignore_index=IGNORE)
    loss.backward()

    def grad_of(t):
        return torch.zeros_like(t) if t.grad is None else t.grad

    # Nothing flows through a clamped value: the tensor it replaced receives exactly zero there.
    for before, unit in raw:
        leaked = grad_of(before)[:, unit].abs().max().item()
        assert leaked == 0.0, f"gradient {leaked} flowed through a clamp"
    exp = {
        "loss": loss.item(),
        "logits": tolist(logits.detach()),
        "trace": [],
        "grads": {n: tolist(grad_of(p).detach()) for n, p in P.items()},
    }
    for e in trace:
        rec = e["rec"]
        entry = {"layer": e["layer"], "direction": e["direction"]}
        for key in ("i", "f", "g", "o", "c", "h"):
            entry[key] = tolist(torch.stack(rec[key], dim=1).detach())
        entry["dh"] = tolist(torch.stack([grad_of(v) for v in rec["h"]], dim=1))
        entry["dc"] = tolist(torch.stack([grad_of(v) for v in rec["c"]], dim=1))
        exp["trace"].append(entry)
    return exp


def next_token_targets(tokens):
    targets = torch.full_like(tokens, IGNORE)
    targets[:, :-1] = tokens[:, 1:]
    return targets


def cross_check_unclamped(name, cfg, weights, tokens, targets):
    """Without clamps, this code is the grad fixtures' reference (which nn.LSTM checks)."""
    mine = clamped_lstm(cfg, weights, tokens, targets, [])
    ref = unrolled(cfg, weights, tokens, targets, None, None)
    worst = abs(mine["loss"] - ref["loss"].item())
    for n, g in ref["grads"].items():
        worst = max(worst, (torch.tensor(mine["grads"][n], dtype=DT) - g).abs().max().item())
    if not worst <= 1e-12:
        raise SystemExit(f"{name}: the clamp-free path differs from the grad reference by {worst:g}")


# A char-level text with brackets, quotes, a tab and lines, read as `lstm-lens inspect` reads it.
CHAR_TEXT = 'if (a[0]) {\n\tsay("hi");\n}\n'

# name: (config, B, T, seed, clamps)
CASES = [
    ("h_layer0", cfg_of(5, None, 4, 2, False, "many_to_many"), 2, 7, 201, ["h:0:1=0.9"]),
    ("c_layer1", cfg_of(6, 3, 4, 2, False, "many_to_many"), 1, 8, 202, ["c:1:2=-1.5"]),
    ("h_and_c_one_unit", cfg_of(5, None, 3, 2, False, "many_to_many"), 1, 6, 203, ["c:0:0=2", "h:0:0=-0.4", "h:1:2=0.5"]),
    ("bidirectional", cfg_of(5, None, 3, 2, True, "many_to_many"), 1, 6, 204, ["c:0:1=0.6", "h:1:2=0.3"]),
]


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, cfg, B, T, seed, clamps in CASES:
        weights, tokens, _, _, _ = make_inputs(cfg, B, T, seed)
        targets = next_token_targets(tokens)
        cross_check_unclamped(name, cfg, weights, tokens, targets)
        exp = clamped_lstm(cfg, weights, tokens, targets, clamps)
        free = clamped_lstm(cfg, weights, tokens, targets, [])
        write_json(os.path.join(OUT_DIR, f"{name}.json"), {
            "config": cfg, "clamps": clamps, "tokens": tolist(tokens), "targets": tolist(targets),
            "weights": {n: tolist(w) for n, w in weights.items()}, "expected": exp, "unclamped_loss": free["loss"]})
        print(f"{name:18s} loss {exp['loss']:.6f} (unclamped {free['loss']:.6f})")
    # The char case: the vocabulary `lstm-lens train --tokens char` builds (code points, sorted).
    vocab = sorted(set(CHAR_TEXT))
    cfg = cfg_of(len(vocab), None, 6, 2, False, "many_to_many")
    weights, _, _, _, _ = make_inputs(cfg, 1, 1, 205)
    weights = {n: f32(w * 2.5) for n, w in weights.items()}  # larger weights: states that switch
    tokens = torch.tensor([[vocab.index(ch) for ch in CHAR_TEXT]])
    targets = next_token_targets(tokens)
    clamps = ["c:0:2=1.5", "h:1:4=-0.8"]
    cross_check_unclamped("char", cfg, weights, tokens, targets)
    exp = clamped_lstm(cfg, weights, tokens, targets, clamps)
    free = clamped_lstm(cfg, weights, tokens, targets, [])
    write_json(os.path.join(OUT_DIR, "char.json"), {
        "config": cfg, "clamps": clamps, "text": CHAR_TEXT, "vocab": {"kind": "char", "tokens": vocab},
        "tokens": tolist(tokens), "targets": tolist(targets), "weights": {n: tolist(w) for n, w in weights.items()},
        "expected": exp, "unclamped": {"loss": free["loss"], "trace": free["trace"]}, "unclamped_loss": free["loss"]})
    print(f"{'char':18s} loss {exp['loss']:.6f} (unclamped {free['loss']:.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
