"""Media: a voice note, photo, video, document, location or sticker from a farmer.

attachment ─► a kind word in their language: what arrived, that we read typed
words, and how to ask instead. The conversation stays where it was (a quiz
question still waits for its answer), and nothing is searched for.
"""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Reply
from handlers.base import STAY, Conversation, Turn, on


def _what_arrived(kind: str) -> str:
    if kind == "voice":
        return _("🎤 Thank you for the voice message! I cannot listen to voice notes yet.")
    if kind == "photo":
        return _("📷 Thank you for the photo! I cannot look at photos yet.")
    if kind == "video":
        return _("🎬 Thank you for the video! I cannot watch videos sent to me yet.")
    if kind == "location":
        return _("📍 Thank you for sharing your location! I do not use locations yet.")
    if kind == "sticker":
        return _("😊 Thank you for the sticker!")
    return _("📄 Thank you for the file! I cannot open files yet.")


async def answer_attachment(turn: Turn) -> list[Reply]:
    """Answers a voice note, photo, video, file, location or sticker: says what the bot
    understands (typed words); asks nothing new, the conversation stays as it was."""
    kind = turn.inbound.attachment or "document"
    return [
        Reply(
            _what_arrived(kind)
            + "\n\n"
            + _(
                "I understand typed words. Type your question in a few words, for example:"
                " drip irrigation. Send menu to see everything I can do."
            )
        )
    ]


CONVERSATION = Conversation(
    name="media",
    events={"a voice note, photo, video, file, location or sticker": on(answer_attachment, STAY)},
)
