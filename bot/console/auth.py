"""Who is using the console: sessions in a signed cookie, CSRF tokens, sign-in.

A session is a random secret in an HttpOnly, SameSite=Lax cookie (Secure when the
public URL is https), signed with HMAC so a forged or altered cookie is refused
before the database is asked; the database keeps only the secret's SHA-256, so
signing out or expiry ends every copy of the cookie. Every form carries a CSRF
token derived from the session (or, before sign-in, from a pre-session cookie).

The actor a session yields is the API's own `Actor`, so the console's rules are
the API's: an instructor reaches only their own courses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor
from bot.i18n import LANGUAGES
from bot.runtime import UnitOfWork, runtime_of
from bot.settings import Settings
from db.queries import console as q

log = logging.getLogger(__name__)

SESSION_COOKIE = "krishi_console"
PRE_COOKIE = "krishi_console_pre"
LANGUAGE_COOKIE = "krishi_console_lang"
COOKIE_PATH = "/console"


@cache
def _key_from(material: str) -> bytes:
    if not material:
        log.warning("CONSOLE_SECRET is unset and no other secret is: console cookies are "
                    "signed with a key of this process only")  # fmt: skip
        return secrets.token_bytes(32)
    return hashlib.sha256(b"krishi-console\x00" + material.encode()).digest()


def signing_key(settings: Settings) -> bytes:
    """CONSOLE_SECRET, or a key derived from the secrets every process shares."""
    if settings.console_secret is not None:
        return _key_from("console:" + settings.console_secret.get_secret_value())
    shared = [
        secret.get_secret_value()
        for secret in (
            settings.admin_api_token,
            settings.telegram_bot_token,
            settings.twilio_auth_token,
            settings.razorpay_key_secret,
        )
        if secret is not None
    ]
    return _key_from("\x00".join(shared))


def _mac(settings: Settings, purpose: str, value: str) -> str:
    return hmac.new(signing_key(settings), f"{purpose}:{value}".encode(), "sha256").hexdigest()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _secure(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="lax",
        secure=_secure(settings),
    )  # fmt: skip


def _session_secret(request: Request, settings: Settings) -> str | None:
    """The session secret of a correctly signed cookie, or None."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    secret, _dot, signature = cookie.partition(".")
    if not secret or not hmac.compare_digest(signature, _mac(settings, "session", secret)):
        return None
    return secret


@dataclass(frozen=True, slots=True)
class Visitor:
    """The person at the browser: signed in (`actor`) or not, and their language."""

    actor: Actor | None
    display_name: str | None
    language: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.actor is not None and self.actor.is_admin


def _language(request: Request, fallback: str) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return asked if asked in LANGUAGES else (fallback if fallback in LANGUAGES else "en")


async def visitor(request: Request, session: UnitOfWork) -> Visitor:
    """Depends: who is at the browser. Cached per request by FastAPI, as is the request's
    unit of work it reads in (the route's own)."""
    settings = runtime_of(request).settings
    secret = _session_secret(request, settings)
    if secret is not None:
        live = await q.live_session(session, _hash(secret))
        if live is not None:
            if live.role == "admin":
                actor = Actor(name="admin", role="admin")
            else:
                assert live.user_id is not None
                actor = Actor(
                    name=f"instructor:{live.user_id}", role="instructor", user_id=str(live.user_id)
                )
            return Visitor(
                actor=actor,
                display_name=live.display_name or ("Admin" if live.role == "admin" else None),
                language=_language(request, live.language),
                csrf=_mac(settings, "csrf", secret),
            )
    pre = request.cookies.get(PRE_COOKIE) or ""
    return Visitor(
        actor=None,
        display_name=None,
        language=_language(request, "en"),
        csrf=_mac(settings, "pre", pre) if pre else "",
    )


VisitorDep = Annotated[Visitor, Depends(visitor)]


async def visitor_of_refused(request: Request) -> Visitor:
    """Who is at the browser, for the page that explains a refusal: the route's unit of
    work was rolled back with it, so this one read has a session of its own."""
    async with runtime_of(request).sessionmaker() as session:
        return await visitor(request, session)


class SignInNeeded(Exception):
    """Raised by `signed_in`; the console's route class answers with the sign-in page."""


async def signed_in(who: VisitorDep) -> Visitor:
    """Depends: a signed-in visitor, or the sign-in page."""
    if who.actor is None:
        raise SignInNeeded
    return who


SignedIn = Annotated[Visitor, Depends(signed_in)]


def actor_of(who: Visitor) -> Actor:
    assert who.actor is not None
    return who.actor


async def check_csrf(request: Request, who: Visitor) -> dict[str, str]:
    """The submitted form, after its CSRF token matched the visitor's (else 403)."""
    form = await request.form()
    given = form.get("csrf")
    if not who.csrf or not isinstance(given, str) or not hmac.compare_digest(given, who.csrf):
        raise HTTPException(403, "the form expired: reload the page and try again")
    return {key: value for key, value in form.items() if isinstance(value, str)}


def ensure_pre_cookie(request: Request, response: Response, settings: Settings) -> str:
    """Before sign-in, forms are tied to a random cookie; returns their CSRF token."""
    pre = request.cookies.get(PRE_COOKIE)
    if not pre:
        pre = secrets.token_urlsafe(24)
        set_cookie(response, settings, PRE_COOKIE, pre, None)
    return _mac(settings, "pre", pre)


async def open_session(
    session: AsyncSession,
    request: Request,
    response: Response,
    *,
    user_id: uuid.UUID | None,
    role: str,
) -> None:
    """Sign the browser in: a new session row (in the request's unit of work) and its
    signed cookie."""
    settings = runtime_of(request).settings
    secret = secrets.token_urlsafe(32)
    hours = settings.console_session_hours
    await q.open_session(
        session, token_hash=_hash(secret), user_id=user_id, role=role,
        valid_for=dt.timedelta(hours=hours),
    )  # fmt: skip
    value = f"{secret}.{_mac(settings, 'session', secret)}"
    set_cookie(response, settings, SESSION_COOKIE, value, hours * 3600)
    response.delete_cookie(PRE_COOKIE, path=COOKIE_PATH)


async def close_session(session: AsyncSession, request: Request, response: Response) -> None:
    secret = _session_secret(request, runtime_of(request).settings)
    if secret is not None:
        await q.end_session(session, _hash(secret))
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def token_hash(secret: str) -> str:
    return _hash(secret)


def admin_token_matches(settings: Settings, given: str) -> bool:
    admin = settings.admin_api_token
    return admin is not None and hmac.compare_digest(
        given.encode(), admin.get_secret_value().encode()
    )
