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


def _gguf(path, template, tensor=None, big_endian=False):
    gguf = pytest.importorskip("gguf")
    endian = gguf.GGUFEndian.BIG if big_endian else gguf.GGUFEndian.LITTLE
    w = gguf.GGUFWriter(str(path), "llama", endianess=endian)
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


def test_gguf_big_endian(tmp_path):
    r = _scan(_gguf(tmp_path / "be", SSTI, big_endian=True))
    assert r.files[0].format == "gguf"
    assert {f.rule for f in r.findings if f.severity == "dangerous"} == {"gguf.chat-template"}
    assert _scan(_gguf(tmp_path / "be_ok", CHATML, big_endian=True)).safe


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


def test_a_64_gib_gguf_is_scanned_from_its_header(tmp_path):
    gguf = pytest.importorskip("gguf")
    import os
    import time

    path = tmp_path / "big"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_chat_template(CHATML)
    n = 64 * (1 << 30) // 4
    w.add_tensor_info("w", (n,), np.dtype(np.float32), n * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    header = path.stat().st_size
    os.truncate(path, 4096 + n * 4)  # sparse: the tensor data is a hole
    start = time.perf_counter()
    r = _scan(path)
    took = time.perf_counter() - start
    assert r.safe and _rules(r) == {"gguf.checked"}
    assert took < 2.0, f"{took:.2f} s: the tensor data was read"  # reading 64 GiB takes far longer
    # The same header with the file cut before its tensor's end: unknown.
    os.truncate(path, header + 4096)
    assert "gguf.malformed" in _rules(_scan(path), "unknown")


def test_tokenizer_config_chat_templates_are_checked_too(tmp_path):
    import json

    good = {"chat_template": CHATML, "eos_token": "<|im_end|>"}
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "tokenizer_config.json").write_text(json.dumps(good))
    r = _scan(tmp_path / "ok")
    assert r.safe and _rules(r) == {"tokenizer.checked"}
    evil = {
        "chat_template": [{"name": "default", "template": CHATML}, {"name": "x", "template": SSTI}]
    }
    (tmp_path / "t.json").write_text(json.dumps(evil))
    [f] = [f for f in _scan(tmp_path / "t.json").findings if f.severity == "dangerous"]
    assert f.rule == "tokenizer.chat-template" and '"x"' in f.message


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


# ------------------------------------------------------------------------------ ONNX


def _onnx_model(external=None, domain=None):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, 2), dtype=np.float32), "w")
    if external is not None:
        from onnx.external_data_helper import set_external_data

        set_external_data(w, location=external)
        w.ClearField("raw_data")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"])]
    opsets = [helper.make_opsetid("", 17)]
    if domain is None:
        nodes.append(helper.make_node("Relu", ["h"], ["y"]))
    else:
        nodes.append(helper.make_node("Fancy", ["h"], ["y"], domain=domain))
        opsets.append(helper.make_opsetid(domain, 1))
    # The body of an If holds the tensor too, to show that subgraphs are read.
    then = helper.make_graph(
        [helper.make_node("Identity", ["w2"], ["t"])],
        "then",
        [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 2])],
        [w],
    )
    cond = helper.make_node("If", ["c"], ["z"], then_branch=then, else_branch=then)
    g = helper.make_graph(
        [*nodes, cond],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
    )
    return helper.make_model(g, opset_imports=opsets, producer_name="mlsentry-test")


def test_onnx_benign_model_and_folder_with_external_data_are_safe(tmp_path):
    onnx = pytest.importorskip("onnx")
    (tmp_path / "a").write_bytes(_onnx_model().SerializeToString())
    r = _scan(tmp_path / "a")
    assert r.safe, r.findings
    assert r.files[0].format == "onnx"
    assert _rules(r) == {"onnx.checked"}
    # onnx's own external-data writer: a model file and weights beside it.
    folder = tmp_path / "ext"
    folder.mkdir()
    m = _onnx_model()
    m.graph.initializer.append(onnx.numpy_helper.from_array(np.ones(4096, np.float32), "big"))
    onnx.save(m, str(folder / "model"), save_as_external_data=True, location="weights.bin")
    r = _scan(folder)
    assert r.safe, r.findings
    assert "1 with external data" in next(f for f in r.findings if f.rule == "onnx.checked").message


@pytest.mark.parametrize(
    "location", ["/etc/passwd", "../../secrets", "sub/../../x", "C:\\Windows\\win.ini"]
)
def test_onnx_external_data_outside_the_folder_is_dangerous(tmp_path, location):
    (tmp_path / "m").write_bytes(_onnx_model(external=location).SerializeToString())
    r = _scan(tmp_path / "m")
    assert not r.safe
    dangerous = [f for f in r.findings if f.severity == "dangerous"]
    assert dangerous and all(f.rule == "onnx.external-data" for f in dangerous)
    assert location.replace("\\", "\\\\") in dangerous[0].message  # shown escaped


