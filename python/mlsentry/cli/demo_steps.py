"""The demo itself: every check once, on sample data made on the spot (no download).

The demo writes ``<out>/report.html`` and ``<out>/report.json``: one page with a section
per step. It passes when every step gave the verdict it should (the tampered copy must
be caught).
"""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..report import Report, html_table

__all__ = ["DemoReport", "run_demo"]


@dataclass(frozen=True)
class DemoStep:
    name: str
    report: Report
    expect_pass: bool
    #: For a drift step: the columns that must be found drifted, and only those.
    expect_drifted: Optional[tuple[str, ...]] = None

    @property
    def as_expected(self) -> bool:
        if self.report.passed != self.expect_pass:
            return False
        if self.expect_drifted is None:
            return True
        return sorted(getattr(self.report, "drifted_columns", [])) == sorted(self.expect_drifted)


class DemoReport(Report):
    """The demo's steps, each a report of its own, with the verdict it should give."""

    schema = "mlsentry/demo-report/v1"
    title = "mlsentry demo"

    def __init__(self, steps: list[DemoStep], fingerprints: dict[str, str], **meta: Any) -> None:
        super().__init__(inputs=fingerprints, **meta)
        self.steps = steps

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> DemoReport:
        steps = [
            DemoStep(
                s["name"],
                Report.from_dict(s["report"]),
                s["expected"] == "pass",
                None if "expected_drifted" not in s else tuple(s["expected_drifted"]),
            )
            for s in data["steps"]
        ]
        return cls(steps, dict(meta["inputs"]), config=meta["config"])

    @property
    def passed(self) -> bool:
        return all(s.as_expected for s in self.steps)

    def _payload(self) -> dict[str, Any]:
        return {
            "steps": [
                {
                    "name": s.name,
                    "expected": "pass" if s.expect_pass else "fail",
                    **(
                        {}
                        if s.expect_drifted is None
                        else {"expected_drifted": sorted(s.expect_drifted)}
                    ),
                    "as_expected": s.as_expected,
                    "report": s.report.to_dict(),
                }
                for s in self.steps
            ]
        }

    def summary(self) -> str:
        lines = [f"{self.title}: {'all steps as expected' if self.passed else 'UNEXPECTED'}"]
        for s in self.steps:
            verdict = "passed" if s.report.passed else "failed"
            mark = "ok " if s.as_expected else "BAD"
            lines.append(f"  [{mark}] {s.name}: {verdict}")
        return "\n".join(lines)

    def _html_body(self) -> str:
        rows = [
            [
                s.name,
                "pass" if s.expect_pass else "fail",
                "passed" if s.report.passed else "failed",
                "yes" if s.as_expected else "NO",
            ]
            for s in self.steps
        ]
        classes = ["good" if s.as_expected else "bad" for s in self.steps]
        inputs = html_table(["input", "fingerprint"], list(self.inputs.items()))
        sections = "".join(
            f'<h3 class="step">{i}. {html.escape(s.name)}</h3>{s.report._html_section()}'
            for i, s in enumerate(self.steps, 1)
        )
        return (
            html_table(["step", "expected", "got", "as expected"], rows, row_classes=classes)
            + f"<h3>Inputs</h3>{inputs}<h3>Steps</h3>{sections}"
        )


def _sample_dataset(rng: np.random.Generator) -> Any:
    """A small tabular dataset: a pandas DataFrame when pandas is installed, else an array."""
    n = 5_000
    cols = {
        "age": rng.integers(18, 90, n),
        "income": rng.lognormal(10, 0.5, n).round(2),
        "score": rng.normal(0, 1, n),
        "label": rng.integers(0, 2, n),
    }
    try:
        import pandas as pd
    except ImportError:
        return np.column_stack([c.astype(np.float64) for c in cols.values()])
    return pd.DataFrame(cols)


