"""Stub of the native module ``mlsentry._core`` (checked by ``mypy.stubtest`` in ``make lint``).

The native module is private: use the public functions of ``mlsentry`` and its submodules.
"""

import os
from collections.abc import Callable
from collections.abc import Callable as _Callable
from typing import Any, Optional, final

__version__: str

def num_threads() -> int:
    """Worker threads the next parallel call will use (``MLSENTRY_NUM_THREADS``; 0 = all cores)."""

# --- integrity: files and manifests (src/py/integrity.rs) ---

_Callback = Optional[Callable[[int, int], object]]
_RawEntry = tuple[bytes, int, str, Optional[list[str]]]

def hash_file(path: bytes, algorithm: str, callback: _Callback = None) -> str:
    """The digest of the whole file at ``path`` (``"sha256:<hex>"``), hashed without the GIL."""

def build_manifest(
    path: bytes,
    algorithm: str,
    shard_size: Optional[int],
    ignore: list[str],
    follow_symlinks: bool,
    callback: _Callback = None,
) -> tuple[str, list[_RawEntry]]:
    """The manifest of a file or folder: ``(root, [(path, size, digest, shards), ...])`` in
    canonical order."""

def check_manifest(
    algorithm: str, shard_size: Optional[int], entries: list[_RawEntry], root: str
) -> list[int]:
    """Checks a stored manifest's content (digests, paths, shards, root) and returns the
    permutation that puts its entries in canonical order; raises ``ManifestError``."""

def ignored_paths(patterns: list[str], paths: list[bytes]) -> list[bool]:
    """For each relative path, whether the ignore patterns leave it out (it or a folder
    above it matches)."""

# --- integrity: fingerprints (src/py/fingerprint.rs) ---

@final
class ObjectColumn:
    """The values of an object column, converted to owned canonical data."""

    @property
    def tag(self) -> str:
        """The logical type of the values: "string", "binary", "mixed" or "null"."""

    def __len__(self) -> int: ...

def fingerprint_objects(
    values: Any, nulls: tuple[object, ...], what: str, expect: str | None = None
) -> ObjectColumn:
    """Converts a 1-D numpy object array (str, bytes, int, float, bool, None, NaN and the given
    null sentinels) into an `ObjectColumn`. `expect="string"` requires str or missing values;
    `expect="mixed"` tags the column mixed whatever values this part holds."""

def fingerprint_frame(
    preamble: bytes,
    columns: list[tuple[Any, ...]],
    n_rows: int,
    row_order: bool,
    progress: _Callable[[int, int], object] | None = None,
) -> str:
    """The digest of a frame built by `mlsentry._fingerprint`, as `"sha256:<hex>"`.

    `columns` holds tuples `(header, pieces, canon, unit, big_endian, nullable,
    items_per_row, chunk_items)`; a piece is `("fixed", words, item_bytes, validity)`,
    `("var", offsets, data, validity)`, `("objects", ObjectColumn)` or `("null", n)`."""

def fingerprint_sorted_rows(
    columns: list[tuple[Any, ...]],
    n_rows: int,
    progress: _Callable[[int, int], object] | None = None,
) -> bytes:
    """The digests of the rows of a frame's columns (tuples as in `fingerprint_frame`), sorted
    bytewise and concatenated (32 bytes each): one run for `fingerprint_merge_rows`."""

def fingerprint_merge_rows(
    preamble: bytes,
    headers: list[bytes],
    runs: list[bytes],
    progress: _Callable[[int, int], object] | None = None,
) -> str:
    """The frame digest without row order, as `"sha256:<hex>"`, from the column headers and
    runs of sorted row digests (`fingerprint_sorted_rows`), merged as one multiset."""

# --- integrity: keys, DSSE and the audit log (src/py/signing.rs, src/py/audit.rs) ---

@final
class SigningKey:
    """A private signing key (Ed25519, or ECDSA P-256, P-384 or P-521)."""

    @staticmethod
    def generate(algorithm: str = "ed25519") -> SigningKey: ...
    @staticmethod
    def from_pem(pem: str, passphrase: bytes | None = None) -> SigningKey: ...
    def to_pem(self, passphrase: bytes | None = None) -> str: ...
    @property
    def algorithm(self) -> str: ...
    def public_key(self) -> PublicKey: ...
    def sign(self, message: bytes) -> bytes: ...

