"""Content over HTTP: create, read, update, publish and archive courses, lessons,
quizzes, questions, articles, videos, roadmaps, milestones and badges.

Who may write what:
- an instructor: their own courses (and those courses' lessons, quizzes and
  questions), and the articles and videos they author; anything else is 403;
- the admin: everything. Roadmaps, milestones and badges span courses and have
  no owner, so only the admin writes them; everyone may read them.

A PATCH carries any fields of the create body; the row with the patch applied is
validated as a whole (a video lesson still needs its URL), then only the patched
fields are written. Content made through the API starts unpublished. Nothing is
deleted: archive a course, or unpublish an article, instead.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor, CurrentActor
from bot.api.routing import ApiRoute
from bot.api.storable import INT4_MAX, INT4_MIN, OFFSET_MAX, StorableText
from bot.content import REQUIREMENT_TYPES, Category, Level
from bot.content import Question as ContentQuestion
from bot.runtime import UnitOfWork
from db.queries import audit as audit_q
from db.queries import authoring as authoring_q

router = APIRouter(route_class=ApiRoute)


# --- who may act -----------------------------------------------------------------------


def instructor_of(actor: Actor) -> uuid.UUID | None:
    """The acting instructor's user id; None for the admin, who may act on everything."""
    return None if actor.is_admin or actor.user_id is None else uuid.UUID(actor.user_id)


def require_owner(actor: Actor, exists: bool, owner: uuid.UUID | None, what: str) -> None:
    """404 for a row that does not exist, 403 for another instructor's."""
    if not exists:
        raise HTTPException(404, f"no such {what}")
    me = instructor_of(actor)
    if me is not None and owner != me:
        raise HTTPException(403, f"this {what} belongs to another instructor")


