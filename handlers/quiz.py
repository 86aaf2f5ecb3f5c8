"""Quizzes, one question at a time.

    quiz:<quiz> ──────────► intro ─(qstart:<quiz>)─► question 1
        └─ open attempt ──► resume ─(qresume:<attempt>)─► the current question
                            or restart ─(qstart:<quiz>)─► a new attempt
    question ─(qa:<attempt>:<n>:<option> | typed answer)─► feedback + question n+1 … ─► result
    result: passed ─► the lesson is done, the next one is sent
            failed ─► retake (qstart:<quiz>) — a required quiz holds the course until passed
    deadline passed ─► the attempt closes (here, or by the `quiz_deadline` job)

State `quiz_question` holds {"attempt": id}: typed text there is an answer.
The whole machine is the table at the end (`CONVERSATION`); its diagram is
docs/conversations/quiz.md.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from bot.i18n import _, format_number, format_percentage, ngettext, use_language
from bot.messages import Option, Reply
from db.queries import lessons as lessons_q
from db.queries import quiz as q
from db.queries.jobs import enqueue
from handlers import completion, grading, lessons, outreach, rewards
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, on, parse_uuid
from handlers.jobs import JOBS, Work
from handlers.lessons import LESSON
from handlers.quiz_offer import offer_quiz, quiz_intro

DEADLINE_JOB = "quiz_deadline"

# A question is on screen and typed text answers it; the state carries {"attempt": id}.
QUESTION = "quiz_question"


def _not_available() -> list[Reply]:
    return [Reply(_("Sorry, this quiz is not available."))]


def _paid(course_id: uuid.UUID) -> list[Reply]:
    return [
        Reply(
            _("This quiz is part of a paid course. Buy the course to open it."),
            options=(Option(_("💳 Buy this course"), f"buy:{course_id}"),),
        )
    ]


async def _refused(turn: Turn, quiz_id: uuid.UUID) -> list[Reply] | None:
    """The lessons' access rule, for a quiz named by a payload: None when the farmer
    may open it, else the kind answer. A forged or stale id opens nothing."""
    return _access_refused(await q.quiz_access(turn.session, quiz_id, turn.farmer.user_id))


def _access_refused(access: lessons_q.CourseAccess | None) -> list[Reply] | None:
    if access is None:
        return _not_available()
    if not access.is_open_to:
        return _paid(access.course_id)
    return None


async def open_quiz(turn: Turn) -> Answer | list[Reply]:
    """Answers `quiz:<id>`: the quiz's intro (or resume); asks to start."""
    quiz_id = parse_uuid(turn.arg)
    quiz = await q.get_quiz(turn.session, quiz_id) if quiz_id else None
    if quiz is None:
        return _not_available()
    refused = await _refused(turn, quiz.id)
    if refused is not None:
        return refused
    return await offer_quiz(turn, quiz)


async def quiz_command(turn: Turn) -> Answer | list[Reply]:
    """Answers /quiz: the next quiz due in the current course; asks to start it."""
    quiz = await q.next_due_quiz(turn.session, turn.farmer.user_id)
    if quiz is None:
        return [
            Reply(
                _("No quiz is waiting for you right now. Carry on with your lessons."),
                options=(Option(_("▶️ Continue my lesson"), "cmd:lesson"),),
            )
        ]
    return await offer_quiz(turn, quiz)


async def course_quizzes(turn: Turn) -> list[Reply]:
    """Answers `quizlist:<course>`: the course's quizzes; asks which to open."""
    course_id = parse_uuid(turn.arg)
    access = (
        await lessons_q.course_access(turn.session, course_id, turn.farmer.user_id)
        if course_id
        else None
    )
    if access is None:
        return [Reply(_("Sorry, this course is not available."))]
    if not access.is_open_to:
        return _paid(access.course_id)
    quizzes = await q.quizzes_of_course(turn.session, access.course_id)
    if not quizzes:
        return [Reply(_("This course has no quizzes."))]
    return [
        Reply(
            _("Quizzes of this course:"),
            options=tuple(Option("❓ " + quiz.title, f"quiz:{quiz.id}") for quiz in quizzes),
        )
    ]


