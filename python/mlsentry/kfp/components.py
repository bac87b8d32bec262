"""The four components and :func:`make_components` (see :mod:`mlsentry.kfp`)."""

import os
from collections.abc import Sequence
from typing import Any, NamedTuple, Optional

from .._version import __version__
from ..errors import InvalidInputError, InvalidTypeError, require

require("kfp", "kfp", "mlsentry.kfp")

# After the check of the extra, so that a missing kfp is named with the extra to install.
from kfp import dsl  # noqa: E402
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Model, Output  # noqa: E402
from kfp.dsl.python_component import PythonComponent  # noqa: E402

#: The image the components run in when ``MLSENTRY_KFP_IMAGE`` is not set (a Python with
#: pip, and no mlsentry: each step pip-installs :data:`MLSENTRY_PACKAGE` first).
DEFAULT_BASE_IMAGE = "python:3.11-slim"
#: What pip installs in that image: this version of mlsentry, with pandas and pyarrow for
#: CSV and Parquet data. It works only where this version is on the package index the
#: cluster's pods reach; otherwise build an image from the wheel (the ``Dockerfile``).
MLSENTRY_PACKAGE = f"mlsentry[pandas]=={__version__}"
#: The environment variable naming an image with mlsentry installed (built from the
#: repository's ``Dockerfile``): when set, it is the default image and nothing is
#: installed at run time.
IMAGE_ENV = "MLSENTRY_KFP_IMAGE"
#: Also installed for the robustness gate, which unpickles a scikit-learn model.
MODEL_PACKAGES = ("scikit-learn", "joblib")


# -- the components --------------------------------------------------------------------
# kfp ships each function's source text into the container, alone: everything it uses is
# imported inside it, and the work is done by mlsentry.kfp.steps (same mlsentry version,
# pinned by MLSENTRY_PACKAGE), which does not need the kfp SDK beyond its runtime part.
# Only names of kfp.dsl and typing may appear in the signatures.


def mlsentry_scan_model(
    model: Input[Artifact],
    metrics: Output[Metrics],
    html: Output[HTML],
    report: Output[Artifact],
    policy: Optional[dict] = None,
    fail: bool = True,
) -> NamedTuple("GateOutputs", [("passed", bool)]):
    """Scans a model file or folder without loading it; fails on anything not safe.

    Parameters
    ----------
    model : Artifact
        The model: a file or a folder (any artifact type, Model included).
    metrics : Metrics
        mlsentry.scan.passed, .safe, .n_dangerous, .n_unknown, .n_findings and
        .files_scanned.
    html : HTML
        The scan report.
    report : Artifact
        The scan report as JSON.
    policy : dict
        Extends the scan policy, as ``mlsentry.scan.scan(policy=...)``: for instance
        ``{"allow": {"globals": ["mypkg.models.*"]}}``.
    fail : bool
        Raise (fail the task) when the model is not safe; else return ``passed``.
    """
    from mlsentry.kfp.steps import scan_step

    return scan_step(model.path, metrics, html, report, policy=policy, fail=fail)


def mlsentry_verify_integrity(
    model: Input[Artifact],
    manifest: Input[Artifact],
    metrics: Output[Metrics],
    html: Output[HTML],
    report: Output[Artifact],
    public_key: str = "",
    fail: bool = True,
) -> NamedTuple("GateOutputs", [("passed", bool)]):
    """Re-hashes a model file or folder and compares it with its manifest.

    Parameters
    ----------
    model : Artifact
        The model (or dataset): a folder, or a single file whose name the manifest lists.
    manifest : Artifact
        A manifest (``mlsentry.integrity.manifest(...).save(...)``), a DSSE envelope
        signing one (``mlsentry.integrity.sign``), or an OpenSSF Model Signing bundle.
    metrics : Metrics
        mlsentry.verify.passed, .ok, .n_added, .n_removed, .n_modified and
        .files_checked.
    html : HTML
        The verification report.
    report : Artifact
        The verification report as JSON.
    public_key : str
        The signer's public key (PEM text). Required for a signed manifest; given with
        an unsigned one, the step fails (a signature was expected and there is none).
    fail : bool
        Raise (fail the task) when anything changed; else return ``passed``.
    """
    from mlsentry.kfp.steps import verify_step

    return verify_step(
        model.path, manifest.path, metrics, html, report, public_key=public_key, fail=fail
    )


