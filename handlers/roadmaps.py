"""Learning roadmaps: courses in a good order, followed step by step.

/roadmaps (cmd:roadmaps) ─► the published roadmaps ─(roadmap:<id>)─► its steps, ✅ for
finished courses, and "Follow this roadmap" (follow:<id>) or, when following, the
progress and the next step's course (course:<id>, answered by the lessons module).
Everything here is a button or a menu number, so there are no free-text states.
"""

from __future__ import annotations

from bot.i18n import _, format_number, ngettext
from bot.messages import Option, Reply
from db.queries import roadmaps as q
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, on, parse_uuid
from handlers.categories import only_other_languages_note, other_languages_option
from handlers.library import content_language, level_name

ROADMAP_EMOJI = "🗺️"


def _summary_label(roadmap: q.RoadmapSummary) -> str:
    label = f"{roadmap.emoji or ROADMAP_EMOJI} {roadmap.title}"
    if roadmap.completed:
        return f"✅ {label}"
    if roadmap.following and roadmap.steps:
        return f"{label} ({format_number(roadmap.steps_done)}/{format_number(roadmap.steps)})"
    return label


def roadmap_text(roadmap: q.Roadmap, steps: list[q.Milestone]) -> str:
    lines = [f"{roadmap.emoji or ROADMAP_EMOJI} {roadmap.title}", "", roadmap.description.strip()]
    lines += ["", "🎯 " + _("Goal: {goal}").format(goal=roadmap.goal.strip())]
    level = level_name(roadmap.difficulty)
    if level:
        lines.append("📶 " + _("Level: {level}").format(level=level))
    if roadmap.estimated_hours:
        hours = roadmap.estimated_hours
        lines.append(
            "⏱️ "
            + ngettext("About {n} hour", "About {n} hours", hours).format(n=format_number(hours))
        )
    if steps:
        lines += ["", _("Steps:")]
        # The marks order the steps; a "1." here would read as an option to send.
        for step in steps:
            mark = "✅" if step.completed else "▫️"
            lines.append(f"{mark} {step.title}")
            if step.course_title:
                lines.append(f"      📘 {step.course_title}")
    return "\n".join(lines)


async def _roadmap_replies(turn: Turn, roadmap: q.Roadmap, lead: str | None = None) -> list[Reply]:
    steps = await q.milestones(turn.session, roadmap.id, turn.farmer.user_id)
    progress = await q.following(turn.session, roadmap.id, turn.farmer.user_id)
    text = roadmap_text(roadmap, steps)
    options: list[Option] = []
    if progress is None:
        options.append(Option(_("🚩 Follow this roadmap"), f"follow:{roadmap.id}"))
    else:
        courses = [step for step in steps if step.course_id is not None]
        done = sum(step.completed for step in courses)
        if courses:
            status = ngettext(
                "{done} of {total} step done", "{done} of {total} steps done", len(courses)
            ).format(done=format_number(done), total=format_number(len(courses)))
            text += "\n\n📊 " + status
        next_step = next((step for step in courses if not step.completed), None)
        if next_step is None:
            if courses:
                text += "\n🎉 " + _("You have finished every step of this roadmap. Well done!")
        else:
            options.append(
                Option(
                    _("▶️ Next step: {course}").format(
                        course=next_step.course_title or next_step.title
                    ),
                    f"course:{next_step.course_id}",
                )
            )
    options.append(Option(_("⬅️ All roadmaps"), "cmd:roadmaps"))
    if lead:
        text = f"{lead}\n\n{text}"
    return [Reply(text, options=tuple(options))]


def _not_available() -> list[Reply]:
    return [
        Reply(
            _("Sorry, this roadmap is no longer available."),
            options=(Option(_("⬅️ All roadmaps"), "cmd:roadmaps"),),
        )
    ]


async def show_roadmaps(turn: Turn) -> Answer:
    """Answers /roadmaps (and `roadmaps:o`, the other languages): the published roadmaps
    in the farmer's language; asks which to open."""
    return Answer(await _roadmap_list(turn), IDLE)


async def _roadmap_list(turn: Turn) -> list[Reply]:
    others = turn.arg == "o"
    language = content_language(turn)
    roadmaps = await q.published_roadmaps(
        turn.session, turn.farmer.user_id, language, in_language=not others
    )
    note = None
    if not roadmaps and not others:
        others = True
        roadmaps = await q.published_roadmaps(
            turn.session, turn.farmer.user_id, language, in_language=False
        )
        note = only_other_languages_note() if roadmaps else None
    if not roadmaps:
        return [Reply(_("There are no learning roadmaps yet. Please look again soon."))]
    options = [Option(_summary_label(r), f"roadmap:{r.id}") for r in roadmaps]
    if not others and await q.published_roadmaps(
        turn.session, turn.farmer.user_id, language, limit=1, in_language=False
    ):
        options.append(other_languages_option("roadmaps:o"))
    text = _(
        "🗺️ Learning roadmaps: courses in a good order, one step after another. "
        "Which one would you like to see?"
    )
    return [Reply(f"{note}\n\n{text}" if note else text, options=tuple(options))]


async def open_roadmap(turn: Turn) -> list[Reply]:
    """Answers `roadmap:<id>`: its steps, view counted; offers Follow, or the next course."""
    roadmap_id = parse_uuid(turn.arg)
    roadmap = (
        await q.open_roadmap(turn.session, roadmap_id, count_view=True) if roadmap_id else None
    )
    if roadmap is None:
        return _not_available()
    return await _roadmap_replies(turn, roadmap)


async def follow_roadmap(turn: Turn) -> list[Reply]:
    """Answers `follow:<id>`: starts following the roadmap; offers its next course."""
    roadmap_id = parse_uuid(turn.arg)
    roadmap = (
        await q.open_roadmap(turn.session, roadmap_id, count_view=False) if roadmap_id else None
    )
    if roadmap is None:
        return _not_available()
    started = await q.follow(turn.session, roadmap.id, turn.farmer.user_id)
    lead = (
        _(
            "Good choice! You are now following this roadmap. "
            "Finish each course and I will tick it off here."
        )
        if started
        else _("You are already following this roadmap.")
    )
    return await _roadmap_replies(turn, roadmap, lead)


# Roadmaps have no states of their own: the list rests in IDLE.
CONVERSATION = Conversation(
    name="roadmaps",
    commands={"roadmaps": on(show_roadmaps, IDLE)},
    buttons={
        "roadmap": on(open_roadmap, STAY),
        "roadmaps": on(show_roadmaps, IDLE),
        "follow": on(follow_roadmap, STAY),
    },
    aliases={"roadmap": "roadmaps", "रोडमैप": "roadmaps", "रोडमॅप": "roadmaps"},
)
