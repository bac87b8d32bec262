"""MLflow integration (``mlsentry.mlflow``) against a real MLflow.

Each test gets its own SQLite tracking store and artifact root in a temporary folder, and an
empty working directory that must stay empty (MLflow's defaults write ``./mlflow.db`` and
``./mlruns`` there). Everything logged is read back through ``MlflowClient`` or from the
artifact store on disk. MLflow is imported inside the tests only: pytest sets
``PYTEST_CURRENT_TEST`` there, which keeps MLflow's telemetry off (no network).
"""

from __future__ import annotations

import doctest
import hashlib
import importlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import (
    IntegrityError,
    InvalidInputError,
    InvalidTypeError,
    ScanError,
    SignatureError,
    UnsignedWarning,
)

pytestmark = [
    # mlflow 3.17 warns about its own type hints when mlflow.pyfunc is first imported
    # (mlflow/types/responses.py); nothing of ours is involved.
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]


def evaluate_warnings(test):
    """mlflow.models.evaluate on pandas 3 warns from MLflow's own code: deprecations in
    mlflow/data (DataFrame.drop(inplace=...), positional arguments of DataFrame.all), and
    a hint about integer columns in the schema it infers for the evaluation data."""
    for message, category in (
        ("The inplace keyword in DataFrame.drop", "DeprecationWarning"),
        ("Starting with pandas version 4.0 all arguments of all", "DeprecationWarning"),
        ("Hint. Inferred schema contains integer column", "UserWarning"),
    ):
        test = pytest.mark.filterwarnings(f"ignore:{message}:{category}")(test)
    return test


@pytest.fixture(autouse=True)
def matplotlib_cache(tmp_path_factory, monkeypatch):
    """mlflow.models.evaluate imports matplotlib, which caches fonts under the home folder
    unless MPLCONFIGDIR says otherwise."""
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))


@pytest.fixture
def msm():
    return importlib.import_module("mlsentry.mlflow")


def tracking_uri_now():
    import mlflow

    return mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    """A tracking database with MLflow's tables, made once: creating them (alembic
    migrations) takes seconds, copying the file does not."""
    import mlflow

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    previous = tracking_uri_now()
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    try:
        mlflow.MlflowClient().search_experiments()  # creates and migrates the database
    finally:
        mlflow.set_tracking_uri(previous)
    return path


