"""mlsentry.scan on the formats beyond pickle that a model hub serves: GGUF, ONNX,
TensorFlow SavedModel and Keras (``.keras`` and legacy HDF5). Each is recognised by its
content, so every file here is written under a name that says nothing of its format.

Realistic files come from the libraries that write them (``gguf``, ``onnx``, ``h5py``,
skipped when missing); nothing here loads or runs any of them."""

from __future__ import annotations

import numpy as np
import pytest

import mlsentry as ms


def _scan(path):
    return ms.scan.scan(path, digests=False)


def _rules(report, severity=None):
    return {f.rule for f in report.findings if severity is None or f.severity == severity}


# ------------------------------------------------------------------------------ GGUF

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SSTI = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def _gguf(path, template, tensor=None):
    gguf = pytest.importorskip("gguf")
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(4096)
    w.add_token_list(["<s>", "</s>", "hello"])
    if isinstance(template, str):
        w.add_chat_template(template)
    elif template:
        w.add_chat_template([{"name": n, "template": t} for n, t in template.items()])
    w.add_tensor("w", np.arange(64, dtype=np.float32) if tensor is None else tensor)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gguf_with_a_normal_chat_template_is_safe(tmp_path):
    r = _scan(_gguf(tmp_path / "model.bin", CHATML))
    assert r.safe, r.findings
    assert r.files[0].format == "gguf"
    assert _rules(r) == {"gguf.checked"}


def test_gguf_chat_templates_that_reach_python_are_dangerous(tmp_path):
    r = _scan(_gguf(tmp_path / "a", SSTI))
    assert not r.safe
    [f] = [f for f in r.findings if f.severity == "dangerous"]
    assert f.rule == "gguf.chat-template"
    assert "__globals__" in f.message
    # A named template (tokenizer.chat_template.<name>) beside a benign default.
    r = _scan(_gguf(tmp_path / "b", {"default": CHATML, "tool_use": SSTI}))
    [f] = [f for f in r.findings if f.severity == "dangerous"]
    assert "tokenizer.chat_template.tool_use" in f.message


def test_truncated_gguf_is_unknown_and_big_files_are_not_read_whole(tmp_path):
    p = _gguf(tmp_path / "m", CHATML, tensor=np.zeros(1 << 20, dtype=np.float32))
    data = p.read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[: len(data) - 100])
    r = _scan(cut)
    assert not r.safe and _rules(r, "unknown") == {"gguf.malformed"}
    head = tmp_path / "head"
    head.write_bytes(data[:200])
    assert _rules(_scan(head), "unknown") == {"gguf.malformed"}
