"""``mlsentry privacy``, ``assert_private`` and ``membership_report``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.errors import InvalidInputError, InvalidTypeError
from mlsentry.testing import assert_private


def _scores(n=500, seed=0):
    rng = np.random.default_rng(seed)
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    return pd.DataFrame(
        {
            "member": member,
            "strong": rng.normal(size=2 * n) + 2 * member,
            "weak": rng.normal(size=2 * n) + 0.1 * member,
            "label": rng.integers(0, 2, 2 * n),
            "note": "x",
        }
    )


def test_cli_reports_like_the_api(tmp_path, capsys):
    frame = _scores()
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet")
    api = ms.privacy.membership_report(
        {"strong": frame.strong, "weak": frame.weak}, frame.member, frame.label
    )
    for name in ("s.csv", "s.parquet"):
        html = tmp_path / "r.html"
        code = main(["privacy", str(tmp_path / name), "--json", "--html", str(html)])
        assert code == 0
        out = json.loads(capsys.readouterr().out)
        assert out["schema"] == "mlsentry/privacy-report/v1" and out["passed"] is None
        assert set(out["attacks"]) == {"strong", "weak"}
        for a in ("strong", "weak"):
            assert out["attacks"][a]["tpr"] == api.attacks[a].tpr
            assert out["attacks"][a]["auc"] == api.attacks[a].auc
        assert out["attacks"]["strong"]["per_class"]
        assert "<svg" in html.read_text()


def test_cli_exit_statuses(tmp_path, capsys):
    _scores().to_csv(tmp_path / "s.csv", index=False)
    path = str(tmp_path / "s.csv")
    assert main(["privacy", path, "--scores", "weak", "--threshold", "0.5"]) == 0
    assert "weak" in capsys.readouterr().out
    assert main(["privacy", path, "--threshold", "0.05", "--at-fpr", "0.001"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["privacy", path, "--member", "nope"]) == 2
    assert "no column 'nope'" in capsys.readouterr().err
    assert main(["privacy", path, "--scores", "strong,missing"]) == 2
    assert main(["privacy", path, "--label", "nope"]) == 2
    assert main(["privacy", path, "--member", "note"]) == 2
    assert main(["privacy", str(tmp_path / "absent.csv")]) == 2
    assert main(["privacy", path, "--at-fpr", "2"]) == 2
    capsys.readouterr()


def test_membership_report_bad_inputs():
    with pytest.raises(InvalidTypeError, match="scores"):
        ms.privacy.membership_report({}, [True, False])
    with pytest.raises(InvalidInputError, match="one per record"):
        ms.privacy.membership_report({"a": [1.0]}, [True, False])
    with pytest.raises(InvalidTypeError, match="is_member"):
        ms.privacy.membership_report({"a": [1.0, 2.0]}, ["x", "y"])
    with pytest.raises(InvalidInputError, match="is_member"):
        ms.privacy.membership_report({"a": [1.0, 2.0]}, [True, True])


def _leaky(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * n, 3))
    y = (X[:, 0] + rng.normal(size=2 * n) > 0).astype(int)
    Xm = X[:n]

    def model(x):  # memorises the members: sure of the class of a nearby member
        d = ((x[:, None, :] - Xm[None]) ** 2).sum(-1)
        near = d.argmin(axis=1)
        sure = np.exp(-5 * d.min(axis=1))
        p1 = np.where(y[:n][near] == 1, 0.5 + 0.49 * sure, 0.5 - 0.49 * sure)
        return np.stack([1 - p1, p1], axis=1)

    return model, X[:n], y[:n], X[n:], y[n:]


def test_assert_private_fails_with_the_table_and_the_report():
    model, Xm, ym, Xn, yn = _leaky()
    with pytest.raises(AssertionError) as info:
        assert_private(model, Xm, ym, Xn, yn, max_tpr=0.05, attacks=("loss", "confidence"))
    text = str(info.value)
    assert text.startswith("assert_private: Membership inference: FAILED")
    assert "loss" in text and "FAILED" in text and "TPR@1.0%" in text
    assert info.value.report.passed is False
    rep = assert_private(model, Xm, ym, Xn, yn, max_tpr=1.0, attacks=("loss",))
    assert rep.passed is True
    with pytest.raises(InvalidInputError, match="max_tpr"):
        assert_private(model, Xm, ym, Xn, yn, max_tpr=0.1, threshold=0.1)


def test_readme_privacy_section_runs(tmp_path, monkeypatch, readme_blocks):
    monkeypatch.chdir(tmp_path)
    for block in readme_blocks("Privacy"):
        exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "privacy.html").exists()


def test_cli_attacks_a_scanned_model(tmp_path, capsys):
    import joblib
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    members, others = frame.iloc[:150], frame.iloc[150:]
    forest = RandomForestClassifier(n_estimators=20, random_state=0)
    forest.fit(members[["a", "b", "c"]], members["label"])
    joblib.dump(forest, tmp_path / "model.joblib")
    members.to_csv(tmp_path / "members.csv", index=False)
    others.to_parquet(tmp_path / "others.parquet")
    base = [
        "privacy",
        str(tmp_path / "members.csv"),
        "--model",
        str(tmp_path / "model.joblib"),
        "--nonmembers",
        str(tmp_path / "others.parquet"),
    ]
    assert main([*base, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["attacks"]) == {"loss", "confidence", "entropy"}
    assert out["attacks"]["loss"]["auc"] > 0.6
    assert main([*base, "--attacks", "loss", "--threshold", "0.05", "--at-fpr", "0.1"]) == 1
    assert main([*base, "--attacks", "nope"]) == 2
    assert main(base[:4]) == 2  # no --nonmembers
    capsys.readouterr()
    # A pickle that would run code is never loaded.
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    assert main([*base[:3], str(evil), *base[4:]]) == 1
    assert "refusing to load" in capsys.readouterr().err


def test_cli_runs_reference_model_attacks_with_copies_of_a_scikit_learn_model(tmp_path, capsys):
    import joblib
    from sklearn.base import clone
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(2)
    X = rng.normal(size=(240, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = (X[:, 0] + rng.normal(size=240) > 0).astype(int)
    members, others = frame.iloc[:120], frame.iloc[120:]
    tree = DecisionTreeClassifier(min_samples_leaf=2, random_state=0)
    tree.fit(members[["a", "b", "c"]], members["label"])
    joblib.dump(tree, tmp_path / "model.joblib")
    members.to_csv(tmp_path / "members.csv", index=False)
    others.to_csv(tmp_path / "others.csv", index=False)
    args = ["privacy", str(tmp_path / "members.csv"), "--model", str(tmp_path / "model.joblib")]
    args += ["--nonmembers", str(tmp_path / "others.csv"), "--attacks", "lira,rmia,loss"]
    assert main([*args, "--reference-models", "4", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["attacks"]) == {"lira", "rmia", "loss"}
    # The same as the API with an unfitted copy of the model as the training function.
    cols = ["a", "b", "c"]
    api = ms.privacy.membership_inference(
        tree,
        members[cols],
        members["label"].to_numpy(),
        others[cols],
        others["label"].to_numpy(),
        attacks=("lira", "rmia", "loss"),
        train_fn=lambda x, y: clone(tree).fit(x, y),
        n_reference=4,
        seed=3,
    ).to_dict()
    for name in ("lira", "rmia", "loss"):
        assert out["attacks"][name]["auc"] == api["attacks"][name]["auc"]
        assert out["attacks"][name]["tpr"] == api["attacks"][name]["tpr"]
    # A memorising tree leaks: LiRA sees it.
    assert out["attacks"]["lira"]["auc"] > 0.6


def test_cli_reference_attacks_refuse_a_model_they_cannot_copy():
    from mlsentry.cli.common import UsageError
    from mlsentry.cli.privacy import _retrainer

    class Scorer:
        def predict_proba(self, x):
            return np.full((len(x), 2), 0.5)

    with pytest.raises(UsageError, match="scikit-learn estimators only"):
        _retrainer(Scorer())
