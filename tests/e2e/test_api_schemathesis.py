"""Fuzz every operation of the /api/v1 OpenAPI schema with schemathesis, over real
HTTP into the running service on a database of the test's own.

The schema is loaded from the service's /openapi.json. The database holds the demo
catalogue (as `krishi demo` loads it) and content made through the API by two
instructors, with enrolled farmers, an essay waiting for its grade and purchases.
Each operation gets positive and negative cases. Ids in the path, the query and the
body are often swapped for rows that exist, so the calls get past the 404s; a PATCH
often carries part of a valid create body, so it gets past the 422s; and the caller
is in turn the admin, the instructor who owns the rows, and one who does not.

No answer may be a 5xx, and every answer must match the schema documented for its
status code. Before the fuzzing, every operation with a body is also sent text that
Hypothesis never generates (a lone surrogate, a NUL), which must not be a 5xx either.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from bot.content import DEMO_FILE, read_catalogue
from bot.content.load import load_catalogue
from db.engine import make_sessionmaker
from db.queries import quiz as quiz_q
from tests.e2e.test_broadcasts import (
    ADMIN,
    ServiceFactory,
    api,
    make_service,
    new_course,
    new_instructor,
    seed,
)
from tests.harness import Service

__all__ = ["make_service"]  # the fixture, shared with the broadcast tests

# Schemathesis' own strategies use the `random` module, which Hypothesis deprecates;
# that is theirs to change, not this test's.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

# Cases per operation, positive and negative together: with existing rows swapped in,
# enough for every operation to get past its lookups to a 2xx; few enough that all
# 60 operations take about 15 s.
EXAMPLES = 15
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The same cases every run, and no example database to carry failures between runs:
    # a red run is reproduced by running it again.
    derandomize=True,
    database=None,
    # Every case is an HTTP round trip and schema-driven bodies are large; neither is a
    # problem of the test.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
    print_blob=False,
)
CHECKS = [not_a_server_error, response_schema_conformance]

# The rows a parameter or body field names, by its name. `row_id` names a row of the
# resource in the path (/api/v1/{resource}/{row_id}).
KIND_OF_FIELD = {
    "course_id": "courses",
    "lesson_id": "lessons",
    "quiz_id": "quizzes",
    "roadmap_id": "roadmaps",
    "instructor_id": "instructors",
    "author_id": "instructors",
    "creator_id": "instructors",
    "broadcast_id": "broadcasts",
    "answer_id": "answers",
    "purchase_id": "purchases",
    "token_id": "tokens",
    "user_id": "users",
}

# The newest rows of each kind: those made through the API come first, then a few of
# the demo catalogue's. The order is fixed, so a drawn index names the same row each run.
_KNOWN_ROWS = {
    "courses": "SELECT id FROM courses",
    "lessons": "SELECT id FROM course_lessons",
    "quizzes": "SELECT id FROM quizzes",
    "questions": "SELECT id FROM quiz_questions",
    "articles": "SELECT id FROM articles",
    "videos": "SELECT id FROM videos",
    "roadmaps": "SELECT id FROM learning_roadmaps",
    "milestones": "SELECT id FROM roadmap_milestones",
    "badges": "SELECT id FROM badges",
    "instructors": "SELECT id FROM users WHERE role = 'instructor'",
    "broadcasts": "SELECT id FROM broadcasts",
    "answers": "SELECT id FROM quiz_answers",
    "purchases": "SELECT id FROM course_purchases",
    # Farmers only the erase operation names, so erasing them spoils no other call.
    "users": "SELECT id FROM users WHERE display_name LIKE 'Spare farmer %'",
}


def _newest(sql: str) -> str:
    made = "purchased_at" if "course_purchases" in sql else "created_at"
    return f"{sql} ORDER BY {made} DESC, id LIMIT 8"


@dataclass(frozen=True)
class Catalogue:
    """The rows a fuzzed call may name, and the callers taking turns."""

    rows: dict[str, list[str]]
    tokens: list[str]

    @property
    def every_row(self) -> list[str]:
        return [row for kind in sorted(self.rows) for row in self.rows[kind]]


# --- the rows -------------------------------------------------------------------------


async def _essay_attempt(service: Service, quiz_id: str, essay_id: str, *, finished: bool) -> None:
    """A farmer's attempt whose one answer is an essay waiting for its grade."""
    farmer = (await seed(service, None, 1))[0]
    user_id = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=farmer
    )
    attempt_id = uuid.uuid4()
    await service.execute(
        """
        WITH attempt AS (
            INSERT INTO quiz_attempts (id, user_id, quiz_id, attempt_number)
            VALUES (:a, :u, :q, 1)
        ), progress AS (
            INSERT INTO quiz_attempt_progress (attempt_id, user_id, quiz_id, question_ids)
            VALUES (:a, :u, :q, ARRAY[CAST(:essay AS uuid)])
        )
        INSERT INTO quiz_answers (attempt_id, question_id, user_answer)
        VALUES (:a, :essay, 'Sow after the first 75 mm of rain')
        """,
        a=attempt_id, u=user_id, q=uuid.UUID(quiz_id), essay=uuid.UUID(essay_id),
    )  # fmt: skip
    if finished:
        async with make_sessionmaker(service.engine)() as session, session.begin():
            await quiz_q.finish_attempt(session, attempt_id, "finished")


