#!/usr/bin/python3
"""Write the explain fixtures (docs/cli.md, explain) into test/fixtures/explain/.

For every case NAME this writes NAME.json:
  config, vocab ({"kind", "tokens"}), text, weights (PyTorch names and shapes),
  h0, c0 (null, or (L*D, 1, H)), loss, and steps: a list of objects exactly as
  `lstm-lens explain --json` prints them (token, t, layer, direction, forward,
  backward), for several t of every layer and direction.

The model reads the text as `inspect` does: batch 1, the head at every position
whatever the mode, the loss the mean cross-entropy of positions 0..T-2 predicting
tokens 1..T-1.

The reference is a hand-unrolled LSTM in float64. Every quantity is a tensor of
its own whose gradient autograd keeps (retain_grad), and each use of h_t and c_t
goes through a copy of its own, so autograd splits the gradients by path:
  h_t -> (copy) the layer above or the head    : dh_up
  h_t -> (copy) the next step's W_hh h         : dh_next
  c_t -> (copy) tanh(c_t), h_t                 : dc_via_h
  c_t -> (copy) the next step's f * c          : dc_next
  the step's own copies of x, h_prev, c_prev   : dx, dh_prev, dc_prev
  i, f, g, o and z = W_ih x + W_hh h + b       : di, df, dg, do, dz
"Next" is the next step the direction reads (t+1 forward, t-1 backward). The
totals dh, dc are h_t.grad and c_t.grad; the script checks dh = dh_up + dh_next
and dc = dc_via_h + dc_next, and checks h, c, the loss and every parameter's
gradient against torch.nn.LSTM with the same weights (aborting above 1e-10).

Initial state: `explain` on the command line starts from zeros, as `inspect`
does. The cases named state_* give h0 and c0; the engine's explainStep takes
them as an option (with an inspection computed from the same state), so the
direction's first step reads them as h_prev and c_prev and sends dh_prev,
dc_prev to them.

Clamps (docs/model.md, "Clamps"): the cases named clamp_* read the text with
clamps, written as `--clamp` specs into the fixture's "clamps". They are the
assignments of the units fixtures (make_units_fixtures.py): at every step of
layer K's forward direction, c_t[U] = V on a copy of c_t as soon as it is
computed (tanh_c and h read V), then h_t[U] = V on a copy of h_t. The step's
"c" and "h" are those copies, so forward shows the clamped values and dh, dc
are the gradients arriving at them (the trace's dh and dc); autograd stops at
the assignment, so whatever would come from there (di, df, dg, dc_prev for a
c clamp; do and dc_via_h for an h clamp; dc_next from the next step's c
clamp) is zero at U. With clamps, nn.LSTM cannot check the numbers: the units
fixtures' clamped LSTM does instead (loss, logits, the parameters' gradients
and the trace's i, f, g, o, c, h, dh, dc).

Weights and initial states are rounded to float32, so the float32 engine reads
exactly the numbers the reference used. Deterministic: rerunning reproduces the
files byte for byte.
Run:  /usr/bin/python3 test/pytorch/make_explain_fixtures.py
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_grad_fixtures import LM, cfg_of, make_inputs, write_json  # noqa: E402
from make_units_fixtures import clamped_lstm, next_token_targets, parse_clamp  # noqa: E402

TOL = 1e-10
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "explain")
DT = torch.float64
M2M, M2O = "many_to_many", "many_to_one"


def words_of(text):
    """Word tokens as the engine's word tokenizer reads these texts (lower case, split at spaces)."""
    return text.lower().split()


def vocab_of(text, kind):
    """The engine's vocabulary: characters sorted by code point; words in order of first appearance."""
    if kind == "char":
        return sorted(set(text), key=ord)
    out = []
    for w in words_of(text):
        if w not in out:
            out.append(w)
    return out


def leaf(t):
    return t.clone().detach().requires_grad_(True)


def kept(t):
    t.retain_grad()
    return t


def assigned(t, units):
    """t, or a copy of t with t[:, U] = V for every (U, V): a clamp, through which no gradient flows."""
    if not units:
        return t
    t = t.clone()
    for u, v in units:
        t[:, u] = v
    return t