def mlsentry_drift_gate(
    reference: Input[Dataset],
    current: Input[Dataset],
    metrics: Output[Metrics],
    html: Output[HTML],
    report: Output[Artifact],
    alpha: float = 0.05,
    correction: str = "bh",
    tests: str = "auto",
    drift_share: Optional[float] = None,
    columns: Optional[list[str]] = None,
    categorical: Optional[list[str]] = None,
    data_format: str = "auto",
    fail: bool = True,
) -> NamedTuple("GateOutputs", [("passed", bool)]):
    """Compares every column of two tables; fails when the data drifted.

    Parameters
    ----------
    reference : Dataset
        The data the model was validated on: CSV or Parquet (a file or a folder), or
        its profile file (``mlsentry profile``, ``mlsentry.drift.Profile.save``).
    current : Dataset
        The data to check, in the same form.
    metrics : Metrics
        mlsentry.drift.passed, .drifted, .share_drifted, .n_drifted, .n_tested, ... and
        per column (the 10 most severe) .column.NAME.drift, .statistic, .effect, ...
    html : HTML
        The drift report, with a plot per column.
    report : Artifact
        The drift report as JSON.
    alpha : float
        Level of the tests, on p-values adjusted for testing many columns.
    correction : str
        Multiple-testing correction: bh, by, holm, bonferroni or none.
    tests : str
        auto, or one test for every column it applies to (ks, psi, wasserstein, ...).
    drift_share : float
        Fail only when this share of columns drifted (default: any column).
    columns : list
        Compare only these columns.
    categorical : list
        Columns to compare as categories whatever their type.
    data_format : str
        auto (Parquet by its magic bytes or a folder, else CSV), csv or parquet.
    fail : bool
        Raise (fail the task) when the report fails (drift, a column on one side only,
        a type change); else return ``passed``.
    """
    from mlsentry.kfp.steps import drift_step

    return drift_step(
        reference.path,
        current.path,
        metrics,
        html,
        report,
        alpha=alpha,
        correction=correction,
        tests=tests,
        drift_share=drift_share,
        columns=columns,
        categorical=categorical,
        data_format=data_format,
        fail=fail,
    )


def mlsentry_robustness_gate(
    model: Input[Model],
    data: Input[Dataset],
    metrics: Output[Metrics],
    html: Output[HTML],
    report: Output[Artifact],
    label_column: str = "label",
    threshold: float = 0.5,
    eps: Optional[list[float]] = None,
    attacks: Optional[list[str]] = None,
    norm: str = "linf",
    max_queries: int = 1000,
    constraints: Optional[dict] = None,
    seed: int = 0,
    confidence: float = 0.95,
    model_file: str = "",
    policy: Optional[dict] = None,
    data_format: str = "auto",
    fail: bool = True,
) -> NamedTuple("GateOutputs", [("passed", bool)]):
    """Attacks a pickled or joblib classifier; fails under a robust-accuracy threshold.

    The model artifact is scanned first and never loaded unless the scan calls it safe.

    Parameters
    ----------
    model : Model
        A pickle or joblib file of a classifier with predict_proba or predict
        (scikit-learn), or a folder holding one.
    data : Dataset
        Labelled samples, CSV or Parquet: the features and a label column.
    metrics : Metrics
        mlsentry.robustness.passed, .clean_accuracy, .robust_accuracy.eps_E and its
        lower bound .robust_accuracy_lower.eps_E per budget, ...
    html : HTML
        The robustness report (or the scan report when the model was refused).
    report : Artifact
        The same report as JSON.
    label_column : str
        The column of labels; the other columns are the features (or, when the model
        has feature_names_in_, the columns it was fitted on, in that order).
    threshold : float
        The lowest acceptable robust accuracy, on the lower bound of its Wilson
        interval, at every budget.
    eps : list
        Budgets (default [0.1]), in the unit of constraints["scale"].
    attacks : list
        Some of noise, square, hsj, pgd (default noise, square, hsj).
    norm : str
        linf or l2.
    max_queries : int
        Rows sent to the model per sample and attack, at most.
    constraints : dict
        Arguments of mlsentry.robustness.Constraints (lower, upper, mutable, integer,
        one_hot_groups, scale), per feature in feature order; default {"scale": "std"}:
        eps in standard deviations of each feature.
    seed : int
        Same seed, same report.
    confidence : float
        Of the Wilson intervals.
    model_file : str
        The file to load inside a model folder (default: its one .joblib, .pkl or
        .pickle file).
    policy : dict
        Extends the scan policy (your own model classes).
    data_format : str
        auto, csv or parquet.
    fail : bool
        Raise (fail the task) when the threshold is not met or the model is refused;
        else return ``passed``.
    """
    from mlsentry.kfp.steps import robustness_step

    return robustness_step(
        model.path,
        data.path,
        metrics,
        html,
        report,
        label_column=label_column,
        threshold=threshold,
        eps=eps,
        attacks=attacks,
        norm=norm,
        max_queries=max_queries,
        constraints=constraints,
        seed=seed,
        confidence=confidence,
        model_file=model_file,
        policy=policy,
        data_format=data_format,
        fail=fail,
    )