async def start(turn: Turn) -> Answer | list[Reply]:
    """Answers `qstart:<quiz>`: a new attempt (shuffled if the quiz says so); asks question 1."""
    quiz_id = parse_uuid(turn.arg)
    quiz = await q.get_quiz(turn.session, quiz_id) if quiz_id else None
    if quiz is None or quiz.question_count == 0:
        return _not_available()
    refused = await _refused(turn, quiz.id)
    if refused is not None:
        return refused
    order = await q.question_ids(turn.session, quiz.id)
    if quiz.shuffle_questions:
        random.shuffle(order)
    attempt_id, number = await q.start_attempt(
        turn.session, turn.farmer.user_id, quiz.id, order, quiz.time_limit_minutes
    )
    if quiz.time_limit_minutes:
        # The attempt closes on time even if the farmer never comes back.
        await enqueue(
            turn.session,
            DEADLINE_JOB,
            {"attempt": str(attempt_id)},
            after=dt.timedelta(minutes=quiz.time_limit_minutes, seconds=1),
        )
    state = await q.lock_attempt(turn.session, attempt_id)
    assert state is not None
    # The full intro was on screen a moment ago (offer_quiz): say only which attempt this is.
    intro = Reply(quiz_intro(quiz, number, brief=True))
    return Answer([intro]) + _ask(state)


async def resume(turn: Turn) -> Answer | list[Reply]:
    """Answers `qresume:<attempt>`: asks the current question again."""
    attempt_id = parse_uuid(turn.arg)
    state = await q.lock_attempt(turn.session, attempt_id) if attempt_id else None
    if state is None or state.user_id != turn.farmer.user_id or state.status != "in_progress":
        return [Reply(_("This quiz attempt is already over."))]
    # Opened earlier, but the course may have been refunded or unpublished since.
    refused = _access_refused(state.access)
    if refused is not None:
        return refused
    if state.out_of_time:
        return await _close(turn, state, "expired")
    return _ask(state)


def _ask(state: q.AttemptState) -> Answer:
    question = state.question
    assert question is not None, "asked past the last question"
    asked = question_reply(question, state.attempt_id, state.current_index, state.total)
    return Answer([asked], QUESTION, {"attempt": str(state.attempt_id)})


def question_reply(question: q.Question, attempt_id: uuid.UUID, index: int, total: int) -> Reply:
    """How a question is asked (the instructor console previews it through here too)."""
    heading = _("Question {number} of {total}").format(
        number=format_number(index + 1), total=format_number(total)
    )
    text = f"{heading}\n\n{question.question_text}"
    choices = grading.options_of(question.options)
    if question.question_type in ("multiple_choice", "true_false"):
        options = tuple(
            Option(str(choice["text"]), f"qa:{attempt_id}:{index}:{i}")
            for i, choice in enumerate(choices)
        )
        return Reply(text, options=options)
    hint = (
        _("Type your answer.")
        if question.question_type == "short_answer"
        else _("Write your answer in a few sentences. Your teacher will check it.")
    )
    return Reply(f"{text}\n\n{hint}")


async def answer_button(turn: Turn) -> Answer | list[Reply]:
    """Answers `qa:<attempt>:<n>:<option>`: grades it; a stale tap changes nothing."""
    attempt_text, _sep, rest = turn.arg.partition(":")
    index_text, _sep, option_text = rest.partition(":")
    attempt_id = parse_uuid(attempt_text)
    state = await q.lock_attempt(turn.session, attempt_id) if attempt_id else None
    if (
        state is None
        or state.user_id != turn.farmer.user_id
        or not index_text.isdigit()
        or not option_text.isdigit()
    ):
        return [Reply(_("That answer is from an old question."))]
    refused = _access_refused(state.access)
    if refused is not None:
        return refused
    if state.status != "in_progress" or int(index_text) != state.current_index:
        return await _where_you_are(turn, state)
    return await _grade(turn, state, option_index=int(option_text), typed=None)


