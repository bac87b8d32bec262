"""Kubeflow Pipelines components (mlsentry.kfp) and the example pipeline.

Pipelines run for real with ``kfp.local`` and ``SubprocessRunner(use_venv=False)``: each
task is a subprocess of this Python running kfp's executor on the component's shipped
source. Components are built with nothing to pip-install (this environment has mlsentry,
pandas, pyarrow, scikit-learn and joblib), so the tests stay offline. The edge cases call
a component's function in this process (``component.python_func``) with local artifacts.
"""

# No ``from __future__ import annotations``: kfp reads the pipelines' annotations as types.
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from kfp import compiler, dsl, local
from sklearn.linear_model import LogisticRegression

import mlsentry as ms
from mlsentry import kfp as mkfp
from mlsentry.errors import (
    InvalidInputError,
    InvalidTypeError,
    MlsentryError,
    PathNotFoundError,
    SignatureError,
)
from mlsentry.kfp import steps as mkfp_steps

ROOT = Path(__file__).resolve().parents[2]  # the checkout (examples/)
# Components that run in this environment: nothing to install, so no network.
HERE = mkfp.make_components(packages_to_install=[], model_packages=[], install_kfp_package=False)
FEATURES = ["age", "income", "tenure"]


def _load_example():
    spec = importlib.util.spec_from_file_location(
        "kfp_pipeline", ROOT / "examples" / "kfp_pipeline.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE = _load_example()


@pytest.fixture
def pipeline_root(tmp_path):
    root = tmp_path / "pipeline-root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    return root


def _task_dir(root: Path, task: str) -> Path:
    (found,) = root.glob(f"*/{task}")
    return found


def _outputs(tmp_path: Path) -> dict:
    """Output artifacts for an in-process call: metrics, html, report."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return {
        "metrics": dsl.Metrics(uri=str(out / "metrics")),
        "html": dsl.HTML(uri=str(out / "report.html")),
        "report": dsl.Artifact(uri=str(out / "report.json")),
    }


def _frame(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES))) + shift
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["plan"] = rng.choice(["basic", "pro"], n)
    frame["label"] = (x @ np.array([2.0, -1.5, 1.0]) > 0).astype(int)
    return frame


def _model_folder(path: Path, model=None) -> Path:
    path.mkdir(parents=True)
    if model is None:
        train = _frame(400, seed=1)
        model = LogisticRegression().fit(train[FEATURES], train["label"])
    joblib.dump(model, path / "model.joblib")
    return path


# -- the pipelines the tests run -------------------------------------------------------
@dsl.pipeline
def drift_pipeline(reference_uri: str, current_uri: str) -> dsl.Metrics:
    reference = dsl.importer(artifact_uri=reference_uri, artifact_class=dsl.Dataset)
    current = dsl.importer(artifact_uri=current_uri, artifact_class=dsl.Dataset)
    gate = HERE.drift_gate(reference=reference.output, current=current.output)
    return gate.outputs["metrics"]


@dsl.pipeline
def verify_pipeline(model_uri: str, manifest_uri: str, public_key: str) -> dsl.Metrics:
    model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
    manifest = dsl.importer(artifact_uri=manifest_uri, artifact_class=dsl.Artifact)
    gate = HERE.verify_integrity(
        model=model.output, manifest=manifest.output, public_key=public_key
    )
    return gate.outputs["metrics"]


@dsl.pipeline
def scan_pipeline(model_uri: str) -> dsl.Metrics:
    model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
    return HERE.scan_model(model=model.output).outputs["metrics"]


# -- drift -----------------------------------------------------------------------------
def test_drift_gate_pipeline_passes_on_clean_data_and_fails_on_drift(
    pipeline_root, tmp_path, capsys
):
    _frame(500).drop(columns="label").to_csv(tmp_path / "reference.csv", index=False)
    _frame(500, seed=2).drop(columns="label").to_parquet(tmp_path / "same.parquet")
    shifted = _frame(500, seed=3).drop(columns="label")
    shifted["income"] += 1.0
    shifted.to_csv(tmp_path / "shifted.csv", index=False)

    run = drift_pipeline(
        reference_uri=str(tmp_path / "reference.csv"),
        current_uri=str(tmp_path / "same.parquet"),  # Parquet found by its magic bytes
    )
    metrics = run.outputs["Output"].metadata
    assert metrics["mlsentry.drift.passed"] == 1.0
    assert metrics["mlsentry.drift.n_tested"] == 4.0
    assert metrics["mlsentry.drift.n_drifted"] == 0.0
    capsys.readouterr()

    with pytest.raises(RuntimeError, match="mlsentry-drift-gate"):
        drift_pipeline(
            reference_uri=str(tmp_path / "reference.csv"),
            current_uri=str(tmp_path / "shifted.csv"),
        )
    log = capsys.readouterr().out
    assert "GateFailedError: Drift comparison: FAILED: DRIFT in 1 of 4 columns" in log
    assert "income: drift" in log
    # The outputs were written before the step raised (kept by kfp.local).
    failed = sorted(pipeline_root.glob("*/mlsentry-drift-gate"))[-1]
    report = json.loads((failed / "report").read_text())
    assert report["schema"] == "mlsentry/drift-report/v1"
    assert report["drifted_columns"] == ["income"]
    assert "FAILED" in (failed / "html").read_text()


def test_drift_gate_without_fail_returns_the_verdict(tmp_path):
    _frame(300).to_csv(tmp_path / "ref.csv", index=False)
    cur = _frame(300, seed=5)
    cur["age"] += 2.0
    cur.to_csv(tmp_path / "cur.csv", index=False)
    outs = _outputs(tmp_path)
    (passed,) = HERE.drift_gate.python_func(
        reference=dsl.Dataset(uri=str(tmp_path / "ref.csv")),
        current=dsl.Dataset(uri=str(tmp_path / "cur.csv")),
        fail=False,
        **outs,
    )
    assert passed is False
    assert outs["metrics"].metadata["mlsentry.drift.passed"] == 0.0
    assert outs["metrics"].metadata["mlsentry.drift.share_drifted"] == pytest.approx(1 / 5)
    assert json.loads(Path(outs["report"].path).read_text())["drifted_columns"] == ["age"]

    # columns= limits the comparison: without "age" nothing drifted.
    (passed,) = HERE.drift_gate.python_func(
        reference=dsl.Dataset(uri=str(tmp_path / "ref.csv")),
        current=dsl.Dataset(uri=str(tmp_path / "cur.csv")),
        columns=["income", "plan"],
        **_outputs(tmp_path),
    )
    assert passed is True


def test_drift_gate_metrics_keep_the_most_severe_columns(tmp_path):
    rng = np.random.default_rng(8)
    ref = pd.DataFrame(rng.normal(size=(300, 14)), columns=[f"x{i}" for i in range(14)])
    cur = pd.DataFrame(rng.normal(size=(300, 14)), columns=ref.columns)
    cur["x13"] += 1.5
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    outs = _outputs(tmp_path)
    HERE.drift_gate.python_func(
        reference=dsl.Dataset(uri=str(tmp_path / "ref.csv")),
        current=dsl.Dataset(uri=str(tmp_path / "cur.csv")),
        fail=False,
        **outs,
    )
    metrics = outs["metrics"].metadata
    columns = [
        k for k in metrics if k.startswith("mlsentry.drift.column.") and k.endswith(".drift")
    ]
    assert len(columns) == mkfp_steps.COLUMN_METRICS < 14
    assert metrics["mlsentry.drift.column.x13.drift"] == 1.0  # the drifted one is kept
    assert metrics["mlsentry.drift.n_tested"] == 14.0
    assert len(json.loads(Path(outs["report"].path).read_text())["columns"]) == 14


def test_drift_gate_fails_on_a_schema_change_without_drift(tmp_path):
    ref = _frame(300)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ref.drop(columns="plan").to_csv(tmp_path / "cur.csv", index=False)
    with pytest.raises(mkfp.GateFailedError, match="1 only in reference") as info:
        HERE.drift_gate.python_func(
            reference=dsl.Dataset(uri=str(tmp_path / "ref.csv")),
            current=dsl.Dataset(uri=str(tmp_path / "cur.csv")),
            **_outputs(tmp_path),
        )
    assert info.value.report.only_in_reference == ["plan"]
    assert isinstance(info.value, MlsentryError)


@pytest.mark.parametrize(
    ("content", "data_format", "error", "match"),
    [
        (b"", "auto", InvalidInputError, "empty"),
        (b"a,b\n1,2\n", "parquet", InvalidInputError, "cannot read .* as parquet"),
        (b"a,b\n1,2\n", "excel", InvalidInputError, "data_format: expected auto, csv or parquet"),
        (None, "auto", PathNotFoundError, "reference: no such file"),
    ],
)
def test_drift_gate_bad_data(tmp_path, content, data_format, error, match):
    path = tmp_path / "data"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=match):
        HERE.drift_gate.python_func(
            reference=dsl.Dataset(uri=str(path)),
            current=dsl.Dataset(uri=str(path)),
            data_format=data_format,
            **_outputs(tmp_path),
        )


# -- integrity -------------------------------------------------------------------------
def test_verify_pipeline_checks_the_signature_and_every_file(pipeline_root, tmp_path, capsys):
    model = _model_folder(tmp_path / "model")
    key = ms.integrity.SigningKey.generate()
    envelope = tmp_path / "model.sig.json"
    ms.integrity.sign(ms.integrity.manifest(model), key).save(envelope)
    args = dict(
        model_uri=str(model), manifest_uri=str(envelope), public_key=key.public_key.to_pem()
    )

    metrics = verify_pipeline(**args).outputs["Output"].metadata
    assert metrics["mlsentry.verify.passed"] == 1.0
    assert metrics["mlsentry.verify.files_checked"] == 1.0
    capsys.readouterr()

    (model / "model.joblib").write_bytes(b"swapped")
    with pytest.raises(RuntimeError, match="mlsentry-verify-integrity"):
        verify_pipeline(**args)
    log = capsys.readouterr().out
    assert "GateFailedError: Integrity verification: FAILED (1 modified, 0 added, 0 removed)" in log
    assert "modified model.joblib" in log


def _verify(tmp_path, model, manifest, public_key=""):
    outs = _outputs(tmp_path)
    result = HERE.verify_integrity.python_func(
        model=dsl.Artifact(uri=str(model)),
        manifest=dsl.Artifact(uri=str(manifest)),
        public_key=public_key,
        fail=False,
        **outs,
    )
    return result[0], outs


def test_verify_unsigned_manifest_and_model_signing_bundle(tmp_path):
    model = _model_folder(tmp_path / "model")
    ms.integrity.manifest(model).save(tmp_path / "manifest.json")
    passed, outs = _verify(tmp_path, model, tmp_path / "manifest.json")
    assert passed is True
    assert "PASSED" in Path(outs["html"].path).read_text()

    key = ms.integrity.SigningKey.generate("ecdsa-p256")
    bundle = ms.integrity.sign_model(model, key, tmp_path / "model.sig")
    assert _verify(tmp_path, model, bundle, key.public_key.to_pem())[0] is True
    (model / "extra.txt").write_text("added later")
    passed, outs = _verify(tmp_path, model, bundle, key.public_key.to_pem())
    assert passed is False
    assert outs["metrics"].metadata["mlsentry.verify.n_added"] == 1.0
    assert json.loads(Path(outs["report"].path).read_text())["added"] == ["extra.txt"]


def test_verify_refuses_what_it_cannot_trust(tmp_path):
    model = _model_folder(tmp_path / "model")
    key, other = ms.integrity.SigningKey.generate(), ms.integrity.SigningKey.generate()
    envelope = tmp_path / "env.json"
    ms.integrity.sign(ms.integrity.manifest(model), key).save(envelope)
    ms.integrity.manifest(model).save(tmp_path / "manifest.json")
    (tmp_path / "notjson").write_text("model.joblib sha256:abc")

    with pytest.raises(InvalidInputError, match="public_key: the manifest is a signed envelope"):
        _verify(tmp_path, model, envelope)
    with pytest.raises(SignatureError):
        _verify(tmp_path, model, envelope, other.public_key.to_pem())
    with pytest.raises(SignatureError, match="the manifest is not signed"):
        _verify(tmp_path, model, tmp_path / "manifest.json", key.public_key.to_pem())
    with pytest.raises(InvalidInputError, match="is not JSON"):
        _verify(tmp_path, model, tmp_path / "notjson")
    with pytest.raises(PathNotFoundError, match="model: no such file"):
        _verify(tmp_path, tmp_path / "gone", envelope, key.public_key.to_pem())


# -- scan (needs the scanner's Rust binding) -------------------------------------------
def _evil_pickle(path: Path, marker: Path) -> Path:
    """A pickle that would call os.mkdir(marker) if anything loaded it (never run here)."""
    path.write_bytes(b"cos\nmkdir\n(V" + str(marker).encode() + b"\ntR.")
    return path


def test_scan_pipeline_passes_a_model_and_fails_on_a_dangerous_pickle(
    pipeline_root, tmp_path, capsys
):
    model = _model_folder(tmp_path / "model")
    metrics = scan_pipeline(model_uri=str(model)).outputs["Output"].metadata
    assert metrics["mlsentry.scan.safe"] == 1.0
    assert metrics["mlsentry.scan.files_scanned"] == 1.0
    capsys.readouterr()

    _evil_pickle(model / "extra.pkl", tmp_path / "pwned")
    with pytest.raises(RuntimeError, match="mlsentry-scan-model"):
        scan_pipeline(model_uri=str(model))
    assert "GateFailedError: Model-file scan: NOT SAFE" in capsys.readouterr().out
    report = json.loads(
        (sorted(pipeline_root.glob("*/mlsentry-scan-model"))[-1] / "report").read_text()
    )
    assert [f["global_name"] for f in report["findings"] if f["severity"] == "dangerous"] == [
        "os.mkdir"
    ]
    assert not (tmp_path / "pwned").exists()


def test_scan_gate_passes_the_policy_on(tmp_path):
    path = tmp_path / "net.pkl"
    path.write_bytes(b"cmypkg.models\nNet\n)R.")  # a class of the user's own package
    call = dict(model=dsl.Artifact(uri=str(path)), fail=False)
    (passed,) = HERE.scan_model.python_func(**call, **_outputs(tmp_path))
    assert passed is False
    policy = {"allow": {"globals": ["mypkg.models.*"]}}
    outs = _outputs(tmp_path)
    (passed,) = HERE.scan_model.python_func(**call, policy=policy, **outs)
    assert passed is True
    assert json.loads(Path(outs["report"].path).read_text())["config"]["policy"] == policy


# -- robustness ------------------------------------------------------------------------
def _robustness(tmp_path, model, data, **kwargs):
    outs = _outputs(tmp_path)
    kwargs = {"eps": [0.05, 0.5], "attacks": ["noise", "square"], "max_queries": 100, **kwargs}
    result = HERE.robustness_gate.python_func(
        model=dsl.Model(uri=str(model)), data=dsl.Dataset(uri=str(data)), **kwargs, **outs
    )
    return result[0], outs


def test_robustness_gate_measures_and_fails_under_the_threshold(tmp_path):
    model = _model_folder(tmp_path / "model")
    data = _frame(80, seed=4)[["plan", "tenure", "label", "income", "age"]]  # other order
    data.to_parquet(tmp_path / "test.parquet")  # extra column "plan": not a feature

    passed, outs = _robustness(tmp_path, model, tmp_path / "test.parquet", threshold=0.0)
    assert passed is True
    metrics = outs["metrics"].metadata
    assert {
        "mlsentry.robustness.passed",
        "mlsentry.robustness.clean_accuracy",
        "mlsentry.robustness.robust_accuracy.eps_0.05",
        "mlsentry.robustness.robust_accuracy.eps_0.5",
    } <= set(metrics)
    assert metrics["mlsentry.robustness.clean_accuracy"] > 0.9
    assert (
        metrics["mlsentry.robustness.robust_accuracy.eps_0.5"]
        < metrics["mlsentry.robustness.robust_accuracy.eps_0.05"]
    )
    report = json.loads(Path(outs["report"].path).read_text())
    assert report["config"]["constraints"]["scale"] != [1.0, 1.0, 1.0]  # default scale="std"

    with pytest.raises(mkfp.GateFailedError, match=r"threshold 0\.99 .* NOT met"):
        _robustness(tmp_path, model, tmp_path / "test.parquet", threshold=0.99)


def test_robustness_gate_maps_string_labels_without_feature_names(tmp_path):
    train = _frame(300, seed=6)
    labels = np.where(train["label"] == 1, "churn", "stay")
    model = LogisticRegression().fit(train[FEATURES].to_numpy(), labels)  # no feature names
    folder = _model_folder(tmp_path / "model", model)
    test = _frame(60, seed=7)[[*FEATURES, "label"]]
    test["label"] = np.where(test["label"] == 1, "churn", "stay")
    test.to_csv(tmp_path / "test.csv", index=False)
    passed, outs = _robustness(tmp_path, folder, tmp_path / "test.csv", threshold=0.0)
    assert passed is True
    assert outs["metrics"].metadata["mlsentry.robustness.clean_accuracy"] > 0.9


def test_robustness_gate_never_loads_a_model_the_scan_refuses(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    marker = tmp_path / "pwned"
    _evil_pickle(folder / "model.pkl", marker)
    _frame(20).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(mkfp.GateFailedError, match="Model-file scan: NOT SAFE") as info:
        _robustness(tmp_path, folder, tmp_path / "test.csv")
    assert not marker.exists()
    assert info.value.report.schema == "mlsentry/scan-report/v1"

    passed, outs = _robustness(tmp_path, folder, tmp_path / "test.csv", fail=False)
    assert passed is False and not marker.exists()
    assert outs["metrics"].metadata["mlsentry.scan.n_dangerous"] >= 1.0
    assert "os.mkdir" in Path(outs["html"].path).read_text()


def test_robustness_gate_checks_its_arguments_before_scanning(tmp_path):
    model = _model_folder(tmp_path / "model")
    _frame(20).to_csv(tmp_path / "test.csv", index=False)
    data = tmp_path / "test.csv"
    with pytest.raises(InvalidInputError, match="label_column: 'y' is not a column"):
        _robustness(tmp_path, model, data, label_column="y")
    with pytest.raises(InvalidInputError, match=r"model_file: '\.\./test\.csv' leaves"):
        _robustness(tmp_path, model, data, model_file="../test.csv")
    with pytest.raises(InvalidInputError, match=r"constraints: .*unexpected keyword"):
        _robustness(tmp_path, model, data, constraints={"bounds": [0, 1]})
    with pytest.raises(InvalidInputError, match=r"model_file: the model artifact .* single file"):
        _robustness(tmp_path, model / "model.joblib", data, model_file="model.joblib")
    joblib.dump(LogisticRegression(), model / "other.pkl")
    with pytest.raises(InvalidInputError, match=r"found 2 \(model\.joblib, other\.pkl\)"):
        _robustness(tmp_path, model, data)


def test_robustness_gate_feature_columns(tmp_path):
    model = _model_folder(tmp_path / "model")
    _frame(20)[["age", "label"]].to_csv(tmp_path / "narrow.csv", index=False)
    with pytest.raises(InvalidInputError, match=r"missing from data: \['income', 'tenure'\]"):
        _robustness(tmp_path, model, tmp_path / "narrow.csv")
    # A model without feature names takes every column but the label: they must be numbers.
    train = _frame(100)
    bare = _model_folder(
        tmp_path / "bare", LogisticRegression().fit(train[FEATURES].to_numpy(), train["label"])
    )
    _frame(20).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(InvalidInputError, match="feature columns must be numbers"):
        _robustness(tmp_path, bare, tmp_path / "test.csv")
    # Naming the file picks it; the folder is still scanned whole.
    joblib.dump(LogisticRegression(), model / "other.pkl")
    passed, _ = _robustness(
        tmp_path, model, tmp_path / "test.csv", model_file="model.joblib", threshold=0.0
    )
    assert passed is True


# -- building the components -----------------------------------------------------------
def test_default_components_install_pinned_mlsentry_in_a_python_image():
    for comp in (mkfp.scan_model, mkfp.verify_integrity, mkfp.drift_gate, mkfp.robustness_gate):
        container = comp.component_spec.implementation.container
        assert container.image == mkfp.DEFAULT_BASE_IMAGE
        command = " ".join(container.command)
        assert f"'{mkfp.MLSENTRY_PACKAGE}'" in command
        assert ("'scikit-learn' 'joblib'" in command) == (comp is mkfp.robustness_gate)
    assert f"mlsentry[pandas]=={ms.__version__}" == mkfp.MLSENTRY_PACKAGE
    # Built for this environment: no pip at all.
    assert "pip" not in " ".join(HERE.drift_gate.component_spec.implementation.container.command)


def _compiled_containers(components, path):
    """The executors' containers of a pipeline of the four components, compiled to YAML."""

    @dsl.pipeline(name="release-checks")
    def release_checks(model_uri: str, manifest_uri: str, data_uri: str):
        model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
        manifest = dsl.importer(artifact_uri=manifest_uri, artifact_class=dsl.Artifact)
        data = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset)
        components.scan_model(model=model.output)
        components.verify_integrity(model=model.output, manifest=manifest.output)
        components.drift_gate(reference=data.output, current=data.output)
        components.robustness_gate(model=model.output, data=data.output)

    compiler.Compiler().compile(release_checks, str(path))
    executors = yaml.safe_load(path.read_text())["deploymentSpec"]["executors"]
    containers = [e["container"] for e in executors.values() if "container" in e]
    assert len(containers) == 4  # the importers run no container
    return containers