async def _created(service: Service, token: str, path: str, body: dict[str, Any]) -> str:
    response = await api(service, "POST", path, token, json=body)
    assert response.status_code in (201, 202), response.text
    return str(response.json()["id"])


async def plant_catalogue(service: Service) -> Catalogue:
    """The demo catalogue, and content of every kind made through the API."""
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(DEMO_FILE))

    alice = await new_instructor(service, "Alice")
    bob = await new_instructor(service, "Bob")
    # Chitra's tokens are the only ones the fuzzer may revoke: Alice and Bob keep theirs.
    chitra = await new_instructor(service, "Chitra")
    spare_tokens = [
        str((await api(service, "POST", f"/instructors/{chitra.id}/tokens", json={})).json()["id"])
        for _ in range(2)
    ]

    course_id, lesson_id = await new_course(service, alice.token, "Drip irrigation")
    await new_course(service, bob.token, "Bob's mulching")
    await seed(service, course_id, 5)
    quiz_id = await _created(
        service, alice.token, "/quizzes",
        {"course_id": course_id, "lesson_id": lesson_id, "title": "Drip check",
         "passing_score": 60},
    )  # fmt: skip
    await _created(
        service, alice.token, "/questions",
        {"quiz_id": quiz_id, "type": "true_false", "text": "Water the leaves?",
         "options": [{"text": "True"}, {"text": "False", "is_correct": True}]},
    )  # fmt: skip
    essay_id = await _created(
        service, alice.token, "/questions",
        {"quiz_id": quiz_id, "type": "essay", "text": "Your watering plan?", "points": 2},
    )  # fmt: skip
    await _essay_attempt(service, quiz_id, essay_id, finished=True)
    await _essay_attempt(service, quiz_id, essay_id, finished=False)
    await _created(
        service, alice.token, "/articles",
        {"title": "Drip subsidies", "excerpt": "What the state pays", "content": "Long text",
         "category": "irrigation"},
    )  # fmt: skip
    await _created(
        service, alice.token, "/videos",
        {"title": "Laying drip lines", "category": "irrigation", "video_type": "youtube",
         "video_url": "https://youtu.be/x"},
    )  # fmt: skip
    roadmap_id = await _created(
        service, ADMIN, "/roadmaps",
        {"title": "Water-wise farmer", "description": "Save water", "goal": "Half the water",
         "difficulty": "beginner"},
    )  # fmt: skip
    await _created(
        service, ADMIN, "/milestones",
        {"roadmap_id": roadmap_id, "title": "Drip", "course_id": course_id},
    )  # fmt: skip
    await _created(
        service, ADMIN, "/badges",
        {"name": "Water saver", "description": "Finished drip irrigation",
         "category": "completion", "requirement_type": "courses_completed",
         "requirement_value": 1},
    )  # fmt: skip
    await _created(service, alice.token, "/broadcasts", {"course_id": course_id, "text": "Hi"})
    # A pending UPI purchase, a paid one, a refunded one, and one whose course is gone.
    await service.execute(
        """
        WITH farmer AS (
            INSERT INTO users (display_name) VALUES ('Buyer') RETURNING id
        ), bought AS (
            INSERT INTO course_purchases (user_id, course_id, amount, currency,
                                          discount_amount, final_amount, payment_status,
                                          purchased_at)
            -- A minute apart, so the newest-first order of the known rows is fixed.
            SELECT id, course, 299, 'INR', 59.80, 239.20, status,
                   now() - ago * interval '1 minute'
              FROM farmer, (VALUES (CAST(:course AS uuid), 'pending', 1),
                                   (CAST(:course AS uuid), 'success', 2),
                                   (CAST(:course AS uuid), 'refunded', 3),
                                   (NULL, 'pending', 4)) AS p(course, status, ago)
            RETURNING id
        )
        INSERT INTO payment_links (purchase_id, provider, url)
        SELECT id, 'upi', 'upi://pay?pa=krishi@upi' FROM bought
        """,
        course=uuid.UUID(course_id),
    )  # fmt: skip

    await service.execute(
        "INSERT INTO users (display_name) SELECT 'Spare farmer ' || n FROM generate_series(1, 3) n"
    )
    rows = {
        kind: [str(row[0]) for row in await service.rows(_newest(sql))]
        for kind, sql in _KNOWN_ROWS.items()
    }
    rows["tokens"] = spare_tokens
    assert all(rows.values()), {kind: len(ids) for kind, ids in rows.items()}
    return Catalogue(rows, [ADMIN, alice.token, bob.token])