async def answer_text(turn: Turn) -> Answer:
    """Answers typed text while a question is open: a number, an option's words, or the answer."""
    attempt_id = parse_uuid(str(turn.data.get("attempt", "")))
    state = await q.lock_attempt(turn.session, attempt_id) if attempt_id else None
    if state is None or state.status != "in_progress":
        return Answer([Reply(_("This quiz attempt is already over."))], IDLE)
    refused = _access_refused(state.access)
    if refused is not None:
        return Answer(refused, IDLE)
    return await _grade(turn, state, option_index=None, typed=turn.inbound.text)


async def _where_you_are(turn: Turn, state: q.AttemptState) -> Answer | list[Reply]:
    if state.status != "in_progress":
        return [Reply(_("That answer was already counted. This attempt is finished."))]
    note = Reply(
        _("That answer was already counted. You are on question {number} of {total}.").format(
            number=format_number(state.current_index + 1), total=format_number(state.total)
        )
    )
    return Answer([note]) + _ask(state)


async def _grade(
    turn: Turn, state: q.AttemptState, *, option_index: int | None, typed: str | None
) -> Answer:
    if state.out_of_time:
        # An answer after the deadline is not graded.
        return await _close(turn, state, "expired")
    question = state.question
    if question is None:  # every question answered; the attempt closes below
        return await _close(turn, state, "finished")
    choices = grading.options_of(question.options)
    if question.question_type in ("multiple_choice", "true_false"):
        if option_index is None and typed is not None:
            option_index = grading.choice_from_text(choices, typed)
        if option_index is None or not 0 <= option_index < len(choices):
            hint = Reply(_("Please choose one of the options: tap a button or send its number."))
            return Answer([hint]) + _ask(state)
        graded = grading.grade_choice(choices, option_index, question.points)
    else:
        if typed is None or not typed.strip():
            return _ask(state)
        graded = grading.grade_text(question.question_type, choices, typed, question.points)
    advanced = await q.record_answer(
        turn.session, state, question.id,
        answer=graded.answer, is_correct=graded.is_correct, points=graded.points,
    )  # fmt: skip
    replies = [_feedback(state.quiz, question, graded)]
    if advanced.question is None:
        return replies + await _close(turn, advanced, "finished")
    return replies + _ask(advanced)


def _feedback(quiz: q.QuizInfo, question: q.Question, graded: grading.Graded) -> Reply:
    if graded.is_correct is None:
        return Reply(_("📝 Answer saved. Your teacher will check it."))
    if not quiz.show_correct_answer:
        return Reply(_("Answer recorded."))
    if graded.is_correct:
        text = _("✅ Correct!")
    else:
        text = _("❌ Not quite.")
        right = grading.correct_answer(grading.options_of(question.options))
        if right:
            text += " " + _("The right answer: {answer}").format(answer=right)
    if question.explanation:
        text += "\n" + question.explanation
    return Reply(text)


async def _close(turn: Turn, state: q.AttemptState, status: str) -> Answer:
    quiz = state.quiz
    result = await q.finish_attempt(turn.session, state.attempt_id, status)
    replies = [result_reply(quiz, result, expired=status == "expired")]
    # A finished attempt counts the day even when it failed; a pass also earns points.
    replies += await rewards.record_progress(
        turn.session, turn.farmer.user_id, "quiz_passed" if result.passed else "activity",
        quiz.id, language=turn.farmer.language, perfect=result.percentage >= 100,
    )  # fmt: skip
    if (result.passed or not quiz.is_required) and quiz.lesson_id is not None:
        lesson = await lessons_q.get_lesson(turn.session, quiz.lesson_id, turn.farmer.user_id)
        if lesson is not None and lesson.enrollment_status is not None:
            return Answer(replies, IDLE) + await lessons.finish_lesson(turn, lesson, quiz_done=True)
    return Answer(replies, IDLE)