def _drift_sample(rng: np.random.Generator, n: int, shifted: bool) -> Any:
    """Customers of a shop: ``shifted`` raises incomes by 8% and moves the region mix
    towards the west; every other column keeps its distribution."""
    regions = np.array(["north", "south", "east", "west"])
    mix = [0.2, 0.3, 0.3, 0.2] if shifted else [0.3, 0.3, 0.3, 0.1]
    cols = {
        "age": rng.integers(18, 90, n),
        "income": rng.lognormal(10, 0.5, n).round(2) * (1.08 if shifted else 1.0),
        "score": rng.normal(0, 1, n),
        "region": regions[rng.choice(4, n, p=mix)],
        "plan": np.array(["basic", "pro"])[rng.choice(2, n, p=[0.7, 0.3])],
        "label": rng.integers(0, 2, n),
    }
    try:
        import pandas as pd
    except ImportError:
        return cols
    return pd.DataFrame(cols)


def _demo_classifier(rng: np.random.Generator) -> tuple[Any, np.ndarray, np.ndarray]:
    """A small credit-style classifier trained on the spot: logistic regression on six
    standardised features (300 steps of full-batch gradient descent), and its test rows."""
    X = rng.normal(size=(600, 6))
    truth = np.array([1.5, -1.0, 0.8, 0.0, 0.5, -0.3])
    y = (X @ truth + rng.normal(0, 0.5, 600) > 0).astype(int)
    w, b = np.zeros(6), 0.0
    for _ in range(300):  # epochs, not rows: each step is one matrix product
        p = 0.5 * (1 + np.tanh((X[:400] @ w + b) / 2))  # the logistic, without overflow
        w -= 0.5 * X[:400].T @ (p - y[:400]) / 400
        b -= 0.5 * float(np.mean(p - y[:400]))

    def model(x: np.ndarray) -> np.ndarray:
        p = 0.5 * (1 + np.tanh((x @ w + b) / 2))
        return np.stack([1 - p, p], axis=1)

    return model, X[400:500], y[400:500]


def _scan_samples(out: str) -> tuple[str, str]:
    """A benign pickle (a dict of numpy arrays) and a malicious one written opcode by
    opcode, never by pickling a live object: loading it would run ``os.system("true")``.
    Its name, ``weights.bin``, hides what it is; the scan reads the content."""
    import pickle

    folder = os.path.join(out, "scan")
    os.makedirs(folder, exist_ok=True)
    benign = os.path.join(folder, "arrays.pkl")
    with open(benign, "wb") as fh:
        pickle.dump({"w": np.arange(6.0).reshape(2, 3), "b": np.zeros(3)}, fh, protocol=4)
    evil = os.path.join(folder, "weights.bin")
    with open(evil, "wb") as fh:
        # PROTO 4, GLOBAL "os system", MARK, SHORT_BINUNICODE "true", TUPLE, REDUCE, STOP
        fh.write(b"\x80\x04cos\nsystem\n(\x8c\x04truetR.")
    return benign, evil


def _sample_model(folder: str, rng: np.random.Generator) -> None:
    """A model folder shaped like a real one: weights, config, tokenizer files."""
    os.makedirs(os.path.join(folder, "tokenizer"), exist_ok=True)
    with open(os.path.join(folder, "model.safetensors"), "wb") as fh:
        fh.write(rng.bytes(8 * 1024 * 1024))
    with open(os.path.join(folder, "config.json"), "w") as fh:
        fh.write('{"architecture": "mlp", "hidden": [64, 64], "classes": 2}\n')
    with open(os.path.join(folder, "tokenizer", "vocab.txt"), "w") as fh:
        fh.write("\n".join(f"token{i}" for i in range(1000)))
    with open(os.path.join(folder, "README.md"), "w") as fh:
        fh.write("# demo model\n")


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text)