def invalid(field: str, message: str, value: Any = None) -> RequestValidationError:
    """A 422 in FastAPI's own shape, naming the field."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": value}]
    )


# --- the bodies ---------------------------------------------------------------------------


class ContentIn(StorableText):
    model_config = ConfigDict(extra="forbid")


class CourseIn(ContentIn):
    title: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1)
    category: Category
    level: Level
    duration: str | None = Field(None, max_length=50)
    thumbnail_emoji: str | None = Field(None, max_length=10)
    thumbnail_url: str | None = Field(None, max_length=500)
    language: str = Field("English", max_length=100)
    price: Decimal = Field(Decimal(0), ge=0, max_digits=10, decimal_places=2)
    currency: str = Field("INR", max_length=10)
    discount_percent: int = Field(0, ge=0, le=100)
    # The admin assigns courses; an instructor's own courses are theirs.
    instructor_id: uuid.UUID | None = None
    instructor_name: str | None = Field(None, max_length=255)
    instructor_bio: str | None = None


class LessonIn(ContentIn):
    course_id: uuid.UUID
    title: str = Field(min_length=1, max_length=255)
    content_type: Literal["video", "text", "quiz", "assignment"]
    # A text or assignment lesson's words (the seed has no separate body column).
    description: str | None = None
    content_url: str | None = Field(None, max_length=500)
    duration: str | None = Field(None, max_length=50)
    is_preview: bool = False
    order_index: int | None = Field(None, ge=1, le=INT4_MAX)

    @model_validator(mode="after")
    def _complete(self) -> LessonIn:
        if self.content_type == "video" and not self.content_url:
            raise ValueError("a video lesson needs content_url")
        if self.content_type in ("text", "assignment") and not self.description:
            raise ValueError(f"a {self.content_type} lesson needs a description (its text)")
        return self


class QuizIn(ContentIn):
    course_id: uuid.UUID
    lesson_id: uuid.UUID | None = None
    title: str = Field(min_length=1, max_length=255)
    description: str | None = None
    passing_score: int = Field(70, ge=0, le=100)
    time_limit_minutes: int | None = Field(None, gt=0, le=INT4_MAX)
    shuffle_questions: bool = False
    show_correct_answer: bool = True
    is_required: bool = True
    order_index: int | None = Field(None, ge=INT4_MIN, le=INT4_MAX)


class QuestionIn(StorableText, ContentQuestion):
    """A question, as in the content file (type, text, options…), of one quiz."""

    quiz_id: uuid.UUID
    order_index: int | None = Field(None, ge=1, le=INT4_MAX)
    points: int = Field(1, ge=0, le=INT4_MAX)


class ArticleIn(ContentIn):
    title: str = Field(min_length=1, max_length=255)
    excerpt: str = Field(min_length=1)
    content: str = Field(min_length=1)
    category: Category
    author_id: uuid.UUID | None = None
    author_name: str | None = Field(None, max_length=255)
    read_time_minutes: int | None = Field(None, ge=0, le=INT4_MAX)
    language: str = Field("English", max_length=100)
    source_type: Literal["internal", "external", "scraped"] = "internal"
    source_url: str | None = Field(None, max_length=500)
    source_title: str | None = Field(None, max_length=255)
    thumbnail_url: str | None = Field(None, max_length=500)
    thumbnail_emoji: str | None = Field(None, max_length=10)
    is_featured: bool = False


class VideoIn(ContentIn):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = None
    category: Category
    duration_seconds: int | None = Field(None, ge=0, le=INT4_MAX)
    video_type: Literal["youtube", "vimeo", "self_hosted", "aws_s3"]
    video_url: str = Field(min_length=1, max_length=500)
    video_id: str | None = Field(None, max_length=100)
    thumbnail_url: str | None = Field(None, max_length=500)
    thumbnail_emoji: str | None = Field(None, max_length=10)
    creator_id: uuid.UUID | None = None
    creator_name: str | None = Field(None, max_length=255)
    language: str = Field("English", max_length=100)
    skill_level: str | None = Field(None, max_length=20)
    transcript: str | None = None
    is_featured: bool = False


class RoadmapIn(ContentIn):
    title: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    difficulty: Level
    estimated_hours: int | None = Field(None, ge=0, le=INT4_MAX)
    icon_emoji: str | None = Field(None, max_length=10)
    icon_url: str | None = Field(None, max_length=500)


class MilestoneIn(ContentIn):
    roadmap_id: uuid.UUID
    title: str = Field(min_length=1, max_length=255)
    description: str | None = None
    course_id: uuid.UUID | None = None
    order_index: int | None = Field(None, ge=1, le=INT4_MAX)


class BadgeIn(ContentIn):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1)
    icon_emoji: str | None = Field(None, max_length=10)
    icon_url: str | None = Field(None, max_length=500)
    category: Literal["completion", "achievement", "streak", "milestone", "special"]
    # Checked by the validator below; the enum tells API clients the choices.
    requirement_type: str = Field(json_schema_extra={"enum": list(REQUIREMENT_TYPES)})
    requirement_value: int | None = Field(None, ge=0, le=INT4_MAX)

    @field_validator("requirement_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in REQUIREMENT_TYPES:
            raise ValueError(f"must be one of: {', '.join(REQUIREMENT_TYPES)}")
        return value


# --- one description per kind of content --------------------------------------------------


@dataclass(frozen=True)
class Resource:
    name: str  # the URL segment, and the key of db.queries.authoring.CONTENT
    singular: str
    model: type[BaseModel]
    # (body field, parent resource): a lesson's course, a question's quiz…
    parent: tuple[str, str] | None = None
    # The column naming the owning instructor, set to the instructor on create.
    owner_column: str | None = None
    admin_only: bool = False
    publishable: bool = False
    # Body field → column, where the names differ.
    renamed: tuple[tuple[str, str], ...] = ()

    def to_row(self, body: BaseModel, fields: set[str] | None = None) -> dict[str, Any]:
        columns = dict(self.renamed)
        values = body.model_dump(mode="python")
        return {columns.get(k, k): v for k, v in values.items() if fields is None or k in fields}

    def from_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row as body fields; NULLs are left out, so the body's defaults apply."""
        columns = dict(self.renamed)
        return {
            name: row[columns.get(name, name)]
            for name in self.model.model_fields
            if row.get(columns.get(name, name)) is not None
        }