def score_line(result: q.Result) -> str:
    """ "7 of 9 points · 6 of 7 questions right · 78%": points and questions named apart."""
    points = ngettext(
        "{score} of {possible} point", "{score} of {possible} points", result.possible
    ).format(score=format_number(result.score), possible=format_number(result.possible))
    questions = ngettext(
        "{right} of {total} question right", "{right} of {total} questions right", result.questions
    ).format(right=format_number(result.right_answers), total=format_number(result.questions))
    # A whole percent: "77.78%" is more precision than a farmer can use. A failed
    # attempt rounds down, so 69.6% never reads as the 70% needed to pass.
    rounding = ROUND_HALF_UP if result.passed else ROUND_FLOOR
    percent = format_percentage(Decimal(result.percentage).quantize(Decimal(1), rounding))
    return _("Your score: {points} · {questions} · {percent}").format(
        points=points, questions=questions, percent=percent
    )


def result_reply(quiz: q.QuizInfo, result: q.Result, *, expired: bool) -> Reply:
    lines = []
    if expired:
        lines.append(_("⏰ Time is up for this quiz."))
    lines.append(score_line(result))
    if result.ungraded:
        lines.append(_("Your written answers will count once your teacher checks them."))
    if result.passed:
        lines.append(_("🎉 You passed!"))
        return Reply("\n".join(lines))
    lines.append(
        _("You need {percent} to pass. Read the lessons again and try once more.").format(
            percent=format_percentage(quiz.passing_score)
        )
    )
    return Reply("\n".join(lines), options=(Option(_("🔄 Try again"), f"qstart:{quiz.id}"),))


@JOBS.job(DEADLINE_JOB)
async def close_overdue_attempt(work: Work, payload: dict[str, object]) -> None:
    """The time limit passed: close the attempt and tell the farmer, even if they left."""
    attempt_id = parse_uuid(str(payload.get("attempt", "")))
    if attempt_id is None:
        return
    session = work.session
    state = await q.lock_attempt(session, attempt_id)
    if state is None or state.status != "in_progress":
        return  # answered in time, restarted or already closed
    if not state.out_of_time:
        assert state.deadline_at is not None
        await enqueue(session, DEADLINE_JOB, payload, after=state.deadline_at - state.now)
        return
    quiz = state.quiz
    result = await q.finish_attempt(session, attempt_id, "expired")
    language = await q.user_language(session, state.user_id)
    badges: list[Reply] = []
    if result.passed:
        badges += await rewards.record_progress(
            session, state.user_id, "quiz_passed", quiz.id, language=language,
            perfect=result.percentage >= 100,
        )  # fmt: skip
    if (result.passed or not quiz.is_required) and quiz.lesson_id and quiz.course_id:
        done = await completion.complete_lesson(
            session, state.user_id, quiz.lesson_id, quiz.course_id, language=language
        )
        badges += done.badges
    with use_language(language):
        reply = result_reply(quiz, result, expired=True)
    # Two kinds, so each may go as its own approved template outside WhatsApp's window.
    await outreach.tell(session, work.settings, state.user_id, [reply], kind="quiz_closed")
    if badges:
        await outreach.tell(session, work.settings, state.user_id, badges, kind="badge")


# A closing attempt finishes its lesson, which may send the next one (LESSON).
CONVERSATION = Conversation(
    name="quiz",
    states={QUESTION: on(answer_text, QUESTION, IDLE, LESSON)},
    commands={"quiz": on(quiz_command, IDLE, STAY)},
    buttons={
        "quiz": on(open_quiz, IDLE, STAY),
        "quizlist": on(course_quizzes, STAY),
        "qstart": on(start, QUESTION, STAY),
        "qresume": on(resume, QUESTION, IDLE, LESSON, STAY),
        "qa": on(answer_button, QUESTION, IDLE, LESSON, STAY),
    },
    aliases={"prashn": "quiz", "प्रश्नोत्तरी": "quiz", "प्रश्नमंजूषा": "quiz"},
)
