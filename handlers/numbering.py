"""A turn's options numbered 1, 2, 3…: the menu a farmer answers with a number.

The numbering belongs to the conversations: a turn (bot/turns.py) and a message
outside any turn (handlers/outreach.py) both number their options this way and
keep the menu in the conversation's data under these keys.
"""

from __future__ import annotations

from bot.messages import Reply

MENU_KEY = "_menu"
# The labels of that menu, so a number not on it can show the same choices again.
MENU_LABELS_KEY = "_menu_labels"


def number_options(replies: list[Reply]) -> tuple[list[Reply], list[str]]:
    """Number the turn's options 1, 2, 3… across its replies; that is the new menu."""
    numbered: list[Reply] = []
    menu: list[str] = []
    for reply in replies:
        if reply.options:
            numbered.append(reply.numbered(len(menu) + 1))
            menu.extend(option.payload for option in reply.options)
        else:
            numbered.append(reply)
    return numbered, menu


def option_labels(replies: list[Reply]) -> list[str]:
    """The labels of the menu `number_options` numbers, in its order."""
    return [option.label for reply in replies for option in reply.options]
