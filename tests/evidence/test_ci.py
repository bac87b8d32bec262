"""The CI surfaces: the pre-commit hooks (run with `pre-commit try-repo` and `pre-commit
run` on local repositories, offline) and the GitHub Actions composite action (its check
step run here as the runner would)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_config

REPO = Path(__file__).resolve().parents[2]
BIN = str(Path(sys.executable).parent)
EVIL = b"\x80\x04cos\nsystem\n."

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _env(tmp_path):
    return {
        **os.environ,
        "PATH": BIN + os.pathsep + os.environ["PATH"],
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip


def _git(cwd, *args, env):
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture
def repos(tmp_path):
    """(hooks repository holding our .pre-commit-hooks.yaml, a project repository, env)."""
    env = _env(tmp_path)
    hooks, project = tmp_path / "hooks", tmp_path / "project"
    hooks.mkdir()
    shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks)
    _git(hooks, "init", "-q", env=env)
    _git(hooks, "add", ".", env=env)
    _git(hooks, "commit", "-qm", "hooks", env=env)
    (project / "model").mkdir(parents=True)
    (project / "model" / "weights.pkl").write_bytes(EVIL)
    (project / "model" / "config.json").write_text("{}")
    _git(project, "init", "-q", env=env)
    _git(project, "add", ".", env=env)
    return hooks, project, env


def _pre_commit(project, env, *args):
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_scan_hook_with_try_repo(repos):
    hooks, project, env = repos
    out = _pre_commit(project, env, "try-repo", str(hooks), "mlsentry-scan", "--all-files")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "dangerous: model/weights.pkl" in out.stdout and "os.system" in out.stdout
    (project / "model" / "weights.pkl").write_bytes(b"\x80\x04K\x01.")  # the int 1
    _git(project, "add", ".", env=env)
    out = _pre_commit(project, env, "try-repo", str(hooks), "mlsentry-scan", "--all-files")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Passed" in out.stdout


def test_the_verify_hook_with_its_arguments(repos):
    hooks, project, env = repos
    subprocess.run(
        [os.path.join(BIN, "mlsentry"), "manifest", "model", "-o", "model.manifest.json"],
        cwd=project, env=env, check=True, capture_output=True,
    )  # fmt: skip
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks, env=env, capture_output=True, text=True
    ).stdout.strip()
    config = {
        "repos": [
            {
                "repo": str(hooks),
                "rev": rev,
                "hooks": [{"id": "mlsentry-verify", "args": ["model", "model.manifest.json"]}],
            }
        ]
    }
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _git(project, "add", ".", env=env)
    out = _pre_commit(project, env, "run", "mlsentry-verify", "--all-files")
    assert out.returncode == 0, out.stdout + out.stderr
    (project / "model" / "config.json").write_text('{"edited": true}')
    out = _pre_commit(project, env, "run", "mlsentry-verify", "--all-files")
    assert out.returncode == 1 and "modified config.json" in out.stdout, out.stdout


def test_the_hooks_need_no_network():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"mlsentry-scan", "mlsentry-verify"}
    assert {h["language"] for h in hooks} == {"system"}  # nothing installed or downloaded
    assert all(h["entry"].startswith("mlsentry ") for h in hooks)


def test_the_action_runs_mlsentry_check(project, tmp_path):
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert any("pip install" in s.get("run", "") and "mlsentry" in s["run"] for s in steps)
    check = next(s for s in steps if s.get("id") == "check")
    assert "mlsentry check" in check["run"]
    # The check step as a runner runs it, with the inputs in its environment.
    write_config(project, ["scan", "drift"])
    from mlsentry.integrity import SigningKey

    key = SigningKey.generate()
    output = tmp_path / "github_output"
    env = {
        **_env(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "MLSENTRY_CONFIG": "",
        "MLSENTRY_SARIF": "out.sarif",
        "MLSENTRY_EVIDENCE": "release.evidence",
        "MLSENTRY_ONLY": "scan gate,drift gate",
        "MLSENTRY_SIGNING_KEY": key.to_pem(),
    }
    out = subprocess.run(
        ["bash", "-e", "-c", check["run"]], cwd=project, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert output.read_text() == "exit-code=0\n"
    assert not (tmp_path / "mlsentry-signing-key.pem").exists()  # the key file is removed
    assert json.loads((project / "out.sarif").read_text())["version"] == "2.1.0"
    import mlsentry as ms

    assert ms.evidence.verify(project / "release.evidence", key.public_key).passed
    (project / "model" / "weights.pkl").write_bytes(EVIL)
    out = subprocess.run(
        ["bash", "-e", "-c", check["run"]], cwd=project, env=env, capture_output=True, text=True
    )
    assert out.returncode == 1 and output.read_text().endswith("exit-code=1\n")
