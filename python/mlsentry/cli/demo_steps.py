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
    #: The verdict the step must give; ``None`` for a check without a bar (no verdict).
    expect_pass: Optional[bool]
    #: For a drift step: the columns that must be found drifted, and only those.
    expect_drifted: Optional[tuple[str, ...]] = None
    #: For a label-issue or poisoning step: the rows planted in the sample, of which at
    #: least ``min_recall`` must be flagged.
    planted: Optional[tuple[int, ...]] = None
    min_recall: float = 1.0

    @property
    def recall(self) -> Optional[float]:
        """The share of the planted rows the report flags (``None`` without planted rows)."""
        if not self.planted:
            return None
        flagged = getattr(self.report, "suspects", None)
        if flagged is None:
            flagged = np.flatnonzero(getattr(self.report, "mask", []))
        return float(np.isin(np.asarray(self.planted), flagged).mean())

    @property
    def as_expected(self) -> bool:
        if self.report.passed != self.expect_pass:
            return False
        if self.planted and (self.recall or 0.0) < self.min_recall:
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
                _EXPECTED[s["expected"]],
                None if "expected_drifted" not in s else tuple(s["expected_drifted"]),
                None if "planted" not in s else tuple(s["planted"]),
                s.get("min_recall", 1.0),
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
                    "expected": _expected_word(s.expect_pass),
                    **(
                        {}
                        if s.expect_drifted is None
                        else {"expected_drifted": sorted(s.expect_drifted)}
                    ),
                    **(
                        {}
                        if not s.planted
                        else {
                            "planted": list(s.planted),
                            "min_recall": s.min_recall,
                            "recall": s.recall,
                        }
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
            mark = "ok " if s.as_expected else "BAD"
            found = "" if s.recall is None else f", {s.recall:.0%} of the planted rows flagged"
            lines.append(f"  [{mark}] {s.name}: {_got_word(s.report.passed)}{found}")
        return "\n".join(lines)

    def _html_body(self) -> str:
        rows = [
            [
                s.name,
                _expected_word(s.expect_pass)
                + ("" if not s.planted else f"; >= {s.min_recall:.0%} of planted rows flagged"),
                _got_word(s.report.passed)
                + ("" if s.recall is None else f"; {s.recall:.0%} flagged"),
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


_EXPECTED = {"pass": True, "fail": False, "no verdict": None}


def _expected_word(expect: Optional[bool]) -> str:
    return {True: "pass", False: "fail"}.get(expect, "no verdict")  # type: ignore[arg-type]


def _got_word(passed: Optional[bool]) -> str:
    return {True: "passed", False: "failed"}.get(passed, "no verdict")  # type: ignore[arg-type]


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


def _loan_batch(rng: np.random.Generator, n: int, first_id: int) -> dict[str, np.ndarray]:
    """Loan applications as a dict of columns (the demo needs numpy only)."""
    return {
        "application_id": np.arange(first_id, first_id + n),
        "age": rng.integers(18, 80, n),
        "income": rng.lognormal(10.5, 0.4, n).round(2),
        "region": rng.choice(np.array(["north", "south", "east", "west"], dtype="<U12"), n),
        "repaid": rng.integers(0, 2, n),
    }


def _labelled_clusters(
    rng: np.random.Generator, n: int, k: int, d: int, flip: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given labels with ``flip`` of them changed on purpose, the probabilities a model
    gives each row out of sample (here the exact posterior of the Gaussian clusters that
    generated the rows: no model has seen the labels), and the flipped rows."""
    centres = rng.normal(0, 2.0, size=(k, d))
    truth = rng.integers(0, k, n)
    x = centres[truth] + rng.normal(size=(n, d))
    logits = x @ centres.T - 0.5 * (centres**2).sum(axis=1)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    given = truth.copy()
    flipped = np.sort(rng.choice(n, size=flip, replace=False))
    given[flipped] = (given[flipped] + rng.integers(1, k, flip)) % k
    return given, probs, flipped


def _backdoored_activations(
    rng: np.random.Generator, per_class: int, k: int, d: int, share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A layer's activations for ``k`` classes, with ``share`` of class 0 carrying a
    backdoor trigger (one direction added to their activations), and those rows."""
    labels = np.repeat(np.arange(k), per_class)
    acts = rng.normal(size=(labels.size, d)) + 3.0 * rng.normal(size=(k, d))[labels]
    poisoned = np.sort(rng.choice(per_class, size=int(share * per_class), replace=False))
    trigger = rng.normal(size=d)
    acts[poisoned] += 4.0 * trigger / np.linalg.norm(trigger) * np.sqrt(d) / 4
    return acts, labels, poisoned


def _data_steps(rng: np.random.Generator, quiet: bool) -> list[DemoStep]:
    """Before training: a batch against the schema of the training data, label flips and
    a backdoor planted in a training set, test rows copied from training."""
    from ..data import Schema, label_issues, leakage, poisoning, validate

    reference = _loan_batch(rng, 5_000, 0)
    schema = Schema.infer(reference)
    fresh = validate(_loan_batch(rng, 2_000, 5_000), schema)
    broken_cols = _loan_batch(rng, 2_000, 7_000)
    broken_cols["region"][:40] = "atlantis"
    broken_cols["income"][40:60] *= -1
    broken_cols["application_id"][60:70] = broken_cols["application_id"][:10]
    broken = validate(broken_cols, schema)
    steps = [
        DemoStep("data: a new batch of loan applications against the schema", fresh, True),
        DemoStep(
            "data: a batch with an unknown region, negative incomes, reused ids", broken, False
        ),
    ]
    kinds = sorted({a.kind for a in broken.anomalies})
    _say(
        quiet,
        f"9. data: schema of {len(schema)} columns; fresh batch -> "
        + ("valid" if fresh.passed else "INVALID")
        + f"; broken batch -> {', '.join(kinds)}",
    )

    given, probs, flipped = _labelled_clusters(rng, 3_000, 3, 6, 90)
    issues = label_issues(given, probs, max_share=0.01)
    steps.append(
        DemoStep(
            "data: 3% of the labels flipped (bar: 1%)",
            issues,
            False,
            planted=tuple(flipped.tolist()),
            min_recall=0.9,
        )
    )
    acts, classes, poisoned = _backdoored_activations(rng, 1_000, 4, 32, 0.05)
    suspects = poisoning(acts, classes, method="spectral", expected_fraction=0.05)
    steps.append(
        DemoStep(
            "data: a backdoor in 5% of one class (spectral signatures)",
            suspects,
            None,
            planted=tuple(poisoned.tolist()),
            min_recall=0.95,
        )
    )

    train = _loan_batch(rng, 5_000, 0)
    del train["application_id"]
    test = {
        c: v[:1_000].copy() for c, v in _loan_batch(rng, 1_000, 0).items() if c != "application_id"
    }
    copied = rng.choice(5_000, 25, replace=False)
    for c in test:
        test[c][:25] = train[c][copied]
    # Near duplicates within 1e-4 train standard deviations: at the default (0.01) some
    # independent rows of so coarse a table (few ages, regions, outcomes) come that close.
    leaks = leakage(train, test, near_threshold=1e-4, max_share=0.0)
    steps.append(DemoStep("data: 25 test rows copied from the training data", leaks, False))
    _say(
        quiet,
        f"   label issues: {issues.mask.sum()} rows flagged, "
        f"{np.isin(flipped, np.flatnonzero(issues.mask)).mean():.0%} of the 90 flipped; "
        f"backdoor: {np.isin(poisoned, suspects.suspects).mean():.0%} of the poisoned rows among "
        f"{len(suspects.suspects)} suspects; leakage: {leaks.n_exact} test rows in train",
    )
    return steps


def _fairness_step(rng: np.random.Generator, quiet: bool) -> DemoStep:
    """A credit model that approves one group at 70% of the other's rate."""
    from ..fairness import evaluate

    n = 4_000
    group = rng.choice(np.array(["group a", "group b"]), size=n)
    repaid = rng.integers(0, 2, n)
    approve = np.where(group == "group a", 0.55, 0.38) + 0.25 * (repaid - 0.5)
    approved = (rng.random(n) < approve).astype(int)
    report = evaluate(repaid, approved, {"group": group}, n_boot=500, seed=0)
    ratio = report.disparities["demographic_parity_ratio"]
    _say(
        quiet,
        f"   fairness: approval-rate ratio {ratio.value:.2f} "
        f"[{ratio.interval[0]:.2f}, {ratio.interval[1]:.2f}] -> "
        + ("four-fifths rule met" if report.passed else "below four fifths"),
    )
    return DemoStep("fairness: approval rates of two groups (four-fifths rule)", report, False)


def _privacy_steps(rng: np.random.Generator, quiet: bool) -> list[DemoStep]:
    """Membership inference: a model that memorises its training rows leaks them; a smooth
    model of the same rule does not (bar: TPR 10% at FPR 1%)."""
    from ..privacy import membership_inference

    X = rng.normal(size=(800, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=800) > 0).astype(np.int64)
    members, y_members = X[:400], y[:400]

    def memorising(x: np.ndarray) -> np.ndarray:
        # Sure of the label of the nearest training row, the surer the nearer.
        d = ((x[:, None, :] - members[None, :, :]) ** 2).sum(axis=2)
        near = d.argmin(axis=1)
        sure = 0.5 + 0.49 * np.exp(-4.0 * d.min(axis=1))
        p1 = np.where(y_members[near] == 1, sure, 1.0 - sure)
        return np.stack([1.0 - p1, p1], axis=1)

    def smooth(x: np.ndarray) -> np.ndarray:
        p1 = 1.0 / (1.0 + np.exp(-(x[:, 0] - x[:, 1])))
        return np.stack([1.0 - p1, p1], axis=1)

    attacks = ("loss", "confidence", "entropy")
    args = (members, y_members, X[400:], y[400:])
    leaky = membership_inference(memorising, *args, attacks=attacks, threshold=0.1)
    safe = membership_inference(smooth, *args, attacks=attacks, threshold=0.1)
    _say(
        quiet,
        f"   privacy: memorising model -> TPR {leaky.worst.tpr:.0%} at 1% FPR "
        f"({leaky.worst.name}); smooth model -> {safe.worst.tpr:.0%}",
    )
    return [
        DemoStep(
            "privacy: a model that memorises its training rows (bar: TPR 10% at 1% FPR)",
            leaky,
            False,
        ),
        DemoStep("privacy: a smooth model of the same rule", safe, True),
    ]


def _monitor_step(rng: np.random.Generator, quiet: bool) -> DemoStep:
    """Production: 100 requests whose second half comes from a moved population raise
    one drift alert (window 50: after the alarm the detector restarts and sees fewer than
    50 rows)."""
    from ..monitor import Monitor

    mon = Monitor(
        rng.normal(size=(3_000, 4)), ert=10_000, window=50, ood=None, feature_window=200, seed=0
    )
    stream = np.vstack([rng.normal(size=(50, 4)), rng.normal(2.0, 1.0, size=(50, 4))])
    alerts = mon.update(stream)
    _say(
        quiet,
        f"   monitor: {len(alerts)} alert(s) on a stream that moves at row 51"
        + (f": {alerts[0].kind} at row {alerts[0].index}" if alerts else ""),
    )
    return DemoStep("monitor: a request stream that drifts half-way", mon.report(), False)


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

    # Data checks before training: schema, label flips, a backdoor, leaked test rows.
    steps += _data_steps(np.random.default_rng(seed + 3), quiet)
    steps.append(_fairness_step(np.random.default_rng(seed + 4), quiet))
    steps += _privacy_steps(np.random.default_rng(seed + 5), quiet)
    steps.append(_monitor_step(np.random.default_rng(seed + 4), quiet))

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
        f"10. audit log: {audit.entries} entries + checkpoint -> "
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
