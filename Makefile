# mlsentry — the commands a newcomer can guess. Each target sets up what it needs itself.
#   make demo    set-up, then the main job on built-in sample data
#   make test    set-up, then every test (cargo and pytest)
#   make lint    cargo fmt --check, clippy -D warnings, ruff, stub check of _core.pyi
#   make bench   side-by-side benchmarks against the peer tools -> BENCHMARKS.md
#                (`make bench-peers`: Evidently in its own venv .venv-evidently; picklescan,
#                modelscan and fickling in .venv-scanners; frouros, whylogs and alibi-detect
#                in .venv-frouros, .venv-whylogs, .venv-alibi; IBM ART, cleanlab,
#                scikit-learn and pandera in .venv)
#   make fuzz    coverage-guided fuzzing of the scanner's readers (cargo fuzz, libFuzzer),
#                FUZZ_SECONDS (default 60) per target; `make test` runs each for 5 s
#   make wheel   the release wheel for this machine (fat LTO)
#   make wheels  what a user installs, into dist/: manylinux2014 wheels (maturin --zig, fat LTO)
#                for x86_64, and for aarch64 when its Rust standard library is installed
#                (`rustup target add aarch64-unknown-linux-gnu`), and the sdist

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
PIP        := $(PY) -m pip
STAMPS     := .stamps
# Day-to-day builds use an optimised profile without LTO (fast to link); wheels use release.
PROFILE    ?= dev-fast
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

.PHONY: demo test test-rust test-python test-fuzz fuzz lint bench bench-peers wheel wheels build clean

$(STAMPS)/venv:
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "maturin>=1.9.4,<2"
	@touch $@

$(STAMPS)/deps: $(STAMPS)/venv pyproject.toml
	$(PIP) install -q "numpy>=1.22" "pytest>=7" "pandas>=1.5" "pyarrow>=12" "polars>=0.20" \
	    "tqdm>=4.60" "model-signing>=1.1" pyopenssl "scipy>=1.11" "ruff>=0.6" "mypy>=1.10" \
	    "scikit-learn>=1.3" "joblib>=1.3" "mlflow-skinny>=3" "kfp>=2.7" \
	    "nbclient>=0.10" "nbformat>=5.9" "ipykernel>=6.29" \
	    "sqlalchemy>=1.4,<2.1" "alembic<2,!=1.10.0" matplotlib "gguf>=0.10" "onnx>=1.14" "h5py>=3.8" \
	    "auditwheel>=6" "cleanlab==2.9.0" "adversarial-robustness-toolbox==1.20.1" "pandera==0.35.0" \
	    "shap==0.51.0" "fairlearn==0.15.0" "xgboost-cpu==3.2.0" "lightgbm==4.7.0" "pyod==3.6.7" \
	    "prometheus-client>=0.17" "pre-commit>=3" "jsonschema>=4" "pyspark==4.3.0"
	@touch $@

# A local Spark (the spark tests and benchmarks) runs on Java 17; Debian's package when the
# machine has no Java.
$(STAMPS)/java:
	@mkdir -p $(STAMPS)
	java -version 2>/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends openjdk-17-jre-headless)
	java -version
	@touch $@

RUST_SRC := $(shell find src -name '*.rs') Cargo.toml Cargo.lock

$(STAMPS)/build-$(PROFILE): $(STAMPS)/venv $(RUST_SRC) pyproject.toml
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	    $(VENV)/bin/maturin develop --profile $(PROFILE) -q
	@rm -f $(STAMPS)/build-*
	@touch $@

build: $(STAMPS)/build-$(PROFILE)

demo: $(STAMPS)/build-$(PROFILE)
	$(VENV)/bin/mlsentry demo

test-rust:
	cargo test --profile $(PROFILE) --lib --tests -q

# tests/test_install.py installs a wheel into fresh venvs: the manylinux2014 x86_64 wheel,
# built as `make wheels` builds it but with the day-to-day profile (fat LTO changes the
# speed, not what is in the wheel; it would add minutes to every run), into its own folder.
TEST_DIST  := target/test-dist
TEST_WHEEL  = $(TEST_DIST)/$(notdir $(WHEEL_X86_64))

$(STAMPS)/test-wheel: $(STAMPS)/zig $(RUST_SRC) $(PY_SRC) pyproject.toml README.md LICENSE
	rm -rf $(TEST_DIST)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	    $(VENV)/bin/maturin build --profile $(PROFILE) --zig --compatibility manylinux2014 \
	    --target x86_64-unknown-linux-gnu --out $(TEST_DIST) -q
	$(VENV)/bin/maturin sdist --out $(TEST_DIST)
	@touch $@

