#!/usr/bin/env python3
"""Continue an lstm-lens training run in PyTorch, on a CPU, a GPU, or many of them.

Written by `lstm-lens export`; it sits in a folder with:
  model.safetensors  the run's checkpoint (weights, Adam's moments, sampler state, history)
  tokens.bin         the text's token ids as the engine read them (int32, little-endian)
  text.txt           the text itself, as the engine decoded it (to read, and to recognise it)

  python3 train.py --steps 1000                   one process (CUDA when there is a GPU)
  torchrun --nproc_per_node 4 train.py --steps N  data parallel: each process takes its share
                                                  of every batch's sequences

It rebuilds the engine's run exactly: the model (nn.LSTM, batch first, one-hot or nn.Embedding
input, nn.Linear head), the same batches (the engine's random generator and sampler, from their
saved state), the same loss (mean cross-entropy), clipping (global norm), optimizer (Adam or SGD,
the engine's formulas) and learning-rate schedule, in float32. It prints one JSON line per step,
{"step": s, "loss": x}, and writes a checkpoint that every lstm-lens command and the VS Code
extension open and continue. Nothing but PyTorch is needed: safetensors files are read and
written here (8-byte little-endian header length, a JSON header, raw little-endian data).
"""

import argparse
import base64
import ctypes
import json
import math
import os
import struct
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT = "lstm-lens/1"
EXPLOSION_FACTOR = 10  # a loss above this many times the run's first loss counts as divergence
HISTORY_MAX_POINTS = 1000
ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
M32 = 0xFFFFFFFF


class Refusal(Exception):
    """Bad input: said in one line, exit status 2."""