def run_demo(out: str = "mlsentry-demo", *, quiet: bool = False, seed: int = 0) -> DemoReport:
    """Run the demo into folder ``out`` and return its report (also saved there)."""
    from .. import integrity
    from ..integrity import fingerprint

    rng = np.random.default_rng(seed)
    os.makedirs(out, exist_ok=True)
    steps: list[DemoStep] = []

    data = _sample_dataset(rng)
    fp = fingerprint(data)
    _say(quiet, f"1. dataset {type(data).__name__} {getattr(data, 'shape', '')}: {fp}")
    edited = data.copy()
    if hasattr(edited, "iloc"):
        edited.iloc[-1, 1] += 0.01  # one cent in the last row
    else:
        edited[-1, 1] += 0.01
    fp_edited = fingerprint(edited)
    _say(quiet, f"   one value changed in the last row: {fp_edited} (differs: {fp_edited != fp})")

    model = os.path.join(out, "model")
    shutil.rmtree(model, ignore_errors=True)
    _sample_model(model, rng)
    man = integrity.manifest(model)
    man.save(os.path.join(out, "manifest.json"))
    _say(quiet, f"2. manifest of {model}: {len(man.files)} files, root {man.root}")

    steps.append(DemoStep("verify the untouched model", integrity.verify(model, man), True))
    _say(quiet, "3. verify untouched copy: " + ("ok" if steps[-1].report.passed else "CHANGED"))

    tampered = os.path.join(out, "model-tampered")
    shutil.rmtree(tampered, ignore_errors=True)
    shutil.copytree(model, tampered)
    with open(os.path.join(tampered, "model.safetensors"), "r+b") as fh:
        fh.seek(4_000_000)
        byte = fh.read(1)
        fh.seek(4_000_000)
        fh.write(bytes([byte[0] ^ 0x01]))  # flip one bit in the weights
    os.remove(os.path.join(tampered, "README.md"))
    with open(os.path.join(tampered, "tokenizer", "merges.txt"), "w") as fh:
        fh.write("injected\n")
    report = integrity.verify(tampered, man)
    steps.append(
        DemoStep("verify a tampered copy (one bit flipped, one file swapped)", report, False)
    )
    _say(quiet, "4. verify tampered copy:\n" + _indent(report.summary()))

    # Signing: the manifest as an in-toto statement in a DSSE envelope.
    key = integrity.SigningKey.generate()
    key.save(os.path.join(out, "signer.pem"))
    key.public_key.save(os.path.join(out, "signer.pub"))
    envelope = integrity.sign(man, key, name="demo-model")
    envelope.save(os.path.join(out, "manifest.sig.json"))
    signed = integrity.verify(model, envelope, key.public_key)
    steps.append(DemoStep("verify the model against its signed manifest", signed, True))
    _say(
        quiet,
        f"5. signed the manifest (ed25519 {key.key_id[:16]}...): verify -> "
        + ("ok" if signed.passed else "FAILED"),
    )

    # Drift: a fresh sample of the same customers passes; a shifted one is caught, and
    # only its shifted columns are named.
    from ..drift import compare

    drift_rng = np.random.default_rng(seed + 1)
    reference = _drift_sample(drift_rng, 5_000, shifted=False)
    same = compare(reference, _drift_sample(drift_rng, 5_000, shifted=False))
    steps.append(DemoStep("drift: a fresh sample of the same customers", same, True, ()))
    moved = compare(reference, _drift_sample(drift_rng, 5_000, shifted=True))
    steps.append(
        DemoStep(
            "drift: incomes up 8% and more customers in the west",
            moved,
            False,
            ("income", "region"),
        )
    )
    _say(
        quiet,
        f"6. drift: same customers -> {'no drift' if same.passed else 'DRIFT'}; "
        f"shifted sample -> drift in {', '.join(moved.drifted_columns) or 'none'}",
    )

    # Robustness: a small model attacked at a budget it survives and one it does not.
    from ..robustness import evaluate

    clf, X_test, y_test = _demo_classifier(np.random.default_rng(seed + 2))
    attacks = ("noise", "square", "hsj")
    small = evaluate(clf, X_test, y_test, attacks, eps=0.02, max_queries=300, threshold=0.6)
    steps.append(DemoStep("robustness: a small model at eps 0.02 (threshold 0.6)", small, True))
    large = evaluate(clf, X_test, y_test, attacks, eps=0.3, max_queries=300, threshold=0.6)
    steps.append(DemoStep("robustness: the same model at eps 0.3 (threshold 0.6)", large, False))
    _say(
        quiet,
        f"7. robustness: clean accuracy {small.clean_accuracy:.2f}; robust accuracy "
        f"{small.robust_accuracy[0]:.2f} at eps 0.02, {large.robust_accuracy[0]:.2f} at eps 0.3 "
        f"({large.calls} model calls for {large.queries} rows)",
    )

    # Scan: a benign pickle and one that would run a command when loaded.
    from ..scan import scan

    benign_path, evil_path = _scan_samples(out)
    steps.append(DemoStep("scan: a pickled dict of numpy arrays", scan(benign_path), True))
    evil = scan(evil_path)
    steps.append(DemoStep("scan: a pickle that calls os.system when loaded", evil, False))
    found = evil.dangerous[0].global_name if evil.dangerous else "nothing"
    _say(
        quiet,
        f"8. scan: {os.path.basename(benign_path)} -> "
        + ("safe" if steps[-2].report.passed else "NOT SAFE")
        + f"; {os.path.basename(evil_path)} -> {found} found",
    )

    # Audit log: every check above, then a signed checkpoint; then a forged copy.
    log_path = os.path.join(out, "audit.jsonl")
    if os.path.exists(log_path):
        os.remove(log_path)
    log = integrity.AuditLog(log_path)
    for step in steps:
        log.append({"check": step.name, "passed": step.report.passed, "inputs": step.report.inputs})
    log.checkpoint(key)
    audit = log.verify(key.public_key)
    steps.append(DemoStep("verify the audit log and its signed checkpoint", audit, True))
    forged_path = os.path.join(out, "audit-forged.jsonl")
    with open(log_path, encoding="utf-8") as src, open(forged_path, "w", encoding="utf-8") as dst:
        dst.write(src.read().replace('"passed":false', '"passed":true', 1))
    forged = integrity.AuditLog(forged_path).verify(key.public_key)
    steps.append(DemoStep("verify a forged copy of the audit log", forged, False))
    _say(
        quiet,
        f"9. audit log: {audit.entries} entries + checkpoint -> "
        + ("ok" if audit.passed else "FAILED")
        + "; forged copy -> "
        + ("caught" if not forged.passed else "MISSED"),
    )

    demo = DemoReport(steps, {"dataset": fp, "model manifest": man.root}, seed=seed)
    demo.save(os.path.join(out, "report.json"))
    demo.save(os.path.join(out, "report.html"))
    _say(quiet, f"\n{demo.summary()}\nreport: {os.path.join(out, 'report.html')}")
    run_id = _log_to_mlflow(demo, out)
    if run_id is not None:
        _say(quiet, f"MLflow run {run_id} in sqlite:///{os.path.join(out, 'mlflow.db')}")
    return demo


def _log_to_mlflow(demo: DemoReport, out: str) -> Optional[str]:
    """When MLflow is installed: the demo and each step's report logged to one run of a
    local SQLite store under ``out`` (the caller's tracking URI is restored after)."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        return None
    import mlflow

    from ..mlflow import log_report

    previous = mlflow.get_tracking_uri()
    out = os.path.abspath(out)
    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(out, 'mlflow.db')}")
    try:
        client = mlflow.MlflowClient()
        name = "mlsentry-demo"
        experiment = client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(name, artifact_location=f"file://{out}/mlartifacts")
        )
        run = client.create_run(experiment_id, run_name="demo")
        try:
            for i, step in enumerate(demo.steps, 1):
                log_report(step.report, run.info.run_id, name=f"step{i}")
            log_report(demo, run.info.run_id)
        finally:
            client.set_terminated(run.info.run_id, "FINISHED")
        return str(run.info.run_id)
    finally:
        mlflow.set_tracking_uri(previous)


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