test-python: $(STAMPS)/deps $(STAMPS)/java $(STAMPS)/build-$(PROFILE) $(STAMPS)/test-wheel
	MLSENTRY_WHEEL=$(abspath $(TEST_WHEEL)) MLSENTRY_SDIST=$(abspath $(TEST_DIST))/$(notdir $(SDIST)) \
	    $(PY) -m pytest -q

test: test-fuzz test-rust test-python

# cargo fuzz from crates.io; the targets build with the machine's stable toolchain
# (`-s none`: libFuzzer's coverage instrumentation without a sanitizer, which needs nightly).
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SECONDS       ?= 60

$(STAMPS)/cargo-fuzz:
	@mkdir -p $(STAMPS)
	cargo fuzz --version 2>/dev/null | grep -qF "$(CARGO_FUZZ_VERSION)" || \
	    cargo install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)
	@touch $@

fuzz: $(STAMPS)/cargo-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

# A short run of each target (the optimised build: an unoptimised one takes as long to
# compile and reads the seeds ten times slower).
test-fuzz: $(STAMPS)/cargo-fuzz
	FUZZ_SECONDS=5 fuzz/run.sh

lint: $(STAMPS)/deps $(STAMPS)/build-$(PROFILE)
	cargo fmt --check
	cargo fmt --check --manifest-path fuzz/Cargo.toml
	cargo clippy --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests benches notebooks examples fuzz
	$(VENV)/bin/ruff format --check python tests benches notebooks examples fuzz
	$(PY) -m mypy.stubtest mlsentry._core --allowlist .stubtest-allowlist

# Peers that cannot share .venv get their own venv, used only by benches/ (evidently 0.7.23
# imports a private name of pandas 2, while .venv has pandas 3).
EVIDENTLY_VENV := .venv-evidently
EVIDENTLY_PY   := $(EVIDENTLY_VENV)/bin/python

$(STAMPS)/venv-evidently:
	@mkdir -p $(STAMPS)
	test -x $(EVIDENTLY_PY) || $(PYTHON) -m venv $(EVIDENTLY_VENV)
	$(EVIDENTLY_PY) -m pip install -q --upgrade pip
	$(EVIDENTLY_PY) -m pip install -q "evidently==0.7.23" "pandas<3" "pyarrow>=12"
	$(EVIDENTLY_PY) -c "from evidently import Report; from evidently.presets import DataDriftPreset"
	@touch $@

# Peers that share .venv: IBM ART (pure Python on numpy/scipy/scikit-learn), cleanlab and
# pandera. The data tests compare with all three (spectral signatures, confident learning,
# schema checks), so `deps` installs them; this stamp checks that the benchmarks find them.
$(STAMPS)/bench-deps: $(STAMPS)/deps
	$(PY) -W ignore -c "from art.attacks.evasion import HopSkipJump, SquareAttack; import sklearn, pandera, cleanlab"
	@touch $@

# The model-file scanners the scan benchmark compares against, installed as their users
# install them, in their own venv: modelscan 0.8.8 needs rich < 15 and .venv has rich 15.
# fickling 0.1.12 imports typing_extensions on Python < 3.12 without declaring it; modelscan
# 0.8.8 calls numpy.lib.format._check_version, gone since numpy 2.3 (every .npy fails).
SCANNERS_VENV := .venv-scanners
SCANNERS_PY   := $(SCANNERS_VENV)/bin/python

$(STAMPS)/venv-scanners:
	@mkdir -p $(STAMPS)
	test -x $(SCANNERS_PY) || $(PYTHON) -m venv $(SCANNERS_VENV)
	$(SCANNERS_PY) -m pip install -q --upgrade pip
	$(SCANNERS_PY) -m pip install -q "picklescan==1.0.5" "modelscan==0.8.8" "fickling==0.1.12" \
	    typing-extensions "numpy<2.3"
	$(SCANNERS_VENV)/bin/picklescan --help >/dev/null
	$(SCANNERS_VENV)/bin/modelscan --version
	$(SCANNERS_PY) -c "import fickling; print('fickling', fickling.__version__)"
	@touch $@

# frouros 0.9.0 pins numpy < 2.2 and scipy < 1.15; whylogs 1.6.4 (with its Spark profiler)
# pins platformdirs < 4 and needs pandas < 3: each in its own venv.
FROUROS_VENV := .venv-frouros
FROUROS_PY   := $(FROUROS_VENV)/bin/python
WHYLOGS_VENV := .venv-whylogs
WHYLOGS_PY   := $(WHYLOGS_VENV)/bin/python