# --- the cases ------------------------------------------------------------------------


def _kind(name: str, path: str) -> str | None:
    if name == "row_id":
        return path.removeprefix("/api/v1/").split("/")[0]
    return KIND_OF_FIELD.get(name)


def _aim_at_rows(
    fields: dict[str, Any], path: str, data: st.DataObject, catalogue: Catalogue
) -> None:
    """Swap some generated ids for rows that exist: of the right kind, or of any kind."""
    for name in list(fields):
        kind = _kind(name, path)
        if kind is None or kind not in catalogue.rows:
            continue
        # Half the time a row of the right kind: most calls should get past the lookup.
        choice = data.draw(
            st.sampled_from(["same kind", "generated", "same kind", "any kind"]), label=name
        )
        if choice == "same kind":
            fields[name] = data.draw(st.sampled_from(catalogue.rows[kind]), label=name)
        elif choice == "any kind":
            fields[name] = data.draw(st.sampled_from(catalogue.every_row), label=name)


def _patch_like_create(
    case: Case[Any], schema: BaseSchema, data: st.DataObject, catalogue: Catalogue
) -> None:
    """Often make a PATCH body of some fields of a valid create body instead of an
    arbitrary object, which the service refuses at once for its unknown fields."""
    resource = case.operation.path.removeprefix("/api/v1/").split("/")[0]
    if not data.draw(st.booleans(), label="patch from create body"):
        return
    create = schema[f"/api/v1/{resource}"]["POST"]
    whole = data.draw(create.as_strategy(GenerationMode.POSITIVE), label="create body").body
    assert isinstance(whole, dict)
    fields = data.draw(st.lists(st.sampled_from(sorted(whole)), unique=True), label="fields")
    patch = {name: whole[name] for name in fields}
    _aim_at_rows(patch, case.operation.path, data, catalogue)
    case.body = patch


