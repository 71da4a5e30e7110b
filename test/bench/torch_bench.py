"""The benchmark workload on PyTorch (CPU), for `npm run bench:peers`.

Same model as the engine: one-hot input (vocabulary 96), nn.LSTM with L layers, a linear head,
softmax cross-entropy over every position; T = 64, B = 32; Adam lr 2e-3; clip_grad_norm_ 5; fp32.

    python3 test/bench/torch_bench.py --hidden H --layers L [--steps N] [--threads 2]
    python3 test/bench/torch_bench.py --generate [--threads 2]

Last line of stdout: one JSON object (tokens_per_s, steps measured, peak_rss_mb, the BLAS in use).
"""

import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F

V, T, B, WARMUP = 96, 64, 32, 3


def blas_in_use():
    """The BLAS libraries mapped into this process (Debian's torch uses the system libblas)."""
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            name = line.strip().split("/")[-1]
            if "blas" in name or "mkl" in name:
                libs.add(name)
    return sorted(libs)


class Model(torch.nn.Module):
    def __init__(self, hidden, layers):
        super().__init__()
        self.lstm = torch.nn.LSTM(V, hidden, layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, V)

    def forward(self, ids, state=None):
        out, state = self.lstm(F.one_hot(ids, V).float(), state)
        return self.head(out), state


def train(hidden, layers, steps):
    torch.manual_seed(0)
    model = Model(hidden, layers)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(1)

    def step():
        x = torch.randint(0, V, (B, T), generator=gen)
        y = torch.randint(0, V, (B, T), generator=gen)
        opt.zero_grad(set_to_none=True)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(B * T, V), y.reshape(B * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    return {"hidden": hidden, "layers": layers, "tokens_per_s": B * T / s, "step_ms": s * 1000, "steps": steps}


@torch.no_grad()
def generate():
    torch.manual_seed(0)
    model = Model(512, 2)
    token = torch.zeros((1, 1), dtype=torch.long)
    state = None

    def one():
        nonlocal token, state
        logits, state = model(token, state)
        token = torch.multinomial(torch.softmax(logits[:, -1], -1), 1)

    for _ in range(10):
        one()
    t0 = time.perf_counter()
    for _ in range(200):
        one()
    return {"hidden": 512, "layers": 2, "tokens_per_s": 200 / (time.perf_counter() - t0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--generate", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    result = generate() if a.generate else train(a.hidden, a.layers, a.steps)
    result.update(
        peer="pytorch",
        version=torch.__version__,
        threads=torch.get_num_threads(),
        blas=blas_in_use(),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