$(STAMPS)/venv-frouros:
	@mkdir -p $(STAMPS)
	test -x $(FROUROS_PY) || $(PYTHON) -m venv $(FROUROS_VENV)
	$(FROUROS_PY) -m pip install -q --upgrade pip
	$(FROUROS_PY) -m pip install -q "frouros==0.9.0"
	$(FROUROS_PY) -c "from frouros.detectors.data_drift import MMD"
	@touch $@

$(STAMPS)/venv-whylogs: $(STAMPS)/java
	@mkdir -p $(STAMPS)
	test -x $(WHYLOGS_PY) || $(PYTHON) -m venv $(WHYLOGS_VENV)
	$(WHYLOGS_PY) -m pip install -q --upgrade pip
	$(WHYLOGS_PY) -m pip install -q "whylogs==1.6.4" "pyspark==4.3.0" "pandas<3" "pyarrow>=12"
	$(WHYLOGS_PY) -c "import whylogs; from whylogs.api.pyspark.experimental import collect_dataset_profile_view"
	@touch $@

# alibi-detect 0.13 (the online MMD detector's reference; BSL 1.1, used only to measure it)
# pins numpy < 2 and needs a TensorFlow or PyTorch backend: TensorFlow's CPU wheel here.
ALIBI_VENV := .venv-alibi
ALIBI_PY   := $(ALIBI_VENV)/bin/python

$(STAMPS)/venv-alibi:
	@mkdir -p $(STAMPS)
	test -x $(ALIBI_PY) || $(PYTHON) -m venv $(ALIBI_VENV)
	$(ALIBI_PY) -m pip install -q --upgrade pip
	$(ALIBI_PY) -m pip install -q "alibi-detect[tensorflow]==0.13.0"
	$(ALIBI_PY) -c "from alibi_detect.cd import MMDDriftOnline"
	@touch $@

PEER_STAMPS := $(STAMPS)/venv-evidently $(STAMPS)/venv-scanners $(STAMPS)/venv-frouros $(STAMPS)/venv-whylogs $(STAMPS)/venv-alibi

bench-peers: $(STAMPS)/bench-deps $(PEER_STAMPS)

bench: $(STAMPS)/deps $(STAMPS)/bench-deps $(PEER_STAMPS)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	    $(VENV)/bin/maturin develop --release -q
	@rm -f $(STAMPS)/build-*
	$(PY) benches/run.py --out BENCHMARKS.md

wheel: $(STAMPS)/venv
	$(VENV)/bin/maturin build --release --out dist

# manylinux2014 (glibc 2.17 or later: CentOS 7, RHEL 8, Ubuntu 20.04, Amazon Linux 2, ...): zig
# links against that glibc's symbols whatever this machine's glibc is. One abi3 wheel per
# architecture serves CPython 3.9 and later. aarch64 needs the Rust standard library of
# aarch64-unknown-linux-gnu, which only rustup can install; without it only x86_64 is built.
VERSION      := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
WHEEL_ARCHS  := x86_64 $(if $(filter aarch64-unknown-linux-gnu,$(shell rustup target list --installed 2>/dev/null)),aarch64)
WHEEL_X86_64 := dist/mlsentry-$(VERSION)-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
SDIST        := dist/mlsentry-$(VERSION).tar.gz
PY_SRC       := $(shell find python -type f -not -path '*/__pycache__/*')

$(STAMPS)/zig: $(STAMPS)/venv
	$(PIP) install -q "ziglang>=0.13"
	@touch $@

$(STAMPS)/wheels: $(STAMPS)/zig $(RUST_SRC) $(PY_SRC) pyproject.toml README.md LICENSE
	rm -f dist/mlsentry-*-manylinux2014_*.whl $(SDIST)
	for arch in $(WHEEL_ARCHS); do \
	    VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
	        $(VENV)/bin/maturin build --release --zig --compatibility manylinux2014 \
	        --target $$arch-unknown-linux-gnu --out dist || exit 1; \
	done
	$(VENV)/bin/maturin sdist --out dist
	test -f $(WHEEL_X86_64) && test -f $(SDIST)
	@echo "built: $$(cd dist && ls mlsentry-$(VERSION)-*.whl mlsentry-$(VERSION).tar.gz)"
	@echo "$(WHEEL_ARCHS)" | grep -q aarch64 || echo "no aarch64 wheel: the Rust target \
	aarch64-unknown-linux-gnu is not installed (rustup target add aarch64-unknown-linux-gnu)"
	@touch $@

wheels: $(STAMPS)/wheels

clean:
	rm -rf $(STAMPS) target dist