IMAGE = f"registry.example/mlsentry-kfp:{ms.__version__}"  # built from the Dockerfile


@pytest.mark.parametrize("how", ["base_image", "environment"])
def test_components_for_an_image_with_mlsentry_install_nothing_at_run_time(
    tmp_path, monkeypatch, how
):
    if how == "environment":
        monkeypatch.setenv("MLSENTRY_KFP_IMAGE", IMAGE)
        components = mkfp.make_components()
    else:
        monkeypatch.delenv("MLSENTRY_KFP_IMAGE", raising=False)
        components = mkfp.make_components(base_image=IMAGE, packages_to_install=[])
    for container in _compiled_containers(components, tmp_path / "pipeline.yaml"):
        assert container["image"] == IMAGE
        command = " ".join(container["command"])
        assert "pip" not in command and "kfp==" not in command, command
        assert "kfp.dsl.executor_main" in command  # the image's kfp runs the step


def test_without_the_image_variable_the_default_pip_installs_this_version(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSENTRY_KFP_IMAGE", raising=False)
    containers = _compiled_containers(mkfp.make_components(), tmp_path / "pipeline.yaml")
    for container in containers:
        assert container["image"] == mkfp.DEFAULT_BASE_IMAGE
        assert f"'{mkfp.MLSENTRY_PACKAGE}'" in " ".join(container["command"])
    assert sum("'scikit-learn' 'joblib'" in " ".join(c["command"]) for c in containers) == 1
    # With the variable set, explicit arguments still win.
    monkeypatch.setenv("MLSENTRY_KFP_IMAGE", IMAGE)
    mine = mkfp.make_components(packages_to_install=["mlsentry[pandas] @ https://x/m.whl"])
    container = mine.drift_gate.component_spec.implementation.container
    assert container.image == IMAGE
    assert "'mlsentry[pandas] @ https://x/m.whl'" in " ".join(container.command)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"packages_to_install": "mlsentry"}, InvalidTypeError, "packages_to_install: expected a"),
        ({"model_packages": [1]}, InvalidTypeError, "model_packages: expected a list"),
        ({"base_image": ""}, InvalidInputError, "base_image: expected an image name"),
    ],
)
def test_make_components_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mkfp.make_components(**kwargs)


