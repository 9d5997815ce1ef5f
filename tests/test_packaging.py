"""The packages pyproject.toml declares are exactly the source tree's folders, so an install
neither misses one nor warns about a data folder it was not told of."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_declared_packages_match_the_source_tree() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = sorted(
        ".".join(folder.relative_to(ROOT).parts)
        for folder in [ROOT / "services", *(ROOT / "services").rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    )
    assert sorted(declared["packages"]) == found
