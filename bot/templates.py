"""Approved WhatsApp templates for proactive messages, and which kinds they cover.

WhatsApp lets a business write first, or more than 24 hours after the farmer's last
message, only with a template Meta approved. WHATSAPP_TEMPLATES names a YAML file:

    reminder:          {en: HX..., hi: HX..., mr: HX...}
    badge:             {en: HX..., hi: HX...}
    payment_confirmed: {en: HX...}
    quiz_closed:       {hi: HX...}
    broadcast:         {en: HX...}

Every template takes the message's text as variable 1 (see README for the suggested
wording). TWILIO_BROADCAST_CONTENT_SID still works: it is the broadcast template for
every language the file does not name.

Which held messages go out when the farmer writes again (`RELEASED_ON_RETURN`,
in db/queries/outbox.py):
a badge and a payment confirmation are still true and still wanted a day later;
a streak reminder is about a day that has passed, a closed quiz's result is on
/progress, and a broadcast is the instructor's news of that moment, so those stay
held (visible to the operator as `needs_template`) and are not sent late.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.settings import Settings

log = logging.getLogger(__name__)

TEMPLATE_KINDS = ("reminder", "badge", "payment_confirmed", "quiz_closed", "broadcast")
# The outbox's `kind` of a proactive message → the template kind that may carry it.
# A "reply" is an answer to the farmer's own message: always inside the window.
OUTBOUND_TEMPLATE_KIND = {
    "reminder": "reminder",
    "badge": "badge",
    "notification": "badge",
    "payment": "payment_confirmed",
    "payment_confirmed": "payment_confirmed",
    "quiz_closed": "quiz_closed",
    "broadcast": "broadcast",
}

Templates = Mapping[str, Mapping[str, str]]


@functools.lru_cache(maxsize=8)
def _read(path: str) -> dict[str, dict[str, str]]:
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected `kind: {{language: ContentSid}}`")
    templates: dict[str, dict[str, str]] = {}
    for kind, by_language in loaded.items():
        if kind not in TEMPLATE_KINDS:
            log.warning("%s: unknown template kind %r (known: %s)", path, kind, TEMPLATE_KINDS)
            continue
        if not isinstance(by_language, dict):
            raise ValueError(f"{path}: {kind} must map languages to ContentSids")
        templates[str(kind)] = {str(lang): str(sid) for lang, sid in by_language.items() if sid}
    return templates


@functools.lru_cache(maxsize=8)
def _read_or_warn(path: str) -> dict[str, dict[str, str]]:
    """The file's templates; a missing or broken file is logged (once) and counts as
    none, so messages are held with a reason instead of a turn failing."""
    try:
        return _read(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        log.error("WHATSAPP_TEMPLATES %s unusable, no templates in use: %s", path, exc)
        return {}


def load_templates(settings: Settings) -> dict[str, dict[str, str]]:
    """kind → language → ContentSid, from WHATSAPP_TEMPLATES and the broadcast setting."""
    path = settings.whatsapp_templates
    templates = {k: dict(v) for k, v in _read_or_warn(path).items()} if path else {}
    if settings.twilio_broadcast_content_sid:
        broadcast = templates.setdefault("broadcast", {})
        for language in ("en", "hi", "mr"):
            broadcast.setdefault(language, settings.twilio_broadcast_content_sid)
    return templates


def templates_for(settings: Settings, outbound_kind: str) -> dict[str, str]:
    """language → ContentSid of the approved template that may carry this outbox kind."""
    kind = OUTBOUND_TEMPLATE_KIND.get(outbound_kind)
    return dict(load_templates(settings).get(kind, {})) if kind else {}
