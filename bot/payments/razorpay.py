"""Razorpay: payment links through its SDK, and reading its webhooks and link entities.

The SDK is synchronous (requests), so every call runs in a worker thread and
never blocks the event loop. Its base URL is RAZORPAY_API_BASE_URL, which is
how the tests point it at a fake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import razorpay

from bot.messages import parse_uuid
from bot.payments.events import Closed, Paid, PaymentEvent, Refunded
from bot.settings import Settings

log = logging.getLogger(__name__)

PROVIDER = "razorpay"
# Razorpay's method names, as the spec's course_purchases.payment_method knows them.
METHODS = {"upi": "upi", "card": "card", "emi": "card", "netbanking": "netbanking",
           "wallet": "wallet"}  # fmt: skip


class GatewayError(Exception):
    """Razorpay could not be reached or refused the call."""


@dataclass(frozen=True, slots=True)
class PaymentLink:
    id: str
    url: str
    expires_at: dt.datetime


@lru_cache(maxsize=4)
def _client(key_id: str, key_secret: str, base_url: str) -> Any:
    return razorpay.Client(auth=(key_id, key_secret), base_url=base_url.rstrip("/"))


def _client_for(settings: Settings) -> Any:
    if not (settings.razorpay_key_id and settings.razorpay_key_secret):
        raise GatewayError("Razorpay is not configured")
    return _client(
        settings.razorpay_key_id,
        settings.razorpay_key_secret.get_secret_value(),
        settings.razorpay_api_base_url,
    )


async def _call(settings: Settings, what: str, call: Any, *args: Any) -> dict[str, Any]:
    try:
        result = await asyncio.to_thread(call, *args, timeout=settings.provider_timeout_s)
    except Exception as exc:  # the SDK raises its own errors, requests' and JSON's
        raise GatewayError(f"razorpay {what}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, dict):
        raise GatewayError(f"razorpay {what}: unexpected answer")
    return result


async def create_payment_link(
    settings: Settings,
    *,
    purchase_id: uuid.UUID,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    description: str,
    expires_at: dt.datetime,
) -> PaymentLink:
    """A UPI payment link for one purchase: `reference_id` and the notes name it, so
    the link's and the payment's callbacks both lead back to the purchase."""
    client = _client_for(settings)
    request = {
        "amount": amount_minor,
        "currency": currency,
        "accept_partial": False,
        "upi_link": True,
        "reference_id": str(purchase_id),
        "description": description[:2048],
        "expire_by": int(expires_at.timestamp()),
        "notify": {"sms": False, "email": False},
        "reminder_enable": False,
        "notes": {
            "purchase_id": str(purchase_id),
            "user_id": str(user_id),
            "course_id": str(course_id),
        },
    }
    link = await _call(settings, "payment_link.create", client.payment_link.create, request)
    if not link.get("id") or not link.get("short_url"):
        raise GatewayError("razorpay payment_link.create: no id or short_url")
    expire_by = _int(link.get("expire_by")) or int(expires_at.timestamp())
    return PaymentLink(
        id=str(link["id"]),
        url=str(link["short_url"]),
        expires_at=dt.datetime.fromtimestamp(expire_by, dt.UTC),
    )


async def fetch_payment_link(settings: Settings, link_id: str) -> dict[str, Any]:
    client = _client_for(settings)
    return await _call(settings, "payment_link.fetch", client.payment_link.fetch, link_id)


def signature_is_valid(body: bytes, signature: str | None, secret: str | None) -> bool:
    """X-Razorpay-Signature: hex HMAC-SHA256 of the raw body with the webhook secret."""
    if not signature or not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any]:
    wrapper = payload.get(name)
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else {}


def _notes(*entities: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entity in entities:
        notes = entity.get("notes")
        if isinstance(notes, dict):  # Razorpay sends [] for "no notes"
            merged = {**notes, **merged}
    return merged


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def method_name(method: Any) -> str | None:
    if not isinstance(method, str) or not method:
        return None
    return METHODS.get(method, method[:50])


def parse_event(body: Any) -> PaymentEvent | None:
    """A webhook body → our event, or None for events we do not act on.

    Raises ValueError when the body is not a Razorpay event at all.
    """
    if not isinstance(body, dict) or not isinstance(body.get("event"), str):
        raise ValueError("not a Razorpay event")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise ValueError("Razorpay event without payload")
    name: str = body["event"]
    link = _entity(payload, "payment_link")
    payment = _entity(payload, "payment")
    notes = _notes(link, payment, _entity(payload, "order"))
    purchase_id = parse_uuid(link.get("reference_id")) or parse_uuid(notes.get("purchase_id"))
    link_id = str(link["id"]) if link.get("id") else None

    if name in ("payment_link.paid", "payment.captured"):
        payment_id = payment.get("id")
        amount = _int(payment.get("amount"))
        if amount is None:
            amount = _int(link.get("amount_paid"))
        if not payment_id or amount is None:
            raise ValueError(f"{name} without a payment id or amount")
        return Paid(
            provider=PROVIDER,
            purchase_id=purchase_id,
            link_id=link_id,
            payment_id=str(payment_id),
            method=method_name(payment.get("method")),
            amount_minor=amount,
            currency=str(payment.get("currency") or link.get("currency") or ""),
        )
    if name in ("payment_link.expired", "payment_link.cancelled"):
        return Closed(PROVIDER, purchase_id, link_id, name.removeprefix("payment_link."))
    if name == "refund.processed":
        refund = _entity(payload, "refund")
        notes = _notes(refund, payment)
        refunded = _int(payment.get("amount_refunded"))
        if refunded is None:
            refunded = _int(refund.get("amount"))
        if not refund.get("id") or refunded is None:
            raise ValueError("refund.processed without a refund id or amount")
        payment_id = payment.get("id") or refund.get("payment_id")
        return Refunded(
            provider=PROVIDER,
            purchase_id=parse_uuid(notes.get("purchase_id")),
            payment_id=str(payment_id) if payment_id else None,
            refund_id=str(refund["id"]),
            refunded_minor=refunded,
            paid_minor=_int(payment.get("amount")),
        )
    return None  # payment.failed (the link stays open for another try), authorized, …


def event_from_link(link: dict[str, Any]) -> PaymentEvent | None:
    """A fetched payment link → what it says now (None while it is still open)."""
    status = link.get("status")
    purchase_id = parse_uuid(link.get("reference_id")) or parse_uuid(
        _notes(link).get("purchase_id")
    )
    link_id = str(link["id"]) if link.get("id") else None
    if status == "paid":
        payments = [p for p in link.get("payments") or [] if isinstance(p, dict)]
        captured = [p for p in payments if p.get("status") in ("captured", None)] or payments
        paid = captured[-1] if captured else {}
        payment_id = paid.get("payment_id") or paid.get("id")
        amount = _int(link.get("amount_paid"))
        if amount is None:
            amount = _int(paid.get("amount"))
        if not payment_id or amount is None:
            log.warning("razorpay link %s is paid but names no payment", link_id)
            return None
        return Paid(
            provider=PROVIDER,
            purchase_id=purchase_id,
            link_id=link_id,
            payment_id=str(payment_id),
            method=method_name(paid.get("method")),
            amount_minor=amount,
            currency=str(link.get("currency") or ""),
        )
    if status in ("expired", "cancelled"):
        return Closed(PROVIDER, purchase_id, link_id, str(status))
    return None
