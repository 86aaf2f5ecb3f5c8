"""The six subjects every piece of content belongs to, named in the farmer's language."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.messages import Option

CATEGORIES: dict[str, str] = {
    "crop-management": N_("🌾 Crop management"),
    "irrigation": N_("💧 Irrigation"),
    "pest-control": N_("🐛 Pest control"),
    "soil-health": N_("🧪 Soil health"),
    "equipment": N_("🚜 Equipment"),
    "weather": N_("🌦️ Weather"),
}

# The seed's `language` columns name languages in English, comma-separated.
CONTENT_LANGUAGE = {"en": "English", "hi": "Hindi", "mr": "Marathi"}


def category_name(slug: str) -> str:
    label = CATEGORIES.get(slug)
    return _(label) if label else slug


def category_options(prefix: str = "cat") -> tuple[Option, ...]:
    """One option per category; payload `<prefix>:<slug>`."""
    return tuple(Option(_(label), f"{prefix}:{slug}") for slug, label in CATEGORIES.items())
