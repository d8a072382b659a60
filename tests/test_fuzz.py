"""Schemathesis tests every operation of the contract against the app, in every phase it has
(the contract's examples, coverage of each keyword's edges, fuzzing, stateful sequences) and
with every check: no 5xx, answers as documented, valid data accepted, invalid data refused.

Once with a writer's token, so the write paths are reached, and once without, as a reader
is. Bounded: a fixed number of examples per operation and step count, no database of old
failures, derandomised, so `make test` takes the same time on every run.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from service import create_app
from tests.helpers import make_config

TOKEN = "fuzz-token"
# Writes are on, so the fuzzer reaches the write paths too, not only their 401s.
_app = create_app(make_config(Path(tempfile.mkdtemp(prefix="kb-fuzz-")), api_tokens=[TOKEN]))
# The contract twice: as a writer sees it (every request carries the token, unless the case
# tests a request without one) and as a reader does (no token).
writer = schemathesis.openapi.from_wsgi("/openapi.json", _app)
reader = schemathesis.openapi.from_wsgi("/openapi.json", _app)
# A raw body is `format: binary` in the contract, which any bytes fit, but the server reads
# text: bytes that decode and hold more than white space. Such bodies are sent as UTF-8, as
# the contract's strings were; NUL and the BOM are left out, since they steer the decoding.
READABLE_TEXT = (
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\ufeff"), min_size=1)
    .filter(str.strip)
    .map(str.encode)
)
for media_type in ("text/plain", "application/octet-stream"):
    schemathesis.openapi.media_type(media_type, READABLE_TEXT)
BUDGET = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
STEPS = settings(BUDGET, max_examples=15, stateful_step_count=6)


@writer.auth()
class WriterToken:
    """The writer's bearer token, set by Schemathesis itself so that the cases it makes
    without an `Authorization` header on purpose stay without one."""

    def get(self, case: Any, context: Any) -> str:
        return TOKEN

    def set(self, case: Any, token: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _give_back_randomness() -> None:
    # Hypothesis seeds the global `random` identically for every example; Whoosh names new
    # index segments with it, so two writes in a row would pick the same name. A real server
    # never reseeds, so the test gives back what Hypothesis took.
    random.seed(os.urandom(16))


def _excluded_checks(case: Any) -> list:
    """Checks that cannot hold for an operation, each for a rule OpenAPI cannot state."""
    excluded = []
    if case.operation.method.upper() == "PUT" or case.operation.path in (
        "/v1/articles/import",
        "/",
    ):
        # A PUT body's record ids start with the article id in the path, an imported text
        # must read as a KB article, and a log file sent to the page must be text. A body
        # valid by the schema alone is rightly refused there; every other check stands.
        excluded.append(positive_data_acceptance)
    if case.operation.path == "/" and case.operation.method.upper() == "POST":
        # The page's form is read as a browser sends it: the `logfile` part is a file
        # whatever bytes it holds, and fields the form does not have are ignored. A
        # "schema-violating" multipart body is still a form the page can answer.
        excluded.append(negative_data_rejection)
    return excluded


def _check(case: Any) -> None:
    _give_back_randomness()
    case.call_and_validate(excluded_checks=_excluded_checks(case))


@writer.parametrize()
@BUDGET
def test_no_operation_fails_or_breaks_its_contract_for_a_writer(case) -> None:
    _check(case)


@reader.parametrize()
@BUDGET
def test_no_operation_fails_or_breaks_its_contract_for_a_reader(case) -> None:
    _check(case)


class _Steps:
    """Sequences of calls, each step's values from earlier answers (an article written, then
    read, replaced, deleted), every answer checked as above."""

    def before_call(self, case: Any) -> None:
        _give_back_randomness()

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, excluded_checks=_excluded_checks(case))


class WriterWorkflow(_Steps, writer.as_state_machine()):  # type: ignore[misc]
    pass


class ReaderWorkflow(_Steps, reader.as_state_machine()):  # type: ignore[misc]
    pass


TestWriterWorkflow = STEPS(WriterWorkflow).TestCase
TestReaderWorkflow = STEPS(ReaderWorkflow).TestCase
