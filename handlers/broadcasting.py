"""Broadcasts: an instructor's message, or a lesson, to everyone enrolled in a course.

Creating one writes a `broadcasts` row and enqueues the fan-out job in the same
transaction, so the job exists exactly when the broadcast does. The job (on
pgqueuer, in any worker; the fan-out is the engine's, bot/broadcasts.py) inserts
one outbound row per enrolled farmer, one
INSERT … SELECT per 10,000 farmers, unique per (broadcast, farmer), and wakes
the senders. A farmer who will not get it (opted out, no reachable address,
WhatsApp outside the 24-hour window without a template) gets a row too, marked
`skipped` with the reason, so every count is read from the outbox itself.

Language: the instructor's words go out as written, never machine-translated
(farmers act on them; a wrong translation of a spray dose is worse than none).
A one-line header, "📢 From your course {title}:", is in each farmer's own
language, so they know who is speaking and why.

Pacing is the sender's: broadcast rows go after a farmer's own replies, never
during quiet hours (21:00–07:00 in Settings.timezone by default), and on
WhatsApp each costs 1/(1 − 20%) of a slot, so a fifth of the rate stays free
for replies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES, _, use_language
from bot.messages import Capabilities, Reply
from bot.settings import Settings
from db.queries import broadcasts as q
from db.queries import lessons as lessons_q
from db.queries.jobs import enqueue
from handlers import outreach
from handlers.lessons import render_lesson

log = logging.getLogger(__name__)

FAN_OUT_JOB = "broadcast_fan_out"
# Broadcasts run this much under the channel's rate: room for the jitter between our
# send times and the provider's clock (a few ms a message) in its one-second window.
BROADCAST_HEADROOM = 0.02
# get_lesson wants a farmer; nobody has this id, so the lesson is read as a stranger would.
_NOBODY = uuid.UUID(int=0)


class BroadcastSettings(BaseSettings):
    """Broadcast limits, from BROADCAST_* environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="BROADCAST_", env_file=".env", extra="ignore", case_sensitive=False
    )

    # "HH:MM-HH:MM" in Settings.timezone; "off" sends at any hour.
    quiet_hours: str = "21:00-07:00"
    max_chars: int = 1000
    # Broadcasts one instructor (or the admin) may create in any hour.
    per_hour: int = 10
    # Share of the WhatsApp sender's rate that broadcasts leave to replies.
    whatsapp_reply_share: float = 0.2
    # Farmers per fan-out statement, and how many such statements run at once.
    chunk_size: int = 10_000
    parallel_chunks: int = 2

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        if value.strip().lower() not in ("", "off"):
            start, _sep, end = value.partition("-")
            dt.time.fromisoformat(start.strip())
            dt.time.fromisoformat(end.strip())
        return value

    def quiet_window(self) -> tuple[dt.time, dt.time] | None:
        if self.quiet_hours.strip().lower() in ("", "off"):
            return None
        start, _sep, end = self.quiet_hours.partition("-")
        window = dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())
        return None if window[0] == window[1] else window

    def is_quiet(self, timezone: str, now: dt.datetime | None = None) -> bool:
        """Whether broadcasts wait now: farmers are asleep."""
        window = self.quiet_window()
        if window is None:
            return False
        local = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone)).time()
        start, end = window
        if start < end:
            return start <= local < end
        return local >= start or local < end


