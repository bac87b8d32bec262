"""`mlsentry.mlflow.log_evidence` against a real MLflow with a local SQLite store."""

from __future__ import annotations

import doctest
import importlib
import os
import shutil

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import IntegrityError, InvalidInputError, InvalidTypeError


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    """A migrated tracking database, made once (the migrations take seconds)."""
    import mlflow

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    cwd = os.getcwd()
    # The default experiment keeps its artifacts under ./mlruns of the folder it was
    # created in: the template's, never the checkout.
    os.chdir(path.parent)
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    try:
        mlflow.MlflowClient().search_experiments()
    finally:
        mlflow.set_tracking_uri(previous)
        os.chdir(cwd)
    return path


@pytest.fixture
def store(tmp_path, monkeypatch, empty_db):
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    shutil.copyfile(empty_db, tmp_path / "mlflow.db")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("ev", artifact_location=(tmp_path / "art").as_uri())
    yield client, experiment
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(previous)


def _bundle(path, key, shift=0.0):
    rng = np.random.default_rng(0)
    drift = ms.drift.compare({"x": rng.normal(size=300)}, {"x": rng.normal(shift, 1, 300)})
    bundle = ms.evidence.build({"drift": drift}, environment_info=False)
    bundle.save(path, key)
    return bundle


def test_log_evidence_logs_the_bundle_and_tags_the_model_version(store, tmp_path):
    import mlflow

    msm = importlib.import_module("mlsentry.mlflow")
    client, experiment = store
    key = ms.integrity.SigningKey.generate()
    bundle = _bundle(tmp_path / "release.evidence", key)
    client.create_registered_model("fraud")
    with mlflow.start_run(experiment_id=experiment) as run:
        version = client.create_model_version("fraud", "runs:/x/model", run.info.run_id)
        tags = msm.log_evidence(
            bundle, model_name="fraud", model_version=version.version, public_key=key.public_key
        )
    digest = ms.integrity.hash_file(tmp_path / "release.evidence")
    assert tags["mlsentry.evidence.digest"] == digest == bundle.digest
    assert tags["mlsentry.evidence.verdict"] == "PASSED"
    logged = client.get_run(run.info.run_id).data.tags
    assert {k: logged[k] for k in tags} == tags
    mv = client.get_model_version("fraud", version.version)
    assert mv.tags["mlsentry.evidence.digest"] == digest
    assert mv.tags["mlsentry.evidence.verdict"] == "PASSED"
    local = client.download_artifacts(run.info.run_id, "mlsentry/release.evidence", str(tmp_path))
    assert ms.integrity.hash_file(local) == digest
    assert ms.evidence.verify(local, key.public_key).passed

    _bundle(tmp_path / "drifted.evidence", key, shift=3.0)
    with mlflow.start_run(experiment_id=experiment):
        assert msm.log_evidence(tmp_path / "drifted.evidence")["mlsentry.evidence.verdict"] == (
            "FAILED"
        )
        with pytest.raises(IntegrityError, match="does not verify"):
            msm.log_evidence(
                tmp_path / "drifted.evidence",
                public_key=ms.integrity.SigningKey.generate().public_key,
            )
        with pytest.raises(InvalidInputError, match="not a file"):
            msm.log_evidence(tmp_path / "nowhere.evidence")
        with pytest.raises(InvalidInputError, match="save it first"):
            msm.log_evidence(_unsaved())
        with pytest.raises(InvalidInputError, match="give both or neither"):
            msm.log_evidence(bundle, model_name="fraud")
        with pytest.raises(InvalidTypeError, match="bundle: expected a saved Bundle"):
            msm.log_evidence(42)


def _unsaved():
    drift = ms.drift.compare({"x": np.arange(30.0)}, {"x": np.arange(30.0)})
    return ms.evidence.build([drift], environment_info=False)


def test_the_docstring_example(store, tmp_path):
    import mlflow

    module = importlib.import_module("mlsentry.mlflow.evidence")
    previous = mlflow.get_tracking_uri()
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        mlflow.set_tracking_uri(previous)
    assert result.attempted > 0 and result.failed == 0
    assert os.path.exists(tmp_path / "r.evidence")
