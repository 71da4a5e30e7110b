#!/usr/bin/python3
"""Check, independently of the engine, that an lstm-lens checkpoint opens in PyTorch.

Usage:  /usr/bin/python3 test/pytorch/check_checkpoint.py CKPT INSPECT_JSON

CKPT          a .safetensors checkpoint written by the engine (docs/checkpoint.md)
INSPECT_JSON  the output of `lstm-lens inspect CKPT --text TEXT --json`

The .safetensors file is parsed by hand (no safetensors package needed): 8-byte
little-endian header length N, N bytes of JSON header, then the raw data. The
model of docs/model.md is built from the `config` metadata and loaded
with load_state_dict(strict=True) from every tensor not named `optimizer.*`.
It then reads the inspect tokens (batch 1), takes the head's output at every
position, and compares:
  - softmax probabilities against softmax of the inspect `logits` (max abs diff <= 1e-5)
  - the mean cross-entropy of positions 0..T-2 predicting tokens 1..T-1 against
    the inspect `loss` (relative 1e-4)
in float32 (the checkpoint's dtype); the float64 difference is reported too.
Exit status 0 on agreement, 1 otherwise (including a file that is not a valid
checkpoint or inspect output); 2 only for wrong usage.
"""

import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PROB_TOL = 1e-5
LOSS_RTOL = 1e-4
DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16,
          "I64": np.int64, "I32": np.int32, "U8": np.uint8}
CONFIG_KEYS = ("vocab_size", "embedding_size", "hidden_size", "num_layers", "bidirectional", "mode")


class Bad(Exception):
    pass


