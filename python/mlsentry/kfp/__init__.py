"""Kubeflow Pipelines components: the checks of mlsentry as pipeline steps.

Four ready components (kfp 2 lightweight Python components), each a gate: the check runs,
its headline numbers go to an ``Output[Metrics]`` (under the names MLflow runs get,
``mlsentry.drift.share_drifted`` and so on), its page to an ``Output[HTML]`` and its full
JSON report to an ``Output[Artifact]``; when the check fails the component raises
:class:`GateFailedError`, so the task fails and the pipeline stops there.

==================== ================================================ ======================
component            inputs                                           fails when
==================== ================================================ ======================
``scan_model``       ``model`` (any artifact: a file or a folder)     anything is not safe
``verify_integrity`` ``model``, ``manifest`` (a manifest, a DSSE      a file was added,
                     envelope or an OpenSSF Model Signing bundle)     removed or modified
``drift_gate``       ``reference``, ``current`` (CSV or Parquet)      the data drifted
``robustness_gate``  ``model`` (a pickled or joblib model), ``data``  robust accuracy is
                     (CSV or Parquet with a label column)             under ``threshold``
``privacy_gate``     ``model``, ``members``, ``nonmembers`` (CSV or   an attack's TPR at
                     Parquet with a label column)                     ``at_fpr`` > ``threshold``
==================== ================================================ ======================

The robustness gate scans the model artifact before it loads it, and refuses to load
anything the scan does not call safe. With ``fail=False`` a gate never raises for a failed
check: it writes its outputs and returns ``passed`` for a ``dsl.If`` (a failed task may
lose its outputs on a cluster, so this is how a failing report stays visible).

Each step runs in a container. With ``MLSENTRY_KFP_IMAGE`` set (when this module is first
imported) to an image with mlsentry installed, built from the repository's ``Dockerfile``
after ``make wheels`` and pushed where the cluster pulls from, the steps run in that image
and install nothing. Otherwise they run in :data:`DEFAULT_BASE_IMAGE`, where ``pip``
installs :data:`MLSENTRY_PACKAGE` (plus :data:`MODEL_PACKAGES` for the robustness gate, to
unpickle the model) before the step starts, which works only where that version of
mlsentry is on the package index the cluster reaches. :func:`make_components` builds the
four components with another image or other packages (``base_image=...,
packages_to_install=[]`` for an image with mlsentry installed).

To run a pipeline on this machine, ``kfp.local.init(runner=kfp.local.SubprocessRunner(
use_venv=False), pipeline_root=...)`` runs each step as a subprocess of the current Python,
where pip would install into the current environment: build the components there with
``make_components(packages_to_install=[], model_packages=[], install_kfp_package=False)``
(the environment needs mlsentry, pandas and pyarrow, and scikit-learn and joblib for the
robustness gate). A failed gate then fails the pipeline with kfp's ``RuntimeError``; the
step's log (kfp prints it) ends with the ``GateFailedError`` and the report's summary.

>>> from mlsentry import kfp as mkfp
>>> mkfp.drift_gate.name
'mlsentry-drift-gate'
>>> sorted(mkfp.drift_gate.component_spec.outputs)
['html', 'metrics', 'passed', 'report']
>>> mine = mkfp.make_components(base_image="example.org/mlsentry:0.1", packages_to_install=[])
>>> mine.scan_model.component_spec.implementation.container.image
'example.org/mlsentry:0.1'
"""

from typing import TYPE_CHECKING, Any

from .steps import GateFailedError

if TYPE_CHECKING:
    from .components import (
        DEFAULT_BASE_IMAGE,
        MLSENTRY_PACKAGE,
        MODEL_PACKAGES,
        Components,
        drift_gate,
        make_components,
        privacy_gate,
        robustness_gate,
        scan_model,
        verify_integrity,
    )

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "MLSENTRY_PACKAGE",
    "MODEL_PACKAGES",
    "Components",
    "GateFailedError",
    "drift_gate",
    "make_components",
    "privacy_gate",
    "robustness_gate",
    "scan_model",
    "verify_integrity",
]


def __getattr__(name: str) -> Any:
    # The components need the kfp SDK; the steps (what runs inside a component's
    # container, mlsentry.kfp.steps) do not, so the SDK is imported on first use only.
    if name in __all__:
        from . import components

        value = getattr(components, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlsentry.kfp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
