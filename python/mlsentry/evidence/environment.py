"""The Python environment of a release: the installed distributions with their versions
and RECORD digests (:func:`environment`), and every installed file checked against the
hash its RECORD lists (:func:`verify_environment`, ``mlsentry verify-env``)."""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import platform
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Optional, Union

from .._version import __version__
from ..errors import InvalidInputError, InvalidTypeError, MlsentryError, require
from ..integrity import hash_file, manifest
from ..report import Report, count_of, html_table

PathArg = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Distribution:
    """An installed distribution: its ``.dist-info`` folder and the rows of its RECORD
    (path relative to the site directory, hash as written, size)."""

    name: str
    version: str
    site: str
    dist_info: str
    record: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class FileProblem:
    """A file that does not match its distribution's RECORD.

    ``kind`` is ``"changed"`` (content differs from the recorded hash), ``"missing"``
    (recorded, not on disk) or ``"unrecorded"`` (in a distribution's folder, listed by no
    RECORD). ``path`` is relative to the site directory ``site``.
    """

    kind: str
    distribution: str
    site: str
    path: str
    expected: Optional[str] = None
    actual: Optional[str] = None


def site_directories(paths: Union[PathArg, Sequence[PathArg], None] = None) -> list[str]:
    """The folders to check: ``paths``, or the running interpreter's ``purelib`` and
    ``platlib`` (sysconfig), without repeats."""
    if paths is None:
        found = [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    else:
        items = [paths] if isinstance(paths, (str, bytes, os.PathLike)) else list(paths)
        found = []
        for p in items:
            if not isinstance(p, (str, os.PathLike)):
                raise InvalidTypeError(f"paths: expected folder paths, got {type(p).__name__}")
            if not os.path.isdir(p):
                raise InvalidInputError(f"paths: {os.fspath(p)!r} is not a folder")
            found.append(os.fspath(p))
    out: list[str] = []
    for p in found:
        real = os.path.realpath(p)
        if os.path.isdir(real) and real not in out:
            out.append(real)
    return out


def _metadata_field(dist_info: str, field: str) -> str:
    try:
        with open(os.path.join(dist_info, "METADATA"), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    break  # the headers end at the first blank line
                if line.lower().startswith(field.lower() + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def distributions(site: str) -> list[Distribution]:
    """The distributions installed in ``site`` that have a RECORD, by name."""
    out = []
    for entry in sorted(os.listdir(site)):
        if not entry.endswith(".dist-info"):
            continue
        dist_info = os.path.join(site, entry)
        record = os.path.join(dist_info, "RECORD")
        if not os.path.isfile(record):
            continue
        with open(record, encoding="utf-8", newline="") as fh:
            rows = tuple(
                (r[0], r[1] if len(r) > 1 else "", r[2] if len(r) > 2 else "")
                for r in csv.reader(fh)
                if r
            )
        name = _metadata_field(dist_info, "Name") or entry[: -len(".dist-info")]
        version = _metadata_field(dist_info, "Version")
        out.append(Distribution(name, version, site, dist_info, rows))
    return sorted(out, key=lambda d: d.name.lower())


def environment(paths: Union[PathArg, Sequence[PathArg], None] = None) -> dict[str, Any]:
    """The running Python and its installed distributions, as a bundle records them.

    Each distribution has its name and version (from its ``.dist-info`` folder, as
    installers write them), the number of files its RECORD lists and the SHA-256 of the
    RECORD file (which lists the hash of every file installed), so that one digest stands
    for the whole distribution as installed.

    Examples
    --------
    >>> from mlsentry.evidence import environment
    >>> env = environment()
    >>> "mlsentry" in {p["name"] for p in env["packages"]}
    True
    """
    packages = []
    for site in site_directories(paths):
        for entry in sorted(os.listdir(site)):
            record = os.path.join(site, entry, "RECORD")
            if not entry.endswith(".dist-info") or not os.path.isfile(record):
                continue
            with open(record, "rb") as fh:
                data = fh.read()  # small: hashed here rather than reopened by the core
            name, _, version = entry[: -len(".dist-info")].partition("-")
            packages.append(
                {
                    "name": name,
                    "version": version,
                    "files": data.count(b"\n"),
                    "record": "sha256:" + hashlib.sha256(data).hexdigest(),
                    "site": site,
                }
            )
    return {
        "mlsentry_version": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


def _recorded_hex(text: str) -> Optional[str]:
    """The hex SHA-256 of a RECORD hash (``sha256=<urlsafe base64, no padding>``), or
    None for an empty hash or another algorithm."""
    algo, _, value = text.partition("=")
    if algo != "sha256" or not value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
    except ValueError:
        return "invalid"


def _expected_pyc(path: str, recorded: set[str]) -> bool:
    """A bytecode file Python writes itself: ``__pycache__/x.<tag>.pyc`` beside a
    recorded ``x.py``."""
    folder, name = os.path.split(path)
    if os.path.basename(folder) != "__pycache__" or not name.endswith(".pyc"):
        return False
    source = posix_join(os.path.dirname(folder), name.split(".", 1)[0] + ".py")
    return source in recorded


def posix_join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _check_site(site: str, dists: list[Distribution]) -> tuple[list[FileProblem], int]:
    """Problems and the count of files checked for one site directory."""
    owner: dict[str, str] = {}
    expected: dict[str, tuple[str, Optional[str]]] = {}  # normalised path -> (dist, hex)
    tops: dict[str, str] = {}  # a distribution's top-level folder -> the distribution
    for d in dists:
        for path, digest, _size in d.record:
            norm = os.path.normpath(path).replace(os.sep, "/")
            owner[norm] = d.name
            expected[norm] = (d.name, _recorded_hex(digest))
            head, sep, _ = norm.partition("/")
            if sep and head != "..":
                tops.setdefault(head, d.name)
    actual: dict[str, str] = {}
    problems: list[FileProblem] = []
    for top in sorted(tops):
        folder = os.path.join(site, top)
        if not os.path.isdir(folder):
            continue  # its files are reported missing below
        try:
            m = manifest(folder, shard_size=None, follow_symlinks=True)
        except (MlsentryError, OSError) as e:
            raise InvalidInputError(f"cannot read {folder}: {e}") from None
        for f in m.files:
            actual[f"{top}/{f.path}"] = f.digest.partition(":")[2]
    checked = 0
    for path, (dist, hexdigest) in expected.items():
        full = os.path.normpath(os.path.join(site, path))
        if path not in actual:
            if not os.path.isfile(full):
                problems.append(FileProblem("missing", dist, site, path, hexdigest))
                continue
            if hexdigest is None:
                continue
            actual[path] = hash_file(full).partition(":")[2]  # a file outside the folders
        if hexdigest is None:
            continue  # listed without a hash (RECORD itself, bytecode): presence only
        checked += 1
        if actual[path] != hexdigest:
            problems.append(
                FileProblem(
                    "changed", dist, site, path, "sha256:" + hexdigest, "sha256:" + actual[path]
                )
            )
    recorded = set(expected)
    for path in sorted(actual):
        head = path.partition("/")[0]
        if path in recorded or head not in tops or _expected_pyc(path, recorded):
            continue
        problems.append(
            FileProblem("unrecorded", tops[head], site, path, None, "sha256:" + actual[path])
        )
    return problems, checked


def verify_environment(
    paths: Union[PathArg, Sequence[PathArg], None] = None,
) -> EnvironmentReport:
    """Check every file of the installed distributions against the hash in its RECORD.

    Parameters
    ----------
    paths : path or list of paths, optional
        Site directories to check; by default the running interpreter's ``purelib`` and
        ``platlib`` (``sysconfig.get_paths()``).

    Returns
    -------
    EnvironmentReport
        ``changed`` (content differs from RECORD), ``missing`` (recorded, gone) and
        ``unrecorded`` files (in a distribution's top-level folder but in no RECORD;
        ``__pycache__/*.pyc`` beside a recorded ``.py`` is Python's own and allowed).
        Files are hashed in Rust, in parallel, one folder at a time.

    Examples
    --------
    >>> import base64, hashlib
    >>> from pathlib import Path
    >>> from mlsentry.evidence import verify_environment
    >>> pkg, info = Path("site/demo"), Path("site/demo-1.0.dist-info")
    >>> pkg.mkdir(parents=True); info.mkdir()
    >>> code = b"x = 1"
    >>> _ = (pkg / "__init__.py").write_bytes(code)
    >>> h = base64.urlsafe_b64encode(hashlib.sha256(code).digest()).rstrip(b"=").decode()
    >>> rows = [f"demo/__init__.py,sha256={h},5", "demo-1.0.dist-info/RECORD,,"]
    >>> _ = (info / "RECORD").write_text("\\n".join(rows))
    >>> verify_environment("site").passed
    True
    >>> _ = (pkg / "__init__.py").write_bytes(b"x = 2")
    >>> _ = (pkg / "extra.py").write_text("")
    >>> report = verify_environment("site")
    >>> [(p.kind, p.path) for p in report.problems]
    [('changed', 'demo/__init__.py'), ('unrecorded', 'demo/extra.py')]
    """
    sites = site_directories(paths)
    problems: list[FileProblem] = []
    n_dists = n_files = 0
    for site in sites:
        dists = distributions(site)
        found, checked = _check_site(site, dists)
        problems += found
        n_dists += len(dists)
        n_files += checked
    return EnvironmentReport(
        problems=problems,
        distributions=n_dists,
        files_checked=n_files,
        config={"paths": sites, "python": sys.version.split()[0]},
    )


class EnvironmentReport(Report):
    """What :func:`verify_environment` found in the installed distributions.

    Attributes
    ----------
    changed, missing, unrecorded : list of FileProblem
        The files of each kind.
    distributions, files_checked : int
        How many distributions and files were checked.
    """

    schema: ClassVar[str] = "mlsentry/environment-report/v1"
    title: ClassVar[str] = "Installed-package integrity"

    def __init__(
        self,
        *,
        problems: Sequence[FileProblem],
        distributions: int,
        files_checked: int,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.problems = list(problems)
        self.distributions = distributions
        self.files_checked = files_checked

    def _of(self, kind: str) -> list[FileProblem]:
        return [p for p in self.problems if p.kind == kind]

    @property
    def changed(self) -> list[FileProblem]:
        return self._of("changed")

    @property
    def missing(self) -> list[FileProblem]:
        return self._of("missing")

    @property
    def unrecorded(self) -> list[FileProblem]:
        return self._of("unrecorded")

    @property
    def passed(self) -> bool:
        return not self.problems

    def _payload(self) -> dict[str, Any]:
        return {
            "distributions": self.distributions,
            "files_checked": self.files_checked,
            "n_changed": len(self.changed),
            "n_missing": len(self.missing),
            "n_unrecorded": len(self.unrecorded),
            "problems": [asdict(p) for p in self.problems],
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> EnvironmentReport:
        return cls(
            problems=[FileProblem(**p) for p in data["problems"]],
            distributions=int(data["distributions"]),
            files_checked=int(data["files_checked"]),
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``n_changed``, ``n_missing``, ``n_unrecorded``, ``files_checked``."""
        return {
            f"{p}.n_changed": float(len(self.changed)),
            f"{p}.n_missing": float(len(self.missing)),
            f"{p}.n_unrecorded": float(len(self.unrecorded)),
            f"{p}.files_checked": float(self.files_checked),
        }

    def summary(self) -> str:
        head = (
            f"{self.title}: {self.verdict} ({count_of(self.distributions, 'distribution')}, "
            f"{count_of(self.files_checked, 'file')} checked: {len(self.changed)} changed, "
            f"{len(self.missing)} missing, {len(self.unrecorded)} unrecorded)"
        )
        lines = [head]
        lines += [f"  {p.kind:<10} {p.distribution}: {p.path}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        return "\n".join(lines)

    def _html_body(self) -> str:
        if not self.problems:
            n = count_of(self.distributions, "distribution")
            return f"<p>Every recorded file of {n} matches its RECORD.</p>"
        rows = [
            [p.kind, p.distribution, p.path, p.expected or "", p.actual or ""]
            for p in self.problems
        ]
        return html_table(
            ["problem", "distribution", "path", "expected", "actual"],
            rows,
            row_classes=["bad"] * len(rows),
        )

    def to_pandas(self) -> Any:
        """One row per problem."""
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")
        return pd.DataFrame([asdict(p) for p in self.problems])


__all__ = [
    "Distribution",
    "EnvironmentReport",
    "FileProblem",
    "environment",
    "site_directories",
    "verify_environment",
]
