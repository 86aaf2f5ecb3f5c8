"""Instructors broadcasting from their own chat, and the invite that makes one.

/broadcast ─► choose a course (bcc:<course>)
  ─► broadcast_compose: type the message, or choose a lesson (bcl:<lesson>)
  ─► broadcast_confirm: preview with recipients per channel and language
       ─(bcs)─► sent to the fan-out; idle      ─(bcx)─► cancelled; idle
       typed text here replaces the message and shows the preview again
/broadcast status (or bcstat) ─► counts of the latest broadcasts
/start invite-<token> ─► the chat becomes the invited instructor's
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.i18n import LANGUAGE_NAMES, N_, _, format_day, format_number, ngettext, use_language
from bot.i18n import normalise_language as _normalise_language
from bot.messages import Capabilities, Option, Reply
from db.queries import broadcasts as q
from handlers import menu, outreach
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, on, parse_uuid
from handlers.broadcasting import BroadcastSettings, TooManyBroadcasts, create_broadcast, header

INVITE_PREFIX = "invite-"
STATUS_SHOWN = 5

# The instructor chose a course; typed text is the message. Carries {"course": id}.
COMPOSE = "broadcast_compose"
# The preview is on screen, waiting for Send; carries {"course", "text" or "lesson"}.
CONFIRM = "broadcast_confirm"

# What each skip or failure reason means to an instructor.
REASONS = {
    "opted out": N_("opted out"),
    "address inactive: blocked": N_("blocked the bot"),
    "address inactive: unreachable": N_("number unreachable"),
    q.NO_ADDRESS: N_("no chat address"),
    "cancelled": N_("cancelled"),
    # A provider's own errors are its channel's `delivery_errors`.
}


def token_hash(token: str) -> str:
    """Invite and API tokens are stored as their SHA-256 only."""
    return hashlib.sha256(token.encode()).hexdigest()


def _reason(code: str, channels: Mapping[str, Capabilities]) -> str:
    label = REASONS.get(code)
    for capabilities in channels.values():
        label = label or capabilities.delivery_errors.get(code)
    return _(label) if label else code


def _instructor(turn: Turn) -> tuple[bool, uuid.UUID | None]:
    """(may broadcast, whose courses: None for the admin's all)."""
    role = turn.farmer.role
    return role in ("instructor", "admin"), (None if role == "admin" else turn.farmer.user_id)


def _not_instructor() -> list[Reply]:
    return [
        Reply(
            _(
                "Broadcasts are for instructors. If you teach a course here, ask the "
                "Krishi Learn team for an invite link."
            )
        )
    ]


def _cancel_option() -> Option:
    return Option(_("✖️ Cancel"), "bcx")


async def _own_course(turn: Turn, value: object) -> q.OwnCourse | None:
    allowed, owner = _instructor(turn)
    course_id = parse_uuid(value)
    if not allowed or course_id is None:
        return None
    course = await q.get_course(turn.session, course_id)
    if course is None or (owner is not None and course.instructor_id != owner):
        return None
    return course


async def broadcast_command(turn: Turn) -> Answer | list[Reply]:
    """Answers /broadcast: asks which course's learners to write to (`status`: the counts)."""
    if turn.arg.strip().lower() in ("status", "stat", "स्थिति", "स्थिती"):
        return await show_status(turn)
    allowed, owner = _instructor(turn)
    if not allowed:
        return _not_instructor()
    courses = await q.own_courses(turn.session, owner)
    if not courses:
        return [Reply(_("You have no courses yet. The courses you teach will appear here."))]
    options = tuple(
        Option(f"{course.emoji or '📘'} {course.title}", f"bcc:{course.id}") for course in courses
    )
    which = Reply(
        _("📢 Which course's learners do you want to write to?"),
        options=(*options, Option(_("📊 Broadcast status"), "bcstat")),
    )
    return Answer([which], IDLE)


async def choose_course(turn: Turn) -> Answer | list[Reply]:
    """Answers `bcc:<course>`: asks for the message, or a lesson to send."""
    if not _instructor(turn)[0]:
        return _not_instructor()
    course = await _own_course(turn, turn.arg)
    if course is None:
        return [Reply(_("Sorry, this course is not available."))]
    policy = BroadcastSettings()
    lessons = await q.course_lessons(turn.session, course.id)
    # In course order, without their own "3." which would read as an option number.
    options = tuple(Option(f"📖 {lesson.title}", f"bcl:{lesson.id}") for lesson in lessons)
    ask = Reply(
        _(
            "Type your message for the learners of {course} (at most {limit} characters), "
            "or choose a lesson to send them."
        ).format(course=course.title, limit=format_number(policy.max_chars)),
        options=(*options, _cancel_option()),
    )
    return Answer([ask], COMPOSE, {"course": str(course.id)})


def _gone(turn: Turn) -> Answer:
    return Answer([Reply(_("That choice is no longer available.")), menu.main_menu(turn)], IDLE)


async def compose_text(turn: Turn) -> Answer | list[Reply]:
    """Answers the typed message: checks its length and shows the preview; asks to confirm."""
    course = await _own_course(turn, turn.data.get("course"))
    if course is None:
        return _gone(turn)
    message = turn.inbound.text.strip()
    policy = BroadcastSettings()
    if not message:
        return [Reply(_("Please type the message you want to send."), options=(_cancel_option(),))]
    if len(message) > policy.max_chars:
        return [
            Reply(
                _(
                    "Your message has {count} characters; at most {limit} fit. "
                    "Please shorten it and send it again."
                ).format(count=format_number(len(message)), limit=format_number(policy.max_chars)),
                options=(_cancel_option(),),
            )
        ]
    preview = await _preview(turn, course, message)
    return Answer([preview], CONFIRM, {"course": str(course.id), "text": message})


async def choose_lesson(turn: Turn) -> Answer:
    """Answers `bcl:<lesson>`: the lesson becomes the message; shows the preview."""
    course = await _own_course(turn, turn.data.get("course"))
    lesson_id = parse_uuid(turn.arg)
    lesson = await q.get_lesson_line(turn.session, lesson_id) if lesson_id else None
    if course is None or lesson is None or lesson.course_id != course.id:
        return _gone(turn)
    shown = "📖 " + _("Lesson {number}: {title}").format(
        number=format_number(lesson.order_index), title=lesson.title
    )
    preview = await _preview(turn, course, shown)
    return Answer([preview], CONFIRM, {"course": str(course.id), "lesson": str(lesson.id)})


async def _preview(turn: Turn, course: q.OwnCourse, shown: str) -> Reply:
    """The message as farmers will see it, and who it will reach."""
    with_template = list(outreach.templates(turn.settings, "broadcast"))
    groups = await q.audience(turn.session, course.id, template_languages=with_template)
    reach: dict[str, Counter[str]] = {}
    missed: Counter[str] = Counter()
    for group in groups:
        if group.skip_reason is None and group.channel is not None:
            reach.setdefault(group.channel, Counter())[group.language] += group.farmers
        elif group.skip_reason is not None:
            missed[group.skip_reason] += group.farmers
    total = sum(sum(c.values()) for c in reach.values())
    lines = [
        _("Preview of your broadcast:"),
        "",
        header(course.title, course.emoji),
        "",
        shown,
        "",
        ngettext("It will reach {count} farmer:", "It will reach {count} farmers:", total).format(
            count=format_number(total)
        ),
    ]
    for channel, languages in sorted(reach.items()):
        parts = ", ".join(
            f"{LANGUAGE_NAMES.get(language, language)} {format_number(n)}"
            for language, n in languages.most_common()
        )
        name = turn.channels[channel].title if channel in turn.channels else channel
        lines.append(f"• {name}: {format_number(sum(languages.values()))} ({parts})")
    if missed:
        lines.append(
            _("Not reached: {reasons}").format(
                reasons=", ".join(
                    f"{_reason(code, turn.channels)} {format_number(n)}"
                    for code, n in missed.most_common()
                )
            )
        )
    policy = BroadcastSettings()
    if policy.is_quiet(turn.settings.timezone):
        lines += ["", _quiet_note(policy)]
    return Reply("\n".join(lines), options=(Option(_("✅ Send now"), "bcs"), _cancel_option()))


def _quiet_note(policy: BroadcastSettings) -> str:
    window = policy.quiet_window()
    assert window is not None
    return _("It is quiet time for farmers now; the messages will go out after {time}.").format(
        time=window[1].strftime("%H:%M")
    )


async def send(turn: Turn) -> Answer | list[Reply]:
    """Answers `bcs`: starts the broadcast previewed; says how to follow it."""
    if turn.state != CONFIRM:
        return [Reply(_("That choice is no longer available.")), menu.main_menu(turn)]
    course = await _own_course(turn, turn.data.get("course"))
    if course is None:
        return _gone(turn)
    message = turn.data.get("text")
    lesson_id = parse_uuid(turn.data["lesson"]) if turn.data.get("lesson") else None
    policy = BroadcastSettings()
    _allowed, owner = _instructor(turn)
    try:
        await create_broadcast(
            turn.session,
            policy,
            course_id=course.id,
            instructor_id=turn.farmer.user_id,
            created_by="admin" if owner is None else f"instructor:{turn.farmer.user_id}",
            source="chat",
            message=str(message) if message and lesson_id is None else None,
            lesson_id=lesson_id,
        )
    except TooManyBroadcasts as limit:
        minutes = max(1, -(-limit.retry_after_s // 60))
        return [
            Reply(
                ngettext(
                    "You can send at most {limit} broadcasts an hour. "
                    "Please try again in {minutes} minute.",
                    "You can send at most {limit} broadcasts an hour. "
                    "Please try again in {minutes} minutes.",
                    minutes,
                ).format(limit=format_number(limit.limit), minutes=format_number(minutes)),
                options=(_cancel_option(),),
            )
        ]
    lines = [
        _("✅ Your broadcast to {course} is on its way.").format(course=course.title),
        _("Send /broadcast status to see how many farmers got it."),
    ]
    if policy.is_quiet(turn.settings.timezone):
        lines.append(_quiet_note(policy))
    return Answer([Reply("\n".join(lines))], IDLE)


async def cancel(turn: Turn) -> Answer:
    """Answers `bcx`: drops the broadcast being written; shows the menu."""
    return Answer([Reply(_("Cancelled. Nothing was sent.")), menu.main_menu(turn)], IDLE)


def _when(value: dt.datetime, timezone: str) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    return f"{format_day(local)} {local:%H:%M}"


async def show_status(turn: Turn) -> Answer | list[Reply]:
    """Answers `/broadcast status`: counts of the latest broadcasts, skips with reasons."""
    allowed, owner = _instructor(turn)
    if not allowed:
        return _not_instructor()
    return Answer(await _status(turn, owner), IDLE)


async def _status(turn: Turn, owner: uuid.UUID | None) -> list[Reply]:
    latest = await q.latest_broadcasts(turn.session, instructor_id=owner, limit=STATUS_SHOWN)
    if not latest:
        return [Reply(_("You have not sent any broadcasts yet. Send /broadcast to write one."))]
    blocks = [_("📊 Your latest broadcasts:")]
    for broadcast in latest:
        counts = await q.counts(turn.session, broadcast)
        what = (
            "📖 " + broadcast.lesson_title
            if broadcast.lesson_title
            else "“" + _snippet(broadcast.text or "") + "”"
        )
        lines = [
            "",
            f"{broadcast.course_emoji or '📘'} {broadcast.course_title} · "
            + _when(broadcast.created_at, turn.settings.timezone),
            what,
        ]
        if broadcast.status == "cancelled":
            lines.append(_("Cancelled."))
        elif broadcast.status in ("scheduled", "fanning_out") and counts.total == 0:
            lines.append(
                _("Starts at {time}.").format(time=_when(broadcast.send_at, turn.settings.timezone))
            )
        lines.append(
            _(
                "Queued {queued} · Sent {sent} · Delivered {delivered} · Read {read} · "
                "Failed {failed} · Skipped {skipped}"
            ).format(
                queued=format_number(counts.queued),
                sent=format_number(counts.sent),
                delivered=format_number(counts.delivered),
                read=format_number(counts.read),
                failed=format_number(counts.failed),
                skipped=format_number(counts.skipped),
            )
        )
        if counts.sent_without_receipts:
            # Not "0 delivered": Telegram never says, so say that instead.
            lines.append(
                _(
                    "Telegram does not report delivery or reading: {count} sent there stay"
                    " counted as sent."
                ).format(count=format_number(counts.sent_without_receipts))
            )
        if counts.skipped_reasons:
            lines.append(
                _("Skipped: {reasons}").format(
                    reasons=_reasons(counts.skipped_reasons, turn.channels)
                )
            )
        if counts.failed_reasons:
            lines.append(
                _("Failed: {reasons}").format(
                    reasons=_reasons(counts.failed_reasons, turn.channels)
                )
            )
        blocks.append("\n".join(lines))
    return [Reply("\n".join(blocks))]


def _reasons(reasons: Counter[str], channels: Mapping[str, Capabilities]) -> str:
    return ", ".join(
        f"{_reason(code, channels)} {format_number(n)}" for code, n in reasons.most_common()
    )


def _snippet(text: str, size: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


async def accept_invite(turn: Turn) -> Answer:
    """Answers `/start invite-<token>`: makes this chat the instructor's; says what next."""
    token = turn.arg.removeprefix(INVITE_PREFIX).strip()
    language = turn.farmer.language
    if turn.farmer.is_new:
        language = _normalise_language(turn.inbound.language_hint) or language
    redeemed = await q.redeem_invite(
        turn.session,
        token_hash=token_hash(token),
        identity_id=turn.farmer.identity_id,
        language=language,
    )
    with use_language(language):
        if redeemed is None:
            invalid = Reply(_("This invite link is not valid any more. Please ask for a new one."))
            return Answer([invalid, menu.main_menu(turn)], IDLE)
        welcome = Reply(
            _(
                "Welcome, {name}! 🙏 You are now an instructor on Krishi Learn. "
                "Send /broadcast to write to the learners of your courses."
            ).format(name=redeemed.display_name or _("instructor"))
        )
        return Answer([welcome], IDLE)


# Whatever the instructor does, a stale course (unpublished, not theirs) ends in IDLE.
CONVERSATION = Conversation(
    name="broadcast",
    states={
        COMPOSE: on(compose_text, CONFIRM, IDLE, STAY),
        # A new message typed instead of tapping Send replaces the one previewed.
        CONFIRM: on(compose_text, CONFIRM, IDLE, STAY),
    },
    commands={"broadcast": on(broadcast_command, IDLE, STAY)},
    buttons={
        "bcc": on(choose_course, COMPOSE, STAY),
        "bcl": on(choose_lesson, CONFIRM, IDLE),
        "bcs": on(send, IDLE, STAY),
        "bcx": on(cancel, IDLE),
        "bcstat": on(show_status, IDLE, STAY),
    },
)
