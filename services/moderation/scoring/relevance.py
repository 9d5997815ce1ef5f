"""The shipped relevance calibration: the hold threshold `modctl calibrate-relevance` chose,
with the numbers it was chosen from. Policies without their own floor use it."""

import json
from functools import cache
from pathlib import Path

RELEVANCE_FILE = Path(__file__).parent / "models" / "relevance.json"
FALLBACK_FLOOR = 0.2  # used only when the shipped file is missing


def save_calibration(path: Path, calibration: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")


@cache
def shipped_floor(path: Path = RELEVANCE_FILE) -> float:
    """The calibrated floor; a file that exists but is unreadable is an error, not a guess."""
    if not path.exists():
        return FALLBACK_FLOOR
    try:
        floor = json.loads(path.read_text(encoding="utf-8"))["relevance_floor"]
    except (ValueError, KeyError, TypeError) as error:
        raise RuntimeError(f"{path}: no relevance_floor in it ({error})") from error
    if not isinstance(floor, int | float) or not -1.0 <= floor <= 1.0:
        raise RuntimeError(f"{path}: relevance_floor {floor!r} is not a cosine in -1..1")
    return float(floor)