def unrolled(cfg, weights, ids, h0, c0, clamps=()):
    """Forward and backward, every step's quantities kept. Returns (loss, logits, params, steps[l][d][t])."""
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    T = len(ids)
    P = {n: leaf(w) for n, w in weights.items()}
    tokens = torch.tensor([ids])
    if E is None:
        xs = [F.one_hot(tokens[:, t], V).to(DT) for t in range(T)]
    else:
        xs = [P["embedding.weight"][tokens[:, t]] for t in range(T)]
    cl = [parse_clamp(spec) for spec in clamps]
    steps = []
    for k in range(L):
        # This layer's clamps (forward direction only), as (unit, value).
        held = {state: [(c["unit"], c["value"]) for c in cl if c["layer"] == k and c["state"] == state] for state in ("c", "h")}
        layer_steps = []
        ups = []  # ups[d][t]: h_t's copy sent upwards
        for d in range(D):
            sfx = "_reverse" if d == 1 else ""
            W_ih, W_hh = P[f"lstm.weight_ih_l{k}{sfx}"], P[f"lstm.weight_hh_l{k}{sfx}"]
            b_ih, b_hh = P[f"lstm.bias_ih_l{k}{sfx}"], P[f"lstm.bias_hh_l{k}{sfx}"]
            h_carry = leaf(torch.zeros((1, H), dtype=DT) if h0 is None else h0[k * D + d])
            c_carry = leaf(torch.zeros((1, H), dtype=DT) if c0 is None else c0[k * D + d])
            rec = [None] * T
            up = [None] * T
            order = range(T) if d == 0 else range(T - 1, -1, -1)
            for t in order:
                s = {}
                # The step's own copy of its input (a leaf for the one-hot rows, which need no gradient otherwise).
                s["x"] = kept(xs[t].clone()) if xs[t].requires_grad else leaf(xs[t])
                s["h_prev"] = h_carry
                s["c_prev"] = c_carry
                s["Wx"] = kept(s["x"] @ W_ih.t())
                s["Uh"] = kept(s["h_prev"] @ W_hh.t())
                s["b"] = kept(b_ih + b_hh)
                s["z"] = kept(s["Wx"] + s["Uh"] + s["b"])
                zi, zf, zg, zo = s["z"].chunk(4, dim=1)
                s["i"], s["f"] = kept(torch.sigmoid(zi)), kept(torch.sigmoid(zf))
                s["g"], s["o"] = kept(torch.tanh(zg)), kept(torch.sigmoid(zo))
                s["c_raw"] = kept(s["f"] * s["c_prev"] + s["i"] * s["g"])
                s["c"] = kept(assigned(s["c_raw"], held["c"] if d == 0 else []))
                s["c_to_h"] = kept(s["c"].clone())
                s["tanh_c"] = kept(torch.tanh(s["c_to_h"]))
                s["h_raw"] = kept(s["o"] * s["tanh_c"])
                s["h"] = kept(assigned(s["h_raw"], held["h"] if d == 0 else []))
                s["h_up"] = kept(s["h"].clone())
                # The copies the next step reads: its h_prev and c_prev.
                h_carry = kept(s["h"].clone())
                c_carry = kept(s["c"].clone())
                s["h_next_use"], s["c_next_use"] = h_carry, c_carry
                rec[t] = s
                up[t] = s["h_up"]
            layer_steps.append(rec)
            ups.append(up)
        steps.append(layer_steps)
        xs = [torch.cat([ups[d][t] for d in range(D)], dim=1) for t in range(T)]
    # The head at every position; the mean cross-entropy of positions 0..T-2 predicting the next token.
    logits = torch.cat(xs, dim=0) @ P["head.weight"].t() + P["head.bias"]  # (T, V)
    loss = F.cross_entropy(logits[:-1], torch.tensor(ids[1:]))
    loss.backward()
    # Nothing flows through a clamped value: what it replaced receives exactly zero there.
    for k in range(L):
        for c in cl:
            if c["layer"] != k:
                continue
            for s in steps[k][0]:
                leaked = grad_or_zero(s[c["state"] + "_raw"])[:, c["unit"]].abs().max().item()
                assert leaked == 0.0, f"gradient {leaked} flowed through the clamp {c}"
    return loss, logits, P, steps


def grad_or_zero(t):
    return torch.zeros_like(t) if t.grad is None else t.grad


def vec(t):
    return t.detach().reshape(-1).tolist()


