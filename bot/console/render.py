"""Pages: Jinja2 templates rendered in the visitor's language, and the charts,
drawn on the server as inline SVG (no chart library, nothing for the phone to run)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from bot import i18n
from bot.console.auth import Visitor
from handlers.broadcast import REASONS

TEMPLATES = Path(__file__).resolve().parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
# The same catalogs as the chat: `_` reads the language of the current context.
_env.install_gettext_callables(i18n._, i18n.ngettext, newstyle=False)  # type: ignore[attr-defined]
_env.globals.update(
    money=lambda amount, currency="INR": i18n.format_money(amount or 0, currency or "INR"),
    number=i18n.format_number,
    percent=lambda share: i18n.format_percentage(Decimal(str(share)) * 100),
    day=i18n.format_day,
    LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
    # Why a farmer was skipped or a send failed, in the words the chat's report uses.
    reason=lambda code: i18n._(REASONS[code]) if code in REASONS else code,
)


def render(template: str, who: Visitor, status_code: int = 200, **context: Any) -> HTMLResponse:
    """One page (or an htmx fragment) in the visitor's language."""
    with i18n.use_language(who.language):
        html = _env.get_template(template).render(who=who, **context)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def bar_chart(
    bars: Sequence[tuple[str, float, str]], *, maximum: float | None = None, label: str = ""
) -> Markup:
    """Horizontal bars, one per (name, value, shown value): each name sits above its bar,
    so the chart reads the same on a 360 px phone as on a desktop."""
    if not bars:
        return Markup("")
    top = maximum if maximum is not None else max((value for _n, value, _s in bars), default=0)
    top = top or 1
    row = 34
    height = row * len(bars)
    parts = [
        f'<svg class="chart" viewBox="0 0 300 {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMinYMin meet">'
    ]
    for index, (name, value, shown) in enumerate(bars):
        y = index * row
        width = max(0.0, min(1.0, value / top)) * 230
        parts.append(
            f'<text x="0" y="{y + 11}" class="chart-name">{escape(name[:48])}</text>'
            f'<rect x="0" y="{y + 15}" width="{width:.1f}" height="12" rx="2" class="chart-bar"/>'
            f'<text x="{width + 4:.1f}" y="{y + 25}" class="chart-value">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def week_label(week: dt.date) -> str:
    return i18n.format_day(week)