@final
class PublicKey:
    """A public verification key (Ed25519, or ECDSA P-256, P-384 or P-521)."""

    @staticmethod
    def from_pem(pem: str) -> PublicKey: ...
    def to_pem(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    def verify(self, message: bytes, signature: bytes) -> bool: ...
    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

def dsse_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of (payload type, payload)."""

def dsse_sign(payload_type: str, payload: bytes, key: SigningKey) -> str:
    """A DSSE envelope (JSON text) over ``payload``, signed by ``key``."""

def dsse_verify(envelope_json: str, key: PublicKey, expected_type: str | None = None) -> bytes:
    """The payload of a DSSE envelope once a signature by ``key`` verifies."""

def audit_append(
    path: str | os.PathLike[str], event_json: str, time: str, durable: bool = True
) -> tuple[int, str, str, int]:
    """Append one event; returns (index, leaf hex, line, torn bytes cut)."""

def audit_verify(
    path: str | os.PathLike[str],
    keys: list[PublicKey] = ...,
    expect_size: int | None = None,
    checkpoint: str | None = None,
) -> dict[str, Any]:
    """Verify a log: counts, root and problems (line, index, what); ``expect_size`` and
    ``checkpoint`` (a checkpoint line, JSON text) are what a record kept outside the log
    says it held."""

def audit_checkpoint(
    path: str | os.PathLike[str], key: SigningKey, time: str, durable: bool = True
) -> str:
    """Sign the current tree head and append it; returns the checkpoint line."""

def audit_inclusion_proof(
    path: str | os.PathLike[str], index: int
) -> tuple[str, int, str, list[str]]:
    """(leaf, size, root, path) for entry ``index``."""

def audit_consistency_proof(
    path: str | os.PathLike[str], old_size: int
) -> tuple[str, str, int, list[str]]:
    """(old root, new root, size, path) for the prefix of ``old_size`` entries."""

def merkle_verify_inclusion(leaf: str, index: int, size: int, proof: list[str], root: str) -> bool:
    """RFC 9162 inclusion proof verification (hex hashes)."""

def merkle_verify_consistency(
    old_size: int, new_size: int, old_root: str, new_root: str, proof: list[str]
) -> bool:
    """RFC 9162 consistency proof verification (hex hashes)."""

def merkle_leaf_hash(data: bytes) -> str:
    """RFC 6962 leaf hash of ``data`` (hex)."""

def audit_entry_leaf(line: str) -> tuple[int, str]:
    """(index, recomputed leaf hex) of one entry line of an audit log."""

# --- drift: the univariate tests (src/py/drift/tests.rs) ---

def drift_numeric_test(
    test: str,
    reference: Any,
    current: Any,
    bins: int = 10,
    method: str = "auto",
) -> dict[str, Any]:
    """One numeric two-sample test (NaN dropped and counted): statistic, pvalue, method,
    effect_size, details, n_reference, n_current, missing_reference, missing_current."""

def drift_count_test(test: str, reference: Any, current: Any) -> dict[str, Any]:
    """One test on aligned category counts; `test` in the result is the one that ran."""

def kolmogorov_sf(n: int, x: float) -> float:
    """P(D_n > x) for the two-sided one-sample KS statistic (scipy.stats.kstwo.sf)."""

def smirnov_sf(n: int, x: float) -> float:
    """P(D+_n > x) for the one-sided KS statistic (scipy.special.smirnov)."""

# --- drift: the table comparison (src/py/drift/compare.rs) ---

DRIFT_TEST_NAMES: list[str]
"""Every test name `drift_compare` accepts ("auto" first)."""
DRIFT_NUMERIC_TESTS: list[str]
"""The test names that apply to numeric columns."""
DRIFT_CATEGORICAL_TESTS: list[str]
"""The test names that apply to categorical columns."""

def drift_compare(
    columns: list[tuple[Any, ...]], callback: _Callback = None
) -> list[dict[str, Any]]:
    """Compares columns of two tables in parallel without the GIL.

    `columns` holds tuples `(name, kind, reference, current, k, test, bins)`: kind
    `"numeric"` with float64 arrays (NaN = missing) or `"categorical"` with int64 codes in
    `0..k` (-1 = missing). Returns one dict per column: test, outcome, effect,
    missing_test, counts, error and the plot's histogram (`hist_*`)."""

def drift_factorize_text(
    columns: list[tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]],
    callback: _Callback = None,
) -> list[tuple[Any, Any, list[str], Any, Any]]:
    """Joint category codes of text columns, columns in parallel without the GIL.

    `columns` holds `(name, reference, current)`, each side a list of Arrow string chunks
    `(offsets int64, bytes uint8, valid bool or None)`. Per column: int32 codes of each
    side (first appearance, reference rows first; -1 missing), the value of each code and
    the int64 count of each code on each side."""

