"""The conversations' state tables: every step goes to declared states, nothing is
claimed twice, the router refuses tables that break either rule, and the diagrams
in docs/conversations/ are the tables as they are now."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import handlers
from bot.messages import Reply
from handlers import diagrams, lessons, media, payments, quiz, router, start
from handlers.base import IDLE, NEW, STAY, Answer, Conversation, Handler, Step, Turn, on
from handlers.router import CONVERSATIONS, ROUTING, TABLES, TableError, merge
from tests.handlers.support import A, B, turn_in


def _steps(conversation: Conversation) -> list[tuple[str, Step]]:
    return [(how, step) for _start, how, step in diagrams._entries(conversation)]


ALL = [*CONVERSATIONS, ROUTING]


def test_the_real_tables_merge_without_a_clash() -> None:
    merged = merge(ALL)
    assert set(merged.commands) == set(router.COMMANDS)
    assert set(merged.buttons) == set(router.BUTTONS)
    assert set(merged.aliases) == set(router.ALIASES)


@pytest.mark.parametrize("conversation", ALL, ids=lambda c: c.name)
def test_every_declared_transition_goes_to_a_declared_state(conversation: Conversation) -> None:
    for how, step in _steps(conversation):
        assert step.to, how
        for target in step.to:
            assert target == STAY or target in TABLES.states, f"{conversation.name} {how}"


def test_the_lesson_state_is_declared_and_where_lessons_go() -> None:
    assert TABLES.states[lessons.LESSON] == "lessons"
    assert lessons.LESSON in TABLES.targets[lessons.open_lesson]
    assert TABLES.states[NEW] == "start"


def test_every_handler_the_router_can_pick_has_a_step() -> None:
    picked_outside_tables = {
        start.start,
        start.ask_consent,
        payments.stars_paid,
        media.answer_attachment,
        router.FALLBACK,
        router.stale_button,
        router.wrong_number,
        *router.BEFORE_CONSENT,
    }
    assert picked_outside_tables <= set(TABLES.targets)


@pytest.mark.parametrize("conversation", ALL, ids=lambda c: c.name)
def test_every_handler_says_what_it_answers(conversation: Conversation) -> None:
    for how, step in _steps(conversation):
        doc = inspect.getdoc(step.handler) or ""
        assert doc.startswith("Answers "), f"{conversation.name} {how}: {doc!r}"


def test_the_quiz_fits_on_one_screen() -> None:
    """A newcomer reads the quiz's whole machine in its table."""
    source = inspect.getsource(quiz)
    table = source[source.index("CONVERSATION = Conversation(") :]
    assert len(table.splitlines()) <= 20
    assert quiz.CONVERSATION.states[quiz.QUESTION] == on(
        quiz.answer_text, quiz.QUESTION, IDLE, lessons.LESSON
    )