def test_import_mlsentry_does_not_import_kfp():
    code = "import sys, mlsentry, mlsentry.drift, mlsentry.kfp.steps; print('kfp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the example pipeline --------------------------------------------------------------
def test_example_pipeline_compiles_to_yaml_with_the_four_gates_in_order(tmp_path):
    path = tmp_path / "release_checks.yaml"
    compiler.Compiler().compile(EXAMPLE.release_checks, str(path))
    spec = yaml.safe_load(path.read_text())
    gates = [
        "mlsentry-scan-model",
        "mlsentry-verify-integrity",
        "mlsentry-drift-gate",
        "mlsentry-robustness-gate",
    ]
    assert {f"comp-{g}" for g in gates} <= set(spec["components"])
    tasks = spec["root"]["dag"]["tasks"]
    for before, after in zip(gates, gates[1:]):
        assert before in tasks[after]["dependentTasks"]
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {"model_uri", "manifest_uri", "reference_uri", "current_uri", "test_data_uri"} <= set(
        params
    )
    executors = spec["deploymentSpec"]["executors"]
    for g in gates:
        container = executors[f"exec-{g}"]["container"]
        assert container["image"] == mkfp.DEFAULT_BASE_IMAGE
        assert mkfp.MLSENTRY_PACKAGE in " ".join(container["command"])


