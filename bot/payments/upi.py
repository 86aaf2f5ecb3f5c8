"""Static UPI: an NPCI deep link (`upi://pay?…`) and its QR code, with no gateway.

Nothing calls back when such a payment is made; an admin confirms it through
POST /api/v1/purchases/{id}/confirm after seeing the money arrive.
"""

from __future__ import annotations

import html
import io
import uuid
from decimal import Decimal
from urllib.parse import quote, urlencode

import segno

PROVIDER = "upi"
# NPCI's `tn` (note) is short on many apps; the transaction reference `tr` names the purchase.
NOTE_LIMIT = 50


def transaction_ref(purchase_id: uuid.UUID) -> str:
    """The purchase id without dashes: 32 characters, inside NPCI's 35 for `tr`."""
    return purchase_id.hex


def deep_link(*, vpa: str, payee: str, amount: Decimal, purchase_id: uuid.UUID, note: str) -> str:
    """upi://pay?pa=…&pn=…&am=…&cu=INR&tr=…&tn=…, every value percent-encoded."""
    params = {
        "pa": vpa,
        "pn": payee,
        "am": f"{amount.quantize(Decimal('0.01'))}",
        "cu": "INR",
        "tr": transaction_ref(purchase_id),
        "tn": note[:NOTE_LIMIT],
    }
    return "upi://pay?" + urlencode(params, quote_via=quote)


def qr_png(uri: str, *, scale: int = 8) -> bytes:
    """The deep link as a QR code PNG that any UPI app can scan (even from the gallery)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_url(public_base_url: str, purchase_id: uuid.UUID) -> str:
    """Where the chat providers fetch the QR image (made on request, never stored)."""
    return f"{public_base_url.rstrip('/')}/media/upi/{purchase_id}.png"


def pay_page_url(public_base_url: str, purchase_id: uuid.UUID) -> str:
    """An https page that hands the deep link to the phone's UPI app.

    Telegram buttons take only http(s) and tg:// links, and chat apps do not make
    `upi://` clickable, so the button opens this page and the page opens the app.
    """
    return f"{public_base_url.rstrip('/')}/pay/upi/{purchase_id}"


def pay_page(uri: str, *, qr_src: str, amount: str, payee: str) -> str:
    """A tiny page: opens the UPI app at once, with a button and the QR code as fallbacks."""
    link = html.escape(uri, quote=True)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<meta http-equiv='refresh' content='0;url={link}'>"
        f"<title>{html.escape(payee)}</title></head>"
        "<body style='font-family:sans-serif;text-align:center;padding:1em'>"
        f"<h2>{html.escape(payee)}</h2><p style='font-size:1.5em'>{html.escape(amount)}</p>"
        f"<p><a href='{link}' style='display:inline-block;padding:1em 2em;background:#2e7d32;"
        "color:#fff;border-radius:8px;text-decoration:none;font-size:1.2em'>UPI ▶</a></p>"
        f"<p><img src='{html.escape(qr_src, quote=True)}' alt='UPI QR' width='280'></p>"
        "</body></html>"
    )


def closed_page(message: str, *, payee: str) -> str:
    """What an old pay link shows once its purchase is settled: no link, no QR."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(payee)}</title></head>"
        "<body style='font-family:sans-serif;text-align:center;padding:1em'>"
        f"<h2>{html.escape(payee)}</h2><p style='font-size:1.2em'>{html.escape(message)}</p>"
        "</body></html>"
    )
