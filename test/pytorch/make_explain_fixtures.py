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


def unrolled(cfg, weights, ids, h0, c0):
    """Forward and backward, every step's quantities kept. Returns (loss, params, steps[l][d][t])."""
    V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    T = len(ids)
    P = {n: leaf(w) for n, w in weights.items()}
    tokens = torch.tensor([ids])
    if E is None:
        xs = [F.one_hot(tokens[:, t], V).to(DT) for t in range(T)]
    else:
        xs = [P["embedding.weight"][tokens[:, t]] for t in range(T)]
    steps = []
    for k in range(L):
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
                s["c"] = kept(s["f"] * s["c_prev"] + s["i"] * s["g"])
                s["c_to_h"] = kept(s["c"].clone())
                s["tanh_c"] = kept(torch.tanh(s["c_to_h"]))
                s["h"] = kept(s["o"] * s["tanh_c"])
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

ARTICLE_TEXT = "long ago the mice had a general council to consider the"


def build(name, text, kind, E, H, L, bi, mode, seed, with_state, constant=None, steps_of=chosen_steps):
    vocab = vocab_of(text, kind)
    tokens = list(text) if kind == "char" else words_of(text)
    ids = [vocab.index(tok) for tok in tokens]
    cfg = cfg_of(len(vocab), E, H, L, bi, mode)
    D = 2 if bi else 1
    # The grad fixtures' weights and initial state (B = 1); their tokens and targets are not used.
    weights, _, _, h0, c0 = make_inputs(cfg, 1, len(ids), seed, with_state, constant)
    loss, logits, P, steps = unrolled(cfg, weights, ids, h0, c0)
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
    write_json(os.path.join(OUT_DIR, f"{name}.json"), fixture)
    print(f"{name:22s} T={len(ids):2d} V={len(vocab):2d} steps={len(out):2d} loss={loss.item():.6f}  max |unrolled - nn.LSTM| = {worst:.2e}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        build(*case)
    # The article's worked example: its first eleven words, hidden 5, every weight and bias 0.1.
    build("article", ARTICLE_TEXT, "word", None, 5, 1, False, M2O, 0, False, constant=0.1, steps_of=lambda T: list(range(T)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
