"""Speaking to a farmer outside any turn of theirs: jobs, settlement, broadcasts.

Two ways, by what the message is (a broadcast, queued to thousands by SQL, takes
its templates from here by the same rule):

- `tell`: a message that stands alone (a reminder, a closed quiz's result, a badge,
  a payment link): queued to the farmer's address, with the approved WhatsApp
  template of its kind for when the 24-hour window is closed.
- `FarmerMessages.tell`: messages built as a turn would build them (the farmer's
  language, the same conversation handlers) that become the conversation's latest
  menu, so a WhatsApp farmer's "1" means the first option of what they just got.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import use_language
from bot.messages import Inbound, Reply
from bot.settings import Settings
from bot.templates import templates_for
from db.queries import outbox
from db.queries import payments as payments_q
from db.queries import turns as turns_q
from handlers.base import Answer, Turn
from handlers.numbering import MENU_KEY, MENU_LABELS_KEY, number_options, option_labels


def templates(settings: Settings, kind: str) -> dict[str, str]:
    """language → the approved WhatsApp template that may carry a message of this kind
    outside the 24-hour window (a broadcast fans out by SQL, but by the same rule)."""
    return templates_for(settings, kind)


async def tell(
    session: AsyncSession,
    settings: Settings | None,
    user_id: uuid.UUID,
    replies: Sequence[Reply],
    *,
    kind: str,
) -> int:
    """Queue messages of one kind to a farmer; how many were queued or held (0: no address).

    With `settings`, the kind's approved template carries them outside WhatsApp's
    24-hour window; None sends them without one (a payment link the farmer just asked
    for, a teacher's mark), so outside the window they are held with the reason.
    """
    return await outbox.queue_for_user(
        session, user_id, [reply.to_json() for reply in replies], kind=kind,
        templates=templates(settings, kind) if settings is not None else None,
    )  # fmt: skip


class FarmerMessages:
    """Messages to one farmer outside any turn of theirs, built and numbered as a turn.

    The caller holds the farmer's conversation locked (the order a turn takes its
    locks in), and passes it in.
    """

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        user_id: uuid.UUID,
        conversation: turns_q.ConversationRow,
        *,
        kind: str,
    ) -> None:
        self.session = session
        self.settings = settings
        self.user_id = user_id
        self.conversation = conversation
        self.kind = kind

    async def tell(
        self, build: Callable[[Turn], Awaitable[Answer | list[Reply]] | list[Reply]]
    ) -> int:
        who = await payments_q.contact(self.session, self.user_id)
        if who is None:
            return 0
        data = dict(self.conversation.data)
        menu = data.pop(MENU_KEY, [])
        labels = data.pop(MENU_LABELS_KEY, [])
        turn = Turn(
            session=self.session,
            inbound=Inbound(
                channel=who.channel or "console",
                external_user_id=who.external_id or "",
                external_message_id=self.kind,
            ),
            farmer=turns_q.Farmer(
                user_id=self.user_id,
                identity_id=who.identity_id or uuid.UUID(int=0),
                language=who.language,
                role=who.role,
                consent_status=who.consent_status,
                display_name=who.display_name,
            ),
            settings=self.settings,
            state=self.conversation.state,
            data=data,
            now=dt.datetime.now(dt.UTC),
            menu=menu,
            menu_labels=labels,
        )
        with use_language(who.language):
            built = build(turn)
            replies = turn.take(built if isinstance(built, list) else await built)
        numbered, new_menu = number_options(replies)
        queued = await tell(self.session, self.settings, self.user_id, numbered, kind=self.kind)
        saved = dict(turn.data)
        saved[MENU_KEY] = new_menu if numbered else menu
        saved[MENU_LABELS_KEY] = option_labels(numbered) if numbered else labels
        await payments_q.save_conversation(self.session, self.user_id, state=turn.state, data=saved)
        self.conversation = dataclasses.replace(self.conversation, state=turn.state, data=saved)
        return queued


async def where_it_left(turn: Turn) -> Answer:
    """Something outside this turn told the farmer and moved their conversation on (a
    settlement's first lesson, say): this turn ends where that left it."""
    conversation = await turns_q.lock_conversation(turn.session, turn.farmer.user_id)
    data = dict(conversation.data)
    turn.menu = data.pop(MENU_KEY, [])
    turn.menu_labels = data.pop(MENU_LABELS_KEY, [])
    return Answer([], conversation.state, data)