PROFILE_OTHER_LABEL: str
"""The label of the cell that holds a profile's categories past the cap."""

def profile_fit(columns: list[tuple[Any, ...]], callback: _Callback = None) -> DriftProfile:
    """Profiles columns in parallel without the GIL: tuples `(name, dtype, kind, values,
    labels)`, kind `"numeric"` (float64, NaN = missing; labels None) or `"categorical"`
    (int32/int64 codes, negative = missing, and a label per code)."""

@final
class DriftProfile:
    """The counts of a table (grid buckets, categories, missing values), mergeable."""

    def merge(self, other: DriftProfile) -> DriftProfile: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> DriftProfile: ...
    def columns(self) -> list[dict[str, Any]]: ...
    def category_counts(self, name: str) -> list[tuple[str, int]]: ...
    def sample(self, name: str, n: int, seed: int) -> Any: ...
    def compare(
        self,
        current: DriftProfile,
        columns: list[tuple[str, str, int]],
        callback: _Callback = None,
    ) -> list[dict[str, Any]]: ...

# --- data: schema inference and validation (src/py/data/schema.rs) ---

def schema_infer(
    columns: list[tuple[Any, ...]], cap: int, callback: _Callback = None
) -> list[dict[str, Any]]:
    """Profiles columns for schema inference in parallel without the GIL. `columns` holds
    tuples `(kind, data, exact, k, distinct)`: kind `"float"` (float64 values, NaN missing,
    optional int64 `exact` keys), `"int"` (int64, no missing value), `"codes"` (int64 codes
    in `0..k`, -1 missing) or `"strings"` (a list of Arrow chunks `(offsets int64, bytes
    uint8, valid bool or None)`). Returns per column rows, missing, min, max, distinct,
    capped, unique and the distinct values (values, ints, codes, strings)."""

def schema_validate(
    columns: list[tuple[Any, ...]], examples: int, callback: _Callback = None
) -> list[dict[str, Any]]:
    """Checks columns of a batch in parallel without the GIL. `columns` holds tuples
    `(kind, data, exact, k, min, max, domain, unique)`. Returns per column `rows` and
    `(count, first rows)` for missing, out_of_range, unseen and duplicate."""

def schema_toml_to_json(text: str) -> str:
    """A TOML document as JSON text."""

def schema_json_to_toml(text: str) -> str:
    """A JSON object as TOML text (keys sorted, null members left out)."""

# --- robustness (src/py/robustness.rs) ---

def robustness_attack(
    attack: str,
    model: Callable[[Any], Any],
    x: Any,
    y: Any,
    constraints: tuple[
        list[float], list[float], list[bool], list[bool], list[list[int]], list[float]
    ],
    params: dict[str, Any],
    grad_fn: Callable[[Any, Any], Any] | None = None,
    batch_size: int = 0,
    callback: _Callback = None,
) -> dict[str, Any]:
    """Runs one attack (noise, square, hop_skip_jump, pgd) on the float64 rows `x` with
    class indices `y`; `model(rows)` returns float64 scores (n, k) or int64 labels (n,).
    Returns adversarial rows, success, queries per sample, calls and rows (and for noise
    the changed and trials counts)."""

# --- scan (src/py/scan.rs) ---

def scan_path(
    path: bytes,
    policy_text: str | None,
    policy_format: str,
    callback: _Callback = None,
) -> dict[str, Any]:
    """Scans a file or folder with the built-in policy extended by `policy_text` (TOML or
    JSON). Returns ``{"findings": [(file, members, offset, global, severity, rule,
    message), ...], "files": [(path, format, streams, bytes), ...]}``."""

