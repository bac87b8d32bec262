"""Release evidence: one signed bundle of a release's reports, manifests and audit-log
proofs, mapped to the controls a regulation names.
"""

__all__: list[str] = []
