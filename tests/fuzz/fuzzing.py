"""Fuzz every operation of an OpenAPI schema, with valid data and with invalid data, a
bounded number of examples each (hypothesis, derandomised so a run is repeatable)."""

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.schemas import BaseSchema

# Invalid data must be refused with one of these (413: too large is a refusal too).
REFUSALS = [400, 401, 403, 404, 405, 413, 422, 429]


def load(url: str) -> BaseSchema:
    """The service's OpenAPI, with the refusals it documents counted as rejections."""
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    )
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


def fuzz(
    schema: BaseSchema,
    call: Callable[[Case[Any]], Any],
    *,
    examples: int,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> list[str]:
    """Run `call` on generated cases of each operation; the operations fuzzed. A failure
    raises with the operation and the generation mode noted. `path_parameters` and `headers`
    are fixed in every case (a tenant, credentials), so the generator knows they are valid."""
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        pinned = {k: v for k, v in (path_parameters or {}).items() if f"{{{k}}}" in operation.path}
        for mode in GenerationMode:
            strategy = operation.as_strategy(mode, path_parameters=pinned or None, headers=headers)

            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            @given(case=strategy)
            def check(case: Case[Any]) -> None:
                call(case)

            try:
                check()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # Nothing of this operation can be made invalid (its only parameters are fixed).
            except Exception as error:
                error.add_note(f"while fuzzing {operation.label} with {mode.value} data")
                raise
        fuzzed.append(operation.label)
    return fuzzed