# --- data: poisoning scores (src/py/data/poisoning.rs) ---

def data_poisoning(
    features: Any,
    labels: Any,
    n_classes: int,
    method: str,
    expected_fraction: float,
    multiplier: float,
    centered: bool = True,
    nb_dims: int = 10,
    n_init: int = 4,
    seed: int = 0,
    k: int = 10,
    cluster_analysis: str = "smaller",
    callback: _Callback = None,
) -> dict[str, Any]:
    """Scores the float64 rows `features` (n, d) with int64 class indices `labels` in
    `0..n_classes` by `method` (spectral, activation_clustering, knn) and picks the
    suspects, without the GIL. Returns ``{"scores", "suspects", "classes": [{"rows",
    "suspects", "details"}, ...]}``."""

# --- data: leakage (src/py/data/leakage.rs) ---

LEAKAGE_KINDS: list[tuple[str, int]]
"""The kinds of tagged and text columns `leakage_pairs` takes: bool, datetime, timedelta,
time (int64 nanoseconds), str, bytes."""

def leakage_pairs(
    train: list[tuple[Any, ...]],
    test: list[tuple[Any, ...]] | None,
    near_threshold: float | None,
    progress: _Callback = None,
) -> dict[str, Any]:
    """Test rows of `test` found in `train` exactly or within `near_threshold` (None: exact
    only); without `test`, rows of `train` that repeat an earlier row. Columns are matched
    by position: `("float", f8)`, `("int", i8, valid)`, `("uint", u8, valid)`, `("tagged",
    kind, i8, valid)`, `("text", kind, i8 offsets, u1 data, valid)` or `("null", n)`.
    Returns arrays `test_index`, `train_index`, `kind` (1 exact, 2 near), `distance`,
    `count` and the list `near_columns`."""

# --- data: label issues (src/py/data/labels.rs) ---

LABEL_FILTERS: list[str]
LABEL_RANKINGS: list[str]
LABEL_ROW_SUM_TOLERANCE: float

def label_issues(
    labels: Any,
    pred_probs: Any,
    method: str = "prune_by_noise_rate",
    rank_by: str = "self_confidence",
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    calibrate: Callable[[Any, Any], Any] | None = None,
    callback: _Callback = None,
) -> dict[str, Any]:
    """Confident learning on out-of-sample probabilities without the GIL: int64 `labels`
    (n,), float64 or float32 `pred_probs` (n, k) read in place. Returns numpy arrays: mask,
    ranked, scores, thresholds, confident_joint, joint, noise_matrix (k x k) and the
    given, flagged and true counts per class. `calibrate(raw, given)` (k x k int64 and
    (k,) int64 in, k x k integers out) replaces the Rust calibration."""

def round_row_totals(scaled: Any) -> tuple[Any, Any]:
    """cleanlab's `round_preserving_row_totals` of a C-contiguous float64 matrix, rows in
    parallel without the GIL, equal remainders ordered by column. Returns the int64 matrix
    and the rows (int64) where numpy's unstable argsort could choose otherwise."""

# fairness (mlsentry.fairness)
FAIRNESS_GROUP_METRICS: list[str]
FAIRNESS_DISPARITIES: list[str]

def fairness_groups(
    cells: Any,
    n_igroups: int,
    maps: list[Any],
    n_groups: list[int],
    n_boot: int,
    seed: int,
    quantiles: tuple[float, float],
    resamples: Any = None,
    callback: _Callback = None,
) -> list[dict[str, Any]]:
    """Group metrics, disparities and their percentile bootstrap intervals without the GIL:
    uint32 `cells` (n,) = igroup * 4 + 2 * y_true + y_pred, one int64 map per grouping
    (intersection group -> group). Resamples are drawn with `seed` (`n_boot` of them), or
    given as int64 row indices (B, m). One dict of numpy arrays per grouping."""

def fairness_scores(score: Any, y_true: Any, group: Any, n_groups: int) -> Any:
    """ROC AUC, Brier score and mean score of each group: float64 (g, 3), NaN where
    undefined."""

# permutation importance (mlsentry.explain)
def importance_permutations(n: int, n_repeats: int, seed: int, given: Any = None) -> Any:
    """`n_repeats` seeded permutations of 0..n, int64 (n_repeats, n); with `given`, checks
    each of its rows is a permutation of 0..n and returns it."""

