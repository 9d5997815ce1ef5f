"""The shipped relevance calibration: the hold threshold and the shared-group bonus `modctl
calibrate-relevance` chose, with the numbers they were chosen from. Policies without their own
floor use the floor; every relevance score adds the bonus."""

import json
from functools import cache
from pathlib import Path

RELEVANCE_FILE = Path(__file__).parent / "models" / "relevance.json"
FALLBACK_FLOOR = 0.2  # used only when the shipped file is missing


def save_calibration(path: Path, calibration: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")


def _shipped(path: Path, key: str) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))[key]
    except (ValueError, KeyError, TypeError) as error:
        raise RuntimeError(f"{path}: no {key} in it ({error})") from error


@cache
def shipped_floor(path: Path = RELEVANCE_FILE) -> float:
    """The calibrated floor; a file that exists but is unreadable is an error, not a guess."""
    if not path.exists():
        return FALLBACK_FLOOR
    floor = _shipped(path, "relevance_floor")
    if not isinstance(floor, int | float) or not -1.0 <= floor <= 1.0:
        raise RuntimeError(f"{path}: relevance_floor {floor!r} is not a cosine in -1..1")
    return float(floor)


@cache
def shipped_group_bonus(path: Path = RELEVANCE_FILE) -> float:
    """What relevance adds for each identity group a comment names that its article names
    too (analysis.relevance); none without the shipped file."""
    if not path.exists():
        return 0.0
    bonus = _shipped(path, "shared_group_bonus")
    if not isinstance(bonus, int | float) or not 0.0 <= bonus <= 1.0:
        raise RuntimeError(f"{path}: shared_group_bonus {bonus!r} is not within 0..1")
    return float(bonus)
