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


# The commands a channel may list in its own menu (Telegram's "/" menu), in the order
# a farmer needs them, each with a one-line description (translated when shown).
COMMAND_MENU: list[tuple[str, str]] = [
    ("courses", N_("Browse courses by topic")),
    ("lesson", N_("Your current lesson again")),
    ("next", N_("Mark the lesson done, get the next one")),
    ("quiz", N_("Take the quiz that is due")),
    ("search", N_("Find courses, articles and videos")),
    ("progress", N_("How far you have come")),
    ("badges", N_("Your badges and the next ones to earn")),
    ("leaderboard", N_("The farmers with the most points")),
    ("articles", N_("Read articles")),
    ("videos", N_("Watch videos")),
    ("roadmaps", N_("Learning paths, step by step")),
    ("buy", N_("Buy a paid course")),
    ("language", N_("Change the language")),
    ("menu", N_("Show the main menu")),
    ("help", N_("What I can do")),
    ("stop", N_("Stop announcements and reminders")),
]


def command_menu(known: set[str]) -> list[tuple[str, str]]:
    """(command, description in the current language) for each command that exists."""
    return [(name, _(description)) for name, description in COMMAND_MENU if name in known]


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
    if not turn.capabilities.commands_need_slash and turn.capabilities.title:
        lines += [
            "",
            _("On {channel} you can type the word without the slash, or a menu number.").format(
                channel=turn.capabilities.title
            ),
        ]
    return "\n".join(lines)