def test_example_pipeline_runs_locally_and_stops_at_the_drift_gate(tmp_path, capsys):
    EXAMPLE.run_local(str(tmp_path / "clean"))
    root = tmp_path / "clean" / "pipeline-root"
    for gate in ("scan-model", "verify-integrity", "drift-gate", "robustness-gate"):
        task = _task_dir(root, f"mlsentry-{gate}")
        assert '<span class="badge passed">PASSED</span>' in (task / "html").read_text()
    capsys.readouterr()

    with pytest.raises(RuntimeError, match="mlsentry-drift-gate"):
        EXAMPLE.run_local(str(tmp_path / "drifted"), drift=True)
    root = tmp_path / "drifted" / "pipeline-root"
    assert not list(root.glob("*/mlsentry-robustness-gate/html"))
    assert "GateFailedError: Drift comparison: FAILED" in capsys.readouterr().out
    assert EXAMPLE.main(["compile", str(tmp_path / "out.yaml")]) == 0
    assert (tmp_path / "out.yaml").read_text().startswith("# PIPELINE DEFINITION")


def test_readme_kfp_section_runs(tmp_path, monkeypatch, readme_blocks):
    blocks = readme_blocks("Kubeflow Pipelines")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    spec = yaml.safe_load((tmp_path / "release_checks.yaml").read_text())
    assert {"comp-mlsentry-scan-model", "comp-mlsentry-drift-gate"} <= set(spec["components"])
