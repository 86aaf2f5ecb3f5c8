"""The farmer's data rights (DPDP Act 2023): the notice, /mydata, /delete.

first contact ─► the notice (in en, hi and mr) under the language question;
                 choosing a language is the "agree and continue" step (start.py)
/privacy ─► the notice again, with the link to the privacy page
/mydata ─► what we hold about the farmer
/delete ("मेरा डेटा हटाओ", "माझा डेटा हटवा") ─► confirm_erase ─(erase:yes)─► erased:
        the address moves to a new, empty account (state "new"), the old one is
        emptied; the next message meets a stranger and is asked for consent again
                                          └─(erase:no or anything else)─► idle
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping

from bot.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    _,
    format_day,
    format_money,
    format_number,
    use_language,
)
from bot.messages import Capabilities, Option, Reply
from db.queries import privacy as q
from handlers import menu
from handlers.base import IDLE, NEW, STAY, Answer, Conversation, Turn, on
from handlers.jobs import JOBS, Work

log = logging.getLogger(__name__)

# Which text of the notice a consent was given to; change it when the notice's
# meaning changes, so the consent records say what each farmer agreed to.
NOTICE_VERSION = "2026-12"
CONSENT_BY_LANGUAGE = "language_choice"
AWAITING_CONSENT = "awaiting_consent"
# /delete asked "erase everything?": typed yes or no answers it.
CONFIRM_ERASE = "confirm_erase"
FORGET_JOB = "privacy.forget_erased_addresses"
FORGET_CRON = "* * * * *"
# How long we keep the address and name of someone who wrote but never agreed.
NEVER_AGREED_DAYS = 30

_YES_WORDS = {"yes", "y", "haan", "ha", "han", "हाँ", "हां", "हा", "ho", "हो", "होय"}


def privacy_url(turn: Turn, language: str) -> str:
    return turn.settings.public_base_url.rstrip("/") + f"/privacy?lang={language}"


def notice(turn: Turn, language: str) -> str:
    """The short notice in one language: what we keep, why, and the rights to see and erase."""
    with use_language(language):
        return _(
            "🔒 To teach you, we keep your phone number or chat id, your name, your quiz "
            "answers and your progress. We use them only for your lessons and never sell "
            "them. /mydata shows them, /delete erases them. More: {url}"
        ).format(url=privacy_url(turn, language))


def consent_notice(turn: Turn) -> str:
    """The notice in the farmer's language first, then in the other two: a new
    farmer's language is not known yet. Each says that choosing a language is agreeing."""
    ordered = [turn.farmer.language] + [code for code in LANGUAGES if code != turn.farmer.language]
    lines = []
    for code in ordered:
        with use_language(code):
            lines.append(
                _(
                    "🔒 We keep your number, name, answers and progress only to teach you. "
                    "Choosing your language means you agree. /mydata shows them, "
                    "/delete erases them: {url}"
                ).format(url=privacy_url(turn, code))
            )
    return "\n\n".join(lines)


def awaiting_consent(turn: Turn) -> bool:
    """True until the farmer agreed: a new conversation, or the notice is on screen.
    Instructors and admins joined by invite, under the operator's own terms."""
    if turn.farmer.role != "farmer":
        return False
    return turn.state == NEW or bool(turn.data.get(AWAITING_CONSENT))


async def record_consent(turn: Turn) -> None:
    await q.record_consent(
        turn.session,
        turn.farmer.user_id,
        method=CONSENT_BY_LANGUAGE,
        notice_version=NOTICE_VERSION,
        channel=turn.inbound.channel,
    )


async def show_privacy(turn: Turn) -> list[Reply]:
    """Answers /privacy: the notice and the link to the full privacy page."""
    return [Reply(notice(turn, turn.farmer.language))]


def _address_line(address: q.Address, channels: Mapping[str, Capabilities]) -> str:
    known = channels.get(address.channel)
    return f"• {known.title if known else address.channel}: {address.external_id}"


async def show_my_data(turn: Turn) -> list[Reply]:
    """Answers /mydata: everything we hold about the farmer, in their language."""
    held = await q.held_data(turn.session, turn.farmer.user_id)
    lines = [_("🔒 What Krishi Learn keeps about you"), ""]
    lines.append(_("Name: {name}").format(name=held.display_name or _("(none)")))
    lines.append(_("Chat addresses:"))
    lines += [_address_line(address, turn.channels) for address in held.addresses]
    lines.append(
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(held.language, held.language))
    )
    if held.enrolments:
        lines.append(_("Courses:"))
        lines += [
            "• {title}: {percent}%".format(
                title=enrolment.course_title or "—",
                percent=format_number(enrolment.progress_percent),
            )
            for enrolment in held.enrolments
        ]
    else:
        lines.append(_("Courses: none yet"))
    lines.append(_("Quiz attempts: {count}").format(count=format_number(held.quiz_attempts)))
    lines.append(_("Points: {points}").format(points=format_number(held.points)))
    lines.append(_("Badges: {count}").format(count=format_number(held.badges)))
    if held.purchases:
        lines.append(_("Purchases:"))
        lines += [
            "• {title}: {amount}".format(
                title=purchase.course_title or "—",
                amount=format_money(purchase.final_amount, purchase.currency),
            )
            for purchase in held.purchases
        ]
    else:
        lines.append(_("Purchases: none"))
    if held.consent is not None:
        lines.append(
            _("You agreed to our privacy notice on {day}.").format(
                day=format_day(held.consent.given_at)
            )
        )
    lines.append(
        _("Announcements and reminders: on")
        if held.consent_status == "opted_in"
        else _("Announcements and reminders: off")
    )
    lines.append(
        _("Your name on the leaderboard: shown")
        if held.name_on_leaderboard
        else _("Your name on the leaderboard: hidden")
    )
    lines += [
        "",
        _("Send /delete to erase your data. More: {url}").format(
            url=privacy_url(turn, turn.farmer.language)
        ),
    ]
    return [Reply("\n".join(lines))]


