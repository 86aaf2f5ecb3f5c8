"""What a payment provider tells us, in its own words turned into ours.

Every source (Razorpay webhooks, Razorpay reconciliation, the admin confirming a
static UPI payment, Telegram Stars) produces these values, and one settlement
path (`handlers.settlement.settle`) applies them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from prometheus_client import Counter

# Currencies whose amounts have no minor unit (Telegram Stars are whole stars).
WHOLE_UNIT_CURRENCIES = frozenset({"XTR", "JPY"})


def minor_units(amount: Decimal, currency: str) -> int:
    """₹239.20 → 23920 paise: gateways count money in the currency's smallest unit."""
    if currency.upper() in WHOLE_UNIT_CURRENCIES:
        return int(amount.to_integral_value(ROUND_HALF_UP))
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Paid:
    """Money for a purchase was captured."""

    provider: str
    purchase_id: uuid.UUID | None
    link_id: str | None
    payment_id: str
    method: str | None  # upi | card | netbanking | wallet | …
    amount_minor: int
    currency: str
    # An admin's confirmation of a static UPI payment: confirming twice is not paying twice.
    by_hand: bool = False


@dataclass(frozen=True, slots=True)
class Closed:
    """The purchase's link can no longer be paid: expired or cancelled."""

    provider: str
    purchase_id: uuid.UUID | None
    link_id: str | None
    reason: str  # expired | cancelled


@dataclass(frozen=True, slots=True)
class Refunded:
    """Money went back to the farmer."""

    provider: str
    purchase_id: uuid.UUID | None
    payment_id: str | None
    refund_id: str
    # All that was refunded of the payment so far, and what the payment was.
    refunded_minor: int
    paid_minor: int | None


PaymentEvent = Paid | Closed | Refunded


SETTLEMENTS = Counter(
    "krishi_payment_settlements_total",
    "Payment events applied to purchases, by provider, kind and outcome",
    ["provider", "kind", "outcome"],
)
