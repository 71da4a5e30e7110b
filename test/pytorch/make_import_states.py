#!/usr/bin/python3
"""PyTorch models saved as a user would save them for `lstm-lens import`, with PyTorch's own logits.

Usage:  /usr/bin/python3 test/pytorch/make_import_states.py OUTDIR

Writes to OUTDIR (the safetensors writer of the exported training script, src/node/pytorch/train.py,
when the `safetensors` package is absent; the files are the same either way):
  vocab.json                    a character vocabulary {"kind": "char", "tokens": [...]}
  text.txt                      the text the logits are of
  bi.safetensors                nn.Embedding(V, 6) + nn.LSTM(6, 5, 2 layers, bidirectional) + nn.Linear(10, V), F32
  bi64.safetensors              the same weights stored as F64 (import converts them to float32)
  onehot.safetensors            one-hot input + nn.LSTM(V, 7, 1 layer) + nn.Linear(7, V)
  gru.safetensors               nn.GRU under the name "lstm" (import refuses it)
  nohead.safetensors            an LSTM without its head (import refuses it)
  expected.json                 {"bi": (T, V) logits, "onehot": (T, V) logits}: the head at every
                                position of the text read as one sequence, batch 1, in float64
"""

import importlib.util
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train", os.path.join(HERE, "..", "..", "src", "node", "pytorch", "train.py"))
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)

try:
    from safetensors.torch import save_file
except ImportError:
    def save_file(tensors, path, metadata=None):
        train.write_safetensors(path, tensors, metadata or {})


def write_f64(path, tensors):
    """A safetensors file of F64 tensors (as a model trained in double precision saves)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        blob = struct.pack(f"<{t.numel()}d", *t.double().flatten().tolist())
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class Model(nn.Module):
    def __init__(self, V, E, H, L, bidirectional, cell=nn.LSTM):
        super().__init__()
        self.V = V
        self.embedding = nn.Embedding(V, E) if E else None
        self.lstm = cell(E or V, H, L, bidirectional=bidirectional, batch_first=True)
        self.head = nn.Linear(H * (2 if bidirectional else 1), V)

    def forward(self, ids):
        x = self.embedding(ids) if self.embedding is not None else F.one_hot(ids, self.V).double()
        return self.head(self.lstm(x)[0])


def main(out):
    os.makedirs(out, exist_ok=True)
    text = "the cat sat on the mat; the mice met."
    tokens = sorted(set(text))
    with open(os.path.join(out, "vocab.json"), "w") as fh:
        json.dump({"kind": "char", "tokens": tokens}, fh)
    with open(os.path.join(out, "text.txt"), "w") as fh:
        fh.write(text)
    ids = torch.tensor([[tokens.index(c) for c in text]])
    V = len(tokens)
    torch.manual_seed(17)
    expected = {}
    for name, model in (("bi", Model(V, 6, 5, 2, True)), ("onehot", Model(V, None, 7, 1, False))):
        state = {k: v.float().contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(out, f"{name}.safetensors"))
        if name == "bi":
            write_f64(os.path.join(out, "bi64.safetensors"), state)
        # The reference in float64, from the float32 weights that were saved.
        model.double().load_state_dict({k: v.double() for k, v in state.items()})
        with torch.no_grad():
            expected[name] = model(ids)[0].tolist()
    gru = Model(V, None, 4, 1, False, cell=nn.GRU)
    save_file({k: v.contiguous() for k, v in gru.state_dict().items()}, os.path.join(out, "gru.safetensors"))
    nohead = {k: v.contiguous() for k, v in Model(V, None, 4, 1, False).state_dict().items() if not k.startswith("head.")}
    save_file(nohead, os.path.join(out, "nohead.safetensors"))
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(expected, fh)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_import_states.py OUTDIR")
    main(sys.argv[1])