def test_onnx_custom_domain_is_unknown_and_truncation_is_unknown(tmp_path):
    (tmp_path / "m").write_bytes(_onnx_model(domain="evil.ops").SerializeToString())
    r = _scan(tmp_path / "m")
    [f] = [f for f in r.findings if f.severity != "info"]
    assert (f.rule, f.severity, f.global_name) == ("onnx.custom-domain", "unknown", "evil.ops")
    assert "Fancy" in f.message
    data = _onnx_model().SerializeToString()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    r = _scan(tmp_path / "cut")
    assert not r.safe and "onnx.malformed" in _rules(r, "unknown")


# ------------------------------------------------------------------------------ TensorFlow
# SavedModel protobufs written by a tiny encoder (TensorFlow is too heavy to install for
# this): field numbers from tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
# framework/graph.proto, node_def.proto and function.proto.


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _field(number: int, value) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    if isinstance(value, str):
        value = value.encode()
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _node(name, op, **attrs):
    parts = [_field(1, name), _field(2, op), _field(3, "x:0")]
    for k, v in attrs.items():
        parts.append(_field(5, _field(1, k) + _field(2, _field(2, v))))
    return b"".join(parts)


def _function(name, *nodes):
    return _field(1, _field(1, name)) + b"".join(_field(3, n) for n in nodes)


def _saved_model(nodes, functions=()):
    graph = b"".join(_field(1, n) for n in nodes)
    graph += _field(2, b"".join(_field(1, f) for f in functions))
    graph += _field(4, _field(1, 1087))
    meta = _field(1, _field(4, "serve")) + _field(2, graph)
    meta += _field(3, _field(1, "save/Const:0") + _field(2, "save/Identity:0"))
    return _field(1, 1) + _field(2, meta)


def _saved_model_folder(root, data):
    (root / "variables").mkdir(parents=True)
    (root / "saved_model.pb").write_bytes(data)
    (root / "variables" / "variables.data-00000-of-00001").write_bytes(b"\x00" * 64)
    return root


def test_saved_model_benign_folder_is_safe(tmp_path):
    data = _saved_model(
        [_node("x", "Placeholder"), _node("save/SaveV2", "SaveV2"), _node("p", "PrintV2")],
        [
            _function("__inference_serve_1", _node("m", "MatMul")),
            _function("__inference__traced_restore_9", _node("r", "RestoreV2")),
        ],
    )
    r = _scan(_saved_model_folder(tmp_path / "sm", data))
    assert r.safe, r.findings
    assert {f.format for f in r.files} >= {"tf-savedmodel"}
    # The same bytes under any name: recognised by content.
    (tmp_path / "blob").write_bytes(data)
    assert _scan(tmp_path / "blob").files[0].format == "tf-savedmodel"


def test_tf_keras_metadata_lambda_is_dangerous(tmp_path):
    import json

    lam = {
        "class_name": "Lambda",
        "name": "lam",
        "config": {"name": "lam", "function": ["4wEAAA==", None, None], "function_type": "lambda"},
    }
    dense = {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2}}

    def node(node_id, path, meta):
        parts = [_field(3, path), _field(4, "_tf_keras_layer"), _field(5, json.dumps(meta))]
        return _field(1, (_field(2, node_id) if node_id else b"") + b"".join(parts))

    root = _saved_model_folder(tmp_path / "sm", _saved_model([_node("x", "Placeholder")]))
    (root / "keras_metadata.pb").write_bytes(node(0, "root", dense) + node(1, "root.lam", lam))
    r = _scan(root)
    assert "keras-metadata" in {f.format for f in r.files}
    [f] = [f for f in r.findings if f.severity != "info"]
    assert (f.rule, f.severity) == ("keras.lambda", "dangerous")
    assert f.file.endswith("keras_metadata.pb")
    (root / "keras_metadata.pb").write_bytes(node(0, "root", dense))
    assert _scan(root).safe


def test_saved_model_python_ops_are_dangerous_and_file_ops_unknown(tmp_path):
    data = _saved_model(
        [_node("x", "Placeholder"), _node("w", "WriteFile")],
        [_function("__inference_f_2", _node("py", "EagerPyFunc", token="pyfunc_3"))],
    )
    r = _scan(_saved_model_folder(tmp_path / "sm", data))
    assert not r.safe
    got = {(f.global_name, f.severity) for f in r.findings if f.severity != "info"}
    assert got == {("tf.raw_ops.EagerPyFunc", "dangerous"), ("tf.raw_ops.WriteFile", "unknown")}
    (tmp_path / "cut").write_bytes(data[:-5])
    assert "tf.malformed" in _rules(_scan(tmp_path / "cut"), "unknown")


# ------------------------------------------------------------------------------ Keras

# PROTO 4, GLOBAL "os system", MARK, SHORT_BINUNICODE "true", TUPLE, REDUCE, STOP: never run.
EVIL_PICKLE = b"\x80\x04cos\nsystem\n(\x8c\x04truetR."


def _keras(tmp_path, name, layers, raw=None):
    import io
    import json
    import zipfile

    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "s", "layers": layers},
        "registered_name": None,
    }
    text = raw if raw is not None else json.dumps(config)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", text)
        z.writestr("model.weights.h5", b"")
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


