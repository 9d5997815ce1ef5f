"""How long `modctl score` takes from a cold start to its first answer: a new process, one
comment with its article on standard input, timed until the scored line comes back."""

import json
import os
import subprocess
import sys
import time

COMMENT = {
    "id": "first",
    "text": "The council should publish the contract before the vote, not after it.",
    "article_text": "The city council votes on Thursday on the new bus contract.",
}
LIMIT_SECONDS = 120.0


def score_first_answer_seconds(env: dict[str, str] | None = None) -> float:
    """Seconds from starting the process to its first line of output; raises if it fails."""
    command = [sys.executable, "-m", "services.modctl.cli", "score"]
    started = time.perf_counter()
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | (env or {}),
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdin.write(json.dumps(COMMENT) + "\n")
        process.stdin.close()
        line = process.stdout.readline()
        seconds = time.perf_counter() - started
        try:
            process.wait(timeout=LIMIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            raise RuntimeError("modctl score did not finish") from None
        errors = process.stderr.read()
    if process.returncode != 0 or json.loads(line or "{}").get("id") != COMMENT["id"]:
        raise RuntimeError(f"modctl score failed (exit {process.returncode}): {errors[-500:]}")
    return round(seconds, 2)
