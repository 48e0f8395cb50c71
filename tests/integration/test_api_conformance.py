"""The API against its own OpenAPI document (schemathesis, in-process over WSGI): for an
engineer, a regulator and an administrator, a fixed number of generated requests per
operation (positive and negative, a fixed seed) get no server error and only answers the
document describes, and an unsupported method gets 405 with ``Allow``.

A smoke run for CI (well under a minute); a longer one is the same test with
``OPO_SCHEMATHESIS_EXAMPLES`` raised."""

from __future__ import annotations

import os

import pytest

from tests.conftest import need

try:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation import GenerationMode
except ImportError:  # pragma: no cover - the test extra is not installed
    schemathesis = None

EXAMPLES = int(os.environ.get("OPO_SCHEMATHESIS_EXAMPLES", "8"))
SEED = 20261203


def _checks():
    from schemathesis.checks import CHECKS

    names = (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "negative_data_rejection",
        "missing_required_header",
        "ignored_auth",
    )
    # Not positive_data_acceptance: a schema-valid body may name a facility, region or
    # organization that does not exist, or a file that is not a spreadsheet; those are 422s
    # naming the field, which no OpenAPI schema can foresee.
    return [CHECKS.get_one(name) for name in names]


def _summary(exc: BaseException) -> str:
    """The failed checks' titles and the request that reproduces each (curl)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [line for line in lines if line.startswith(("- ", "curl", "[", "Expected"))]
    return "\n".join(kept)[:3000] or repr(exc)[:3000]


def _failures_of(schema, headers: dict, mode) -> dict[str, str]:
    failures: dict[str, str] = {}
    checks = _checks()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            run()
        except Unsatisfiable:  # no negative request exists for an operation without input
            continue
        except (Exception, BaseExceptionGroup) as exc:  # a failed check: report them all
            failures[f"{mode.name} {operation.label}"] = _summary(exc)
    return failures


@pytest.mark.conformance
@pytest.mark.parametrize("role", ["eng_a", "reg_pav", "admin"])
def test_the_api_conforms_to_its_openapi_document(app, world, make, role):
    need(schemathesis is not None, "schemathesis is not installed (pip install -e .[test])")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {make.token(getattr(world, role))}"}
    failures = {}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        failures.update(_failures_of(schema, headers, mode))
    assert failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