def test_no_handler_moves_the_conversation_in_its_body() -> None:
    folder = Path(handlers.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert ".goto(" not in text, path.name
        assert not re.search(r"turn\.(state|data)\s*=[^=]", text), path.name
        assert not re.search(r"turn\.data\[[^]]*\]\s*=[^=]", text), path.name


# --- a table that breaks the rules is refused at import ---------------------------


def _refused(*conversations: Conversation) -> str:
    with pytest.raises(TableError) as refused:
        merge(conversations)
    return str(refused.value)


def test_a_command_claimed_twice_is_refused() -> None:
    message = _refused(
        Conversation(name="one", commands={"quiz": on(A, STAY)}),
        Conversation(name="two", commands={"quiz": on(B, STAY)}),
    )
    assert "command 'quiz' is claimed by one and two" in message


def test_a_button_prefix_claimed_twice_is_refused() -> None:
    message = _refused(
        Conversation(name="one", buttons={"qa": on(A, STAY)}),
        Conversation(name="two", buttons={"qa": on(B, STAY)}),
    )
    assert "button 'qa' is claimed by one and two" in message


def test_an_alias_claimed_twice_is_refused() -> None:
    message = _refused(
        Conversation(name="one", commands={"a": on(A, STAY)}, aliases={"aage": "a"}),
        Conversation(name="two", commands={"b": on(B, STAY)}, aliases={"aage": "b"}),
    )
    assert "alias 'aage' is claimed by one and two" in message


def test_a_state_claimed_twice_is_refused() -> None:
    message = _refused(
        Conversation(name="one", states={"asking": on(A, STAY)}),
        Conversation(name="two", states={"asking": None}),
    )
    assert "state 'asking' is claimed by one and two" in message


def test_a_transition_to_an_undeclared_state_is_refused() -> None:
    message = _refused(Conversation(name="one", buttons={"go": on(A, "lesson", IDLE)}))
    assert "one: button go (A) goes to 'lesson', which no table declares" in message


def test_a_transition_to_a_state_another_table_declares_is_fine() -> None:
    merged = merge(
        [
            Conversation(name="one", buttons={"go": on(A, "asking")}),
            Conversation(name="two", states={"asking": on(B, IDLE, STAY)}),
        ]
    )
    assert merged.targets[A] == {"asking"}
    assert merged.texts["asking"].handler is B


def test_an_alias_naming_no_command_is_refused() -> None:
    message = _refused(Conversation(name="one", aliases={"aage": "next"}))
    assert "alias 'aage' names no command ('next')" in message


def test_an_alias_farmers_cannot_type_is_refused() -> None:
    # The router lowercases and squeezes spaces before it looks an alias up.
    message = _refused(Conversation(name="one", commands={"a": on(A, STAY)}, aliases={"Aage": "a"}))
    assert "alias 'Aage' can never match" in message


def test_the_routers_own_button_prefix_is_refused() -> None:
    message = _refused(Conversation(name="one", buttons={"cmd": on(A, STAY)}))
    assert "button prefix 'cmd' is not usable" in message


def test_every_problem_is_named_at_once() -> None:
    message = _refused(
        Conversation(name="one", commands={"x": on(A, "nowhere")}),
        Conversation(name="two", commands={"x": on(B, STAY)}),
    )
    assert "claimed by one and two" in message and "'nowhere'" in message


def test_a_step_must_say_where_it_goes() -> None:
    with pytest.raises(ValueError, match="say where it goes"):
        on(A)


# --- answers: replies and the next state, chained in reading order ------------------


def test_a_plain_list_stays_where_it_was() -> None:
    turn = turn_in("searching", {"query": "drip", "offset": 0})
    assert turn.take([Reply("hi")]) == [Reply("hi")]
    assert (turn.state, turn.data) == ("searching", {"query": "drip", "offset": 0})


def test_an_answer_moves_and_carries_only_its_data() -> None:
    turn = turn_in("searching", {"query": "drip", "offset": 0})
    assert turn.take(Answer([Reply("q1")], quiz.QUESTION, {"attempt": "x"})) == [Reply("q1")]
    assert (turn.state, turn.data) == (quiz.QUESTION, {"attempt": "x"})


def test_an_answer_that_stays_keeps_the_data() -> None:
    turn = turn_in("searching", {"query": "drip"})
    turn.take(Answer([Reply("hi")]))
    assert (turn.state, turn.data) == ("searching", {"query": "drip"})


def test_answers_chain_in_reading_order_and_the_later_move_wins() -> None:
    first, second = Reply("1"), Reply("2")
    before, after = [first], [second]
    assert before + Answer([second], IDLE) == Answer([first, second], IDLE)
    assert Answer([first], IDLE) + after == Answer([first, second], IDLE)
    # A later answer that stays leaves the earlier move in place…
    assert Answer([first], IDLE) + Answer([second]) == Answer([first, second], IDLE)
    # …and a later one that moves decides where the conversation ends up.
    moved = Answer([first], IDLE) + Answer([second], lessons.LESSON, {"lesson": "l"})
    assert moved == Answer([first, second], lessons.LESSON, {"lesson": "l"})
    assert Answer([], IDLE, {"a": 1}).carrying(b=2) == Answer([], IDLE, {"a": 1, "b": 2})


# --- at each turn, a handler keeps to its table ----------------------------------


async def _run(
    monkeypatch: pytest.MonkeyPatch, allowed: set[str], answer: Answer | list[Reply], state: str
) -> str:
    async def handler(turn: Turn) -> Answer | list[Reply]:
        """Answers a test."""
        return answer

    targets: dict[Handler, frozenset[str]] = TABLES.targets
    monkeypatch.setitem(targets, handler, frozenset(allowed))
    turn = turn_in(state, {})
    checked = router._keeping_to_its_table(handler)
    turn.take(await checked(turn))
    return turn.state


async def test_a_declared_move_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _run(monkeypatch, {IDLE}, Answer([], IDLE), quiz.QUESTION) == IDLE
    assert await _run(monkeypatch, {STAY}, [], quiz.QUESTION) == quiz.QUESTION
    # Moving to where it already was is staying.
    assert await _run(monkeypatch, {STAY}, Answer([], IDLE), IDLE) == IDLE


async def test_an_undeclared_move_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(router.UndeclaredTransition, match="to 'lesson'"):
        await _run(monkeypatch, {IDLE}, Answer([], lessons.LESSON), quiz.QUESTION)
    with pytest.raises(router.UndeclaredTransition, match="to '\\(stay\\)'"):
        await _run(monkeypatch, {IDLE}, [], quiz.QUESTION)


# --- the diagrams ------------------------------------------------------------------


def test_the_diagrams_are_current() -> None:
    assert diagrams.stale() == [], "run: python -m handlers.diagrams"


def test_every_conversation_has_its_diagram() -> None:
    names = {path.stem for path in diagrams.pages()}
    assert names == {conversation.name for conversation in CONVERSATIONS}
    page = diagrams.pages()[diagrams.DOCS / "quiz.md"]
    assert "quiz_question --> lesson : typed text" in page
    assert "anywhere --> quiz_question : tap qstart" in page
    assert "Answers `qstart:<quiz>`" in page
    assert "```mermaid\nstateDiagram-v2" in page


def test_the_check_fails_on_a_stale_missing_or_stray_diagram(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs" / "conversations"
    monkeypatch.setattr(diagrams, "DOCS", docs)
    assert diagrams.main(["--check"]) == 1  # missing
    assert diagrams.main([]) == 0
    assert diagrams.main(["--check"]) == 0
    quiz_page = docs / "quiz.md"
    quiz_page.write_text(quiz_page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert diagrams.main(["--check"]) == 1  # stale
    assert "stale: docs/conversations/quiz.md" in capsys.readouterr().err
    diagrams.main([])
    (docs / "old.md").write_text("a conversation that is gone\n", encoding="utf-8")
    assert diagrams.main(["--check"]) == 1  # stray
