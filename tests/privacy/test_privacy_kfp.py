"""The Kubeflow Pipelines privacy gate (``mlsentry.kfp.privacy_gate``), in process and in a
``kfp.local`` pipeline, and the MLflow metrics of a PrivacyReport."""

# No ``from __future__ import annotations``: kfp reads the pipelines' annotations as types.
import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

kfp = pytest.importorskip("kfp")
from kfp import dsl, local  # noqa: E402

from mlsentry import kfp as mkfp  # noqa: E402

HERE = mkfp.make_components(packages_to_install=[], model_packages=[], install_kfp_package=False)
FEATURES = ["a", "b", "c"]


def _frames(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2 * n, 3))
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["label"] = (x[:, 0] + rng.normal(size=2 * n) > 0).astype(int)
    return frame.iloc[:n].reset_index(drop=True), frame.iloc[n:].reset_index(drop=True)


def _setup(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    tmp_path.mkdir(parents=True, exist_ok=True)
    members, nonmembers = _frames()
    forest = RandomForestClassifier(n_estimators=20, random_state=0)
    forest.fit(members[FEATURES], members["label"])
    folder = tmp_path / "model"
    folder.mkdir()
    joblib.dump(forest, folder / "model.joblib")
    members.to_csv(tmp_path / "members.csv", index=False)
    nonmembers.to_parquet(tmp_path / "nonmembers.parquet")
    return folder, tmp_path / "members.csv", tmp_path / "nonmembers.parquet"


def _outputs(tmp_path):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return {
        "metrics": dsl.Metrics(uri=str(out / "metrics")),
        "html": dsl.HTML(uri=str(out / "report.html")),
        "report": dsl.Artifact(uri=str(out / "report.json")),
    }


def _gate(tmp_path, **kwargs):
    model, members, nonmembers = _setup(tmp_path)
    outs = _outputs(tmp_path)
    result = HERE.privacy_gate.python_func(
        model=dsl.Model(uri=str(model)),
        members=dsl.Dataset(uri=str(members)),
        nonmembers=dsl.Dataset(uri=str(nonmembers)),
        **kwargs,
        **outs,
    )
    return result[0], outs


def test_privacy_gate_measures_and_fails_above_the_threshold(tmp_path):
    passed, outs = _gate(tmp_path, threshold=1.0, attacks=["loss", "confidence"])
    assert passed is True
    metrics = outs["metrics"].metadata
    assert metrics["mlsentry.privacy.passed"] == 1.0
    assert {
        "mlsentry.privacy.loss.tpr",
        "mlsentry.privacy.loss.auc",
        "mlsentry.privacy.max_tpr",
    } <= set(metrics)
    report = json.loads(Path(outs["report"].path).read_text())
    assert report["schema"] == "mlsentry/privacy-report/v1"
    assert "<svg" in Path(outs["html"].path).read_text()
    # A forest of fully grown trees is surer of its members than of other records (at 1%
    # FPR its ties at probability 1 hide them; at 10% the loss attack finds a quarter).
    with pytest.raises(mkfp.GateFailedError, match="Membership inference: FAILED"):
        _gate(tmp_path / "again", threshold=0.05, at_fpr=0.1, attacks=["loss"])
    passed, _ = _gate(tmp_path / "soft", threshold=0.05, at_fpr=0.1, attacks=["loss"], fail=False)
    assert passed is False


@dsl.pipeline
def privacy_pipeline(model_uri: str, members_uri: str, nonmembers_uri: str) -> dsl.Metrics:
    model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
    members = dsl.importer(artifact_uri=members_uri, artifact_class=dsl.Dataset)
    nonmembers = dsl.importer(artifact_uri=nonmembers_uri, artifact_class=dsl.Dataset)
    return HERE.privacy_gate(
        model=model.output,
        members=members.output,
        nonmembers=nonmembers.output,
        threshold=1.0,
        attacks=["loss"],
    ).outputs["metrics"]


def test_privacy_gate_runs_in_a_local_pipeline(tmp_path):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    folder = tmp_path / "in"
    folder.mkdir()
    model, members, nonmembers = _setup(folder)
    run = privacy_pipeline(
        model_uri=str(model), members_uri=str(members), nonmembers_uri=str(nonmembers)
    )
    metrics = run.outputs["Output"].metadata
    assert metrics["mlsentry.privacy.passed"] == 1.0
    assert metrics["mlsentry.privacy.loss.auc"] > 0.6


def test_mlflow_logs_the_report_metrics():
    pytest.importorskip("mlflow")
    import mlsentry as ms
    from mlsentry.mlflow import report_metrics

    member = np.r_[np.ones(200, bool), np.zeros(200, bool)]
    s = np.random.default_rng(0).normal(size=400) + member
    rep = ms.privacy.membership_report({"loss": s}, member, threshold=0.5)
    m = report_metrics(rep)
    assert m == rep.metrics()
    assert m["mlsentry.privacy.passed"] == 1.0
    assert m["mlsentry.privacy.loss.tpr"] == rep.attacks["loss"].tpr
    assert m["mlsentry.privacy.loss.epsilon"] == rep.attacks["loss"].epsilon
