"""The main menu and the help text: the farmer's map of what the bot can do."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.messages import Option, Reply
from handlers.base import Turn

# (label, button payload, command that does the same). Features add their
# entry here when they land, so the menu never offers what does not exist.
MAIN_MENU: list[tuple[str, str, str]] = [
    (N_("📚 Courses"), "cmd:courses", "/courses"),
    (N_("🔍 Search"), "cmd:search", "/search"),
    (N_("▶️ Continue my lesson"), "cmd:lesson", "/lesson"),
    (N_("📊 My progress"), "cmd:progress", "/progress"),
    (N_("🏅 My badges"), "cmd:badges", "/badges"),
    (N_("🏆 Leaderboard"), "cmd:leaderboard", "/leaderboard"),
    (N_("📰 Articles"), "cmd:articles", "/articles"),
    (N_("🎬 Videos"), "cmd:videos", "/videos"),
    (N_("🗺️ Learning roadmaps"), "cmd:roadmaps", "/roadmaps"),
    (N_("🌐 Language"), "cmd:language", "/language"),
    (N_("❓ Help"), "help", "/help"),
]


def main_menu(turn: Turn) -> Reply:
    return Reply(
        _("What would you like to do?"),
        options=tuple(Option(_(label), payload) for label, payload, _cmd in MAIN_MENU),
    )


def help_text(turn: Turn) -> str:
    lines = [
        _("I help you learn better farming, one short lesson at a time."),
        "",
        _("/courses: browse courses by topic"),
        _("/buy: buy a paid course and get its payment link"),
        _("/search WORDS: find courses, articles and videos (or just type the words)"),
        _("/lesson: your current lesson again"),
        _("/next: mark the lesson done and get the next one"),
        _("/quiz: take the quiz that is due"),
        _("/progress: how far you have come"),
        _("/badges: your badges, and the next ones to earn"),
        _("/leaderboard: the farmers with the most points"),
        _("/articles, /videos: read and watch"),
        _("/roadmaps: learning paths, step by step"),
        _("/start: begin again and choose your language"),
        _("/language: change the language"),
        _("/menu: show the main menu"),
        _("/help: show this help"),
        _("/stop: stop announcements and reminders"),
        _("/mydata: see what we keep about you"),
        _("/delete: erase your data"),
        _("/privacy: how we use your data"),
    ]
    if turn.farmer.role in ("instructor", "admin"):
        lines += [
            "",
            _("/broadcast: write to the learners of your course"),
            _("/broadcast status: how your latest broadcasts went"),
        ]
    if turn.inbound.channel == "whatsapp":
        lines += ["", _("On WhatsApp you can type the word without the slash, or a menu number.")]
    return "\n".join(lines)
