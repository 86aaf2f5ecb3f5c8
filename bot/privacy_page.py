"""GET /privacy?lang=hi: the privacy notice in full, as a plain page a cheap phone
opens from the chat link. Every sentence goes through gettext."""

from __future__ import annotations

import html

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, _, normalise_language, use_language

router = APIRouter()

# How long payment records are kept: Indian tax and accounting law (Income-tax
# Act s. 44AA with rule 6F, CGST Act s. 36, Companies Act s. 128) asks for up to 8 years.
PAYMENT_RECORD_YEARS = 8


def _sections() -> list[tuple[str, list[str]]]:
    return [
        (
            _("What we keep"),
            [
                _(
                    "Your phone number (WhatsApp) or chat id (Telegram), and the name your app shows."
                ),
                _("The language you chose."),
                _("Your courses, lessons done, quiz answers, points and badges."),
                _("Your course purchases: amount, date and the payment reference."),
                _("When and how you agreed to this notice."),
            ],
        ),
        (
            _("Why"),
            [
                _(
                    "Only to teach you: to send your lessons and quizzes, keep your progress "
                    "and unlock the courses you bought."
                ),
                _(
                    "We do not sell your data, show you ads, or share it with anyone except the "
                    "services that carry our messages (WhatsApp through Twilio, Telegram) and "
                    "take payments (Razorpay, UPI)."
                ),
            ],
        ),
        (
            _("Your choices"),
            [
                _("Send /mydata to see what we keep about you."),
                _("Send /stop to get no announcements or reminders; /start turns them on again."),
                _("Your name is hidden on the leaderboard unless you choose to show it."),
                _('Send /delete (or "मेरा डेटा हटाओ", "माझा डेटा हटवा") to erase your data.'),
            ],
        ),
        (
            _("When you erase your data"),
            [
                _(
                    "Your number or chat id, your name, your typed answers and our conversation "
                    "are deleted at once."
                ),
                _(
                    "Payment records are kept for {years} years, as Indian tax law requires, "
                    "without your name or number."
                ).format(years=PAYMENT_RECORD_YEARS),
                _(
                    "Counts such as how many farmers finished a course stay, with nothing "
                    "that points to you."
                ),
                _("If you write to us again, you start as a new farmer."),
            ],
        ),
        (
            _("Questions or complaints"),
            [
                _(
                    "Write /delete or /mydata in the chat, or ask the Krishi Learn team. If you "
                    "are not satisfied, you may complain to the Data Protection Board of India."
                ),
            ],
        ),
    ]


def render(language: str) -> str:
    with use_language(language):
        title = _("Krishi Learn: your data and your privacy")
        parts = [
            "<!doctype html>",
            f'<html lang="{language}"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title></head>",
            '<body style="font-family: sans-serif; max-width: 40em; margin: 1em auto; '
            'padding: 0 1em; line-height: 1.5">',
            f"<h1>{html.escape(title)}</h1>",
            "<p>"
            + " · ".join(
                f'<a href="/privacy?lang={code}">{html.escape(LANGUAGE_NAMES[code])}</a>'
                for code in LANGUAGES
            )
            + "</p>",
        ]
        for heading, points in _sections():
            parts.append(f"<h2>{html.escape(heading)}</h2><ul>")
            parts += [f"<li>{html.escape(point)}</li>" for point in points]
            parts.append("</ul>")
        parts.append("</body></html>")
    return "\n".join(parts)


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_page(lang: str | None = None) -> HTMLResponse:
    """The privacy notice in en, hi or mr (anything else: English)."""
    language = normalise_language(lang) or "en"
    return HTMLResponse(render(language), headers={"Cache-Control": "public, max-age=3600"})
