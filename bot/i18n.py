"""Translations and locale formatting for the farmer's language.

The language of the current turn lives in a context variable, so handlers
write plain `_("...")` and `ngettext(...)` and get the farmer's language.
Catalogs are read straight from the `.po` files at start (no compile step).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "hi", "mr")
DEFAULT_LANGUAGE = "en"
# The language's own name, as a farmer would recognise it on a button.
LANGUAGE_NAMES = {"en": "English", "hi": "हिन्दी", "mr": "मराठी"}
# Babel locales: Indian English, and Indian grouping of digits (1,00,000) for all.
BABEL_LOCALES = {"en": "en_IN", "hi": "hi_IN", "mr": "mr_IN"}
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


def normalise_language(code: str | None) -> str | None:
    """Map a hint such as Telegram's `hi-IN` to one of our languages, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


@cache
def translations(language: str) -> NullTranslations:
    po = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as gettext would
    buffer.seek(0)
    return Translations(fp=buffer)


def current_language() -> str:
    return _language.get()


@contextmanager
def use_language(language: str) -> Iterator[None]:
    token = _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def babel_locale(language: str | None = None) -> Locale:
    return Locale.parse(BABEL_LOCALES[language or _language.get()])


def format_money(amount: Decimal | int | float, currency: str = "INR") -> str:
    value = Decimal(str(amount))
    # Whole rupees read better without ".00" in a chat message. The pattern is ours,
    # not the locale's: CLDR gives Marathi Western grouping (₹1,234,567), where a
    # farmer reads lakhs (₹12,34,567) in every language we speak.
    whole = value == value.to_integral_value()
    fmt = "¤#,##,##0" if whole else "¤#,##,##0.00"
    return format_currency(
        value, currency, format=fmt, locale=babel_locale(), currency_digits=False
    )


def format_number(value: int | float | Decimal) -> str:
    return format_decimal(value, locale=babel_locale())


def format_percentage(value: float | Decimal, digits: int = 0) -> str:
    fmt = "#,##0%" if digits == 0 else "#,##0." + "0" * digits + "%"
    return format_percent(Decimal(str(value)) / 100, format=fmt, locale=babel_locale())


def format_day(value: dt.date | dt.datetime) -> str:
    return _babel_format_date(value, format="medium", locale=babel_locale())