def mlsentry_privacy_gate(
    model: Input[Model],
    members: Input[Dataset],
    nonmembers: Input[Dataset],
    metrics: Output[Metrics],
    html: Output[HTML],
    report: Output[Artifact],
    label_column: str = "label",
    threshold: float = 0.1,
    at_fpr: float = 0.01,
    attacks: Optional[list[str]] = None,
    seed: int = 0,
    confidence: float = 0.95,
    model_file: str = "",
    policy: Optional[dict] = None,
    data_format: str = "auto",
    fail: bool = True,
) -> NamedTuple("GateOutputs", [("passed", bool)]):
    """Membership inference on a pickled or joblib classifier; fails when an attack tells
    its training records from others too well.

    The model artifact is scanned first and never loaded unless the scan calls it safe.

    Parameters
    ----------
    model : Model
        A pickle or joblib file of a classifier with predict_proba (scikit-learn), or a
        folder holding one.
    members : Dataset
        Records the model trained on (CSV or Parquet, features and a label column).
    nonmembers : Dataset
        Records of the same distribution it did not train on.
    metrics : Metrics
        mlsentry.privacy.passed and per attack .ATTACK.tpr (at at_fpr), .tpr_low,
        .tpr_high, .auc, .advantage, .epsilon; .max_tpr, .max_auc.
    html : HTML
        The privacy report with its ROC curves (or the scan report when refused).
    report : Artifact
        The same report as JSON.
    label_column : str
        The column of labels; the other columns are the features (or the columns the
        model was fitted on, when it has feature_names_in_).
    threshold : float
        The highest acceptable TPR at at_fpr, for every attack.
    at_fpr : float
        The false-positive rate the TPR is read at (default 1%).
    attacks : list
        Some of loss, confidence, entropy, modified_entropy, label_only (default the
        first four).
    seed : int
        Same seed, same report.
    confidence : float
        Of the Clopper-Pearson intervals and the epsilon bounds.
    model_file : str
        The file to load inside a model folder.
    policy : dict
        Extends the scan policy.
    data_format : str
        auto, csv or parquet.
    fail : bool
        Raise (fail the task) when the threshold is exceeded or the model is refused;
        else return ``passed``.
    """
    from mlsentry.kfp.steps import privacy_step

    return privacy_step(
        model.path,
        members.path,
        nonmembers.path,
        metrics,
        html,
        report,
        label_column=label_column,
        threshold=threshold,
        at_fpr=at_fpr,
        attacks=attacks,
        seed=seed,
        confidence=confidence,
        model_file=model_file,
        policy=policy,
        data_format=data_format,
        fail=fail,
    )


class Components(NamedTuple):
    """The four components, built by :func:`make_components`."""

    scan_model: PythonComponent
    verify_integrity: PythonComponent
    drift_gate: PythonComponent
    robustness_gate: PythonComponent
    privacy_gate: PythonComponent


