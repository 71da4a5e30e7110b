#!/usr/bin/python3
"""Write training-step fixtures into test/fixtures/training/NAME.json.

Each fixture pins down several whole training steps of the model of docs/model.md:
forward, loss, backward, global-norm gradient clipping, the optimizer update and the learning-rate schedule, so the engine can be checked against
PyTorch one step at a time.

The run is the real thing, in float64: the nn.Module of make_grad_fixtures.py,
torch.optim.Adam / torch.optim.SGD (PyTorch defaults otherwise: foreach=None,
amsgrad=False, weight_decay=0, maximize=False), torch.nn.utils.clip_grad_norm_
and torch.optim.lr_scheduler.CosineAnnealingLR stepped once after each
optimizer step. Initial weights are rounded to float32 first.

Every step is mirrored by hand (gradient norm, clip coefficient
max_norm / (norm + 1e-6) applied only when < 1, the closed-form cosine learning
rate, the Adam / SGD update formulas); the script aborts if the mirror and
PyTorch disagree by more than 1e-12.

One file per case, one JSON object:
  config, optimizer, clip, schedule, weights (initial), batches (one per step),
  expected: losses (before each update), grad_norms (before clipping), lrs (used
  at each step), final_weights, final_optimizer (Adam: m, v, step; SGD: {}).

Deterministic: rerunning reproduces the same files byte for byte.
Run from anywhere:  /usr/bin/python3 test/pytorch/make_training_fixtures.py
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing the sibling script leaves no __pycache__ behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_grad_fixtures import (LM, M2M, M2O, ARTICLE_WORDS, cfg_of, f32,  # noqa: E402
                                param_specs, shape_of, write_json)

DT = torch.float64
TOL = 1e-12
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "training")
MAX_BYTES = 150 * 1024


def init_weights(cfg, g, lo=-0.5, hi=0.5, constant=None):
    """Uniform(lo, hi) for every parameter (normal(0, 1) for an embedding), rounded to float32."""
    weights = {}
    for name, shape, init in param_specs(cfg):
        if constant is not None:
            w = torch.full(shape, constant, dtype=DT)
        elif init == "normal":
            w = torch.randn(shape, generator=g, dtype=DT)
        else:
            w = torch.rand(shape, generator=g, dtype=DT) * (hi - lo) + lo
        weights[name] = f32(w)
    return weights


def random_batches(cfg, g, B, T, steps):
    V = cfg["vocab_size"]
    batches = []
    for _ in range(steps):
        tokens = torch.randint(0, V, (B, T), generator=g)
        shape = (B, T) if cfg["mode"] == M2M else (B,)
        targets = torch.randint(0, V, shape, generator=g)
        batches.append((tokens, targets))
    return batches


def closed_form_lr(schedule, lr, k):
    if schedule["kind"] == "constant":
        return lr
    eta_min = lr * schedule["min_lr_ratio"]
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * k / schedule["total_steps"])) / 2


def close(a, b, what):
    diff = (a - b).abs().max().item() if torch.is_tensor(a) else abs(a - b)
    scale = max(1.0, b.abs().max().item() if torch.is_tensor(b) else abs(b))
    if not diff <= TOL * scale:
        raise SystemExit(f"{what}: PyTorch and the hand mirror differ by {diff:g}")


def run(name, cfg, optimizer, clip, schedule, weights, batches):
    model = LM(cfg).double()
    names = [s[0] for s in param_specs(cfg)]
    if list(model.state_dict().keys()) != names:
        raise SystemExit(f"{name}: state_dict names {list(model.state_dict())} != {names}")
    model.load_state_dict({n: w.clone() for n, w in weights.items()}, strict=True)
    params = dict(model.named_parameters())
    assert list(params) == names, name
    plist = [params[n] for n in names]

    lr = optimizer["lr"]
    if optimizer["kind"] == "adam":
        opt = torch.optim.Adam(plist, lr=lr, betas=(optimizer["beta1"], optimizer["beta2"]),
                               eps=optimizer["eps"])
        d = opt.defaults
        assert d["foreach"] is None and not d["amsgrad"] and d["weight_decay"] == 0 and not d["maximize"]
    else:
        opt = torch.optim.SGD(plist, lr=lr)
        d = opt.defaults
        assert d["momentum"] == 0 and d["dampening"] == 0 and d["weight_decay"] == 0
        assert not d["nesterov"] and not d["maximize"]
    sched = None
    if schedule["kind"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=schedule["total_steps"], eta_min=lr * schedule["min_lr_ratio"])

    # the hand mirror: parameters and Adam moments updated with the formulas alone
    mirror = {n: w.clone() for n, w in weights.items()}
    m = {n: torch.zeros_like(w) for n, w in weights.items()}
    v = {n: torch.zeros_like(w) for n, w in weights.items()}

    losses, grad_norms, lrs, clipped = [], [], [], []
    V = cfg["vocab_size"]
    for k, (tokens, targets) in enumerate(batches):
        step_lr = opt.param_groups[0]["lr"]
        close(step_lr, closed_form_lr(schedule, lr, k), f"{name} step {k}: lr vs closed form")
        for n in names:
            close(params[n].detach(), mirror[n], f"{name} step {k}: {n} before the step")

        opt.zero_grad(set_to_none=True)
        logits = model(tokens)[0]
        loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        loss.backward()
        for n in names:
            assert params[n].grad is not None, (name, n)
        raw = {n: params[n].grad.detach().clone() for n in names}
        norm = math.sqrt(sum((g * g).sum().item() for g in raw.values()))
        if clip is not None:
            total = torch.nn.utils.clip_grad_norm_(plist, clip).item()
            close(total, norm, f"{name} step {k}: grad norm")
            coef = clip / (norm + 1e-6)
            clipped.append(coef < 1)
            grads = {n: raw[n] * coef if coef < 1 else raw[n] for n in names}
            for n in names:
                close(params[n].grad, grads[n], f"{name} step {k}: clipped grad {n}")
        else:
            grads = raw
        losses.append(loss.item())
        grad_norms.append(norm)
        lrs.append(step_lr)

        opt.step()
        if sched is not None:
            sched.step()

        t = k + 1
        for n in names:
            g = grads[n]
            if optimizer["kind"] == "adam":
                b1, b2, eps = optimizer["beta1"], optimizer["beta2"], optimizer["eps"]
                m[n] = b1 * m[n] + (1 - b1) * g
                v[n] = b2 * v[n] + (1 - b2) * g * g
                denom = (v[n].sqrt() / math.sqrt(1 - b2 ** t)) + eps
                mirror[n] = mirror[n] - (step_lr / (1 - b1 ** t)) * m[n] / denom
            else:
                mirror[n] = mirror[n] - step_lr * g

    final_weights = {n: params[n].detach() for n in names}
    for n in names:
        close(final_weights[n], mirror[n], f"{name}: final {n}")
    if optimizer["kind"] == "adam":
        steps = set()
        for n in names:
            st = opt.state[params[n]]
            close(st["exp_avg"], m[n], f"{name}: exp_avg {n}")
            close(st["exp_avg_sq"], v[n], f"{name}: exp_avg_sq {n}")
            steps.add(int(st["step"]))
        assert steps == {len(batches)}, (name, steps)
        final_opt = {"m": {n: opt.state[params[n]]["exp_avg"].tolist() for n in names},
                     "v": {n: opt.state[params[n]]["exp_avg_sq"].tolist() for n in names},
                     "step": len(batches)}
    else:
        final_opt = {}

    fixture = {
        "config": cfg,
        "optimizer": optimizer,
        "clip": clip,
        "schedule": schedule,
        "weights": {n: weights[n].tolist() for n in names},
        "batches": [{"tokens": tk.tolist(), "targets": tg.tolist()} for tk, tg in batches],
        "expected": {
            "losses": losses,
            "grad_norms": grad_norms,
            "lrs": lrs,
            "final_weights": {n: final_weights[n].tolist() for n in names},
            "final_optimizer": final_opt,
        },
    }
    validate(name, fixture)
    return fixture, clipped


def validate(name, fx):
    cfg = fx["config"]
    specs = param_specs(cfg)
    steps = len(fx["batches"])
    assert list(fx["weights"]) == list(fx["expected"]["final_weights"]) == [s[0] for s in specs], name
    for pname, pshape, _ in specs:
        assert shape_of(fx["weights"][pname]) == pshape, (name, pname)
        assert shape_of(fx["expected"]["final_weights"][pname]) == pshape, (name, pname)
        if fx["optimizer"]["kind"] == "adam":
            assert shape_of(fx["expected"]["final_optimizer"]["m"][pname]) == pshape, (name, pname)
            assert shape_of(fx["expected"]["final_optimizer"]["v"][pname]) == pshape, (name, pname)
    for key in ("losses", "grad_norms", "lrs"):
        assert len(fx["expected"][key]) == steps, (name, key)
    for b in fx["batches"]:
        B, T = shape_of(b["tokens"])
        assert shape_of(b["targets"]) == ((B, T) if cfg["mode"] == M2M else (B,)), name


ADAM = {"kind": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
CONSTANT = {"kind": "constant"}


def case_adam_clip():
    cfg = cfg_of(8, None, 6, 1, False, M2M)
    g = torch.Generator().manual_seed(201)
    weights = init_weights(cfg, g, -0.5, 0.5)
    batches = random_batches(cfg, g, 2, 5, 5)
    # Random targets give gradient norms of only 0.3 to 0.5 here. At steps 0, 1 and 3
    # every target is token 6, which pushes the norm to about 1.09 and so triggers
    # clipping at 1.0; steps 2 and 4 stay random and unclipped: both branches are tested.
    batches = [(tk, torch.full_like(tg, 6)) if k in (0, 1, 3) else (tk, tg)
               for k, (tk, tg) in enumerate(batches)]
    return cfg, dict(ADAM), 1.0, CONSTANT, weights, batches, 2


def case_sgd_embed():
    cfg = cfg_of(9, 4, 5, 2, False, M2O)
    g = torch.Generator().manual_seed(202)
    weights = init_weights(cfg, g, -0.5, 0.5)
    batches = random_batches(cfg, g, 3, 4, 5)
    return cfg, {"kind": "sgd", "lr": 0.5}, None, CONSTANT, weights, batches, 0


def case_adam_cosine():
    cfg = cfg_of(7, None, 4, 2, True, M2M)
    g = torch.Generator().manual_seed(203)
    weights = init_weights(cfg, g, -0.5, 0.5)
    batches = random_batches(cfg, g, 2, 4, 6)
    opt = dict(ADAM, lr=0.02)
    return cfg, opt, 5.0, {"kind": "cosine", "total_steps": 6, "min_lr_ratio": 0.1}, weights, batches, 0


def case_article():
    vocab = []
    for w in ARTICLE_WORDS:
        if w not in vocab:
            vocab.append(w)
    ids = [vocab.index(w) for w in ARTICLE_WORDS]
    assert vocab[:4] == ["long", "ago", "the", "mice"] and len(vocab) == 10
    assert ids == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2]
    cfg = cfg_of(10, None, 5, 1, False, M2O)
    weights = init_weights(cfg, None, constant=0.1)
    batches = [(torch.tensor([ids[s:s + 3]]), torch.tensor([ids[s + 3]])) for s in range(8)]
    return cfg, {"kind": "sgd", "lr": 0.1}, None, CONSTANT, weights, batches, 0


CASES = [
    ("adam_clip_onehot_l1_m2m", case_adam_clip),
    ("sgd_embed_l2_m2o", case_sgd_embed),
    ("adam_cosine_bidir_l2_m2m", case_adam_cosine),
    ("article_sgd", case_article),
]


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, make in CASES:
        cfg, opt, clip, schedule, weights, batches, min_clipped = make()
        fixture, clipped = run(name, cfg, opt, clip, schedule, weights, batches)
        n_clipped = sum(clipped)
        if clip is not None:
            # keep every norm clearly on one side of the clip value, so a float32
            # engine cannot take the other branch by rounding
            for k, gn in enumerate(fixture["expected"]["grad_norms"]):
                if abs(gn - clip) < 0.02 * clip:
                    raise SystemExit(f"{name} step {k}: grad norm {gn} too close to clip {clip}")
        if n_clipped < min_clipped:
            raise SystemExit(f"{name}: clipping triggered in {n_clipped} steps, want at least {min_clipped}")
        path = os.path.join(OUT_DIR, f"{name}.json")
        write_json(path, fixture)
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise SystemExit(f"{name}: {size} bytes > {MAX_BYTES}")
        exp = fixture["expected"]
        print(f"{name}: {len(batches)} steps, {size} bytes"
              + ("" if clip is None else f", clip {clip} triggered at steps "
                 f"{[k for k, c in enumerate(clipped) if c]}"))
        print("  losses     " + " ".join(f"{x:.6f}" for x in exp["losses"]))
        print("  grad_norms " + " ".join(f"{x:.6f}" for x in exp["grad_norms"]))
        print("  lrs        " + " ".join(f"{x:.6g}" for x in exp["lrs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
