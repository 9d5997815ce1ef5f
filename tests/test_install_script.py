"""`deploy/install.sh`, which `make run` and `make test` start with, says why it failed: a disk
too small for the dependencies is refused before anything is installed, and pip running out of
space is named as that, not as PyPI being unreachable."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENOSPC = "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"


def run_install(tmp_path: Path, venv: Path, needs_gb: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VENV": str(venv),
        "INSTALL_LOG": str(tmp_path / "install.log"),
        "INSTALL_NEEDS_GB": str(needs_gb),
    }
    return subprocess.run(
        ["bash", str(ROOT / "deploy/install.sh")], env=env, capture_output=True, text=True
    )


def fake_venv(venv: Path, pip_says: str) -> Path:
    """A virtualenv whose pip notes that it ran in `pip-ran`, prints PIP_SAYS and fails, as a
    real one does when the install cannot finish."""
    (venv / "bin").mkdir(parents=True)
    pip = f"touch '{venv}/pip-ran'; echo '{pip_says}' >&2; exit 1"
    scripts = {"python": "echo Python 3.11.7", "pip": pip}
    for name, body in scripts.items():
        path = venv / "bin" / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return venv


def test_a_disk_without_room_for_the_dependencies_is_refused_before_installing(
    tmp_path: Path,
) -> None:
    venv = fake_venv(tmp_path / "venv", ENOSPC)
    result = run_install(tmp_path, venv, needs_gb=10**9)
    assert result.returncode == 1
    assert "GB free where" in result.stderr
    assert f"about {10**9} GB" in result.stderr
    assert not (venv / "pip-ran").exists()


def test_pip_running_out_of_space_is_reported_as_a_full_disk(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path / "venv", ENOSPC)
    result = run_install(tmp_path, venv, needs_gb=0)
    assert result.returncode == 1
    assert (venv / "pip-ran").exists()
    assert "dependencies  FAILED" in result.stderr
    assert "the disk is full" in result.stderr
    assert "PyPI" not in result.stderr.splitlines()[-1]
    assert not (venv / ".installed").exists()


def test_other_pip_failures_point_at_the_package_index(tmp_path: Path) -> None:
    unreachable = "ERROR: Could not find a version that satisfies the requirement torch"
    result = run_install(tmp_path, fake_venv(tmp_path / "venv", unreachable), needs_gb=0)
    assert result.returncode == 1
    assert "pip needs PyPI" in result.stderr
    assert "disk is full" not in result.stderr