def read_safetensors(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 8:
        raise Bad(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise Bad(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Bad(f"{path}: header is not JSON: {e}")
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, entry in header.items():
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise Bad(f"{name}: unsupported dtype {dtype}")
        np_dtype = np.dtype(DTYPES[dtype]).newbyteorder("<")
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= begin <= end <= len(data)) or end - begin != count * np_dtype.itemsize:
            raise Bad(f"{name}: data_offsets {begin}..{end} do not fit shape {shape} of {dtype}")
        arr = np.frombuffer(data, dtype=np_dtype, count=count, offset=begin).reshape(shape)
        tensors[name] = arr.astype(np_dtype.newbyteorder("="))
    return meta, tensors


class LM(nn.Module):
    """The model of docs/model.md."""

    def __init__(self, cfg):
        super().__init__()
        V, E, H, L = cfg["vocab_size"], cfg["embedding_size"], cfg["hidden_size"], cfg["num_layers"]
        D = 2 if cfg["bidirectional"] else 1
        self.vocab_size, self.one_hot = V, E is None
        if E is not None:
            self.embedding = nn.Embedding(V, E)
        self.lstm = nn.LSTM(input_size=V if E is None else E, hidden_size=H, num_layers=L,
                            bidirectional=D == 2, batch_first=True)
        self.head = nn.Linear(D * H, V)

    def forward(self, ids):
        """Head output at every position (many-to-many), whatever the model's mode."""
        if self.one_hot:
            x = F.one_hot(ids, self.vocab_size).to(self.head.weight.dtype)
        else:
            x = self.embedding(ids)
        output, _ = self.lstm(x)
        return self.head(output)


def run_model(cfg, params, ids, dtype):
    m = LM(cfg).to(dtype)
    state = {n: torch.from_numpy(a.copy()).to(dtype) for n, a in params.items()}
    m.load_state_dict(state, strict=True)
    m.eval()
    with torch.no_grad():
        return m(torch.tensor([ids], dtype=torch.long))[0]  # (T, V)


def seq_loss(logits, ids):
    if len(ids) < 2:
        return float("nan")
    return F.cross_entropy(logits[:-1].double(), torch.tensor(ids[1:], dtype=torch.long)).item()


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    ckpt_path, inspect_path = argv[1], argv[2]
    try:
        meta, tensors = read_safetensors(ckpt_path)
        if meta.get("format") != "lstm-lens/1":
            raise Bad(f"__metadata__.format is {meta.get('format')!r}, expected 'lstm-lens/1'")
        for key in ("config", "vocab"):
            if key not in meta:
                raise Bad(f"__metadata__ has no {key!r}")
        cfg = json.loads(meta["config"])
        vocab = json.loads(meta["vocab"])
        missing = [k for k in CONFIG_KEYS if k not in cfg]
        if missing:
            raise Bad(f"config lacks {missing}")
        if vocab.get("kind") not in ("char", "word"):
            raise Bad(f"vocab kind is {vocab.get('kind')!r}, expected 'char' or 'word'")
        vtokens = vocab["tokens"]
        if len(vtokens) != cfg["vocab_size"]:
            raise Bad(f"vocab has {len(vtokens)} tokens but config.vocab_size is {cfg['vocab_size']}")
        with open(inspect_path, encoding="utf-8") as fh:
            ins = json.load(fh)
        for key in ("tokens", "logits", "loss"):
            if key not in ins:
                raise Bad(f"{inspect_path}: no {key!r}")
    except (OSError, Bad, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        print(f"FAIL: {e}")
        return 1

    print(f"config: {json.dumps({k: cfg[k] for k in CONFIG_KEYS})}")
    print(f"vocab: {vocab['kind']}, {len(vtokens)} tokens")

    # Parameters: everything except optimizer state and anything else the module does not own.
    wanted = set(LM(cfg).state_dict().keys())
    params, ignored = {}, []
    for name in sorted(tensors):
        if name.startswith("optimizer."):
            continue
        if name in wanted:
            params[name] = tensors[name]
        else:
            ignored.append(name)
    n_opt = sum(1 for n in tensors if n.startswith("optimizer."))
    print(f"tensors: {len(params)} parameters, {n_opt} optimizer.* (ignored)")
    for name in ignored:
        print(f"  ignored non-parameter tensor: {name} {list(tensors[name].shape)}")
    non_f32 = [n for n, a in params.items() if a.dtype != np.float32]
    if non_f32:
        print(f"FAIL: parameters not F32: {non_f32}")
        return 1

    # Token strings -> ids.
    index = {t: i for i, t in enumerate(vtokens)}
    ids = []
    for s in ins["tokens"]:
        if s in index:
            ids.append(index[s])
        elif "<unk>" in index:
            ids.append(index["<unk>"])
        else:
            print(f"FAIL: token {s!r} of the inspect output is not in the vocabulary (and there is no <unk>)")
            return 1
    T, V = len(ids), cfg["vocab_size"]
    ins_logits = torch.tensor(ins["logits"], dtype=torch.float64)
    if tuple(ins_logits.shape) != (T, V):
        print(f"FAIL: inspect logits have shape {tuple(ins_logits.shape)}, expected ({T}, {V})")
        return 1

    try:
        logits32 = run_model(cfg, params, ids, torch.float32)
        logits64 = run_model(cfg, params, ids, torch.float64)
    except RuntimeError as e:
        print(f"FAIL: the checkpoint does not load into the PyTorch module: {e}")
        return 1
    print(f"load_state_dict(strict=True): ok; T = {T}")

    ins_prob = torch.softmax(ins_logits, dim=-1)
    ok = True
    for label, logits in (("float32", logits32), ("float64", logits64)):
        prob = torch.softmax(logits.double(), dim=-1)
        dprob = (prob - ins_prob).abs().max().item()
        dlogit = (logits.double() - ins_logits).abs().max().item()
        print(f"{label}: max |softmax diff| = {dprob:.3e}   max |logit diff| = {dlogit:.3e}")
        if label == "float32" and not dprob <= PROB_TOL:
            print(f"FAIL: probabilities differ by {dprob:.3e} > {PROB_TOL:g}")
            ok = False

    loss32 = seq_loss(logits32, ids)
    loss64 = seq_loss(logits64, ids)
    ins_loss = ins["loss"]
    if T < 2:
        print("loss: T < 2, no next-token loss to compare")
    else:
        if ins_loss is None or not math.isfinite(float(ins_loss)):
            print(f"FAIL: inspect loss is {ins_loss!r}")
            ok = False
        else:
            ins_loss = float(ins_loss)
            rel32 = abs(loss32 - ins_loss) / max(abs(ins_loss), 1e-12)
            rel64 = abs(loss64 - ins_loss) / max(abs(ins_loss), 1e-12)
            print(f"loss: inspect {ins_loss:.7f}  pytorch float32 {loss32:.7f} (rel {rel32:.2e})"
                  f"  float64 {loss64:.7f} (rel {rel64:.2e})")
            if not rel32 <= LOSS_RTOL:
                print(f"FAIL: loss differs by {rel32:.3e} relative > {LOSS_RTOL:g}")
                ok = False

    last = torch.softmax(logits32[-1].double(), dim=-1)
    top = torch.topk(last, k=min(3, V))
    shown = ", ".join(f"{vtokens[i]!r} {p:.4f}" for p, i in zip(top.values.tolist(), top.indices.tolist()))
    print(f"top-3 next tokens after {ins['tokens'][-1]!r}: {shown}")
    ins_top = torch.topk(ins_prob[-1], k=min(3, V))
    shown = ", ".join(f"{vtokens[i]!r} {p:.4f}" for p, i in zip(ins_top.values.tolist(), ins_top.indices.tolist()))
    print(f"  (inspect says:                  {shown})")

    print("OK: the checkpoint opens in PyTorch and agrees with the engine" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