# ----------------------------------------------------------------------------- safetensors

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    """(tensors by name, metadata): every tensor as a float32 CPU tensor in its shape."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 8:
        raise Refusal(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise Refusal(f"{path}: the header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise Refusal(f"{path}: tensor {name} has dtype {entry['dtype']}, which this script does not read")
        data = bytearray(raw[8 + n + begin:8 + n + end])
        flat = torch.frombuffer(data, dtype=dtype) if data else torch.zeros(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"]).float()
    return tensors, metadata


def tensor_bytes(t):
    """The raw bytes of a float32 tensor (little-endian on every machine PyTorch runs on)."""
    t = t.detach().to("cpu", torch.float32).contiguous()
    return ctypes.string_at(t.data_ptr(), t.numel() * 4)


def write_safetensors(path, tensors, metadata):
    """Writes float32 `tensors` (name -> tensor, in order) and string `metadata`, whole or not at all."""
    header = {"__metadata__": metadata}
    offset = 0
    for name, t in tensors.items():
        size = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data region starts on a multiple of 8 bytes
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for t in tensors.values():
            fh.write(tensor_bytes(t))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- the engine's random numbers

def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Random:
    """xoshiro128** 1.1 with the engine's saved state [s0, s1, s2, s3] (+ a pending normal value)."""

    def __init__(self, state):
        self.s = [int(w) for w in state[:4]]
        self.spare = state[4] if len(state) == 5 else None

    def next_uint32(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def int(self, n):
        """Uniform in [0, n), unbiased: draws at or above the largest multiple of n below 2^32 are rejected."""
        limit = 2 ** 32 - (2 ** 32 % n)
        while True:
            x = self.next_uint32()
            if x < limit:
                return x % n

    def state(self):
        return list(self.s) + ([self.spare] if self.spare is not None else [])


# ----------------------------------------------------------------------------- the engine's batches

class WindowSampler:
    """Random windows: row b starts at rng.int(N - T), drawn row by row."""

    def __init__(self, ids, B, T, mode, rng):
        self.ids, self.B, self.T, self.mode, self.rng = ids, B, T, mode, rng

    def next(self):
        starts = torch.tensor([self.rng.int(len(self.ids) - self.T) for _ in range(self.B)])
        index = starts[:, None] + torch.arange(self.T)[None, :]
        inputs = self.ids[index]
        targets = self.ids[index + 1] if self.mode == "many_to_many" else self.ids[starts + self.T]
        return inputs, targets, True

    def state(self):
        return {"kind": "windows"}


class StreamBatcher:
    """B contiguous streams of S = (N - 1) // B tokens, read T at a time; the state is carried."""

    def __init__(self, ids, B, T, state):
        self.ids, self.B, self.T = ids, B, T
        self.S = (len(ids) - 1) // B
        self.position, self.started = state["position"], state["started"]

    def next(self):
        p, reset = self.position, not self.started
        if p + self.T > self.S:
            p, reset = 0, True
        index = (torch.arange(self.B) * self.S + p)[:, None] + torch.arange(self.T)[None, :]
        self.position, self.started = p + self.T, True
        return self.ids[index], self.ids[index + 1], reset

    def state(self):
        return {"kind": "streams", "position": self.position, "started": self.started}


def held_out_tokens(n, holdout, mode, T):
    """The tokens at the end of the text that no batch reads (the engine's heldOutTokens)."""
    if not holdout > 0:
        return 0
    k = math.floor(n * holdout)
    fewest = T + 1 if mode == "many_to_one" else 2
    return 0 if k < fewest or n - k < T + 1 else k


def fingerprint(text):
    """The engine's textFingerprint: two FNV-1a passes over the UTF-16 code units."""
    raw = text.encode("utf-16-le", "surrogatepass")
    units = struct.unpack(f"<{len(raw) // 2}H", raw)
    a, b = 0x811C9DC5, 0x01000193 ^ 0x5BD1E995
    for ch in units:
        a = ((a ^ ch) * 0x01000193) & M32
        b = ((b ^ ch) * (0x01000193 + 2)) & M32
    return f"fnv1a:{a:08x}{b:08x}:{len(units)}"


# ----------------------------------------------------------------------------- the run's history

class History:
    """The engine's bounded history (history.ts): at most 1000 points, each the mean of `width` steps."""

    def __init__(self, j):
        self.width = j["width"]
        self.first_step, self.first_loss = j["first_step"], j["first_loss"]
        self.last, self.loss, self.lr = list(j["steps"]), list(j["loss"]), list(j["lr"])
        self.norm = [math.nan if g is None else g for g in j["grad_norm"]]
        previous = (self.first_step or 1) - 1
        self.count = []
        for s in self.last:
            self.count.append(s - previous)
            previous = s

    def append(self, step, loss, norm, lr):
        if not self.last:
            self.first_step, self.first_loss = step, loss
        if self.last and self.count[-1] < self.width:
            c = self.count[-1] + 1
            self.loss[-1] += (loss - self.loss[-1]) / c
            self.norm[-1] += (norm - self.norm[-1]) / c
            self.lr[-1] += (lr - self.lr[-1]) / c
            self.count[-1], self.last[-1] = c, step
            return
        if len(self.last) == HISTORY_MAX_POINTS:
            self.compact()
        self.last.append(step)
        self.count.append(1)
        self.loss.append(loss)
        self.norm.append(norm)
        self.lr.append(lr)

    def compact(self):
        merged = {"last": [], "count": [], "loss": [], "norm": [], "lr": []}
        for k in range(len(self.last) // 2):
            a, b = 2 * k, 2 * k + 1
            ca, cb = self.count[a], self.count[b]
            merged["last"].append(self.last[b])
            merged["count"].append(ca + cb)
            for key in ("loss", "norm", "lr"):
                col = getattr(self, key)
                merged[key].append((col[a] * ca + col[b] * cb) / (ca + cb))
        for key, col in merged.items():
            setattr(self, key, col)
        self.width *= 2

    def to_json(self):
        return {"width": self.width, "first_step": self.first_step, "first_loss": self.first_loss,
                "steps": self.last, "loss": self.loss,
                "grad_norm": [None if math.isnan(g) else g for g in self.norm], "lr": self.lr}


# ----------------------------------------------------------------------------- the model

class LanguageModel(nn.Module):
    """The module of the engine's docs/model.md: one-hot or nn.Embedding, nn.LSTM (batch first), nn.Linear."""

    def __init__(self, config):
        super().__init__()
        V, E, H = config["vocab_size"], config["embedding_size"], config["hidden_size"]
        self.V, self.D, self.H, self.mode = V, 2 if config["bidirectional"] else 1, H, config["mode"]
        self.embedding = nn.Embedding(V, E) if E is not None else None
        self.lstm = nn.LSTM(E if E is not None else V, H, config["num_layers"],
                            bidirectional=config["bidirectional"], batch_first=True)
        self.head = nn.Linear(self.D * H, V)

    def forward(self, ids, state=None):
        x = self.embedding(ids) if self.embedding is not None else F.one_hot(ids, self.V).float()
        output, (h, c) = self.lstm(x, state)
        if self.mode == "many_to_one":
            # The last layer's final hidden states, forward then backward.
            last = h[-self.D:].transpose(0, 1).reshape(ids.shape[0], self.D * self.H)
            return self.head(last), (h, c)
        return self.head(output), (h, c)


def learning_rate(settings, step, total):
    """The rate of step `step` (0-based): constant, or cosine annealing to a tenth over the run."""
    lr = settings["learning_rate"]
    if settings["schedule"] != "cosine":
        return lr
    eta_min = lr * 0.1
    k = min(step, total)
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * k / total)) / 2