def make_components(
    *,
    base_image: Optional[str] = None,
    packages_to_install: Optional[Sequence[str]] = None,
    model_packages: Optional[Sequence[str]] = None,
    install_kfp_package: Optional[bool] = None,
    pip_index_urls: Optional[Sequence[str]] = None,
) -> Components:
    """Builds the four components for a given image and packages.

    Two ways to get mlsentry into the steps' container:

    * **An image with mlsentry installed** (what works on any cluster). Build it from the
      repository's ``Dockerfile`` after ``make wheels`` (mlsentry from the wheel, with
      pandas, pyarrow, scikit-learn, joblib and kfp), push it to a registry the cluster
      pulls from, and either set ``MLSENTRY_KFP_IMAGE`` to its name before importing
      :mod:`mlsentry.kfp` or pass ``base_image=`` with ``packages_to_install=[]``.
      Nothing is installed at run time.
    * **pip at run time** (the default when ``MLSENTRY_KFP_IMAGE`` is not set):
      :data:`DEFAULT_BASE_IMAGE` installs :data:`MLSENTRY_PACKAGE` before every step. This
      works only where that exact version is on the package index the pods reach (PyPI,
      or a mirror given with ``pip_index_urls=``); a wheel of your own can be given as a
      URL, ``packages_to_install=["mlsentry[pandas] @ https://.../mlsentry-...whl"]``.

    Parameters
    ----------
    base_image : str, optional
        The container image of every step; default ``$MLSENTRY_KFP_IMAGE`` when set,
        else :data:`DEFAULT_BASE_IMAGE`.
    packages_to_install : list of str, optional
        What pip installs before each step; default ``[]`` for the image named by
        ``MLSENTRY_KFP_IMAGE``, else ``[MLSENTRY_PACKAGE]``. ``[]`` says the image has
        mlsentry (and pandas, pyarrow) installed.
    model_packages : list of str, optional
        Also installed for the robustness gate: what unpickling the model needs. Default
        scikit-learn and joblib, or nothing when ``packages_to_install`` is empty (an
        image with mlsentry brings them, as the Dockerfile's does); pin the versions the
        model was saved with.
    install_kfp_package : bool, optional
        Let kfp install itself in the image; default ``False`` when
        ``packages_to_install`` is empty (the image has kfp), else ``True``.
    pip_index_urls : list of str, optional
        Package indexes for pip.

    Returns
    -------
    Components
        ``scan_model``, ``verify_integrity``, ``drift_gate``, ``robustness_gate``.

    Examples
    --------
    >>> from mlsentry.kfp import make_components
    >>> c = make_components(packages_to_install=["mlsentry[pandas]==0.1.0"], model_packages=[])
    >>> [comp.name for comp in c]  # doctest: +NORMALIZE_WHITESPACE
    ['mlsentry-scan-model', 'mlsentry-verify-integrity', 'mlsentry-drift-gate',
     'mlsentry-robustness-gate', 'mlsentry-privacy-gate']
    >>> command = c.drift_gate.component_spec.implementation.container.command
    >>> "'mlsentry[pandas]==0.1.0'" in " ".join(command)
    True
    >>> mine = make_components(base_image="registry.example/mlsentry:0.1.0",
    ...                        packages_to_install=[])
    >>> "pip" in " ".join(mine.robustness_gate.component_spec.implementation.container.command)
    False
    """
    env_image = os.environ.get(IMAGE_ENV, "").strip()
    if base_image is None:
        base_image = env_image or DEFAULT_BASE_IMAGE
        if env_image and packages_to_install is None:
            packages_to_install = []
    if packages_to_install is None:
        packages_to_install = [MLSENTRY_PACKAGE]
    for name, value in (
        ("packages_to_install", packages_to_install),
        ("model_packages", model_packages),
    ):
        if value is None:
            continue
        if isinstance(value, str) or not all(isinstance(p, str) for p in value):
            raise InvalidTypeError(f"{name}: expected a list of pip requirement strings")
    if not isinstance(base_image, str) or not base_image:
        raise InvalidInputError("base_image: expected an image name")
    packages = list(packages_to_install)
    if model_packages is None:
        model_packages = MODEL_PACKAGES if packages else ()
    if install_kfp_package is None:
        install_kfp_package = bool(packages)
    indexes = None if pip_index_urls is None else list(pip_index_urls)

    def build(func: Any, extra: Sequence[str] = ()) -> PythonComponent:
        return dsl.component(
            func,
            base_image=base_image,
            packages_to_install=packages + list(extra),
            install_kfp_package=install_kfp_package,
            pip_index_urls=indexes,
        )

    return Components(
        scan_model=build(mlsentry_scan_model),
        verify_integrity=build(mlsentry_verify_integrity),
        drift_gate=build(mlsentry_drift_gate),
        robustness_gate=build(mlsentry_robustness_gate, model_packages),
        privacy_gate=build(mlsentry_privacy_gate, model_packages),
    )


scan_model, verify_integrity, drift_gate, robustness_gate, privacy_gate = make_components()
