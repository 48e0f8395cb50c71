"""The API against its own OpenAPI document: schemathesis's engine (examples, coverage and
fuzzing phases, as ``st run`` does) in-process over WSGI, as an engineer, a regulator and an
administrator, with a fixed seed and a few examples per operation. No server error, only the
answers the document describes, negative requests (a PATCH without a body, a wrong type)
refused, an unsupported method 405 with ``Allow``.

A smoke run for CI; a longer one is the same test with ``OPO_SCHEMATHESIS_EXAMPLES`` raised.
"""

from __future__ import annotations

import os

import pytest

from tests.helpers.ci import need

try:
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import events, from_schema
except ImportError:  # pragma: no cover - the test extra is not installed
    schemathesis = None

EXAMPLES = int(os.environ.get("OPO_SCHEMATHESIS_EXAMPLES", "3"))
SEED = 20261203


def _config(token: str):
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": EXAMPLES},
            "checks": {
                # A schema-valid body may name a facility, region or organization that does
                # not exist, or send a file that is not a spreadsheet: those are 422s naming
                # the field, which no OpenAPI schema can foresee.
                "positive_data_acceptance": {"enabled": False},
            },
            # the API has no links between operations to follow
            "phases": {"stateful": {"enabled": False}},
        }
    )


def _failures(schema) -> set[tuple[str, str, str]]:
    """(operation, check, what failed) for every failed check and every error of the run."""
    found = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    if node.failure_info is not None:
                        failure = getattr(node.failure_info, "failure", node.failure_info)
                        title = getattr(failure, "title", str(failure))
                        found.add((event.recorder.label, node.name, title))
        elif isinstance(event, events.NonFatalError):
            found.add((event.label, "error", str(event.value)[:300]))
    return found


@pytest.mark.conformance
@pytest.mark.parametrize("role", ["eng_a", "reg_pav", "admin"])
def test_the_api_conforms_to_its_openapi_document(app, world, make, role):
    need(schemathesis is not None, "schemathesis is not installed (pip install -e .[test])")
    token = make.token(getattr(world, role))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=_config(token))
    assert sorted(_failures(schema)) == []