# ----------------------------------------------------------------------------- the run

def say(line):
    print(line, file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description="Continue an lstm-lens run in PyTorch (see README.md beside this script).")
    p.add_argument("--steps", type=int, required=True, help="steps to take from where the run stands")
    p.add_argument("--out", default=os.path.join(HERE, "model.safetensors"), help="checkpoint to write (default: model.safetensors here)")
    p.add_argument("--checkpoint", default=os.path.join(HERE, "model.safetensors"), help="checkpoint to continue (default: model.safetensors here)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--save-every", type=int, default=100, help="also save every N steps (default 100; 0: only at the end)")
    p.add_argument("--batch", type=int, help="sequences per step (changes the run: it is then no longer a continuation)")
    p.add_argument("--text", help="train on another text (character vocabularies only; no longer a continuation)")
    p.add_argument("--quiet", action="store_true", help="no notes on stderr")
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps must be at least 1")
    if args.batch is not None and args.batch < 1:
        p.error("--batch must be at least 1")
    return args


def read_text(path):
    """A text file as the engine decodes it: UTF-8 (invalid bytes as U+FFFD), no byte-order mark, LF line ends."""
    with open(path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def char_ids(text, vocab):
    """Character tokens (one per code point) to ids; an unknown one is <unk>, or dropped without it."""
    index = {t: i for i, t in enumerate(vocab["tokens"])}
    unk = index.get("<unk>")
    ids = [index.get(ch, unk) for ch in text]
    return [i for i in ids if i is not None]


def main():
    args = parse_args()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if args.device == "cuda" and not torch.cuda.is_available():
        raise Refusal("--device cuda: PyTorch sees no CUDA device here (use --device cpu)")
    device = torch.device(args.device)
    if world > 1:
        if args.device == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    note = say if rank == 0 and not args.quiet else (lambda line: None)

    tensors, meta = read_safetensors(args.checkpoint)
    if meta.get("format") != FORMAT:
        raise Refusal(f"{args.checkpoint}: not an lstm-lens checkpoint (format {meta.get('format')!r})")
    config_all = json.loads(meta["config"])
    vocab = json.loads(meta["vocab"])
    training = json.loads(meta["training"])
    config = {k: config_all[k] for k in ("vocab_size", "embedding_size", "hidden_size", "num_layers", "bidirectional", "mode")}
    settings = dict(config_all)
    mode, T = config["mode"], settings["sequence_length"]
    continuation = True

    # The text: the ids the engine read (tokens.bin), or another text's.
    source = training.get("source")
    if args.text is None:
        with open(os.path.join(HERE, "tokens.bin"), "rb") as fh:
            ids = torch.frombuffer(bytearray(fh.read()), dtype=torch.int32).long()
        text_path = os.path.join(HERE, "text.txt")
        if os.path.exists(text_path):
            with open(text_path, encoding="utf-8", newline="") as fh:
                text = fh.read()
            hash_ = fingerprint(text)
            if source is None or source.get("hash") != hash_:
                source = {"name": os.path.basename(text_path), "chars": len(text.encode("utf-16-le", "surrogatepass")) // 2, "hash": hash_}
    else:
        if vocab["kind"] != "char":
            raise Refusal("--text works with character vocabularies only: for word tokens, export again with lstm-lens export CKPT --text FILE --out DIR")
        text = read_text(args.text)
        ids = torch.tensor(char_ids(text, vocab), dtype=torch.long)
        hash_ = fingerprint(text)
        if source is None or source.get("hash") != hash_:
            continuation = False
            note(f"note: {args.text} is not the text this run was trained on: the run is no longer a continuation")
        source = {"name": os.path.basename(args.text), "chars": len(text.encode("utf-16-le", "surrogatepass")) // 2, "hash": hash_}
    held_out = held_out_tokens(len(ids), settings.get("holdout", 0), mode, T)
    train_ids = ids[:len(ids) - held_out]
    if len(train_ids) < T + 1:
        raise Refusal(f"the text is too short for one sequence: {len(train_ids)} tokens to train on, a sequence of {T} needs {T + 1}")

    B = settings["batch_size"]
    batcher_state = training["batcher"]
    carry_saved = training.get("carry")
    if args.batch is not None and args.batch != B:
        note(f"note: --batch {args.batch} (the run's is {B}): the run is no longer a continuation")
        B, continuation = args.batch, False
    streams = mode == "many_to_many"
    if streams and len(train_ids) < B * T * 4 + 1:
        lowered = max(1, min(B, (len(train_ids) - 1) // (T * 4)))
        if lowered != B:
            note(f"note: batch size lowered from {B} to {lowered}: the text has {len(train_ids)} tokens to train on, too few for {B} streams of 4 sequences of {T}")
            B, continuation = lowered, False
    if streams and batcher_state["position"] > (len(train_ids) - 1) // B:
        note(f"note: the text is shorter than the streams' position {batcher_state['position']}: read from its start again, the carried state zeroed")
        continuation = False
    if streams and not continuation:
        batcher_state, carry_saved = {"kind": "streams", "position": 0, "started": False}, None
    if world > B:
        raise Refusal(f"{world} processes for a batch of {B} sequences: each process needs at least one (use --nproc_per_node {B} or fewer, or --batch)")
    settings["batch_size"] = B

    step0 = training["step"]
    total = settings["steps"]
    if step0 + args.steps > total:
        if settings["schedule"] == "cosine":
            note(f"note: the run's total steps rise from {total} to {step0 + args.steps}, which stretches its cosine schedule (as lstm-lens train --resume --steps {step0 + args.steps} does)")
        total = step0 + args.steps
        settings["steps"] = total

    # The model, the optimizer state, the batches.
    model = LanguageModel(config)
    params = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(params, strict=True)
    model.to(device)
    names = [name for name, _ in model.named_parameters()]
    adam = settings["optimizer"] == "adam"
    moments = {}
    if adam:
        for slot in ("m", "v"):
            moments[slot] = {n: tensors.get(f"optimizer.{slot}.{n}", torch.zeros_like(params[n])).to(device) for n in names}
    optimizer_step = training.get("optimizer_step", step0)
    rng = Random(training["rng"])
    batcher = StreamBatcher(train_ids, B, T, batcher_state) if streams else WindowSampler(train_ids, B, T, mode, rng)
    history = History(training["history"])

    # This process's share of every batch: rows [lo, hi).
    base, extra = divmod(B, world)
    lo = rank * base + min(rank, extra)
    hi = lo + base + (1 if rank < extra else 0)
    L, D, H = config["num_layers"], 2 if config["bidirectional"] else 1, config["hidden_size"]
    carry = None
    if streams:
        carry = [torch.zeros(L * D, B, H, device=device), torch.zeros(L * D, B, H, device=device)]
        if carry_saved is not None:
            for k, key in enumerate(("h", "c")):
                values = torch.frombuffer(bytearray(base64.b64decode(carry_saved[key])), dtype=torch.float32)
                carry[k].copy_(values.reshape(L * D, B, H))
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if args.device == "cuda" else None)
    count = B * T if mode == "many_to_many" else B  # the targets of one global batch
    step, loss_value, tokens_seen = step0, training["loss"], training.get("tokens_seen", 0)

    def save(path):
        """Rank 0 writes the checkpoint (the carried state gathered from every process first)."""
        carry_json = None
        if carry is not None:
            full = [c.clone() for c in carry]
            if world > 1:
                for c in full:  # each process holds its own rows, zeros elsewhere: the sum is the whole
                    mask = torch.zeros_like(c)
                    mask[:, lo:hi] = c[:, lo:hi]
                    dist.all_reduce(mask)
                    c.copy_(mask)
            carry_json = {key: base64.b64encode(tensor_bytes(c)).decode("ascii") for key, c in zip(("h", "c"), full)}
        if rank != 0:
            return
        out = {n: p.detach() for n, p in model.named_parameters()}
        for slot, byname in moments.items():
            for n in names:
                out[f"optimizer.{slot}.{n}"] = byname[n]
        state = {"step": step, "loss": loss_value, "seed": training["seed"], "rng": rng.state(), "batcher": batcher.state(),
                 "carry": carry_json, "history": history.to_json(), "tokens_seen": tokens_seen, "source": source,
                 "optimizer_step": optimizer_step}
        metadata = {"format": FORMAT, "config": json.dumps(settings), "vocab": json.dumps(vocab),
                    "training": json.dumps(state)}
        write_safetensors(path, out, metadata)

    note(f"{'continuing' if continuation else 'training'} from step {step0} for {args.steps} steps on {world} process(es), {args.device}; "
         f"batch {B} x {T}, {len(train_ids)} tokens to train on")
    for _ in range(args.steps):
        lr = learning_rate(settings, step, total)
        inputs, targets, reset = batcher.next()
        inputs, targets = inputs[lo:hi].to(device), targets[lo:hi].to(device)
        state = None
        if carry is not None and not reset:
            state = (carry[0][:, lo:hi].contiguous(), carry[1][:, lo:hi].contiguous())
        model.zero_grad(set_to_none=False)
        logits, (h_n, c_n) = net(inputs, state)
        total_loss = F.cross_entropy(logits.reshape(-1, config["vocab_size"]), targets.reshape(-1), reduction="sum")
        # DistributedDataParallel averages the gradients over the processes: scaled so, their mean
        # is the gradient of the global mean loss, whatever each process's share.
        (total_loss * (world / count)).backward()
        loss_sum = total_loss.detach().double()
        if world > 1:
            dist.all_reduce(loss_sum)
        loss = loss_sum.item() / count
        first = history.first_loss
        if not math.isfinite(loss) or (first is not None and loss > EXPLOSION_FACTOR * first):
            say(f"train.py: training diverged at step {step + 1}: the loss is {loss}; {args.out} keeps the last save")
            return 1
        # The global gradient norm in float64, clipped to settings.clip (maxNorm / (norm + 1e-6) when below 1).
        grads = [p.grad for p in model.parameters()]
        norm = math.sqrt(sum(g.double().pow(2).sum().item() for g in grads))
        if not math.isfinite(norm):
            say(f"train.py: training diverged at step {step + 1}: the gradient is not finite; {args.out} keeps the last save")
            return 1
        coef = settings["clip"] / (norm + 1e-6) if settings["clip"] is not None else 1.0
        with torch.no_grad():
            optimizer_step += 1
            if adam:
                b1, b2, eps = ADAM["beta1"], ADAM["beta2"], ADAM["eps"]
                step_size = lr / (1 - b1 ** optimizer_step)
                sqrt_bc2 = math.sqrt(1 - b2 ** optimizer_step)
            for n, p in model.named_parameters():
                # The engine's update: float64 arithmetic on float32 values, stored as float32.
                g = (p.grad.double() * coef).float().double() if coef < 1 else p.grad.double()
                if adam:
                    m = b1 * moments["m"][n].double() + (1 - b1) * g
                    v = b2 * moments["v"][n].double() + (1 - b2) * g * g
                    p.copy_(p.double() - step_size * m / (v.sqrt() / sqrt_bc2 + eps))
                    moments["m"][n].copy_(m)
                    moments["v"][n].copy_(v)
                else:
                    p.copy_(p.double() - lr * g)
            if carry is not None:
                carry[0][:, lo:hi] = h_n.detach()
                carry[1][:, lo:hi] = c_n.detach()
        step += 1
        loss_value = loss
        tokens_seen += B * T
        history.append(step, loss, norm, lr)
        if rank == 0:
            print(json.dumps({"step": step, "loss": loss}), flush=True)
        if args.save_every > 0 and step % args.save_every == 0 and step < step0 + args.steps:
            save(args.out)
    save(args.out)
    note(f"saved {args.out} at step {step}, loss {loss_value:.4f}")
    if world > 1:
        # Every process reaches the end before any tears the group down: one that destroyed it while
        # rank 0 still wrote the checkpoint was seen to leave the run hanging at exit.
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Refusal as e:
        say(f"train.py: {e}")
        sys.exit(2)
