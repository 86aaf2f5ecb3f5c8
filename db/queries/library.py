"""Articles and videos: featured and per-topic shelves, opening one (a view), liking it once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.learn import Article, Video
from db.models.service import ContentLike

ContentKind = Literal["article", "video"]
LikeOutcome = Literal["liked", "already_liked", "not_available"]

_MODELS: dict[ContentKind, type[Article] | type[Video]] = {"article": Article, "video": Video}


@dataclass(frozen=True, slots=True)
class ShelfItem:
    """One line of a list of articles or videos."""

    id: uuid.UUID
    title: str
    emoji: str | None
    category: str


@dataclass(frozen=True, slots=True)
class LikeResult:
    outcome: LikeOutcome
    category: str | None  # the liked item's topic, to lead the farmer back to its list


@dataclass(frozen=True, slots=True)
class ArticleView:
    id: uuid.UUID
    title: str
    emoji: str | None
    category: str
    content: str
    author_name: str | None
    read_time_minutes: int | None
    source_type: str | None
    source_url: str | None
    source_title: str | None


@dataclass(frozen=True, slots=True)
class VideoView:
    id: uuid.UUID
    title: str
    emoji: str | None
    category: str
    description: str | None
    duration_seconds: int | None
    skill_level: str | None
    creator_name: str | None
    video_url: str


def _published(model: type[Article] | type[Video]) -> ColumnElement[bool]:
    return model.is_published.is_(True)


def _in_language(model: type[Article] | type[Video], content_language: str) -> ColumnElement[bool]:
    """Items in the farmer's language ("Hindi" in "Hindi, English")."""
    return func.coalesce(model.language, "English").ilike(f"%{content_language}%")


async def _shelf(
    session: AsyncSession,
    model: type[Article] | type[Video],
    where: ColumnElement[bool],
    content_language: str,
    *,
    offset: int,
    limit: int,
    in_language: bool,
) -> list[ShelfItem]:
    language = _in_language(model, content_language)
    statement = (
        select(model.id, model.title, model.thumbnail_emoji, model.category)
        .where(_published(model), where, language if in_language else ~language)
        .order_by(
            model.is_featured.is_(True).desc(),
            model.published_at.desc().nulls_last(),
            model.created_at.desc().nulls_last(),
            model.id,
        )
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [ShelfItem(row.id, row.title, row.thumbnail_emoji, row.category) for row in rows]


async def featured(
    session: AsyncSession,
    kind: ContentKind,
    content_language: str,
    limit: int = 5,
    *,
    in_language: bool = True,
) -> list[ShelfItem]:
    """Published featured items in the farmer's language (or, `in_language=False`, the others)."""
    model = _MODELS[kind]
    return await _shelf(
        session, model, model.is_featured.is_(True), content_language,
        offset=0, limit=limit, in_language=in_language,
    )  # fmt: skip


async def in_category(
    session: AsyncSession,
    kind: ContentKind,
    category: str,
    content_language: str,
    *,
    offset: int,
    limit: int,
    in_language: bool = True,
) -> list[ShelfItem]:
    """One page of a topic's published items in the farmer's language (or in the others)."""
    model = _MODELS[kind]
    return await _shelf(
        session, model, model.category == category, content_language,
        offset=offset, limit=limit, in_language=in_language,
    )  # fmt: skip


async def open_article(session: AsyncSession, article_id: uuid.UUID) -> ArticleView | None:
    """The published article, with its view counted; None if there is no such article."""
    row = (
        await session.execute(
            update(Article)
            .where(Article.id == article_id, _published(Article))
            .values(view_count=func.coalesce(Article.view_count, 0) + 1)
            .returning(
                Article.id,
                Article.title,
                Article.thumbnail_emoji,
                Article.category,
                Article.content,
                Article.author_name,
                Article.read_time_minutes,
                Article.source_type,
                Article.source_url,
                Article.source_title,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return ArticleView(
        id=row.id,
        title=row.title,
        emoji=row.thumbnail_emoji,
        category=row.category,
        content=row.content,
        author_name=row.author_name,
        read_time_minutes=row.read_time_minutes,
        source_type=row.source_type,
        source_url=row.source_url,
        source_title=row.source_title,
    )


async def open_video(session: AsyncSession, video_id: uuid.UUID) -> VideoView | None:
    """The published video, with its view counted; None if there is no such video."""
    row = (
        await session.execute(
            update(Video)
            .where(Video.id == video_id, _published(Video))
            .values(view_count=func.coalesce(Video.view_count, 0) + 1)
            .returning(
                Video.id,
                Video.title,
                Video.thumbnail_emoji,
                Video.category,
                Video.description,
                Video.duration_seconds,
                Video.skill_level,
                Video.creator_name,
                Video.video_url,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return VideoView(
        id=row.id,
        title=row.title,
        emoji=row.thumbnail_emoji,
        category=row.category,
        description=row.description,
        duration_seconds=row.duration_seconds,
        skill_level=row.skill_level,
        creator_name=row.creator_name,
        video_url=row.video_url,
    )


async def like(
    session: AsyncSession, kind: ContentKind, item_id: uuid.UUID, user_id: uuid.UUID
) -> LikeResult:
    """Record the farmer's like once; the item's like_count moves only when a like was new.

    One statement: the like row and the counter can never disagree, and a second
    like (or a retried delivery) changes nothing.
    """
    model = _MODELS[kind]
    item = (
        select(model.id, model.category).where(model.id == item_id, _published(model)).cte("item")
    )
    new_like = (
        insert(ContentLike)
        .from_select(
            ["user_id", "content_kind", "content_id"],
            select(literal(user_id), literal(kind), item.c.id),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "content_kind", "content_id"])
        .returning(ContentLike.content_id)
        .cte("new_like")
    )
    bump = (
        update(model)
        .where(model.id.in_(select(new_like.c.content_id)))
        .values(like_count=func.coalesce(model.like_count, 0) + 1)
        .returning(model.id)
        .cte("bump")
    )
    row = (
        await session.execute(
            select(
                select(item.c.category).scalar_subquery().label("category"),
                exists(select(bump.c.id)).label("liked"),
            )
        )
    ).one()
    if row.category is None:
        return LikeResult("not_available", None)
    return LikeResult("liked" if row.liked else "already_liked", row.category)
