"""What the console's HTTP and browser tests share: an instructor made by the admin,
their chat bound by the invite, and the sign-in link `/console` sends to that chat."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from tests.harness import Service

ADMIN = "admin-secret-for-console-tests"
_LINK = re.compile(r"(https?://\S+/console/signin/[\w-]+)")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Instructor:
    id: str
    token: str
    chat: int


async def new_instructor(service: Service, name: str) -> Instructor:
    """An instructor from the admin API, with their Telegram chat bound by the invite."""
    response = await service.http.post(
        "/api/v1/instructors",
        json={"display_name": name},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    chat = service.new_chat_id()
    telegram = service.fakes.telegram
    await service.telegram_says(chat, f"/start {body['invite']['start_payload']}")
    await telegram.wait_for(lambda _c: telegram.sent_to(chat))
    return Instructor(body["instructor"]["id"], body["token"]["token"], chat)


async def chat_sign_in_link(service: Service, chat: int) -> str:
    """Send /console from the chat; the link the bot sent back."""
    telegram = service.fakes.telegram
    before = len(telegram.sent_to(chat))
    await service.telegram_says(chat, "/console")
    await telegram.wait_for(lambda _c: len(telegram.sent_to(chat)) > before)
    found = _LINK.search(telegram.texts_to(chat)[-1])
    assert found, telegram.texts_to(chat)[-1]
    return found.group(1)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


async def sign_in_by_link(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """What the browser does: open the link, press the button."""
    page = await client.get(link)
    assert page.status_code == 200, page.text
    return await client.post(link, data={"csrf": csrf_of(page.text)})
