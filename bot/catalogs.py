"""Keeping the gettext catalogs complete: extract, update, check.

`krishi i18n update` refreshes `locales/messages.pot` and merges it into each
language; `krishi i18n check` fails on any message that is missing,
untranslated or fuzzy in en, hi or mr, or whose {placeholders} differ.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import LANGUAGES, LOCALES_DIR

ROOT = LOCALES_DIR.parent
SOURCES = ("bot", "handlers")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "ngettext": (1, 2)}
# The console's Jinja2 templates call the same `_()` and `ngettext()` (see babel.cfg).
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def extract() -> Catalog:
    template = Catalog(project="krishi-learn", fuzzy=False)
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / source), method_map=METHODS, keywords=KEYWORDS
        ):
            template.add(
                message,
                None,
                [(f"{source}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def _po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, sort_output=True, no_location=True, width=100)


def update() -> None:
    _write(extract(), LOCALES_DIR / "messages.pot")
    for language in LANGUAGES:
        template = extract()  # a fresh copy: update() shares message objects
        path = _po_path(language)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language)
        else:
            catalog = Catalog(locale=language, project="krishi-learn", fuzzy=False)
        # Fuzzy guesses are worse than an honest gap: the check then names the gap.
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if language == "en":
            for message in catalog:
                if not message.id:
                    continue
                if isinstance(message.id, tuple):
                    if not message.string or not all(message.string):
                        message.string = (message.id[0], message.id[1])
                elif not message.string:
                    message.string = message.id
        _write(catalog, path)


def problems() -> list[str]:
    found: list[str] = []
    template = extract()
    for language in LANGUAGES:
        path = _po_path(language)
        if not path.exists():
            found.append(f"{language}: no catalog at {path}")
            continue
        with path.open("rb") as f:
            catalog = read_po(f, locale=language)
        for message in template:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            entry = catalog.get(message.id)
            if entry is None:
                found.append(f"{language}: missing {key!r} (run `krishi i18n update`)")
                continue
            if entry.fuzzy:
                found.append(f"{language}: fuzzy {key!r}")
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if not all(strings):
                found.append(f"{language}: untranslated {key!r}")
                continue
            if language != "en" and strings[0] == key and re.search(r"[A-Za-z]{3}", key):
                found.append(f"{language}: still in English {key!r}")
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            wanted = set(_PLACEHOLDER.findall(str(ids[-1])))
            for string in strings:
                if set(_PLACEHOLDER.findall(str(string))) != wanted:
                    found.append(f"{language}: placeholders differ in {key!r}")
    return found