def _layer(cls, **config):
    return {"module": "keras.layers", "class_name": cls, "config": {"name": cls.lower(), **config}}


def _fn(module, name):
    return {"module": module, "class_name": "function", "config": name, "registered_name": name}


def test_keras_benign_archive_with_nan_is_read_and_safe(tmp_path):
    layers = [_layer("Dense", units=2, activation="relu"), _layer("Dropout", rate=float("nan"))]
    import json

    text = json.dumps(
        {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": layers}}
    )
    assert "NaN" in text
    r = _scan(_keras(tmp_path, "m", [], raw=text))
    assert r.safe, r.findings
    assert r.files[0].format == "keras"


@pytest.mark.parametrize(
    ("layer", "rule", "severity"),
    [
        (
            _layer("Activation", activation=_fn("keras.utils", "get_file")),
            "keras.risky-function",
            "dangerous",
        ),
        (
            {
                "module": "keras.config",
                "class_name": "function",
                "config": "enable_unsafe_deserialization",
            },
            "keras.risky-function",
            "dangerous",
        ),
        (
            _layer("Activation", activation=_fn("keras.saving", "load_model")),
            "keras.risky-function",
            "unknown",
        ),
        (_layer("TFSMLayer", filepath="/srv/other_model"), "keras.file-layer", "unknown"),
        (_layer("StringLookup", vocabulary="/etc/passwd"), "keras.file-layer", "unknown"),
        (
            _layer(
                "TimeDistributed",
                layer=_layer("Dense", activation={"class_name": "__lambda__", "config": {}}),
            ),
            "keras.lambda",
            "dangerous",
        ),
    ],
)
def test_keras_layers_and_functions_that_reach_out(tmp_path, layer, rule, severity):
    r = _scan(_keras(tmp_path, "m", [_layer("Dense", units=2), layer]))
    assert not r.safe
    assert {(f.rule, f.severity) for f in r.findings if f.severity != "info"} == {(rule, severity)}


def test_keras_torch_module_wrapper_pickle_is_scanned(tmp_path):
    import base64

    layer = {
        "module": "keras.layers",
        "class_name": "TorchModuleWrapper",
        "config": {"name": "tm", "module": base64.b64encode(EVIL_PICKLE).decode()},
    }
    r = _scan(_keras(tmp_path, "m", [layer]))
    worst = [f for f in r.findings if f.severity == "dangerous"]
    assert worst and worst[0].global_name == "os.system"
    assert "TorchModuleWrapper tm: module" in worst[0].member


# ------------------------------------------------------------------------------ legacy .h5

LAMBDA_CONFIG = {
    # Keys in the order Keras 2 does not write them, spaced as json.dumps(indent=1) does.
    "config": {
        "name": "outer",
        "layers": [
            {
                "config": {
                    "name": "inner",
                    "layers": [
                        {
                            "config": {
                                "name": "lam",
                                "function": ["4wEAAAAAAAAA", None, None],
                                "function_type": "lambda",
                            },
                            "class_name": "Lambda",
                        }
                    ],
                },
                "class_name": "Sequential",
            }
        ],
    },
    "class_name": "Functional",
}
BENIGN_CONFIG = {
    "class_name": "Sequential",
    "config": {
        "name": "s",
        "layers": [{"class_name": "Dense", "config": {"name": "d", "units": 2}}],
    },
}


@pytest.mark.parametrize("libver", ["earliest", "latest"])
@pytest.mark.parametrize("as_bytes", [True, False])
def test_h5_model_config_attribute_is_read(tmp_path, libver, as_bytes):
    h5py = pytest.importorskip("h5py")
    import json

    def write(path, config):
        text = json.dumps(config, indent=1)
        with h5py.File(path, "w", libver=libver) as f:
            f.attrs["keras_version"] = "2.15.0"
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = text.encode() if as_bytes else text
            g = f.create_group("model_weights")
            g.create_dataset("w", data=np.ones((4, 4), np.float32))
        return path

    r = _scan(write(tmp_path / "evil", LAMBDA_CONFIG))
    assert r.files[0].format == "hdf5"
    assert {(f.rule, f.severity) for f in r.findings} == {("keras.lambda", "dangerous")}
    r = _scan(write(tmp_path / "ok", BENIGN_CONFIG))
    assert r.safe, r.findings


def test_h5_data_files_stay_safe_and_dense_attributes_are_not_a_pass(tmp_path):
    h5py = pytest.importorskip("h5py")
    import json

    with h5py.File(tmp_path / "data", "w") as f:
        f.create_dataset("x", data=np.arange(10))
        f.attrs["note"] = "plain arrays"
    r = _scan(tmp_path / "data")
    assert r.safe and _rules(r) == {"hdf5.data"}
    # Past 8 attributes the newest format keeps them in a fractal heap, not read here.
    with h5py.File(tmp_path / "dense", "w", libver="latest") as f:
        for i in range(20):
            f.attrs[f"a{i}"] = i
        f.attrs["model_config"] = json.dumps(BENIGN_CONFIG)
    r = _scan(tmp_path / "dense")
    assert not r.safe
    assert "hdf5.unreadable" in _rules(r, "unknown")
