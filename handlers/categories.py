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


_LANGUAGE_LABELS = {"English": N_("English"), "Hindi": N_("Hindi"), "Marathi": N_("Marathi")}


def languages_count(column: str | None) -> int:
    """How many languages the seed's language column names (at least one)."""
    return max(1, len([name for name in (column or "English").split(",") if name.strip()]))


def languages_label(column: str | None) -> str:
    """ "Hindi, English" from the seed's language column, in the farmer's language."""
    names = [name.strip() for name in (column or "English").split(",") if name.strip()]
    return ", ".join(_(_LANGUAGE_LABELS[n]) if n in _LANGUAGE_LABELS else n for n in names)


def category_name(slug: str) -> str:
    label = CATEGORIES.get(slug)
    return _(label) if label else slug


def category_options(prefix: str = "cat") -> tuple[Option, ...]:
    """One option per category; payload `<prefix>:<slug>`."""
    return tuple(Option(_(label), f"{prefix}:{slug}") for slug, label in CATEGORIES.items())


def other_languages_option(payload: str) -> Option:
    """The one way to content in other languages when the farmer's own has some."""
    return Option(_("🌐 Other languages"), payload)


def only_other_languages_note() -> str:
    """Said above a list that falls back to other languages: none in the farmer's yet."""
    return _("Nothing in your language here yet. These are in other languages:")