RESOURCES = [
    Resource("courses", "course", CourseIn, owner_column="instructor_id", publishable=True),
    Resource("lessons", "lesson", LessonIn, parent=("course_id", "courses")),
    Resource("quizzes", "quiz", QuizIn, parent=("course_id", "courses")),
    Resource(
        "questions",
        "question",
        QuestionIn,
        parent=("quiz_id", "quizzes"),
        renamed=(("type", "question_type"), ("text", "question_text")),
    ),
    Resource("articles", "article", ArticleIn, owner_column="author_id", publishable=True),
    Resource("videos", "video", VideoIn, owner_column="creator_id", publishable=True),
    Resource("roadmaps", "roadmap", RoadmapIn, admin_only=True, publishable=True),
    Resource(
        "milestones", "milestone", MilestoneIn, parent=("roadmap_id", "roadmaps"), admin_only=True
    ),
    Resource("badges", "badge", BadgeIn, admin_only=True),
]
_BY_NAME = {resource.name: resource for resource in RESOURCES}
# Unpublish hides a row from farmers without archiving it.
Publication = Literal["publish", "unpublish", "archive"]


def content_kind(name: str) -> Resource:
    """The description of one kind of content, by its URL segment."""
    return _BY_NAME[name]


def _integrity(exc: IntegrityError) -> HTTPException | RequestValidationError:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    detail = str(exc.orig).split("\n")[0][:300]
    if code == "23505":
        return HTTPException(409, f"already exists: {detail}")
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body",), "msg": detail, "input": None}]
    )


async def _check_parent(
    session: AsyncSession, actor: Actor, resource: Resource, values: dict[str, Any]
) -> None:
    if resource.parent is None:
        return
    field, parent_name = resource.parent
    parent = _BY_NAME[parent_name]
    exists, owner = await authoring_q.content_owner(session, parent_name, values[field])
    if not exists:
        raise invalid(field, f"no such {parent.singular}", str(values[field]))
    require_owner(actor, exists, owner, parent.singular)


async def _check_references(
    session: AsyncSession, actor: Actor, resource: Resource, values: dict[str, Any]
) -> None:
    """A quiz's lesson must be of the quiz's course."""
    if resource.name == "quizzes" and values.get("lesson_id") is not None:
        lesson = await authoring_q.get_content(session, "lessons", values["lesson_id"])
        if lesson is None or lesson["course_id"] != values["course_id"]:
            raise invalid("lesson_id", "not a lesson of this course", str(values["lesson_id"]))


def _may_write(actor: Actor, resource: Resource) -> None:
    if resource.admin_only and not actor.is_admin:
        raise HTTPException(403, f"only the admin writes {resource.name}")