class TooManyBroadcasts(Exception):
    """The creator made their hourly allowance of broadcasts already."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"at most {limit} broadcasts an hour")
        self.limit = limit
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Created:
    id: uuid.UUID
    send_at: dt.datetime


async def create_broadcast(
    session: AsyncSession,
    policy: BroadcastSettings,
    *,
    course_id: uuid.UUID,
    instructor_id: uuid.UUID | None,
    created_by: str,
    source: str,
    message: str | None,
    lesson_id: uuid.UUID | None,
    send_at: dt.datetime | None = None,
) -> Created:
    """Record a broadcast and enqueue its fan-out, in the caller's transaction.

    Raises TooManyBroadcasts past the hourly limit. The caller has checked that
    the course is theirs, the lesson is the course's and the text is not too long.
    """
    made, oldest = await q.recent_broadcasts(session, created_by)
    if made >= policy.per_hour:
        now = dt.datetime.now(dt.UTC)
        wait = (oldest + dt.timedelta(hours=1) - now).total_seconds() if oldest else 3600.0
        raise TooManyBroadcasts(policy.per_hour, max(1, int(wait) + 1))
    broadcast_id, starts, db_now = await q.insert_broadcast(
        session,
        course_id=course_id,
        instructor_id=instructor_id,
        created_by=created_by,
        source=source,
        message=message,
        lesson_id=lesson_id,
        send_at=send_at,
    )
    delay = starts - db_now
    await enqueue(
        session,
        FAN_OUT_JOB,
        {"broadcast": str(broadcast_id)},
        after=delay if delay > dt.timedelta(0) else None,
        dedupe_key=f"broadcast:{broadcast_id}",
    )
    return Created(broadcast_id, starts)


def header(course_title: str, emoji: str | None) -> str:
    """The line above every broadcast, in the farmer's language."""
    title = f"{emoji} {course_title}" if emoji else course_title
    return _("📢 From your course {title}:").format(title=title)


async def bodies_of(
    session: AsyncSession,
    broadcast: q.BroadcastRow,
    settings: Settings,
    channels: Mapping[str, Capabilities],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None:
    """The message per "channel:language", and its template form for channels that
    send only templates outside their reply window. None when there is nothing to
    send (the lesson was deleted)."""
    lesson = None
    if broadcast.lesson_id is not None:
        lesson = await lessons_q.get_lesson(session, broadcast.lesson_id, _NOBODY)
        if lesson is None:
            return None
    elif not broadcast.text:
        return None
    sids = outreach.templates(settings, "broadcast")
    variables = orjson.dumps(
        {"1": broadcast.course_title, "2": broadcast.text or (lesson.title if lesson else "")}
    ).decode()
    bodies: dict[str, dict[str, Any]] = {}
    templates: dict[str, dict[str, Any]] = {}
    replies = broadcast_replies(
        broadcast.course_title, broadcast.course_emoji, broadcast.text, lesson, channels
    )
    for key, sent in replies.items():
        bodies[key] = sent.to_json()
        templates[key] = bodies[key]
        channel, _sep, language = key.partition(":")
        sid = sids.get(language)
        if sid and channels[channel].templates_outside_window:
            templates[key] = {
                **bodies[key],
                "extra": {"content_sid": sid, "content_variables": variables},
            }
    return bodies, templates


def broadcast_replies(
    course_title: str,
    emoji: str | None,
    text: str | None,
    lesson: lessons_q.LessonView | None,
    channels: Mapping[str, Capabilities],
) -> dict[str, Reply]:
    """What each farmer gets, per "channel:language" (the console previews these)."""
    replies: dict[str, Reply] = {}
    for language in LANGUAGES:
        with use_language(language):
            top = header(course_title, emoji)
            if lesson is not None:
                shown = render_lesson(lesson)
                reply = dataclasses.replace(shown, text=top + "\n\n" + shown.text)
            else:
                reply = Reply(top + "\n\n" + (text or ""))
        for channel, can in channels.items():
            sent = reply if can.options_outside_a_turn else dataclasses.replace(reply, options=())
            replies[f"{channel}:{language}"] = sent
    return replies


async def preview_replies(
    session: AsyncSession,
    course_title: str,
    emoji: str | None,
    text: str | None,
    lesson_id: uuid.UUID | None,
    channels: Mapping[str, Capabilities],
) -> dict[str, Reply]:
    """The replies a broadcast not yet made would send, read as the fan-out reads them."""
    lesson = await lessons_q.get_lesson(session, lesson_id, _NOBODY) if lesson_id else None
    return broadcast_replies(course_title, emoji, text, lesson, channels)
