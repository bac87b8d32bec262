"""Writes the real PyTorch files of tests/scan/test_scan.py::test_real_pytorch_files.

Run with a Python that has torch (not needed by the tests): `python make_torch_files.py` in
this folder. Each file is what `torch.save` (or `torch.jit.save`) writes for a common kind
of checkpoint; `torch_results.json` records, next to each, whether torch's own restricted
loader (`torch.load(weights_only=True)`) accepts it: the anchor the scan is checked against.
"""

import collections
import json
import os
import re
import warnings

import numpy as np
import torch
import torch.nn as nn

warnings.simplefilter("ignore")
torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
written: list[str] = []


def save(name, obj, **kw):
    torch.save(obj, os.path.join(HERE, name), **kw)
    written.append(name)


class MyNet(nn.Module):
    """User code: a class only its own program can import."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


lin = nn.Linear(4, 3)
save("linear_state_dict.pt", lin.state_dict())
save("linear_state_dict_protocol4.pt", lin.state_dict(), pickle_protocol=4)
save("linear_state_dict_legacy.pt", lin.state_dict(), _use_new_zipfile_serialization=False)
save("linear_module.pt", lin)
save("linear_module_legacy.pt", lin, _use_new_zipfile_serialization=False)
cnn = nn.Sequential(
    nn.Conv2d(3, 2, 3),
    nn.BatchNorm2d(2),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Dropout(0.1),
    nn.Flatten(),
    nn.Linear(2 * 3 * 3, 2),
    nn.LogSoftmax(dim=1),
)
save("cnn_state_dict.pt", cnn.state_dict())
save("cnn_module.pt", cnn)
lstm = nn.LSTM(2, 3, num_layers=2, batch_first=True)
save("lstm_state_dict.pt", lstm.state_dict())
save("lstm_module.pt", lstm)
layer = nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=4, batch_first=True)
save("transformer_layer_state_dict.pt", layer.state_dict())
save("transformer_layer_module.pt", layer)
save("embedding_module.pt", nn.Embedding(5, 2, padding_idx=0))
adam = torch.optim.Adam(cnn.parameters(), lr=1e-3)
cnn(torch.randn(2, 3, 8, 8)).sum().backward()
adam.step()
save("adam_state_dict.pt", adam.state_dict())
sgd = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
steps = torch.optim.lr_scheduler.StepLR(sgd, step_size=10)
save(
    "checkpoint_lightning_like.pt",
    {
        "epoch": 3,
        "global_step": 1200,
        "state_dict": cnn.state_dict(),
        "optimizer_states": [adam.state_dict()],
        "lr_schedulers": [steps.state_dict()],
        "hyper_parameters": {"lr": 1e-3, "channels": [3, 2], "name": "cnn"},
        "loops": None,
    },
)
dtypes = {}
for dt in [
    torch.float16,
    torch.bfloat16,
    torch.float64,
    torch.int8,
    torch.uint8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.complex64,
    torch.complex128,
]:
    dtypes[str(dt)] = (torch.randn(3) * 10).to(dt)
dtypes["bool"] = torch.tensor([True, False])
for name in ["float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"]:
    if hasattr(torch, name):
        dtypes[name] = torch.zeros(3).to(getattr(torch, name))
save("tensors_all_dtypes.pt", dtypes)
save(
    "parameters.pt",
    {"p": nn.Parameter(torch.randn(2, 2)), "q": nn.Parameter(torch.randn(2), requires_grad=False)},
)
base = torch.arange(24.0).reshape(4, 6)
save(
    "views_and_strides.pt",
    {
        "base": base,
        "view": base[1:, ::2],
        "t": base.t(),
        "channels_last": torch.randn(1, 2, 2, 2).to(memory_format=torch.channels_last),
    },
)
shared = torch.arange(10.0)
save("shared_storage.pt", {"x": shared, "y": shared[2:], "z": shared.view(2, 5)})
save("nested_containers.pt", [{"a": [torch.ones(1)], "b": (torch.zeros(2), {"c": torch.eye(2)})}])
save("sparse_coo.pt", torch.randn(3, 3).to_sparse())
save("sparse_csr.pt", torch.randn(3, 3).to_sparse_csr())
save("quantized_per_tensor.pt", torch.quantize_per_tensor(torch.randn(4), 0.1, 10, torch.quint8))
save(
    "quantized_per_channel.pt",
    torch.quantize_per_channel(
        torch.randn(2, 3), torch.tensor([0.1, 0.2]), torch.tensor([0, 1]), 0, torch.qint8
    ),
)
qmod = torch.ao.quantization.quantize_dynamic(nn.Sequential(nn.Linear(2, 2)), {nn.Linear})
save("dynamic_quantized_state_dict.pt", qmod.state_dict())
normed = nn.utils.parametrizations.weight_norm(nn.Linear(2, 2))
save("weight_norm_state_dict.pt", normed.state_dict())
save(
    "python_objects.pt",
    {
        "size": torch.Size([2, 3]),
        "device": torch.device("cpu"),
        "dtype": torch.float32,
        "numpy": np.arange(3, dtype=np.float32),
        "numpy_scalar": np.int64(7),
        "ordered": collections.OrderedDict(a=1),
        "set": {1, 2},
        "tuple": (1, 2.5, "x", None, b"by"),
        "slice": slice(1, 5, 2),
        "complex": 1 + 2j,
        "range": range(3),
    },
)
MyNet.__module__ = "__main__"
save("custom_module.pt", MyNet())
torch.jit.save(torch.jit.script(nn.Sequential(nn.Linear(2, 2), nn.ReLU())), "torchscript.pt")
written.append("torchscript.pt")

results = {}
for name in sorted(written):
    try:
        torch.load(os.path.join(HERE, name), weights_only=True)
        results[name] = "loads"
    except Exception as e:  # torch raises several kinds
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", x).strip() for x in str(e).splitlines()]
        why = [x for x in lines if "Unsupported" in x] or lines[:1]
        results[name] = "refused: " + why[0][:160]
with open(os.path.join(HERE, "torch_results.json"), "w") as fh:
    json.dump({"torch": torch.__version__, "weights_only": results}, fh, indent=1, sort_keys=True)
    fh.write("\n")
for k, v in results.items():
    print(f"{k:36s} {v}")