def explanation(tokens, cfg, steps, k, d, t):
    T = len(tokens)
    s = steps[k][d][t]
    g = grad_or_zero
    forward = {name: vec(s[name]) for name in ("x", "h_prev", "c_prev", "Wx", "Uh", "b", "z", "i", "f", "g", "o", "c", "tanh_c", "h")}
    backward = {
        "dh": vec(g(s["h"])),
        "dh_up": vec(g(s["h_up"])),
        "dh_next": vec(g(s["h_next_use"])),
        "dc": vec(g(s["c"])),
        "dc_via_h": vec(g(s["c_to_h"])),
        "dc_next": vec(g(s["c_next_use"])),
        "di": vec(g(s["i"])),
        "df": vec(g(s["f"])),
        "dg": vec(g(s["g"])),
        "do": vec(g(s["o"])),
        "dz": vec(g(s["z"])),
        "dc_prev": vec(g(s["c_prev"])),
        "dh_prev": vec(g(s["h_prev"])),
        "dx": vec(g(s["x"])),
    }
    # The parts add up to the totals; nothing reaches the next step from the direction's last one.
    for total, a, b in (("dh", "dh_up", "dh_next"), ("dc", "dc_via_h", "dc_next")):
        diff = max(abs(x - y - z) for x, y, z in zip(backward[total], backward[a], backward[b]))
        assert diff <= TOL, (total, diff)
    last = (t == T - 1) if d == 0 else (t == 0)
    if last:
        assert not any(backward["dh_next"]) and not any(backward["dc_next"])
    return {"token": tokens[t], "t": t, "layer": k, "direction": "forward" if d == 0 else "backward",
            "forward": forward, "backward": backward}


def cross_check_clamped(name, cfg, weights, ids, clamps, loss, logits, P, steps):
    """With clamps: loss, logits, every parameter's gradient and the trace against the units fixtures' clamped LSTM."""
    tokens = torch.tensor([ids])
    ref = clamped_lstm({**cfg, "mode": M2M}, weights, tokens, next_token_targets(tokens), clamps)
    worst = max(abs(ref["loss"] - loss.item()), (torch.tensor(ref["logits"][0], dtype=DT) - logits).abs().max().item())
    for n, g in ref["grads"].items():
        worst = max(worst, (torch.tensor(g, dtype=DT) - grad_or_zero(P[n])).abs().max().item())
    D = 2 if cfg["bidirectional"] else 1
    for e in ref["trace"]:
        rec = steps[e["layer"]][0 if e["direction"] == "forward" else 1]
        for t in range(len(ids)):
            for key in ("i", "f", "g", "o", "c", "h"):
                worst = max(worst, (torch.tensor(e[key][0][t], dtype=DT) - rec[t][key][0]).abs().max().item())
            worst = max(worst, (torch.tensor(e["dh"][0][t], dtype=DT) - grad_or_zero(rec[t]["h"])[0]).abs().max().item())
            worst = max(worst, (torch.tensor(e["dc"][0][t], dtype=DT) - grad_or_zero(rec[t]["c"])[0]).abs().max().item())
    assert len(ref["trace"]) == cfg["num_layers"] * D
    if not worst <= TOL:
        raise SystemExit(f"{name}: the path-split LSTM and the units fixtures' clamped LSTM differ by {worst:g} > {TOL:g}")
    return worst


def cross_check(name, cfg, weights, ids, h0, c0, loss, logits, P, steps):
    """h, c, logits, the loss and every parameter's gradient against torch.nn.LSTM."""
    m = LM({**cfg, "mode": M2M}).double()
    m.load_state_dict({n: w.clone() for n, w in weights.items()}, strict=True)
    tokens = torch.tensor([ids])
    state = None if h0 is None else (h0.clone(), c0.clone())
    ref_logits, _, _, _ = m(tokens, state)
    ref_loss = F.cross_entropy(ref_logits[0, :-1], tokens[0, 1:])
    ref_loss.backward()
    worst = max(abs(ref_loss.item() - loss.item()), (ref_logits[0] - logits).abs().max().item())
    for n, p in m.named_parameters():
        worst = max(worst, (grad_or_zero(p) - grad_or_zero(P[n])).abs().max().item())
    # The hidden states as nn.LSTM's output.
    x = F.one_hot(tokens, cfg["vocab_size"]).to(DT) if cfg["embedding_size"] is None else m.embedding(tokens)
    out, _ = m.lstm(x, state)
    D = 2 if cfg["bidirectional"] else 1
    H = cfg["hidden_size"]
    top = steps[cfg["num_layers"] - 1]
    for d in range(D):
        for t in range(len(ids)):
            worst = max(worst, (out[0, t, d * H:(d + 1) * H] - top[d][t]["h"][0]).abs().max().item())
    if not worst <= TOL:
        raise SystemExit(f"{name}: hand-unrolled and nn.LSTM differ by {worst:g} > {TOL:g}")
    return worst