def _respond(row: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(jsonable_encoder(row), status_code=status)


async def create_content(
    session: AsyncSession, actor: Actor, resource: Resource, body: BaseModel
) -> dict[str, Any]:
    """Create one row as `actor` (the API's and the console's one way to do it)."""
    _may_write(actor, resource)
    values = resource.to_row(body)
    me = instructor_of(actor)
    if resource.owner_column is not None and me is not None:
        if values.get(resource.owner_column) not in (None, me):
            raise HTTPException(403, f"an instructor cannot set {resource.owner_column}")
        values[resource.owner_column] = me
    await _check_parent(session, actor, resource, values)
    await _check_references(session, actor, resource, values)
    if "order_index" in values and values["order_index"] is None and resource.parent:
        values["order_index"] = await authoring_q.next_order_index(
            session, resource.name, values[resource.parent[0]]
        )
    if resource.publishable:
        values["is_published"] = False
    try:
        async with session.begin_nested():
            row = await authoring_q.insert_content(session, resource.name, values)
    except IntegrityError as exc:
        raise _integrity(exc) from exc
    if resource.name == "lessons":
        await authoring_q.refresh_lesson_count(session, values["course_id"])
    await audit_q.audit(
        session,
        actor=actor.name,
        action=f"{resource.singular}.create",
        subject=str(row["id"]),
        detail={"title": row.get("title") or row.get("name") or row.get("question_text")},
    )
    return row


def _create(resource: Resource) -> Callable[..., Awaitable[JSONResponse]]:
    async def create(
        request: Request, session: UnitOfWork, actor: Actor, body: BaseModel
    ) -> JSONResponse:
        return _respond(await create_content(session, actor, resource, body), 201)

    _sign(create, body=resource.model)
    return create


async def list_content(
    session: AsyncSession,
    actor: Actor,
    resource: Resource,
    parent: uuid.UUID | None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Rows of one kind `actor` may see: an instructor's own, everything for the admin."""
    filters = {resource.parent[0]: parent} if resource.parent and parent else {}
    return await authoring_q.list_content(
        session,
        resource.name,
        owner=instructor_of(actor),
        filters=filters,
        limit=limit,
        offset=offset,
    )


def _list(resource: Resource) -> Callable[..., Awaitable[JSONResponse]]:
    async def list_rows(
        request: Request,
        session: UnitOfWork,
        actor: Actor,
        limit: int,
        offset: int,
        parent: uuid.UUID | None,
    ) -> JSONResponse:
        rows = await list_content(session, actor, resource, parent, limit, offset)
        return JSONResponse(jsonable_encoder(rows))

    _sign(
        list_rows,
        limit=(int, Query(50, ge=1, le=500)),
        offset=(int, Query(0, ge=0, le=OFFSET_MAX)),
        parent=(
            uuid.UUID | None,
            Query(None, alias=resource.parent[0] if resource.parent else "parent_id"),
        ),
    )
    return list_rows


async def _owned_row(
    session: AsyncSession, actor: Actor, resource: Resource, row_id: uuid.UUID, *, write: bool
) -> dict[str, Any]:
    if write:
        _may_write(actor, resource)
    exists, owner = await authoring_q.content_owner(session, resource.name, row_id)
    if resource.admin_only or authoring_q.CONTENT[resource.name].owner is None:
        if not exists:
            raise HTTPException(404, f"no such {resource.singular}")
    else:
        require_owner(actor, exists, owner, resource.singular)
    row = await authoring_q.get_content(session, resource.name, row_id)
    if row is None:
        raise HTTPException(404, f"no such {resource.singular}")
    return row


async def read_content(
    session: AsyncSession, actor: Actor, resource: Resource, row_id: uuid.UUID
) -> dict[str, Any]:
    """One row `actor` may see: 404 when there is none, 403 for another's."""
    return await _owned_row(session, actor, resource, row_id, write=False)


def _get(resource: Resource) -> Callable[..., Awaitable[JSONResponse]]:
    async def get_row(
        request: Request, session: UnitOfWork, actor: Actor, row_id: uuid.UUID
    ) -> JSONResponse:
        return _respond(await read_content(session, actor, resource, row_id))

    _sign(get_row, row_id=uuid.UUID)
    return get_row


async def update_content(
    session: AsyncSession,
    actor: Actor,
    resource: Resource,
    row_id: uuid.UUID,
    patch: dict[str, Any],
) -> dict[str, Any]:
    """Apply a patch as `actor`: the whole row is validated, only the patch is written."""
    current = await _owned_row(session, actor, resource, row_id, write=True)
    if resource.parent and resource.parent[0] in patch:
        field = resource.parent[0]
        if str(patch[field]) != str(current[field]):
            raise invalid(field, "cannot be changed; create it anew instead", patch[field])
    owner_column = resource.owner_column
    if (
        owner_column
        and owner_column in patch
        and not actor.is_admin
        and str(patch[owner_column]) != str(current[owner_column])
    ):
        raise HTTPException(403, f"only the admin changes {owner_column}")
    try:
        body = resource.model.model_validate({**resource.from_row(current), **patch})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    values = resource.to_row(body, set(patch))
    await _check_references(session, actor, resource, resource.to_row(body))
    try:
        async with session.begin_nested():
            row = await authoring_q.update_content(session, resource.name, row_id, values)
    except IntegrityError as exc:
        raise _integrity(exc) from exc
    if row is None:
        raise HTTPException(404, f"no such {resource.singular}")
    await audit_q.audit(
        session,
        actor=actor.name,
        action=f"{resource.singular}.update",
        subject=str(row_id),
        detail={"fields": sorted(values)},
    )
    return row


def _update(resource: Resource) -> Callable[..., Awaitable[JSONResponse]]:
    async def update_row(
        request: Request,
        session: UnitOfWork,
        actor: Actor,
        row_id: uuid.UUID,
        patch: dict[str, Any],
    ) -> JSONResponse:
        return _respond(await update_content(session, actor, resource, row_id, patch))

    _sign(
        update_row,
        row_id=uuid.UUID,
        patch=(
            dict[str, Any],
            Body(
                description=f"Any fields of the {resource.singular} create body; "
                "the result is validated as a whole."
            ),
        ),
    )
    return update_row


async def change_publication(
    session: AsyncSession, actor: Actor, resource: Resource, row_id: uuid.UUID, action: Publication
) -> dict[str, Any]:
    """Publish, unpublish or archive one row as `actor`."""
    await _owned_row(session, actor, resource, row_id, write=True)
    row = await authoring_q.set_publication(session, resource.name, row_id, action)
    await audit_q.audit(
        session,
        actor=actor.name,
        action=f"{resource.singular}.{action}",
        subject=str(row_id),
        detail={},
    )
    return row or {}


def _publication(resource: Resource, action: Publication) -> Callable[..., Awaitable[JSONResponse]]:
    async def change(
        request: Request, session: UnitOfWork, actor: Actor, row_id: uuid.UUID
    ) -> JSONResponse:
        return _respond(await change_publication(session, actor, resource, row_id, action))

    _sign(change, row_id=uuid.UUID)
    return change


def _sign(endpoint: Callable[..., Any], **params: Any) -> None:
    """Give a generated endpoint the real types FastAPI reads: its body model, the
    bearer dependency, the request's unit of work, the path and query parameters."""
    signature = inspect.signature(endpoint)
    typed = []
    for name in signature.parameters:
        if name == "request":
            annotation: Any = Request
            default: Any = inspect.Parameter.empty
        elif name == "actor":
            annotation, default = CurrentActor, inspect.Parameter.empty
        elif name == "session":
            annotation, default = UnitOfWork, inspect.Parameter.empty
        else:
            given = params[name]
            annotation, default = (
                given if isinstance(given, tuple) else (given, inspect.Parameter.empty)
            )
        typed.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    endpoint.__signature__ = signature.replace(parameters=typed)  # type: ignore[attr-defined]


_ACTIONS: tuple[Publication, ...] = ("publish", "unpublish", "archive")
for _resource in RESOURCES:
    _base = f"/{_resource.name}"
    _item = f"{_base}/{{row_id}}"
    _tags: list[str | Any] = [_resource.name]
    _noun = _resource.singular
    router.add_api_route(
        _base, _create(_resource), methods=["POST"], status_code=201, tags=_tags,
        name=f"create_{_noun}", summary=f"Create a {_noun}",
    )  # fmt: skip
    router.add_api_route(
        _base, _list(_resource), methods=["GET"], tags=_tags,
        name=f"list_{_resource.name}", summary=f"List {_resource.name}",
    )  # fmt: skip
    router.add_api_route(
        _item, _get(_resource), methods=["GET"], tags=_tags,
        name=f"get_{_noun}", summary=f"Read a {_noun}",
    )  # fmt: skip
    router.add_api_route(
        _item, _update(_resource), methods=["PATCH"], tags=_tags,
        name=f"update_{_noun}", summary=f"Update a {_noun}",
    )  # fmt: skip
    if _resource.publishable:
        for _action in _ACTIONS:
            router.add_api_route(
                f"{_item}/{_action}", _publication(_resource, _action), methods=["POST"],
                tags=_tags, name=f"{_action}_{_noun}", summary=f"{_action.title()} a {_noun}",
            )  # fmt: skip
