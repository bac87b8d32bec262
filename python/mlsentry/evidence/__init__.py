"""Release evidence: one signed bundle of a release's reports, manifests and audit-log
proofs, mapped to the controls a regulation names.

* :func:`build` gathers the reports of a release (scan, verify, drift, robustness, ...),
  the manifests of the model and the data, the audit-log entries that recorded the checks
  and the Python environment; :meth:`Bundle.save` signs them (an in-toto statement over
  every member, in a DSSE envelope) into one ZIP file (the format is described in
  :mod:`mlsentry.evidence.bundle`).
* :func:`verify` checks a bundle: the signature, every digest, every inclusion proof, and
  says which control each check supports (:class:`EvidenceReport`).
* :func:`verify_environment` checks the installed distributions against their RECORD
  files (``mlsentry verify-env``); :func:`environment` is what a bundle records of them.
* :func:`to_sarif` turns reports into SARIF 2.1.0 for code-scanning dashboards.
* :func:`load_controls` reads the control mapping shipped with mlsentry (EU AI Act, NIST
  AI RMF, ISO/IEC 42001, SOC 2, ISO/IEC 27001, GDPR, HIPAA).
"""

from .bundle import Bundle, build
from .controls import DEFAULT_FRAMEWORKS, Control, ControlMapping, load_controls
from .environment import (
    EnvironmentReport,
    FileProblem,
    environment,
    site_directories,
    verify_environment,
)
from .sarif import to_sarif, write_sarif
from .verification import EvidenceReport, Problem, verify

__all__ = [
    "DEFAULT_FRAMEWORKS",
    "Bundle",
    "Control",
    "ControlMapping",
    "EnvironmentReport",
    "EvidenceReport",
    "FileProblem",
    "Problem",
    "build",
    "environment",
    "load_controls",
    "site_directories",
    "to_sarif",
    "verify",
    "verify_environment",
    "write_sarif",
]


def __dir__() -> list[str]:
    return sorted(__all__)