async def ask_to_erase(turn: Turn) -> Answer:
    """Answers /delete: says what erasing means and asks to confirm (Yes / No)."""
    question = Reply(
        _(
            "Do you want to erase your data? Your name, chat address, answers and "
            "progress will be deleted and cannot be brought back. Payment records "
            "are kept, without your name, as the law requires."
        ),
        options=(
            Option(_("Yes, erase my data"), "erase:yes"),
            Option(_("No, keep it"), "erase:no"),
        ),
    )
    return Answer(
        [question], CONFIRM_ERASE, {AWAITING_CONSENT: True} if awaiting_consent(turn) else {}
    )


async def erase_choice(turn: Turn) -> Answer | list[Reply]:
    """Answers `erase:yes|no`: erases, or keeps everything. Only right after /delete."""
    if turn.state != CONFIRM_ERASE:
        return [Reply(_("That choice is no longer available.")), menu.main_menu(turn)]
    if turn.arg != "yes":
        if awaiting_consent(turn):
            return Answer([Reply(_("Nothing was erased. Send /start to begin."))], NEW)
        kept = Reply(_("Nothing was erased. Your data is kept."))
        return Answer([kept, menu.main_menu(turn)], IDLE)
    return await erase(turn)


async def erase_answer_typed(turn: Turn) -> Answer | list[Reply]:
    """Answers typed text after /delete: "yes"/"हाँ"/"होय" erases, anything else keeps."""
    word = unicodedata.normalize("NFC", turn.inbound.text).strip().lower()
    turn.arg = "yes" if word in _YES_WORDS else "no"
    return await erase_choice(turn)


async def erase(turn: Turn) -> Answer:
    """Erase the farmer: this address moves to a new empty account that owes the goodbye."""
    old_user = turn.farmer.user_id
    language = turn.farmer.language
    new_user = await q.start_over(turn.session, turn.farmer.identity_id, language)
    done = await q.erase_person(
        turn.session, old_user, method="chat", keep_identity=turn.farmer.identity_id
    )
    log.info(
        "farmer erased from chat: %d other addresses, %d answers, %d purchases kept",
        done.addresses_removed,
        done.answers_blanked,
        done.purchases_kept,
    )
    turn.farmer.user_id = new_user
    turn.farmer.display_name = None
    turn.farmer.consent_status = "opted_in"
    goodbye = Reply(
        _(
            "Your data has been erased. Thank you for learning with us. "
            "If you write again, we will start fresh and ask for your agreement again."
        )
    )
    return Answer([goodbye], NEW, {"erased_at": turn.now.isoformat()})


async def forget_erased_addresses(work: Work) -> int:
    """Delete the addresses left behind by chat erasures, once their goodbye went out,
    and those of people who wrote but never agreed within NEVER_AGREED_DAYS."""
    forgotten = await q.forget_erased_addresses(work.session)
    forgotten += await q.forget_never_agreed(work.session, days=NEVER_AGREED_DAYS)
    if forgotten:
        log.info("erased addresses forgotten: %d", forgotten)
    return forgotten


@JOBS.every(FORGET_JOB, FORGET_CRON)
async def forget_erased_addresses_often(work: Work) -> None:
    """The schedule: see forget_erased_addresses."""
    await forget_erased_addresses(work)


# Erasing starts over in NEW, so the next message meets the privacy notice again.
CONVERSATION = Conversation(
    name="privacy",
    states={CONFIRM_ERASE: on(erase_answer_typed, NEW, IDLE)},
    commands={
        "mydata": on(show_my_data, STAY),
        "delete": on(ask_to_erase, CONFIRM_ERASE),
        "privacy": on(show_privacy, STAY),
    },
    buttons={"erase": on(erase_choice, NEW, IDLE, STAY)},
    aliases={
        "my data": "mydata", "mera data": "mydata", "मेरा डेटा": "mydata", "माझा डेटा": "mydata",
        "delete my data": "delete", "erase my data": "delete",
        "मेरा डेटा हटाओ": "delete", "मेरा डेटा हटाएं": "delete", "डेटा हटाओ": "delete",
        "mera data hatao": "delete", "data hatao": "delete",
        "माझा डेटा हटवा": "delete", "डेटा हटवा": "delete", "majha data hatva": "delete",
        "privacy": "privacy", "गोपनीयता": "privacy",
    },
)  # fmt: skip
