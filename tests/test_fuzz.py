"""Property tests: whatever arrives, the parsers answer with a value or ValueError
(which the webhooks turn into 400), and grading never raises."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels import telegram, whatsapp
from handlers import grading
from handlers.router import clean_text

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)

update_like = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=0, max_value=2**40)},
    optional={
        "message": st.dictionaries(
            st.sampled_from(["message_id", "date", "chat", "from", "text", "photo", "caption"]),
            json_values,
        ),
        "callback_query": st.dictionaries(
            st.sampled_from(["id", "from", "data", "message", "chat_instance"]), json_values
        ),
        "edited_message": json_values,
        "poll_answer": json_values,
    },
)


def _parse_or_refuse(data: Any) -> None:
    try:
        inbound, _callback = telegram.parse_update(data)
    except ValueError:
        return
    if inbound is not None:
        assert inbound.channel == "telegram" and inbound.external_message_id


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_is_an_update_or_refused(data: Any) -> None:
    _parse_or_refuse(data)


@settings(max_examples=300, deadline=None)
@given(update_like)
def test_update_shaped_json_is_an_update_or_refused(data: dict[str, Any]) -> None:
    _parse_or_refuse(json.loads(json.dumps(data)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_body_is_a_twilio_form_or_refused(body: bytes) -> None:
    try:
        form = whatsapp.parse_form(body)
    except (UnicodeDecodeError, ValueError):
        return
    for parse in (whatsapp.parse_message, whatsapp.parse_status):
        with contextlib.suppress(ValueError):
            parse(form)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "MessageSid",
                "From",
                "Body",
                "ButtonPayload",
                "MessageStatus",
                "ErrorCode",
                "ProfileName",
            ]
        ),
        st.text(max_size=40),
    )
)
def test_any_twilio_fields_are_a_message_or_refused(form: dict[str, str]) -> None:
    for parse in (whatsapp.parse_message, whatsapp.parse_status):
        with contextlib.suppress(ValueError):
            parse(form)


options = st.lists(
    st.fixed_dictionaries({"text": st.text(max_size=20), "is_correct": st.booleans()}),
    min_size=1, max_size=5,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(options, st.text(max_size=60), st.sampled_from(["short_answer", "essay"]))
def test_grading_any_text_never_raises(choices: list[dict[str, Any]], text: str, kind: str) -> None:
    graded = grading.grade_text(kind, choices, text, 2)
    assert graded.points in (None, 0, 2)
    index = grading.choice_from_text(choices, text)
    assert index is None or 0 <= index < len(choices)
    clean_text(text)


def test_grading_ignores_case_space_form_and_digit_script() -> None:
    accepted = [{"text": "15 cm", "is_correct": True}]
    for typed in ("15 cm", " 15  CM ", "१५ cm", "１５ cm", "15 cm."):
        assert grading.grade_text("short_answer", accepted, typed, 1).is_correct, typed
    assert not grading.grade_text("short_answer", accepted, "16 cm", 1).is_correct