@pytest.fixture
def store(tmp_path, monkeypatch, empty_db):
    """A fresh tracking store in ``tmp_path``; global MLflow state restored afterwards."""
    import mlflow

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    previous = tracking_uri_now()
    shutil.copyfile(empty_db, tmp_path / "mlflow.db")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment(
        "mlsentry-tests", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    yield SimpleNamespace(root=tmp_path, client=client, experiment=experiment, cwd=cwd)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.clear_active_model()
    mlflow.set_tracking_uri(previous)
    assert os.listdir(cwd) == [], "something was written to the working directory"


def start_run(store):
    import mlflow

    return mlflow.start_run(experiment_id=store.experiment)


def drift_report(columns=("x", "y", "z"), shifted=("x",), n=400):
    rng = np.random.default_rng(1)
    ref = {c: rng.normal(size=n) for c in columns}
    cur = {c: rng.normal(size=n) + (1.5 if c in shifted else 0.0) for c in columns}
    return ms.drift.compare(ref, cur)


def linear_model(x):
    s = x[:, 0] - x[:, 1]
    return np.stack([-s, s], axis=1)


def robustness_report():
    X = np.random.default_rng(2).normal(size=(80, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return ms.robustness.evaluate(
        linear_model, X, y, attacks="noise", eps=[0.05, 2.0], max_queries=30
    )


def read_artifact(store, run_id, path):
    local = store.client.download_artifacts(run_id, path, str(store.root / "dl"))
    with open(local, "rb") as fh:
        return fh.read()


# --------------------------------------------------------------------------- log_report


def test_log_report_drift_metrics_artifacts_and_tags(store, msm):
    report = drift_report()
    with start_run(store) as run:
        logged = msm.log_report(report)
    data = store.client.get_run(run.info.run_id).data
    assert data.metrics == logged
    assert data.metrics["mlsentry.drift.share_drifted"] == pytest.approx(1 / 3)
    assert data.metrics["mlsentry.drift.n_drifted"] == 1.0
    assert data.metrics["mlsentry.drift.passed"] == 0.0
    assert data.metrics["mlsentry.drift.n_columns"] == 3.0
    assert data.metrics["mlsentry.drift.column.x.drift"] == 1.0
    assert data.metrics["mlsentry.drift.column.y.drift"] == 0.0
    x = report["x"]
    assert data.metrics["mlsentry.drift.column.x.adjusted_pvalue"] == x.adjusted_pvalue
    assert data.metrics["mlsentry.drift.column.x.effect"] == x.effect
    assert data.metrics["mlsentry.drift.column.x.statistic"] == x.statistic

    paths = {a.path for a in store.client.list_artifacts(run.info.run_id, "mlsentry")}
    assert paths == {"mlsentry/drift-report.json", "mlsentry/drift-report.html"}
    raw = read_artifact(store, run.info.run_id, "mlsentry/drift-report.json")
    assert json.loads(raw) == json.loads(report.to_json())
    html = read_artifact(store, run.info.run_id, "mlsentry/drift-report.html").decode()
    assert html.startswith("<!DOCTYPE html>") and "Drift comparison" in html

    tags = data.tags
    assert tags["mlsentry.drift.schema"] == "mlsentry/drift-report/v1"
    assert tags["mlsentry.drift.passed"] == "false"
    assert tags["mlsentry.drift.input.reference"] == report.inputs["reference"]
    assert tags["mlsentry.drift.input.current"] == report.inputs["current"]
    assert tags["mlsentry.drift.report_digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_no_run_means_an_error_and_nothing_created(tmp_path, monkeypatch, msm):
    """With MLflow's defaults (no tracking URI: ./mlflow.db, ./mlruns) and no run, nothing
    may appear on disk."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    previous = tracking_uri_now()
    mlflow.set_tracking_uri(None)
    try:
        assert mlflow.active_run() is None
        with pytest.raises(msm.NoActiveRunError, match="no active MLflow run"):
            msm.log_report(drift_report())
        with pytest.raises(msm.NoActiveRunError):
            msm.log_dataset(np.zeros((3, 2)), "data")
        assert isinstance(msm.NoActiveRunError("x"), ms.MlsentryError)
        assert mlflow.active_run() is None
        assert os.listdir(tmp_path) == []
    finally:
        mlflow.set_tracking_uri(previous)


def test_log_report_to_a_named_run_and_from_mlflow_run_id(store, msm, monkeypatch):
    with start_run(store) as run:
        pass
    run_id = run.info.run_id
    msm.log_report(drift_report(), run_id=run_id)
    assert "mlsentry.drift.share_drifted" in store.client.get_run(run_id).data.metrics

    monkeypatch.setenv("MLFLOW_RUN_ID", run_id)  # what `mlflow run` sets
    msm.log_report(robustness_report())
    assert "mlsentry.robustness.clean_accuracy" in store.client.get_run(run_id).data.metrics


def test_robustness_metrics_with_a_label(store, msm):
    report = robustness_report()
    with start_run(store) as run:
        msm.log_report(report, name="holdout")
    metrics = store.client.get_run(run.info.run_id).data.metrics
    p = "mlsentry.robustness.holdout"
    assert metrics[f"{p}.clean_accuracy"] == report.clean_accuracy == 1.0
    assert metrics[f"{p}.robust_accuracy.eps_0.05"] == report.robust_accuracy[0]
    assert metrics[f"{p}.robust_accuracy.eps_2.0"] == report.robust_accuracy[1]
    assert report.robust_accuracy[1] < report.robust_accuracy[0]
    assert metrics[f"{p}.robust_accuracy_lower.eps_2.0"] == report.robust_interval[1][0]
    noise = next(a for a in report.attacks if a.eps == 2.0)
    assert metrics[f"{p}.attack.noise.success_rate.eps_2.0"] == noise.success_rate
    assert metrics[f"{p}.queries"] == report.queries
    paths = {a.path for a in store.client.list_artifacts(run.info.run_id, "mlsentry")}
    assert paths == {
        "mlsentry/robustness-report-holdout.json",
        "mlsentry/robustness-report-holdout.html",
    }


def test_column_names_mlflow_refuses_become_distinct_valid_names(store, msm):
    names = ["a/b", "a_b", "", "x:y", "..", "é", "L" * 300, "p q"]
    report = drift_report(columns=names, shifted=("a/b",))
    with start_run(store) as run:
        msm.log_report(report)  # MLflow validates every name: an invalid one would raise
    metrics = store.client.get_run(run.info.run_id).data.metrics

    def hashed(clean, name):
        return clean + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]

    expected = {
        "a/b": hashed("a_b", "a/b"),
        "a_b": "a_b",
        "": hashed("", ""),
        "x:y": hashed("x_y", "x:y"),
        "..": "..",
        "é": "é",
        "L" * 300: hashed("L" * 64, "L" * 300),
        "p q": "p q",
    }
    for column, part in expected.items():
        assert metrics[f"mlsentry.drift.column.{part}.drift"] == float(report[column].drift)
    assert metrics[f"mlsentry.drift.column.{expected['a/b']}.drift"] == 1.0
    assert sum(k.endswith(".drift") for k in metrics) == len(names)


def test_column_metrics_keep_the_most_severe_columns(store, msm):
    report = drift_report(columns=("a", "b", "c", "d", "e"), shifted=("d", "b"))
    with start_run(store) as run:
        msm.log_report(report, column_metrics=2)
        msm.log_report(report, name="none", column_metrics=0)
    metrics = store.client.get_run(run.info.run_id).data.metrics
    cols = {k.split(".")[3] for k in metrics if k.startswith("mlsentry.drift.column.")}
    assert cols == {"b", "d"}
    assert not any(k.startswith("mlsentry.drift.none.column.") for k in metrics)
    assert metrics["mlsentry.drift.none.n_drifted"] == 2.0


def test_verify_report_metrics(store, msm, tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"abc")
    m = ms.integrity.manifest(folder)
    (folder / "w.bin").write_bytes(b"abd")
    (folder / "new.txt").write_bytes(b"")
    report = ms.integrity.verify(folder, m)
    with start_run(store) as run:
        msm.log_report(report)
    metrics = store.client.get_run(run.info.run_id).data.metrics
    assert metrics["mlsentry.verify.ok"] == 0.0
    assert metrics["mlsentry.verify.n_modified"] == 1.0
    assert metrics["mlsentry.verify.n_added"] == 1.0
    assert metrics["mlsentry.verify.n_removed"] == 0.0
    assert metrics["mlsentry.verify.files_checked"] == 2.0
    tags = store.client.get_run(run.info.run_id).data.tags
    assert tags["mlsentry.verify.input.manifest"] == m.root


def test_scan_report_metrics(store, msm, tmp_path):
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'true'\ntR.")  # GLOBAL os system; never run
    report = ms.scan.scan(evil)
    with start_run(store) as run:
        msm.log_report(report)
    metrics = store.client.get_run(run.info.run_id).data.metrics
    assert metrics["mlsentry.scan.safe"] == 0.0
    assert metrics["mlsentry.scan.n_dangerous"] == float(len(report.dangerous)) >= 1
    assert metrics["mlsentry.scan.files_scanned"] == 1.0


def test_log_report_bad_arguments(store, msm):
    from mlflow.exceptions import MlflowException

    report = drift_report()
    with start_run(store) as run:
        with pytest.raises(InvalidTypeError, match="report"):
            msm.log_report({"schema": "mlsentry/drift-report/v1"})
        with pytest.raises(InvalidInputError, match="name"):
            msm.log_report(report, name="two words")
        with pytest.raises(InvalidInputError, match="name"):
            msm.log_report(report, name="")
        with pytest.raises(InvalidInputError, match="column_metrics"):
            msm.log_report(report, column_metrics=-1)
        with pytest.raises(InvalidTypeError, match="run_id"):
            msm.log_report(report, run_id=5)
        with pytest.raises(MlflowException, match="not found"):
            msm.log_report(report, run_id="0" * 32)
    assert store.client.get_run(run.info.run_id).data.metrics == {}


# --------------------------------------------------------------------------- log_dataset


def test_log_dataset_records_the_full_fingerprint(store, msm):
    import mlflow

    a = np.arange(60_000, dtype=np.float64).reshape(-1, 3)
    b = a.copy()
    b[15_000, 1] = -1.0  # past the first 10,000 values MLflow's digest reads
    assert mlflow.data.from_numpy(a).digest == mlflow.data.from_numpy(b).digest
    with start_run(store) as run:
        fa = msm.log_dataset(a, "train", context="training")
        fb = msm.log_dataset(b, "serving", context="evaluation")
    assert fa == ms.fingerprint(a) and fb == ms.fingerprint(b) and fa != fb
    r = store.client.get_run(run.info.run_id)
    inputs = {i.dataset.name: i for i in r.inputs.dataset_inputs}
    for name, fp, context in (("train", fa, "training"), ("serving", fb, "evaluation")):
        tags = {t.key: t.value for t in inputs[name].tags}
        assert tags["mlsentry.fingerprint"] == fp
        assert tags["mlflow.data.context"] == context
        assert inputs[name].dataset.digest == fp.removeprefix("sha256:")[:32]
        assert r.data.tags[f"mlsentry.dataset.{name}.fingerprint"] == fp
    assert json.loads(inputs["train"].dataset.profile)["features_shape"] == [20_000, 3]


def test_log_dataset_numpy_targets_pandas_and_polars(store, msm):
    import pandas as pd
    import polars as pl

    X = np.random.default_rng(3).normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": y})
    with start_run(store) as run:
        msm.log_dataset(X, "arrays", targets=y)
        fp_pd = msm.log_dataset(df, "frame", targets="label")
        fp_pl = msm.log_dataset(pl.from_pandas(df), "polars")
    assert fp_pd == ms.fingerprint(df)
    assert fp_pl == ms.fingerprint(pl.from_pandas(df))
    inputs = store.client.get_run(run.info.run_id).inputs.dataset_inputs
    tags = {i.dataset.name: {t.key: t.value for t in i.tags} for i in inputs}
    assert tags["arrays"]["mlsentry.fingerprint"] == ms.fingerprint(X)
    assert tags["arrays"]["mlsentry.fingerprint.targets"] == ms.fingerprint(y)
    assert tags["frame"]["mlsentry.fingerprint"] == fp_pd
    assert "mlflow.data.context" not in tags["frame"]
    assert tags["polars"]["mlsentry.fingerprint"] == fp_pl


def test_log_dataset_bad_arguments(store, msm):
    import pandas as pd
    import pyarrow as pa

    df = pd.DataFrame({"a": [1.0, 2.0]})
    with start_run(store) as run:
        with pytest.raises(InvalidTypeError, match="data: expected a numpy array"):
            msm.log_dataset(pa.table({"a": [1.0]}), "t")
        with pytest.raises(InvalidTypeError, match="fingerprint"):
            msm.log_dataset([[1.0]], "t")
        with pytest.raises(InvalidInputError, match="name"):
            msm.log_dataset(df, "")
        with pytest.raises(InvalidTypeError, match="targets"):
            msm.log_dataset(df, "t", targets=np.zeros(2))
        with pytest.raises(InvalidTypeError, match="targets"):
            msm.log_dataset(np.zeros((2, 1)), "t", targets=[0, 1])
        with pytest.raises(InvalidTypeError, match="context"):
            msm.log_dataset(df, "t", context=3)
    assert store.client.get_run(run.info.run_id).inputs.dataset_inputs == []


# --------------------------------------------------------------------------- models


def fitted_classifier():
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(4).normal(size=(120, 2))
    y = (X[:, 0] - 0.5 * X[:, 1] > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b"])
    return LogisticRegression().fit(frame, y), frame, y


@pytest.fixture
def logged(store):
    """A scikit-learn model logged in pickle format (the case that needs scanning)."""
    import mlflow

    clf, frame, y = fitted_classifier()
    with start_run(store) as run:
        info = mlflow.sklearn.log_model(
            clf, name="model", serialization_format="pickle", pip_requirements=[]
        )
    folder = store.client.get_logged_model(info.model_id).artifact_location
    folder = folder.removeprefix("file://")
    return SimpleNamespace(
        info=info, run_id=run.info.run_id, folder=folder, clf=clf, frame=frame, y=y
    )


class Loader:
    """A loader that records being called: a refused model must never be loaded."""

    def __init__(self):
        self.calls = []

    def __call__(self, path):
        self.calls.append(path)
        import mlflow

        return mlflow.sklearn.load_model(path)


def test_manifest_beside_the_logged_model_then_load(logged, msm):
    key = ms.integrity.SigningKey.generate()
    manifest = msm.log_model_manifest(logged.info, key=key)
    on_disk = sorted(os.listdir(logged.folder))
    assert msm.MANIFEST_FILE in on_disk and msm.SIGNATURE_FILE in on_disk
    model_files = [f for f in on_disk if not f.startswith("mlsentry.")]
    assert sorted(f.path for f in manifest.files) == model_files
    assert ms.integrity.verify(logged.folder, manifest).ok
    stored = ms.integrity.Manifest.load(os.path.join(logged.folder, msm.MANIFEST_FILE))
    assert stored == manifest

    model = msm.load_verified(logged.info.model_uri, "sklearn", public_key=key.public_key)
    np.testing.assert_array_equal(model.predict(logged.frame), logged.clf.predict(logged.frame))
    with pytest.warns(UnsignedWarning, match="pass public_key="):  # unsigned check
        pyfunc = msm.load_verified(logged.info.model_uri)  # pyfunc by default
    np.testing.assert_array_equal(pyfunc.predict(logged.frame), logged.clf.predict(logged.frame))


def test_tampered_model_file_is_refused(logged, msm, tmp_path):
    msm.log_model_manifest(logged.info)
    other, _, _ = fitted_classifier()
    other.coef_ = -other.coef_  # a different, valid model
    with open(os.path.join(logged.folder, "model.pkl"), "wb") as fh:
        pickle.dump(other, fh)
    loader = Loader()
    with pytest.raises(IntegrityError, match=r"model\.pkl") as err:
        msm.load_verified(logged.info.model_uri, loader, dst_path=str(tmp_path / "dl"))
    assert [m.path for m in err.value.report.modified] == ["model.pkl"]
    assert loader.calls == []


def test_added_and_removed_files_are_refused(logged, msm):
    msm.log_model_manifest(logged.info)
    with open(os.path.join(logged.folder, "extra.py"), "w") as fh:
        fh.write("print('hi')\n")
    loader = Loader()
    with pytest.raises(IntegrityError) as err:
        msm.load_verified(logged.info.model_uri, loader)
    assert err.value.report.added == ["extra.py"]
    os.remove(os.path.join(logged.folder, "extra.py"))
    os.remove(os.path.join(logged.folder, "conda.yaml"))
    with pytest.raises(IntegrityError) as err:
        msm.load_verified(logged.info.model_uri, loader)
    assert err.value.report.removed == ["conda.yaml"]
    assert loader.calls == []


def test_missing_manifest_or_signature(logged, msm):
    loader = Loader()
    with pytest.raises(IntegrityError, match=r"no mlsentry\.manifest\.json"):
        msm.load_verified(logged.info.model_uri, loader)
    msm.log_model_manifest(logged.info)  # unsigned
    key = ms.integrity.SigningKey.generate()
    with pytest.raises(SignatureError, match=r"no mlsentry\.manifest\.dsse\.json"):
        msm.load_verified(logged.info.model_uri, loader, public_key=key.public_key)
    assert loader.calls == []


def test_signature_by_another_key_or_over_other_files(logged, msm, tmp_path):
    key, stranger = ms.integrity.SigningKey.generate(), ms.integrity.SigningKey.generate()
    msm.log_model_manifest(logged.info, key=key)
    loader = Loader()
    with pytest.raises(SignatureError):
        msm.load_verified(logged.info.model_uri, loader, public_key=stranger.public_key)
    # Someone with write access to the store swaps the model and writes a fresh
    # (unsigned) manifest: the signed one no longer matches the files.
    other, _, _ = fitted_classifier()
    other.intercept_ = other.intercept_ + 5
    with open(os.path.join(logged.folder, "model.pkl"), "wb") as fh:
        pickle.dump(other, fh)
    msm.log_model_manifest(logged.folder)
    pem = tmp_path / "key.pub"
    key.public_key.save(pem)
    with pytest.raises(IntegrityError, match=r"model\.pkl"):
        msm.load_verified(logged.info.model_uri, loader, public_key=str(pem))
    assert loader.calls == []


def test_a_manifest_that_leaves_out_files_is_refused(logged, msm):
    loose = ms.integrity.manifest(logged.folder, ignore=["*.pkl"])
    loose.save(os.path.join(logged.folder, msm.MANIFEST_FILE))
    loader = Loader()
    with pytest.raises(IntegrityError, match="leaves out files"):
        msm.load_verified(logged.info.model_uri, loader)
    assert loader.calls == []


def test_unsafe_pickle_is_refused_by_the_scan(logged, msm):
    # The attacker rewrites the manifest too (no key is required): the scan still stops it.
    with open(os.path.join(logged.folder, "model.pkl"), "wb") as fh:
        fh.write(b"cos\nsystem\n(S'true'\ntR.")  # GLOBAL os system; never run here
    msm.log_model_manifest(logged.info)
    loader = Loader()
    with pytest.raises(ScanError, match=r"os\.system") as err:
        msm.load_verified(logged.info.model_uri, loader)
    assert not err.value.report.safe
    assert loader.calls == []


def test_runs_and_registry_uris(logged, msm, store):
    import mlflow

    runs_uri = f"runs:/{logged.run_id}/model"
    msm.log_model_manifest(runs_uri)
    assert msm.MANIFEST_FILE in os.listdir(logged.folder)  # beside the logged model's files
    assert store.client.list_artifacts(logged.run_id) == []  # not in the run's own folder
    version = mlflow.register_model(logged.info.model_uri, "clf")
    key = ms.integrity.SigningKey.generate()
    msm.log_model_manifest(f"models:/clf/{version.version}", key=key)
    assert msm.SIGNATURE_FILE in os.listdir(logged.folder)
    model = msm.load_verified("models:/clf/1", "sklearn", public_key=key.public_key)
    np.testing.assert_array_equal(model.predict(logged.frame), logged.clf.predict(logged.frame))
    with pytest.warns(UnsignedWarning):
        assert msm.load_verified(runs_uri, "sklearn").predict(logged.frame[:3]).shape == (3,)


def test_local_model_folder(msm, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    clf, frame, _ = fitted_classifier()
    folder = tmp_path / "clf"
    mlflow.sklearn.save_model(clf, folder, serialization_format="pickle", pip_requirements=[])
    manifest = msm.log_model_manifest(folder)
    assert (folder / msm.MANIFEST_FILE).is_file()
    assert ms.integrity.verify(folder, manifest).ok
    copy = tmp_path / "copy"
    with pytest.warns(UnsignedWarning, match="whoever can write the model"):
        model = msm.load_verified(str(folder), "sklearn", dst_path=str(copy))
    np.testing.assert_array_equal(model.predict(frame), clf.predict(frame))
    assert (copy / "clf" / "model.pkl").is_file()  # loaded from the checked copy

    (folder / "MLmodel").write_text((folder / "MLmodel").read_text() + "# edited\n")
    with pytest.raises(IntegrityError, match="MLmodel"):
        msm.load_verified(folder, "sklearn")


def test_model_functions_bad_arguments(logged, msm):
    uri = logged.info.model_uri
    with pytest.raises(InvalidInputError, match="flavor"):
        msm.load_verified(uri, "no_such_flavour")
    with pytest.raises(InvalidInputError, match="flavor"):
        msm.load_verified(uri, "../evil")
    with pytest.raises(InvalidTypeError, match="public_key"):
        msm.load_verified(uri, public_key=5)
    with pytest.raises(InvalidTypeError, match="model"):
        msm.load_verified(5)
    with pytest.raises(InvalidTypeError, match="key"):
        msm.log_model_manifest(uri, key="secret")
    with pytest.raises(InvalidTypeError, match="model"):
        msm.log_model_manifest(None)
    assert msm.MANIFEST_FILE not in os.listdir(logged.folder)


# --------------------------------------------------------------------------- evaluator


def test_evaluator_is_registered_through_its_entry_point():
    from importlib.metadata import entry_points

    import mlflow.models

    (ep,) = [e for e in entry_points(group="mlflow.model_evaluator") if e.name == "mlsentry"]
    assert ep.value == "mlsentry.mlflow:MlsentryEvaluator"
    assert "mlsentry" in mlflow.models.list_evaluators()
    from mlflow.models.evaluation.evaluator_registry import _model_evaluation_registry

    from mlsentry.mlflow import MlsentryEvaluator

    assert isinstance(_model_evaluation_registry.get_evaluator("mlsentry"), MlsentryEvaluator)
    assert MlsentryEvaluator.can_evaluate(model_type="classifier", evaluator_config={})
    assert not MlsentryEvaluator.can_evaluate(model_type="regressor", evaluator_config={})


@evaluate_warnings
def test_evaluate_default_and_mlsentry(logged, store):
    import mlflow
    import pandas as pd

    data = logged.frame.assign(label=logged.y)
    config = {"eps": [0.05, 3.0], "attacks": ["noise", "square"], "max_queries": 40}
    with mlflow.start_run(run_id=logged.run_id):
        result = mlflow.models.evaluate(
            logged.info.model_uri,
            data,
            targets="label",
            model_type="classifier",
            evaluators=["default", "mlsentry"],
            evaluator_config={"mlsentry": config},
        )

    def scores(x):  # the classifier was fitted on a frame: give it one
        return logged.clf.predict_proba(pd.DataFrame(x, columns=logged.frame.columns))

    expected = ms.robustness.evaluate(scores, logged.frame, logged.y, **config)
    metrics = store.client.get_run(logged.run_id).data.metrics
    assert "accuracy_score" in result.metrics  # the default evaluator ran too
    for eps, acc in zip(expected.eps, expected.robust_accuracy):
        name = f"mlsentry.robustness.robust_accuracy.eps_{eps!r}"
        assert result.metrics[name] == metrics[name] == acc
    assert expected.robust_accuracy[1] < expected.robust_accuracy[0]
    assert metrics["mlsentry.robustness.clean_accuracy"] == pytest.approx(
        result.metrics["accuracy_score"]
    )
    content = result.artifacts["mlsentry_robustness_report"].content
    assert content["schema"] == "mlsentry/robustness-report/v1"
    assert content["config"]["rows_in_dataset"] == len(data)
    paths = {a.path for a in store.client.list_artifacts(logged.run_id, "mlsentry")}
    assert "mlsentry/robustness-report.json" in paths


@evaluate_warnings
def test_evaluate_a_label_only_function_with_a_sample(store):
    import mlflow
    import pandas as pd

    X = np.random.default_rng(5).normal(size=(300, 2))
    data = pd.DataFrame(X, columns=["a", "b"]).assign(label=(X[:, 0] > 0).astype(int))

    def predict(frame):
        return (frame["a"] > 0).astype(int)

    config = {"eps": [0.01, 2.0], "attacks": "noise", "max_queries": 30, "max_samples": 50}
    with start_run(store) as run:
        result = mlflow.models.evaluate(
            predict,
            data,
            targets="label",
            model_type="classifier",
            evaluators=["mlsentry"],
            evaluator_config={"mlsentry": config},
        )
    content = result.artifacts["mlsentry_robustness_report"].content
    assert content["n_samples"] == 50 and content["config"]["rows_in_dataset"] == 300
    assert content["config"]["model"] == "callable"
    small = result.metrics["mlsentry.robustness.robust_accuracy.eps_0.01"]
    large = result.metrics["mlsentry.robustness.robust_accuracy.eps_2.0"]
    assert result.metrics["mlsentry.robustness.clean_accuracy"] == 1.0
    assert large < small <= 1.0
    assert store.client.get_run(run.info.run_id).data.metrics["mlsentry.robustness.n_samples"] == 50


@evaluate_warnings
def test_evaluate_refuses_text_features(store):
    import mlflow
    import pandas as pd

    data = pd.DataFrame({"a": [0.1, -0.2, 0.3, -0.4], "city": list("xyxy"), "label": [1, 0, 1, 0]})

    def predict(frame):
        return (frame["a"] > 0).astype(int)

    with start_run(store), pytest.raises(InvalidTypeError, match="city"):
        mlflow.models.evaluate(
            predict, data, targets="label", model_type="classifier", evaluators=["mlsentry"]
        )


# --------------------------------------------------------------------------- docs, imports


@pytest.mark.parametrize(
    "name", ["mlsentry.mlflow", "mlsentry.mlflow.runs", "mlsentry.mlflow.evaluator"]
)
def test_docstring_examples(name, tmp_path, monkeypatch):
    """Run here rather than in test_docs.py: they need this module's warning filter."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    previous = tracking_uri_now()
    try:
        module = importlib.import_module(name)
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        assert doctest.testmod(module, optionflags=flags).failed == 0
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(previous)


@evaluate_warnings
def test_readme_mlflow_section_runs(tmp_path, monkeypatch, readme_blocks):
    import mlflow

    blocks = readme_blocks("MLflow")
    monkeypatch.chdir(tmp_path)
    previous = tracking_uri_now()
    # MLflow caches stores and SQLAlchemy engines per tracking URI, and the README's is
    # relative ("sqlite:///mlflow.db"): what an earlier test (in another working folder)
    # built for that URI would write there.
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as Registry
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as Tracking
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    TrackingStoreRegistry._get_store_with_resolved_uri.cache_clear()
    for store_class in (Tracking, Registry):
        store_class._engine_map.pop("sqlite:///mlflow.db", None)
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.clear_active_model()
        mlflow.set_tracking_uri(previous)
    assert (tmp_path / "mlflow.db").is_file()
    assert namespace["model"].predict(namespace["train"][["a", "b"]][:5]).shape == (5,)


def test_import_mlsentry_does_not_import_mlflow():
    code = "import sys, mlsentry, mlsentry.robustness; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
