"""Every example in the public docstrings runs and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import mlsentry

# Every module of the package; the MLflow ones run in integrations/test_mlflow.py, under
# that module's warning filter.
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(mlsentry.__path__, "mlsentry.")
    if not m.name.startswith("mlsentry.mlflow") and m.name != "mlsentry.__main__"
)


@pytest.mark.parametrize("name", ["mlsentry", *MODULES])
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_public_functions_have_examples():
    import mlsentry as ms

    for fn in (ms.fingerprint, ms.integrity.hash_file, ms.integrity.manifest, ms.integrity.verify):
        doc = fn.__doc__ or ""
        assert "Parameters" in doc and "Returns" in doc and ">>>" in doc, fn.__name__
    for module in (ms.drift, ms.robustness, ms.scan):
        for name in module.__all__:
            fn = getattr(module, name)
            if callable(fn) and not isinstance(fn, type):
                assert ">>>" in (fn.__doc__ or ""), name
