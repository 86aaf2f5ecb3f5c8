"""The console's pages. Each route is thin: it reads a form into the API's own body,
calls the API's service function as the signed-in `Actor`, and renders the result.
So an instructor reaches only their own courses here exactly as in /api/v1."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api import analytics as analytics_api
from bot.api import broadcasts as broadcasts_api
from bot.api import courses as content
from bot.api import grading as grading_api
from bot.api import instructors as instructors_api
from bot.api import purchases as purchases_api
from bot.channels import capabilities_by_channel
from bot.channels.base import numbered_text
from bot.console import auth
from bot.console.auth import SignedIn, SignInNeeded, Visitor, VisitorDep, actor_of
from bot.console.forms import (
    COURSE_FIELDS,
    LESSON_FIELDS,
    QUESTION_TYPES,
    QUIZ_FIELDS,
    QUIZ_FLAGS,
    errors_of,
    flags,
    pick,
    question_fields,
    question_form,
)
from bot.console.render import bar_chart, render, week_label
from bot.i18n import LANGUAGE_NAMES, _, format_money, use_language
from bot.runtime import UnitOfWork, runtime_of
from db.queries import catalog as catalog_q
from db.queries import console as q
from db.queries import grading as grading_q
from db.queries import instructors as instructors_q
from db.queries import payments as payments_q
from db.queries import quiz as quiz_q
from handlers.broadcasting import BroadcastSettings, preview_replies
from handlers.catalog import LEVELS, price_line
from handlers.categories import CATEGORIES
from handlers.quiz import question_reply

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"htmx.min.js": "text/javascript", "console.css": "text/css"}
_FAILURES = (HTTPException, RequestValidationError, ValidationError)


class ConsoleRoute(APIRoute):
    """Answers a refusal (403, 404, 409, 429…) with a page in the visitor's language
    rather than JSON, and sends a visitor who is not signed in to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_or_page(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInNeeded:
                if request.headers.get("hx-request"):
                    return Response(status_code=204, headers={"HX-Redirect": "/console/signin"})
                return RedirectResponse("/console/signin", status_code=303)
            except HTTPException as exc:
                if exc.status_code < 400:
                    raise
                who = await auth.visitor_of_refused(request)
                return render(
                    "error.html", who, status_code=exc.status_code, status=exc.status_code,
                    detail=str(exc.detail),
                )  # fmt: skip
            except (RequestValidationError, ValidationError) as exc:
                who = await auth.visitor_of_refused(request)
                return render(
                    "error.html", who, status_code=422, status=422, detail="; ".join(errors_of(exc))
                )

        return handle_or_page


router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def _try(call: Awaitable[Any]) -> tuple[Any, list[str]]:
    """(result, []) or (None, the form's errors) for a refused write; 403 and 404 still
    raise, to the error page: they are not the form's fault."""
    try:
        return await call, []
    except HTTPException as exc:
        if exc.status_code in (403, 404):
            raise
        return None, errors_of(exc)
    except (RequestValidationError, ValidationError) as exc:
        return None, errors_of(exc)


# --- static files, sign-in, sign-out ------------------------------------------------------


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """htmx and the style sheet, served by us: the console works with no CDN, offline."""
    if name not in STATIC_FILES:
        raise HTTPException(404, "no such file")
    return FileResponse(
        STATIC / name,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("")
async def home(who: VisitorDep) -> Response:
    return _see_other("/console/courses" if who.actor else "/console/signin")


@router.get("/signin")
async def sign_in_page(request: Request, who: VisitorDep) -> Response:
    """The token form, and how to get a link from the chat."""
    if who.actor is not None:
        return _see_other("/console/courses")
    response = Response()
    csrf = auth.ensure_pre_cookie(request, response, runtime_of(request).settings)
    page = render("signin.html", _with_csrf(who, csrf), errors=[])
    _copy_cookies(response, page)
    return page


def _with_csrf(who: Visitor, csrf: str) -> Visitor:
    return Visitor(actor=who.actor, display_name=who.display_name, language=who.language, csrf=csrf)


def _copy_cookies(source: Response, target: Response) -> None:
    for key, value in source.raw_headers:
        if key == b"set-cookie":
            target.raw_headers.append((key, value))


@router.post("/signin")
async def sign_in_with_token(request: Request, who: VisitorDep, session: UnitOfWork) -> Response:
    """An instructor's API token, or ADMIN_API_TOKEN, signs the browser in."""
    form = await auth.check_csrf(request, who)
    given = form.get("token", "").strip()
    rt = runtime_of(request)
    response = _see_other("/console/courses")
    if given and auth.admin_token_matches(rt.settings, given):
        await auth.open_session(session, request, response, user_id=None, role="admin")
        return response
    if given:
        async with rt.engine.connect() as conn:
            owner = await instructors_q.instructor_for_token(conn, auth.token_hash(given))
        if owner is not None:
            await auth.open_session(
                session, request, response, user_id=owner.user_id, role="instructor"
            )
            return response
    with use_language(who.language):
        error = _("That token is not valid. Ask the Krishi Learn team for a new one.")
    return render("signin.html", who, status_code=401, errors=[error])


@router.get("/signin/{secret}")
async def sign_in_link_page(
    secret: str, request: Request, who: VisitorDep, session: UnitOfWork
) -> Response:
    """The link from the chat shows a button; only pressing it spends the link, so a
    chat app fetching a preview of the link does not use it up."""
    rt = runtime_of(request)
    live = await q.sign_in_link_is_live(session, auth.token_hash(secret))
    response = Response()
    csrf = auth.ensure_pre_cookie(request, response, rt.settings)
    page = render(
        "signin_link.html", _with_csrf(who, csrf), status_code=200 if live else 410,
        live=live, secret=secret,
    )  # fmt: skip
    _copy_cookies(response, page)
    return page


@router.post("/signin/{secret}")
async def sign_in_with_link(
    secret: str, request: Request, who: VisitorDep, session: UnitOfWork
) -> Response:
    await auth.check_csrf(request, who)
    rt = runtime_of(request)
    user = await q.use_sign_in_link(session, auth.token_hash(secret))
    if user is None:
        return render("signin_link.html", who, status_code=410, live=False, secret=secret)
    response = _see_other("/console/courses")
    response.set_cookie(
        auth.LANGUAGE_COOKIE, user.language, path=auth.COOKIE_PATH, samesite="lax",
        httponly=True, secure=rt.settings.public_base_url.startswith("https://"),
    )  # fmt: skip
    await auth.open_session(session, request, response, user_id=user.user_id, role=user.role)
    return response


@router.post("/signout")
async def sign_out(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    await auth.check_csrf(request, who)
    response = _see_other("/console/signin")
    await auth.close_session(session, request, response)
    return response


@router.get("/language/{language}")
async def choose_language(language: str, request: Request) -> Response:
    """Remember the console's language in a cookie (a link: it changes nothing else)."""
    # Back to the page it was chosen on: only a path of ours, never another site.
    referer = urlsplit(request.headers.get("referer") or "")
    back = referer.path if referer.path.startswith("/console") else "/console"
    response = _see_other(back + (f"?{referer.query}" if referer.query else ""))
    if language in LANGUAGE_NAMES:
        response.set_cookie(
            auth.LANGUAGE_COOKIE, language, path=auth.COOKIE_PATH, samesite="lax", httponly=True
        )
    return response


# --- my courses ----------------------------------------------------------------------------


def _choices() -> dict[str, Any]:
    return {
        "categories": [(slug, _(label)) for slug, label in CATEGORIES.items()],
        "levels": [(value, _(label)) for value, label in LEVELS.items()],
        "content_types": ("text", "video", "assignment", "quiz"),
        "question_types": QUESTION_TYPES,
    }


def _farmer_price(row: dict[str, Any]) -> str:
    """The price line exactly as the chat's course card writes it ("—" while the price
    typed is not a number yet)."""
    try:
        return _price_line(row)
    except (ValueError, ArithmeticError):
        return "—"


def _price_line(row: dict[str, Any]) -> str:
    card = catalog_q.CourseCard(
        id=row.get("id") or uuid.uuid4(), title=str(row.get("title") or ""),
        description=str(row.get("description") or ""), category=str(row.get("category") or ""),
        level=str(row.get("level") or ""), duration=row.get("duration"),
        lessons=int(row.get("lessons") or 0), emoji=row.get("thumbnail_emoji"),
        language=str(row.get("language") or "English"),
        rating=Decimal(str(row.get("rating") or 0)), enrolled_count=0,
        price=Decimal(str(row.get("price") or 0)), currency=str(row.get("currency") or "INR"),
        discount_percent=int(row.get("discount_percent") or 0),
        instructor_name=row.get("instructor_name"), is_published=bool(row.get("is_published")),
        enrollment_status=None, enrollment_type=None,
    )  # fmt: skip
    return price_line(card)


@router.get("/courses")
async def my_courses(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    actor = actor_of(who)
    courses = await q.course_lines(session, content.instructor_of(actor))
    return render("courses.html", who, courses=courses)


@router.get("/courses/new")
async def new_course_page(who: SignedIn) -> Response:
    with use_language(who.language):
        choices = _choices()
    return render("course_form.html", who, course=None, values={}, errors=[], **choices)


@router.post("/courses/new")
async def create_course(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    form = await auth.check_csrf(request, who)
    values = pick(form, COURSE_FIELDS)
    row, errors = await _try(_create(session, "courses", who, request, values))
    if errors:
        with use_language(who.language):
            choices = _choices()
        return render(
            "course_form.html", who, status_code=422, course=None, values=form, errors=errors,
            **choices,
        )  # fmt: skip
    return _see_other(f"/console/courses/{row['id']}")


async def _create(
    session: AsyncSession, kind: str, who: Visitor, request: Request, values: dict[str, Any]
) -> dict[str, Any]:
    resource = content.content_kind(kind)
    body = resource.model.model_validate(values)
    return await content.create_content(session, actor_of(who), resource, body)


async def _course_page(
    session: AsyncSession, request: Request, who: Visitor, course_id: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    actor = actor_of(who)
    course = await content.read_content(session, actor, content.content_kind("courses"), course_id)
    lessons = await content.list_content(
        session, actor, content.content_kind("lessons"), course_id, limit=500
    )
    quizzes = await content.list_content(
        session, actor, content.content_kind("quizzes"), course_id, limit=500
    )
    with use_language(who.language):
        choices = _choices()
        farmer_price = _farmer_price({**course, **extra.get("values", {})})
    return {
        "course": course,
        "lessons": lessons,
        "quizzes": quizzes,
        "farmer_price": farmer_price,
        "values": extra.get("values") or {k: course.get(k) for k in COURSE_FIELDS},
        "errors": extra.get("errors", []),
        **choices,
    }


@router.get("/courses/{course_id}")
async def course_page(
    course_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    return render("course.html", who, **await _course_page(session, request, who, course_id))


@router.post("/courses/{course_id}")
async def update_course(
    course_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    patch = pick(form, COURSE_FIELDS)
    for optional in ("duration", "thumbnail_emoji", "thumbnail_url", "instructor_name"):
        patch.setdefault(optional, None)
    patch.setdefault("instructor_bio", None)
    _row, errors = await _try(
        content.update_content(
            session, actor_of(who), content.content_kind("courses"), course_id, patch
        )
    )
    if errors:
        page = await _course_page(session, request, who, course_id, values=form, errors=errors)
        return render("course.html", who, status_code=422, **page)
    return _see_other(f"/console/courses/{course_id}")


@router.post("/courses/{course_id}/price-preview")
async def price_preview(course_id: uuid.UUID, request: Request, who: SignedIn) -> Response:
    """htmx: the price line as farmers will read it, while the instructor types."""
    form = await auth.check_csrf(request, who)
    values = pick(form, ("price", "discount_percent", "currency"))
    with use_language(who.language):
        line = _farmer_price(values)
    return render("fragments/price.html", who, farmer_price=line)


@router.post("/courses/{course_id}/{action}")
async def change_course(
    course_id: uuid.UUID, action: str, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    """Publish, unpublish or archive."""
    await auth.check_csrf(request, who)
    if action not in ("publish", "unpublish", "archive"):
        raise HTTPException(404, "no such action")
    await content.change_publication(
        session,
        actor_of(who),
        content.content_kind("courses"),
        course_id,
        action,  # type: ignore[arg-type]
    )
    return _see_other(f"/console/courses/{course_id}")


# --- lessons ------------------------------------------------------------------------------


@router.get("/courses/{course_id}/lessons/new")
async def new_lesson_page(
    course_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    course = await content.read_content(
        session, actor_of(who), content.content_kind("courses"), course_id
    )
    return render(
        "lesson_form.html", who, course=course, lesson=None, values={}, errors=[], **_choices()
    )


def _lesson_values(form: dict[str, str], course_id: uuid.UUID) -> dict[str, Any]:
    values = pick(form, LESSON_FIELDS)
    values["course_id"] = course_id
    values["is_preview"] = "is_preview" in form
    return values


@router.post("/courses/{course_id}/lessons/new")
async def create_lesson(
    course_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    course = await content.read_content(
        session, actor_of(who), content.content_kind("courses"), course_id
    )
    row, errors = await _try(
        _create(session, "lessons", who, request, _lesson_values(form, course_id))
    )
    if errors:
        return render(
            "lesson_form.html", who, status_code=422, course=course, lesson=None, values=form,
            errors=errors, **_choices(),
        )  # fmt: skip
    if row["content_type"] == "quiz":
        # A quiz lesson needs its quiz: make it now, named after the lesson.
        quiz = await _create(session,
            "quizzes", who, request,
            {"course_id": course_id, "lesson_id": row["id"], "title": row["title"]},
        )  # fmt: skip
        return _see_other(f"/console/quizzes/{quiz['id']}")
    return _see_other(f"/console/courses/{course_id}")


@router.get("/lessons/{lesson_id}")
async def lesson_page(
    lesson_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    actor = actor_of(who)
    lesson = await content.read_content(session, actor, content.content_kind("lessons"), lesson_id)
    course = await content.read_content(
        session, actor, content.content_kind("courses"), lesson["course_id"]
    )
    values = {k: lesson.get(k) for k in (*LESSON_FIELDS, "is_preview")}
    return render(
        "lesson_form.html", who, course=course, lesson=lesson, values=values, errors=[],
        **_choices(),
    )  # fmt: skip


@router.post("/lessons/{lesson_id}")
async def update_lesson(
    lesson_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    actor = actor_of(who)
    lessons = content.content_kind("lessons")
    lesson = await content.read_content(session, actor, lessons, lesson_id)
    patch = _lesson_values(form, lesson["course_id"])
    for optional in ("description", "content_url", "duration"):
        patch.setdefault(optional, None)
    _row, errors = await _try(content.update_content(session, actor, lessons, lesson_id, patch))
    if errors:
        course = await content.read_content(
            session, actor, content.content_kind("courses"), lesson["course_id"]
        )
        return render(
            "lesson_form.html", who, status_code=422, course=course, lesson=lesson, values=form,
            errors=errors, **_choices(),
        )  # fmt: skip
    return _see_other(f"/console/courses/{lesson['course_id']}")


@router.post("/lessons/{lesson_id}/move")
async def move_lesson(
    lesson_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    """Swap a lesson with its neighbour above or below, through the API's update."""
    form = await auth.check_csrf(request, who)
    actor = actor_of(who)
    lessons_kind = content.content_kind("lessons")
    lesson = await content.read_content(session, actor, lessons_kind, lesson_id)
    siblings = await content.list_content(
        session, actor, lessons_kind, lesson["course_id"], limit=500
    )
    ids = [row["id"] for row in siblings]
    here = ids.index(lesson["id"])
    there = here - 1 if form.get("direction") == "up" else here + 1
    if 0 <= there < len(siblings):
        mine, theirs = siblings[here]["order_index"], siblings[there]["order_index"]
        if mine == theirs:  # equal indexes (older data): make them distinct
            theirs = mine + (1 if there > here else -1)
        await content.update_content(
            session, actor, lessons_kind, ids[here], {"order_index": theirs}
        )
        await content.update_content(
            session, actor, lessons_kind, ids[there], {"order_index": mine}
        )
    return _see_other(f"/console/courses/{lesson['course_id']}")


# --- quizzes and questions ----------------------------------------------------------------


@router.post("/courses/{course_id}/quizzes/new")
async def create_quiz(
    course_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    values = pick(form, ("title", "lesson_id"))
    values["course_id"] = course_id
    row, errors = await _try(_create(session, "quizzes", who, request, values))
    if errors:
        page = await _course_page(session, request, who, course_id, errors=errors)
        return render("course.html", who, status_code=422, **page)
    return _see_other(f"/console/quizzes/{row['id']}")


async def _quiz_page(
    session: AsyncSession, request: Request, who: Visitor, quiz_id: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    actor = actor_of(who)
    quiz = await content.read_content(session, actor, content.content_kind("quizzes"), quiz_id)
    course = await content.read_content(
        session, actor, content.content_kind("courses"), quiz["course_id"]
    )
    questions = await content.list_content(
        session, actor, content.content_kind("questions"), quiz_id, limit=500
    )
    return {
        "quiz": quiz,
        "course": course,
        "questions": questions,
        "settings_values": extra.get("settings_values") or quiz,
        "question_values": extra.get("question_values") or {"type": "multiple_choice"},
        "errors": extra.get("errors", []),
        **_choices(),
    }


@router.get("/quizzes/{quiz_id}")
async def quiz_page(
    quiz_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    return render("quiz.html", who, **await _quiz_page(session, request, who, quiz_id))


@router.get("/quizzes/{quiz_id}/preview")
async def quiz_preview(
    quiz_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    """Each question as the quiz asks it, rendered by the channels' own code: numbered
    for WhatsApp, with buttons on Telegram, in the language the console speaks."""
    page = await _quiz_page(session, request, who, quiz_id)
    rows = page["questions"]
    previews = []
    with use_language(who.language):
        for index, row in enumerate(rows):
            reply = question_reply(
                quiz_q.Question(
                    id=row["id"], question_type=str(row["question_type"]),
                    question_text=str(row["question_text"]), options=row.get("options") or [],
                    points=int(row.get("points") or 0), explanation=row.get("explanation"),
                ),
                quiz_id, index, len(rows),
            )  # fmt: skip
            previews.append(
                {
                    "whatsapp": numbered_text(reply),
                    "telegram": reply.text,
                    "buttons": [option.label for option in reply.options],
                }
            )
    return render("quiz_preview.html", who, previews=previews, **page)


@router.post("/quizzes/{quiz_id}")
async def update_quiz(
    quiz_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    patch: dict[str, Any] = {**pick(form, QUIZ_FIELDS), **flags(form, QUIZ_FLAGS)}
    patch.setdefault("time_limit_minutes", None)
    patch.setdefault("description", None)
    _row, errors = await _try(
        content.update_content(
            session, actor_of(who), content.content_kind("quizzes"), quiz_id, patch
        )
    )
    if errors:
        page = await _quiz_page(session, request, who, quiz_id, settings_values=form, errors=errors)
        return render("quiz.html", who, status_code=422, **page)
    return _see_other(f"/console/quizzes/{quiz_id}")


@router.post("/quizzes/{quiz_id}/questions/new")
async def create_question(
    quiz_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    values = {**question_fields(form), "quiz_id": quiz_id}
    _row, errors = await _try(_create(session, "questions", who, request, values))
    if errors:
        page = await _quiz_page(session, request, who, quiz_id, question_values=form, errors=errors)
        return render("quiz.html", who, status_code=422, **page)
    return _see_other(f"/console/quizzes/{quiz_id}#questions")


@router.get("/questions/{question_id}")
async def question_page(
    question_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    question = await content.read_content(
        session, actor_of(who), content.content_kind("questions"), question_id
    )
    return render(
        "question_form.html", who, question=question, values=question_form(question), errors=[],
        **_choices(),
    )  # fmt: skip


@router.post("/questions/{question_id}")
async def update_question(
    question_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    questions = content.content_kind("questions")
    question = await content.read_content(session, actor_of(who), questions, question_id)
    patch = question_fields(form)
    _row, errors = await _try(
        content.update_content(session, actor_of(who), questions, question_id, patch)
    )
    if errors:
        return render(
            "question_form.html", who, status_code=422, question=question, values=form,
            errors=errors, **_choices(),
        )  # fmt: skip
    return _see_other(f"/console/quizzes/{question['quiz_id']}#questions")


# --- broadcasts -----------------------------------------------------------------------------


async def _own_courses(session: AsyncSession, request: Request, who: Visitor) -> list[q.CourseLine]:
    return await q.course_lines(session, content.instructor_of(actor_of(who)))


@router.get("/broadcasts")
async def broadcasts_page(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    """Compose (choose a course, then a text or one of its lessons), and the latest ones."""
    actor = actor_of(who)
    courses = await _own_courses(session, request, who)
    chosen = request.query_params.get("course")
    course_id = _uuid_or_none(chosen)
    lessons: list[dict[str, Any]] = []
    if course_id is not None:
        await content.read_content(session, actor, content.content_kind("courses"), course_id)
        lessons = await content.list_content(
            session, actor, content.content_kind("lessons"), course_id, limit=500
        )
    latest = await broadcasts_api.latest(session, actor, None, 10)
    return render(
        "broadcasts.html", who, courses=courses, course_id=course_id, lessons=lessons,
        max_chars=BroadcastSettings().max_chars,
        latest=latest, errors=[], values={},
    )  # fmt: skip


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _broadcast_body(form: dict[str, str], timezone: str) -> broadcasts_api.BroadcastIn:
    values: dict[str, Any] = {"course_id": form.get("course_id")}
    if form.get("lesson_id"):
        values["lesson_id"] = form["lesson_id"]
    else:
        values["text"] = (form.get("text") or "").strip() or None
    when = (form.get("send_at") or "").strip()
    if when:
        # A phone's date-time field has no zone: it is the instructor's (India's) time.
        try:
            local = dt.datetime.fromisoformat(when)
        except ValueError:
            values["send_at"] = when  # the API's validation names the field
        else:
            values["send_at"] = (
                local if local.tzinfo else local.replace(tzinfo=ZoneInfo(timezone))
            ).astimezone(dt.UTC)
    return broadcasts_api.BroadcastIn.model_validate(values)


@router.post("/broadcasts/preview")
async def broadcast_preview(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    """The confirmation step: who will be reached per channel, who not and why."""
    form = await auth.check_csrf(request, who)
    rt = runtime_of(request)
    actor = actor_of(who)
    try:
        body = _broadcast_body(form, rt.settings.timezone)
    except ValidationError as exc:
        courses = await _own_courses(session, request, who)
        course_id = _uuid_or_none(form.get("course_id"))
        lessons = (
            await content.list_content(
                session, actor, content.content_kind("lessons"), course_id, limit=500
            )
            if course_id
            else []
        )
        latest = await broadcasts_api.latest(session, actor, None, 10)
        return render(
            "broadcasts.html", who, status_code=422, courses=courses, course_id=course_id,
            max_chars=BroadcastSettings().max_chars,
            lessons=lessons, latest=latest, errors=errors_of(exc), values=form,
        )  # fmt: skip
    audience = await broadcasts_api.audience_of(
        session, runtime_of(request).settings, actor, body.course_id
    )
    course = await content.read_content(
        session, actor, content.content_kind("courses"), body.course_id
    )
    lesson = (
        await content.read_content(session, actor, content.content_kind("lessons"), body.lesson_id)
        if body.lesson_id
        else None
    )
    replies = await preview_replies(
        session, str(course["title"]), course.get("thumbnail_emoji"), body.text, body.lesson_id,
        capabilities_by_channel(runtime_of(request).settings),
    )  # fmt: skip
    # One preview per channel and language someone will get it in (English when nobody).
    reached = [
        f"{channel}:{language}"
        for channel, languages in audience["by_channel"].items()
        for language in languages
    ] or ["telegram:en", "whatsapp:en"]
    previews = [
        {
            "channel": key.split(":")[0],
            "language": LANGUAGE_NAMES.get(key.split(":")[1], key),
            "text": numbered_text(replies[key])
            if key.startswith("whatsapp")
            else replies[key].text,
            "buttons": [o.label for o in replies[key].options]
            if key.startswith("telegram")
            else [],
        }
        for key in sorted(reached)
        if key in replies
    ]
    when = body.send_at.astimezone(ZoneInfo(rt.settings.timezone)) if body.send_at else None
    return render(
        "broadcast_confirm.html", who, body=body, audience=audience, course=course,
        lesson=lesson, previews=previews, when=when,
        quiet_hours=_quiet_hours(),
        send_at=(form.get("send_at") or "").strip(),
    )  # fmt: skip


def _quiet_hours() -> str | None:
    window = BroadcastSettings().quiet_window()
    return f"{window[0]:%H:%M}–{window[1]:%H:%M}" if window else None


@router.post("/broadcasts/send")
async def broadcast_send(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    form = await auth.check_csrf(request, who)
    rt = runtime_of(request)
    body = _broadcast_body(form, rt.settings.timezone)
    accepted = await broadcasts_api.start(session, actor_of(who), body)
    return _see_other(f"/console/broadcasts/{accepted.id}")


@router.get("/broadcasts/{broadcast_id}")
async def broadcast_page(
    broadcast_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    report = await broadcasts_api.report(session, actor_of(who), broadcast_id)
    return render("broadcast.html", who, report=report, finished=_finished(report))


@router.get("/broadcasts/{broadcast_id}/report")
async def broadcast_report(
    broadcast_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    """htmx: the live counts; it stops asking once nothing is left to send."""
    report = await broadcasts_api.report(session, actor_of(who), broadcast_id)
    return render("fragments/report.html", who, report=report, finished=_finished(report))


def _finished(report: dict[str, Any]) -> bool:
    counts = report["counts"]
    return report["status"] in ("queued", "cancelled") and counts["queued"] == 0


# --- essay grading --------------------------------------------------------------------------


@router.get("/grading")
async def grading_page(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    essays = await grading_q.essays_to_grade(
        session, instructor_id=content.instructor_of(actor_of(who)), course_id=None, limit=50
    )
    graded = request.query_params.get("graded")
    return render("grading.html", who, essays=essays, graded=graded, errors=[])


@router.post("/grading/{answer_id}")
async def grade_essay(
    answer_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    form = await auth.check_csrf(request, who)
    feedback = (form.get("feedback") or "").strip() or None
    try:
        body = grading_api.Grade.model_validate(
            {"points": form.get("points", ""), "feedback": feedback}
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    await grading_api.grade(session, actor_of(who), answer_id, body, feedback=feedback)
    return _see_other(f"/console/grading?graded={answer_id}")


# --- analytics --------------------------------------------------------------------------------


async def _analytics(
    session: AsyncSession, request: Request, who: Visitor, course_id: uuid.UUID
) -> dict[str, Any]:
    actor = actor_of(who)
    # The API's own figures, and its own check that the course is the instructor's.
    figures = await analytics_api.analytics_of(session, actor, course_id)
    course = await content.read_content(session, actor, content.content_kind("courses"), course_id)
    weeks = await q.enrolments_by_week(session, course_id)
    questions = await q.question_shares(session, course_id)
    languages, channels = await q.farmers_by_language_and_channel(session, course_id)
    return {
        "course": course,
        "figures": figures,
        "weeks": weeks,
        "questions": questions,
        "languages": languages,
        "channels": channels,
    }


@router.get("/courses/{course_id}/analytics")
async def analytics_page(
    course_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    data = await _analytics(session, request, who, course_id)
    figures = data["figures"]
    enrolled = figures.enrolments.enrolled
    with use_language(who.language):
        charts = {
            "weeks": bar_chart(
                [(week_label(week), n, str(n)) for week, n in data["weeks"]],
                label=_("Enrolments per week"),
            ),
            "funnel": bar_chart(
                [(_("Enrolled"), enrolled, str(enrolled))]
                + [
                    (
                        f"{lesson.order_index}. {lesson.title}",
                        lesson.completed,
                        f"{lesson.completed} · {_pct(lesson.completion_rate)}",
                    )
                    for lesson in figures.lessons
                ],
                maximum=max(enrolled, 1),
                label=_("Completion by lesson"),
            ),
            "questions": bar_chart(
                [
                    (
                        f"{question.order_index}. {question.question_text}",
                        question.right / question.answers if question.answers else 0,
                        f"{_pct(question.right / question.answers if question.answers else 0)}"
                        f" ({question.right}/{question.answers})",
                    )
                    for question in data["questions"]
                ],
                maximum=1,
                label=_("Share answered right"),
            ),
            "languages": bar_chart(
                [(LANGUAGE_NAMES.get(k, k), n, str(n)) for k, n in data["languages"].items()],
                label=_("Farmers per language"),
            ),
            "channels": bar_chart(
                [(k.title(), n, str(n)) for k, n in data["channels"].items()],
                label=_("Farmers per channel"),
            ),
        }
    return render("analytics.html", who, charts=charts, **data)


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def _csv(name: str, header: list[str], rows: list[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/courses/{course_id}/analytics/{chart}.csv")
async def analytics_csv(
    course_id: uuid.UUID, chart: str, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    data = await _analytics(session, request, who, course_id)
    figures = data["figures"]
    if chart == "enrolments":
        return _csv(chart, ["week", "enrolments"], [[w.isoformat(), n] for w, n in data["weeks"]])
    if chart == "funnel":
        return _csv(
            chart,
            ["order", "lesson", "started", "completed", "completion_rate", "stopped_here"],
            [
                [x.order_index, x.title, x.started, x.completed, x.completion_rate, x.stopped_here]
                for x in figures.lessons
            ],
        )
    if chart == "questions":
        return _csv(
            chart,
            ["quiz", "order", "question", "answers", "right"],
            [
                [x.quiz_title, x.order_index, x.question_text, x.answers, x.right]
                for x in data["questions"]
            ],
        )
    if chart in ("languages", "channels"):
        return _csv(chart, [chart[:-1], "farmers"], [[k, n] for k, n in data[chart].items()])
    raise HTTPException(404, "no such chart")


@router.get("/analytics")
async def revenue_page(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    """Revenue per course (the instructor's own; all for the admin)."""
    revenue = await q.revenue_by_course(session, content.instructor_of(actor_of(who)))
    with use_language(who.language):
        chart = bar_chart(
            [(r.title, float(r.paid), format_money(r.paid, r.currency)) for r in revenue],
            label=_("Revenue per course"),
        )
    return render("revenue.html", who, revenue=revenue, chart=chart)


@router.get("/analytics/revenue.csv")
async def revenue_csv(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    revenue = await q.revenue_by_course(session, content.instructor_of(actor_of(who)))
    return _csv(
        "revenue",
        ["course_id", "course", "currency", "paid", "purchases"],
        [[str(r.course_id), r.title, r.currency, str(r.paid), r.purchases] for r in revenue],
    )


# --- admin ------------------------------------------------------------------------------------


def _admin(who: Visitor) -> None:
    if not who.is_admin:
        raise HTTPException(403, "admin only")


@router.get("/admin")
async def admin_page(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    _admin(who)
    instructors = await instructors_api.all_instructors(session, actor_of(who))
    held_ids = await q.purchases_held(session)
    held = [p for i in held_ids if (p := await payments_q.get_purchase(session, i))]
    health = await q.channel_health(session)
    return render(
        "admin.html", who, instructors=instructors, held=held, health=health, made=None,
        invite=None,
    )  # fmt: skip


@router.post("/admin/instructors")
async def admin_new_instructor(request: Request, who: SignedIn, session: UnitOfWork) -> Response:
    _admin(who)
    form = await auth.check_csrf(request, who)
    body = instructors_api.InstructorIn.model_validate(
        {"display_name": form.get("display_name", "").strip(), "language": form.get("language")}
    )
    made = await instructors_api.new_instructor(
        session, runtime_of(request).settings, actor_of(who), body
    )
    return render("admin_made.html", who, made=made, invite=made.invite)


@router.post("/admin/instructors/{instructor_id}/invite")
async def admin_invite(
    instructor_id: uuid.UUID, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    _admin(who)
    await auth.check_csrf(request, who)
    invite = await instructors_api.new_invite(
        session, runtime_of(request).settings, actor_of(who), instructor_id, 72
    )
    return render("admin_made.html", who, made=None, invite=invite)


@router.post("/admin/purchases/{purchase_id}/{action}")
async def admin_purchase(
    purchase_id: uuid.UUID, action: str, request: Request, who: SignedIn, session: UnitOfWork
) -> Response:
    _admin(who)
    form = await auth.check_csrf(request, who)
    rt = runtime_of(request)
    note = (form.get("note") or "").strip() or None
    if action == "confirm":
        given = purchases_api.Confirmation.model_validate(
            {"payment_ref": (form.get("payment_ref") or "").strip() or None, "note": note}
        )
        await purchases_api.confirm(session, rt.settings, actor_of(who), purchase_id, given)
        await q.clear_review(session, purchase_id)
    elif action == "refund":
        await purchases_api.refund_by_hand(session, rt.settings, actor_of(who), purchase_id, note)
        await q.clear_review(session, purchase_id)
    else:
        raise HTTPException(404, "no such action")
    return _see_other("/console/admin")
