"""Release checks for a model as a Kubeflow pipeline: scan, verify, drift, robustness.

The pipeline imports five artifacts by URI (the model folder, its manifest or signed
envelope, the reference and current data, labelled test data) and runs the four mlsentry
gates one after the other; the first that fails stops the run.

    python examples/kfp_pipeline.py compile release_checks.yaml
    python examples/kfp_pipeline.py run-local WORKDIR [--drift]

``compile`` writes the pipeline YAML to submit to a Kubeflow Pipelines cluster (the steps
pip-install mlsentry in ``python:3.11-slim``). ``run-local`` writes a small scikit-learn
model and data into WORKDIR and runs the pipeline on this machine with ``kfp.local``, in
the current Python environment; ``--drift`` shifts the current data so the drift gate
stops the run.
"""

import argparse
import os
import sys
from typing import Any, Optional

from kfp import compiler, dsl

from mlsentry.kfp import Components, make_components


def build_pipeline(components: Optional[Components] = None) -> Any:
    """The release-checks pipeline, made of ``components`` (default: the ready ones)."""
    c = components or make_components()

    @dsl.pipeline(
        name="mlsentry-release-checks",
        description="Scan, verify, drift and robustness gates before a model is released.",
    )
    def release_checks(
        model_uri: str,
        manifest_uri: str,
        reference_uri: str,
        current_uri: str,
        test_data_uri: str,
        public_key: str = "",
        label_column: str = "label",
        drift_alpha: float = 0.05,
        robust_threshold: float = 0.5,
    ) -> None:
        def load(uri: Any, kind: Any, name: str) -> Any:
            return dsl.importer(artifact_uri=uri, artifact_class=kind).set_display_name(name)

        model = load(model_uri, dsl.Model, "model")
        manifest = load(manifest_uri, dsl.Artifact, "manifest")
        reference = load(reference_uri, dsl.Dataset, "reference data")
        current = load(current_uri, dsl.Dataset, "current data")
        test_data = load(test_data_uri, dsl.Dataset, "labelled test data")

        scan = c.scan_model(model=model.output)
        verify = c.verify_integrity(
            model=model.output, manifest=manifest.output, public_key=public_key
        ).after(scan)
        drift = c.drift_gate(
            reference=reference.output, current=current.output, alpha=drift_alpha
        ).after(verify)
        c.robustness_gate(
            model=model.output,
            data=test_data.output,
            label_column=label_column,
            threshold=robust_threshold,
            max_queries=200,
        ).after(drift)

    return release_checks


release_checks = build_pipeline()


def write_demo_inputs(folder: str, drift: bool = False, sign: bool = True) -> dict:
    """A small scikit-learn model and its data in ``folder``; returns the pipeline's
    arguments. The manifest is signed (and the public key passed) when ``sign``."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlsentry as ms

    rng = np.random.default_rng(0)
    names = ["age", "income", "tenure", "visits"]

    def table(n: int, shift: float = 0.0) -> pd.DataFrame:
        x = rng.normal(size=(n, len(names))) + shift
        frame = pd.DataFrame(x, columns=names)
        frame["label"] = (x @ np.array([2.0, -1.5, 1.0, 0.0]) > 0).astype(int)
        return frame

    train = table(600)
    model = LogisticRegression().fit(train[names], train["label"])
    model_dir = os.path.join(folder, "model")
    os.makedirs(model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))

    manifest = ms.integrity.manifest(model_dir)
    args = {"public_key": ""}
    if sign:
        key = ms.integrity.SigningKey.generate()
        manifest_path = os.path.join(folder, "model.sig.json")
        ms.integrity.sign(manifest, key, name="demo-model").save(manifest_path)
        args["public_key"] = key.public_key.to_pem()
    else:
        manifest_path = os.path.join(folder, "model.manifest.json")
        manifest.save(manifest_path)

    paths = {name: os.path.join(folder, name) for name in ("reference.csv", "current.csv")}
    train[names].to_csv(paths["reference.csv"], index=False)
    table(400, shift=0.5 if drift else 0.0)[names].to_csv(paths["current.csv"], index=False)
    test_path = os.path.join(folder, "test.parquet")
    table(150).to_parquet(test_path, index=False)
    return {
        "model_uri": model_dir,
        "manifest_uri": manifest_path,
        "reference_uri": paths["reference.csv"],
        "current_uri": paths["current.csv"],
        "test_data_uri": test_path,
        **args,
    }


def run_local(workdir: str, drift: bool = False) -> None:
    """Runs the pipeline with kfp.local in this Python environment (mlsentry, pandas,
    pyarrow, scikit-learn and joblib installed here, so nothing is pip-installed)."""
    from kfp import local

    os.makedirs(workdir, exist_ok=True)
    arguments = write_demo_inputs(os.path.join(workdir, "inputs"), drift=drift)
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=os.path.join(workdir, "pipeline-root"),
    )
    here = make_components(packages_to_install=[], model_packages=[], install_kfp_package=False)
    build_pipeline(here)(**arguments)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compile", help="write the pipeline YAML")
    p.add_argument("output", help="the YAML file to write")
    p = sub.add_parser("run-local", help="run on demo inputs with kfp.local")
    p.add_argument("workdir")
    p.add_argument("--drift", action="store_true", help="shift the current data")
    args = parser.parse_args(argv)
    if args.command == "compile":
        compiler.Compiler().compile(release_checks, args.output)
        print(f"wrote {args.output}")
        return 0
    try:
        run_local(args.workdir, drift=args.drift)
    except RuntimeError as e:  # kfp.local: a task failed, so the pipeline did
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
