# The image the mlsentry Kubeflow Pipelines components run in: mlsentry installed from the
# wheel `make wheels` builds (so the cluster needs no package index that has mlsentry), with
# pandas and pyarrow (CSV and Parquet data), scikit-learn and joblib (the robustness gate
# unpickles a scikit-learn model: pin the versions your model was saved with) and the kfp
# SDK the lightweight components' entry point imports.
#
# From the repository root, after `make wheels`:
#   docker build -t REGISTRY/mlsentry-kfp:0.1.0 .
#   docker push REGISTRY/mlsentry-kfp:0.1.0
# then compile pipelines with MLSENTRY_KFP_IMAGE=REGISTRY/mlsentry-kfp:0.1.0 set, or with
# mlsentry.kfp.make_components(base_image="REGISTRY/mlsentry-kfp:0.1.0", packages_to_install=[]).
#
# The wheel for the image's architecture is picked by `uname -m` (x86_64; aarch64 only if
# `make wheels` built one, which needs the aarch64-unknown-linux-gnu Rust target).
FROM python:3.11-slim

ARG SKLEARN_REQUIREMENT="scikit-learn"
ARG JOBLIB_REQUIREMENT="joblib"

COPY dist/mlsentry-*-manylinux2014_*.whl /tmp/wheels/
RUN set -eu; \
    set -- /tmp/wheels/mlsentry-*-manylinux2014_"$(uname -m)".*.whl; \
    if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then \
        echo "expected one mlsentry wheel for $(uname -m) in dist/ (make wheels), found: $*" >&2; \
        exit 1; \
    fi; \
    pip install --no-cache-dir "$1[pandas,kfp]" "${SKLEARN_REQUIREMENT}" "${JOBLIB_REQUIREMENT}"; \
    rm -rf /tmp/wheels; \
    python -c "import mlsentry, mlsentry.kfp, pandas, pyarrow, sklearn, joblib; \
print('mlsentry', mlsentry.__version__)"
