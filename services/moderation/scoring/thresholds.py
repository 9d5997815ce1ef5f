"""The shipped default review and reject thresholds, chosen by `modctl train` on the news
validation split. Policies without their own thresholds use them."""

import json
from functools import cache
from pathlib import Path

THRESHOLDS_FILE = Path(__file__).parent / "models" / "thresholds.json"
FALLBACK = {"toxicity": (0.5, 0.9)}  # used only when the shipped file is missing


def save_thresholds(path: Path, chosen: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chosen, indent=2) + "\n", encoding="utf-8")


@cache
def shipped_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, tuple[float, float]]:
    """Label -> (review, reject); a file that exists but is unreadable is an error."""
    if not path.exists():
        return dict(FALLBACK)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))["thresholds"]
        bands = {str(label): (float(b["review"]), float(b["reject"])) for label, b in raw.items()}
    except (ValueError, KeyError, TypeError) as error:
        raise RuntimeError(f"{path}: no thresholds in it ({error})") from error
    for label, (review, reject) in bands.items():
        if not 0.0 <= review <= reject <= 1.0:
            raise RuntimeError(f"{path}: {label} review {review} / reject {reject} out of order")
    return bands