def fuzz_operation(
    schema: BaseSchema,
    operation: APIOperation[Any, Any, Any, Any],
    base_url: str,
    http: requests.Session,
    catalogue: Catalogue,
    statuses: Counter[int],
) -> None:
    """Positive and negative cases of one operation; raises the (shrunk) first failure."""
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @FUZZ_SETTINGS
    @hypothesis.given(case=cases, data=st.data())
    def fuzz(case: Case[Any], data: st.DataObject) -> None:
        if case.operation.method.upper() == "PATCH":
            _patch_like_create(case, schema, data, catalogue)
        path = case.operation.path
        if isinstance(case.path_parameters, dict):
            _aim_at_rows(case.path_parameters, path, data, catalogue)
        if isinstance(case.query, dict):
            _aim_at_rows(case.query, path, data, catalogue)
        if isinstance(case.body, dict):
            _aim_at_rows(case.body, path, data, catalogue)
        token = data.draw(st.sampled_from(catalogue.tokens), label="caller")
        response = case.call(
            base_url=base_url,
            session=http,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    fuzz()


def fuzz_every_operation(
    base_url: str, catalogue: Catalogue
) -> tuple[dict[str, Counter[int]], list[str]]:
    """Every /api/v1 operation in turn: the status codes each answered, and the failures."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").include(
        path_regex=r"^/api/v1/"
    )
    answered: dict[str, Counter[int]] = {}
    failures: list[str] = []
    with requests.Session() as http:
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                failures.append(f"unusable schema: {result.err()}")
                continue
            operation = result.ok()
            statuses = answered.setdefault(operation.label, Counter())
            try:
                fuzz_operation(schema, operation, base_url, http, catalogue, statuses)
            # One report for all operations, not the first only. A FailureGroup is not an
            # Exception: it is a BaseExceptionGroup of the checks' failures.
            except (Exception, FailureGroup) as failure:
                failures.append(f"{operation.label}:\n{failure}")
    return answered, failures


# Text PostgreSQL cannot store, which Hypothesis' text never holds: a lone surrogate
# (JSON's \u escapes can carry one; UTF-8 cannot encode it) and the NUL character.
UNENCODABLE_BODIES = [
    b'"\\udbae"',
    b'{"title": "\\udbae", "text": "\\u0000", "display_name": "\\ud83d", "label": "\\u0000"}',
]


async def unencodable_text_answers(
    service: Service, paths: dict[str, Any], catalogue: Catalogue
) -> dict[str, set[int]]:
    """The status codes of each operation with a body for bodies of unencodable text,
    its path naming rows that exist (so a PATCH gets as far as validating its body)."""
    answers: dict[str, set[int]] = {}
    for path, item in paths.items():
        url = path
        for name in re.findall(r"\{(\w+)\}", path):
            kind = _kind(name, path)
            row = catalogue.rows[kind][0] if kind in catalogue.rows else str(uuid.uuid4())
            url = url.replace(f"{{{name}}}", row)
        for method, spec in item.items():
            if "requestBody" not in spec:
                continue
            for body in UNENCODABLE_BODIES:
                response = await service.http.request(
                    method.upper(),
                    url,
                    content=body,
                    headers={
                        "Authorization": f"Bearer {ADMIN}",
                        "content-type": "application/json",
                    },
                )
                answers.setdefault(f"{method.upper()} {path}", set()).add(response.status_code)
    return answers


async def test_no_api_operation_answers_5xx(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        catalogue = await plant_catalogue(service)
        spec = (await service.http.get("/openapi.json")).json()
        paths = {path: item for path, item in spec["paths"].items() if path.startswith("/api/v1/")}
        unencodable = await unencodable_text_answers(service, paths, catalogue)
        # The service answers on this loop while schemathesis' blocking client runs in a thread.
        answered, failures = await asyncio.to_thread(fuzz_every_operation, service.url, catalogue)
    refused_badly = [
        f"{label}: {sorted(codes)} for a body of unencodable text"
        for label, codes in unencodable.items()
        if max(codes) >= 500
    ]
    assert not refused_badly + failures, "\n\n".join(refused_badly + failures)
    assert set(answered) == {
        f"{method.upper()} {path}" for path, item in paths.items() for method in item
    }
    # Each operation got past validation, lookups and ownership at least once. One that
    # never does needs rows it can name: seed them, or map its id field in KIND_OF_FIELD.
    never_done = sorted(
        label
        for label, statuses in answered.items()
        if not any(200 <= status < 300 for status in statuses)
    )
    assert not never_done, never_done