def chosen_steps(T):
    return sorted({0, 1, T // 2, T - 2, T - 1} & set(range(T)))


# name: (text, token kind, embedding, hidden, layers, bidirectional, mode, seed, with h0/c0)
CASES = [
    ("onehot_l1", "a cab, a bad cab", "char", None, 4, 1, False, M2M, 201, False),
    ("onehot_l2", "the cat sat; the bat sat", "char", None, 3, 2, False, M2M, 202, False),
    ("bidir_embed_l2", "dab bad cad", "char", 3, 3, 2, True, M2O, 203, False),
    ("m2o_onehot_l1", "mice had a general council", "word", None, 4, 1, False, M2O, 204, False),
    ("wide_onehot_l1", "abcab cba", "char", None, 10, 1, False, M2M, 205, False),
    ("state_onehot_l2", "a cab, a bad cab", "char", None, 3, 2, False, M2M, 206, True),
    ("state_bidir_embed_l2", "dab bad cad", "char", 3, 3, 2, True, M2O, 207, True),
]

# name: (text, token kind, embedding, hidden, layers, bidirectional, mode, seed, clamps): every case
# explains steps of the clamped cell and of the cells around it (the one below reads a clamped
# cell's gradients, the one above its clamped h).
CLAMP_CASES = [
    ("clamp_h_onehot_l2", "a cab, a bad cab", "char", None, 3, 2, False, M2M, 208, ["h:0:1=0.5"]),
    ("clamp_c_onehot_l2", "the cat sat; the bat sat", "char", None, 3, 2, False, M2M, 209, ["c:0:2=0.8"]),
    ("clamp_layer1_embed_l2", "the cat sat; the bat sat", "char", 3, 4, 2, False, M2M, 210, ["h:1:0=-0.5", "c:1:3=-1.2"]),
    ("clamp_same_unit_l2", "abcab cba", "char", None, 3, 2, False, M2M, 211, ["c:0:0=1.5", "h:0:0=0.3", "c:1:1=2"]),
    ("clamp_bidir_embed_l2", "dab bad cad", "char", 3, 3, 2, True, M2O, 212, ["c:0:1=0.6", "h:1:2=0.3"]),
]

ARTICLE_TEXT = "long ago the mice had a general council to consider the"


def build(name, text, kind, E, H, L, bi, mode, seed, with_state, constant=None, steps_of=chosen_steps, clamps=()):
    vocab = vocab_of(text, kind)
    tokens = list(text) if kind == "char" else words_of(text)
    ids = [vocab.index(tok) for tok in tokens]
    cfg = cfg_of(len(vocab), E, H, L, bi, mode)
    D = 2 if bi else 1
    # The grad fixtures' weights and initial state (B = 1); their tokens and targets are not used.
    weights, _, _, h0, c0 = make_inputs(cfg, 1, len(ids), seed, with_state, constant)
    loss, logits, P, steps = unrolled(cfg, weights, ids, h0, c0, clamps)
    if clamps:
        worst = cross_check_clamped(name, cfg, weights, ids, clamps, loss, logits, P, steps)
    else:
        worst = cross_check(name, cfg, weights, ids, h0, c0, loss, logits, P, steps)
    out = []
    for k in range(L):
        for d in range(D):
            for t in steps_of(len(ids)):
                out.append(explanation(tokens, cfg, steps, k, d, t))
    fixture = {
        "config": cfg,
        "vocab": {"kind": kind, "tokens": vocab},
        "text": text,
        "weights": {n: w.tolist() for n, w in weights.items()},
        "h0": None if h0 is None else h0.tolist(),
        "c0": None if c0 is None else c0.tolist(),
        "loss": loss.item(),
        "steps": out,
    }
    if clamps:
        fixture["clamps"] = list(clamps)
    write_json(os.path.join(OUT_DIR, f"{name}.json"), fixture)
    against = "clamped reference" if clamps else "nn.LSTM"
    print(f"{name:22s} T={len(ids):2d} V={len(vocab):2d} steps={len(out):2d} loss={loss.item():.6f}  max |unrolled - {against}| = {worst:.2e}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        build(*case)
    for name, text, kind, E, H, L, bi, mode, seed, clamps in CLAMP_CASES:
        build(name, text, kind, E, H, L, bi, mode, seed, False, clamps=clamps)
    # The article's worked example: its first eleven words, hidden 5, every weight and bias 0.1.
    build("article", ARTICLE_TEXT, "word", None, 5, 1, False, M2O, 0, False, constant=0.1, steps_of=lambda T: list(range(T)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
