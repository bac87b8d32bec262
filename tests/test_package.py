"""The package's shape: every public name of DESIGN.md §3 (wave 1) where users import it, no
import circles, each layer importing only what it may, clean tab completion, and optional
libraries named with the extra that installs them."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import mlsentry as ms

PACKAGE_DIR = Path(ms.__file__).resolve().parent

# -- public names -----------------------------------------------------------------------
# DESIGN.md §3: wave 1, plus the names each capability exported before the package layout,
# and the wave-2 capabilities as they land.
PUBLIC = {
    "mlsentry": [
        "fingerprint", "integrity", "data", "drift", "robustness", "scan", "errors", "Report",
        "MlsentryError", "IntegrityError", "SignatureError", "ScanError", "ModelError",
        "InvalidInputError", "InvalidTypeError", "num_threads", "__version__", "privacy",
        "monitor", "fairness", "explain", "evidence",
    ],
    "mlsentry.integrity": [
        "hash_file", "manifest", "Manifest", "FileEntry", "verify", "VerifyReport",
        "ModifiedFile", "SigningKey", "PublicKey", "Envelope", "sign", "verify_envelope",
        "sign_model", "verify_model", "AuditLog", "AuditVerifyReport", "fingerprint",
        "DEFAULT_SHARD_SIZE",
    ],
    "mlsentry.drift": [
        "ks", "anderson", "cramer_von_mises", "mann_whitney", "wasserstein", "energy", "psi",
        "jensen_shannon", "hellinger", "kl", "total_variation", "chi2", "g_test", "fisher",
        "compare", "TestResult", "DriftReport", "ColumnDrift", "DEFAULT_THRESHOLDS",
        "PSI_BANDS", "Profile", "mmd", "classifier_test",
    ],
    "mlsentry.monitor": ["OODDetector", "Monitor", "MonitorReport", "Alert", "serve"],
    "mlsentry.spark": ["profile", "compare", "fingerprint"],
    "mlsentry.robustness": [
        "evaluate", "square", "hop_skip_jump", "pgd", "noise", "Constraints", "AttackResult",
        "RobustnessReport", "ATTACKS",
    ],
    "mlsentry.scan": ["scan", "ScanReport", "Finding", "FileSummary"],
    "mlsentry.data": [
        "Schema", "ColumnSchema", "SchemaError", "validate", "ValidationReport", "Anomaly",
        "label_issues", "LabelIssuesReport", "cross_val_pred_probs", "poisoning",
        "PoisoningReport", "leakage", "LeakageReport", "LeakagePair",
    ],
    "mlsentry.evidence": [
        "build", "verify", "Bundle", "EvidenceReport", "verify_environment",
        "EnvironmentReport", "environment", "to_sarif", "write_sarif", "load_controls",
    ],
    "mlsentry.privacy": [
        "membership_inference", "membership_report", "lira_scores", "rmia_scores", "roc",
        "MembershipROC", "MembershipAttack", "PrivacyReport", "extraction", "ExtractionReport",
        "epsilon_lower_bound", "clopper_pearson", "ATTACKS",
    ],
    "mlsentry.errors": [
        "MlsentryError", "IntegrityError", "SignatureError", "ScanError", "ModelError",
        "ManifestError", "KeyFormatError", "FileChangedError", "PathNotFoundError",
        "MissingDependencyError",
    ],
    "mlsentry.report": ["Report", "html_table"],
    "mlsentry.testing": [
        "assert_no_drift", "assert_robust", "assert_integrity", "assert_safe_model",
        "assert_valid", "assert_no_label_issues", "assert_no_leakage", "assert_evidence",
        "assert_fair", "assert_private",
    ],
    "mlsentry.mlflow": [
        "log_report", "log_dataset", "log_model_manifest", "load_verified", "report_metrics",
        "log_evidence",
        "MlsentryEvaluator", "NoActiveRunError", "MANIFEST_FILE", "SIGNATURE_FILE",
    ],
    "mlsentry.kfp": [
        "scan_model", "verify_integrity", "drift_gate", "robustness_gate", "make_components",
        "Components", "GateFailedError", "DEFAULT_BASE_IMAGE", "MLSENTRY_PACKAGE",
        "MODEL_PACKAGES", "privacy_gate",
    ],
    "mlsentry.cli": ["main", "build_parser"],
    "mlsentry.fairness": ["evaluate", "FairnessReport", "Disparity", "GroupRow", "Grouping"],
    "mlsentry.explain": [
        "permutation_importance", "ImportanceReport", "kernel_shap", "tree_shap", "Explanation",
        "prediction_shift", "ShiftExplanation",
    ],
}  # fmt: skip
METHODS = {
    ("mlsentry.integrity", "Manifest"): ["root", "files", "to_json", "from_json", "save", "load"],
    ("mlsentry.integrity", "SigningKey"): ["generate", "save", "load", "public_key"],
    ("mlsentry.integrity", "AuditLog"): ["append", "checkpoint", "verify"],
    ("mlsentry.data", "Schema"): ["infer", "save", "load"],
    ("mlsentry.evidence", "Bundle"): ["save", "reports"],
    ("mlsentry.fairness", "FairnessReport"): [
        "by_group", "disparities", "four_fifths", "passed", "to_pandas", "metrics",
    ],
    ("mlsentry.explain", "ImportanceReport"): [
        "importances_mean", "importances_std", "ranked", "to_pandas", "metrics",
    ],
    ("mlsentry.explain", "Explanation"): ["to_pandas", "importance", "to_dict", "summary"],
    ("mlsentry.explain", "ShiftExplanation"): ["to_pandas", "shift", "to_dict", "summary"],
    ("mlsentry.privacy", "MembershipROC"): ["tpr_at", "tpr_interval", "fpr", "tpr", "advantage"],
    ("mlsentry.drift", "Profile"): ["fit", "update", "merge", "save", "load"],
    ("mlsentry.monitor", "OODDetector"): ["fit", "score", "pvalues"],
    ("mlsentry.monitor", "Monitor"): ["update", "report", "save", "load", "register_metrics"],
    ("mlsentry.report", "Report"): [
        "passed", "summary", "to_dict", "to_json", "to_html", "save", "_repr_html_",
        "metrics", "tags",
    ],
}  # fmt: skip
COMMANDS = [
    "demo", "fingerprint", "manifest", "verify", "keygen", "sign", "verify-signature", "log",
    "drift", "scan", "robustness", "validate", "schema", "label-issues", "poisoning", "leakage",
    "check", "evidence", "verify-env",
    "fairness",
    "explain",
    "privacy",
    "profile",
    "monitor",
]  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_import_from_their_documented_path(module):
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lacks {missing}"
    exported = getattr(mod, "__all__", None)
    if exported is not None and module != "mlsentry.errors":
        assert set(PUBLIC[module]) - {"__version__"} <= set(exported) | {"errors"}
    for name in exported or ():
        getattr(mod, name)  # every exported name resolves (lazy ones included)


@pytest.mark.parametrize(("where", "methods"), sorted(METHODS.items()))
def test_public_classes_keep_their_members(where, methods):
    cls = getattr(importlib.import_module(where[0]), where[1])
    assert [m for m in methods if not hasattr(cls, m)] == []


def test_every_command_of_the_design_is_on_the_command_line():
    from mlsentry.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(COMMANDS) <= set(sub.choices)


def test_entry_points_resolve():
    dist = metadata.distribution("mlsentry")
    points = {(ep.group, ep.name): ep for ep in dist.entry_points}
    assert (
        points[("console_scripts", "mlsentry")].load()
        is importlib.import_module("mlsentry.cli").main
    )
    assert points[("pytest11", "mlsentry")].load() is importlib.import_module(
        "mlsentry.pytest_plugin"
    )
    evaluator = points[("mlflow.model_evaluator", "mlsentry")].load()
    assert evaluator is importlib.import_module("mlsentry.mlflow").MlsentryEvaluator


@pytest.mark.parametrize(
    "module",
    [
        "mlsentry.data",
        "mlsentry.integrity",
        "mlsentry.drift",
        "mlsentry.robustness",
        "mlsentry.scan",
    ],
)
def test_tab_completion_shows_the_public_api_only(module):
    mod = importlib.import_module(module)
    names = dir(mod)
    assert names == sorted(mod.__all__)
    assert not {"np", "os", "json", "dataclasses", "annotations"} & set(names)


# -- the import graph -------------------------------------------------------------------
SHARED = {
    "mlsentry.errors", "mlsentry.report", "mlsentry._core", "mlsentry._args",
    "mlsentry._progress", "mlsentry._version", "mlsentry._paths", "mlsentry._tables",
    "mlsentry._matrix", "mlsentry._background",
}  # fmt: skip
CAPABILITIES = {
    "data", "integrity", "drift", "robustness", "scan", "privacy", "monitor", "fairness",
    "explain", "evidence",
}  # fmt: skip
INTEGRATIONS = {"mlflow", "kfp", "spark", "testing", "pytest_plugin"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its source (functions and
    ``TYPE_CHECKING`` blocks included: a circle there is still a circle in the design)."""
    modules = _modules()
    known = set(modules) | {"mlsentry._core"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                # `from pkg import sub` imports the submodule; `from mod import name` the module
                targets = [
                    f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names
                ]
            else:
                continue
            edges |= {t for t in targets if t in known and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle as a list of modules (first == last), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    # module level, relative to the parent package
    assert "mlsentry.integrity" in graph["mlsentry.drift.comparison"]
    # inside a function (the CLI loads capabilities on use)
    assert "mlsentry.scan" in graph["mlsentry.cli.scan"]
    # `from . import name` of a submodule
    assert "mlsentry.integrity.model_signing" in graph["mlsentry.integrity"]
    # TYPE_CHECKING blocks
    assert "mlsentry.integrity.fingerprints" in graph["mlsentry.integrity"]


def test_no_import_circles():
    cycle = find_cycle(import_graph())
    assert not cycle, "import circle: " + " -> ".join(cycle)


def _layer(module: str) -> tuple[str, str]:
    """(layer, group): ``("capability", "drift")``, ``("shared", "")`` and so on."""
    if module in SHARED:
        return "shared", ""
    if module in ("mlsentry", "mlsentry.__main__"):
        return "root", ""
    top = module.split(".")[1]
    if top in CAPABILITIES:
        return "capability", top
    if top in INTEGRATIONS:
        return "integration", top
    if top == "cli":
        return "cli", top
    raise AssertionError(f"{module} belongs to no layer: add it to one in this test")


def test_each_layer_imports_only_what_it_may():
    problems = []
    for module, targets in import_graph().items():
        layer, group = _layer(module)
        for target in sorted(targets):
            t_layer, t_group = _layer(target)
            if t_layer == "shared" or (t_group == group and group):
                continue  # the shared layer, and a module's own subpackage
            public_api = target == f"mlsentry.{t_group}"  # a package, not its modules
            allowed = {
                "shared": False,
                "capability": t_layer == "capability" and public_api,
                "integration": t_layer == "capability" and public_api,
                "cli": t_layer in ("capability", "integration") and public_api,
                "root": True,
            }[layer]
            if not allowed:
                problems.append(f"{module} ({layer}) imports {target} ({t_layer})")
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_layer_and_imports():
    for module in _modules():
        _layer(module)
        if module != "mlsentry.__main__":
            importlib.import_module(module)


# -- optional libraries -----------------------------------------------------------------
def _without(module: str, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter where ``import <module>`` fails."""
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("library", "extra", "code"),
    [
        ("mlflow", "mlflow", "import mlsentry.mlflow"),
        ("kfp", "kfp", "from mlsentry.kfp import drift_gate"),
        (
            "pandas",
            "pandas",
            "import numpy as np, mlsentry as ms\n"
            "ms.drift.compare({'a': np.arange(50.0)}, {'a': np.arange(50.0)}).to_pandas()",
        ),
    ],
)
def test_a_missing_library_is_named_with_its_extra(library, extra, code):
    check = (
        "\nfrom mlsentry.errors import MissingDependencyError\n"
        f"try:\n    {code.replace(chr(10), chr(10) + '    ')}\n"
        "except MissingDependencyError as e:\n"
        "    assert isinstance(e, ImportError)\n"
        "    print('MESSAGE', e)\n"
        "else:\n    print('NO ERROR')\n"
    )
    out = _without(library, check)
    assert out.returncode == 0, out.stderr
    assert f"pip install 'mlsentry[{extra}]'" in out.stdout, out.stdout


def test_the_container_steps_of_kfp_import_without_the_kfp_sdk():
    out = _without("kfp", "import mlsentry.kfp.steps, mlsentry.kfp; print('ok')")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