def importance_rows(x: Any, feature: int, perms: Any) -> Any:
    """float64 (n_repeats * n, d): `x` once per permutation with column `feature` permuted."""

def importance_interval(values: Any, confidence: float) -> Any:
    """Student t interval of the mean of each row of `values` (features x repeats): (d, 2)."""

# --- explain: Tree SHAP and Kernel SHAP (src/py/explain/shap.rs) ---

KERNEL_MAX_EXACT_FEATURES: int

@final
class TreeEnsemble:
    """A tree ensemble as flat node arrays: int64 `left`/`right` (tree-local ids, -1 at
    leaves), `feature`, float64 `threshold`, uint8 routing `flags`, float64 `cover`,
    float64 `values` (nodes, width), int64 `starts` (n_trees + 1), int64 `tree_output`
    (first output of each tree), `base_offset` (n_outputs,). Checked on construction."""

    def __new__(
        cls,
        left: Any,
        right: Any,
        feature: Any,
        threshold: Any,
        flags: Any,
        cover: Any,
        values: Any,
        starts: Any,
        tree_output: Any,
        n_outputs: int,
        n_features: int,
        base_offset: Any,
        float32_input: bool,
    ) -> TreeEnsemble: ...
    @property
    def n_trees(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def max_depth(self) -> int: ...
    def predict(self, x: Any, callback: _Callback = None) -> Any:
        """Raw outputs (n, k): the trees summed in float64 plus the offset."""
    def shap(self, x: Any, background: Any = None, callback: _Callback = None) -> tuple[Any, Any]:
        """(values (n, d, k), base (k,)): path-dependent Tree SHAP, or interventional
        against the float64 `background` rows."""

def kernel_coalitions(d: int, pairs: int | None = None, seed: int = 0) -> tuple[Any, Any]:
    """(masks (c, d) uint8, weights (c,)): every coalition but the empty and the full one
    with its Shapley kernel weight (`pairs` None), or `pairs` coalitions each followed by
    its complement: the smallest sizes whole with their kernel weights (while they fill at
    most half the budget), the others drawn from the Shapley kernel with equal shares of
    the remaining weight."""

def kernel_stack_rows(x: Any, background: Any, masks: Any, out: Any = None) -> Any:
    """The model inputs (n * c * m, d), by row of `x`, coalition, background row; written
    into `out` and returned when given."""

def kernel_solve(
    masks: Any,
    weights: Any,
    values: Any,
    fnull: Any,
    fx: Any,
    order: int | None = None,
    callback: _Callback = None,
) -> tuple[Any, int]:
    """(attributions (n, d, k), order) from coalition values (n, c, k), the background mean
    output `fnull` (k,) and the outputs `fx` (n, k): the weighted least-squares fit of a
    polynomial of `order` (1-3; None: 3 for enough sampled coalitions, else 1) in the
    coalition indicators, constrained to add up to `fx - fnull`; the order fitted."""

# privacy
def privacy_roc(scores: Any, is_member: Any) -> dict[str, Any]:
    """ROC of membership scores (float64 (n,), bool (n,)): tp, fp (int64 counts per point),
    thresholds, n_members, n_nonmembers, auc."""

def privacy_clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval of k successes in n trials."""

def privacy_epsilon_lower_bound(
    tp: int, fp: int, n_members: int, n_nonmembers: int, delta: float, confidence: float
) -> float:
    """The empirical epsilon an attack with these counts proves."""

def privacy_signals(probs: Any, labels: Any) -> dict[str, Any]:
    """Membership signals (loss, confidence, entropy, modified_entropy, logit, correct) of
    float64 probabilities (n, k) for int64 labels (n,)."""

def privacy_summaries(
    scores: Any,
    is_member: Any,
    labels: Optional[Any],
    at_fpr: float,
    confidence: float,
    delta: float,
    exposed: int,
) -> list[dict[str, Any]]:
    """Each attack's report numbers from float64 scores (attacks, n), bool is_member (n,)
    and optional int64 labels (n,): the ROC, tpr/tpr_low/tpr_high at at_fpr, epsilon,
    class_counts, class_rates and exposed."""

def privacy_signal_summaries(
    probs: Any,
    labels: Any,
    attacks: list[str],
    is_member: Any,
    at_fpr: float,
    confidence: float,
    delta: float,
    exposed: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """privacy_signals of float64 probs (n, k) for int64 labels (n,), and the
    privacy_summaries of the signal attacks named (per class by labels), in one call."""

def privacy_lira(
    target: Any, reference: Any, reference_in: Any, online: bool, fix_variance: bool
) -> Any:
    """LiRA scores from float64 signals (n,), (m, n) and bool membership (m, n)."""

def privacy_rmia(
    target: Any,
    reference: Any,
    reference_in: Any,
    population_target: Any,
    population_reference: Any,
    population_in: Any,
    gamma: float,
    a: float,
) -> Any:
    """Offline RMIA scores from true-class probabilities."""

def privacy_surrogate(
    x_train: Any,
    targets: Any,
    x_eval: Any,
    l2: float,
    iterations: int,
    kind: str = "logistic",
    hidden: int = 32,
    seed: int = 0,
    callback: _Callback = None,
) -> Any:
    """Fits the extraction surrogate ("logistic" or "mlp") to float64 rows (n, d) and the
    target's probabilities (n, k); returns its probabilities of x_eval (m, k)."""

# --- drift: multivariate tests (src/py/drift/multivariate.rs) ---

def drift_mmd(
    reference: Any,
    current: Any,
    bandwidth: Optional[float] = None,
    permutations: int = 1000,
    seed: int = 0,
    method: str = "quadratic",
    callback: _Callback = None,
) -> dict[str, Any]:
    """RBF MMD^2 of float64 (n, d) samples: statistic, pvalue (None without
    permutations), bandwidth (the median heuristic when None); "linear" adds pairs, sd."""

def drift_energy_test(
    reference: Any,
    current: Any,
    permutations: int = 1000,
    seed: int = 0,
    callback: _Callback = None,
) -> dict[str, Any]:
    """The energy statistic of float64 (n, d) samples and its permutation p-value."""

def drift_classifier_test(
    reference: Any, current: Any, holdout: float = 0.5, seed: int = 0
) -> dict[str, Any]:
    """Held-out AUC of a ridge logistic model on quadratic terms: auc, pvalue (one-sided
    Mann-Whitney), held_out (rows of each side), terms, scores (reference rows first)."""

# --- monitor (src/py/monitor.rs) ---

def monitor_knn(reference: Any, queries: Any, k: int) -> Any:
    """Distance from each query row to its k-th nearest reference row (float64 (n, d))."""

def monitor_mahalanobis_fit(x: Any) -> tuple[Any, Any]:
    """Mean and lower Cholesky factor of the covariance (divisor n - 1, tiny ridge)."""

def monitor_mahalanobis(x: Any, mean: Any, chol: Any) -> Any:
    """Squared Mahalanobis distances of the rows of `x`."""

def monitor_isolation(train: Any, queries: Any, trees: int, max_samples: int, seed: int) -> Any:
    """Isolation-forest scores of `queries` from a forest grown on `train` from `seed`."""

def monitor_online_configure(
    reference: Any,
    held_out: Any,
    bandwidth: float,
    window: int,
    ert: float,
    horizon: int,
    streams: int,
    seed: int,
) -> Any:
    """Thresholds of the online MMD detector, calibrated by simulation for `ert`."""

def monitor_online_step(
    reference: Any,
    bandwidth: float,
    thresholds: Any,
    window: int,
    rows: Any,
    means: Any,
    t: int,
    batch: Any,
) -> dict[str, Any]:
    """Feeds `batch` to the online detector: statistics, alarms, rows, means, t."""

def monitor_features_configure(
    reference: Any,
    held_out: Any,
    bandwidths: list[float],
    window: int,
    ert: float,
    horizon: int,
    streams: int,
    seed: int,
) -> Any:
    """Thresholds (horizon, d) of the per-feature online detectors for `ert`."""

def monitor_features_step(
    reference: Any,
    bandwidths: list[float],
    thresholds: Any,
    window: int,
    rows: Any,
    means: Any,
    t: int,
    batch: Any,
) -> dict[str, Any]:
    """Feeds `batch` to the per-feature detectors: margins, alarms, rows, means, t."""
