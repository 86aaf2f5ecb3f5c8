"""Every Hindi and Marathi string keeps to locales/GLOSSARY.md: no rejected variant."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"
GLOSSARY = LOCALES / "GLOSSARY.md"
# The glossary table's columns holding each language's rejected variants.
REJECTED_COLUMN = {"hi": "Rejected (hi)", "mr": "Rejected (mr)"}
# Word separators: spaces, punctuation, the danda, placeholders' braces.
_SEPARATORS = re.compile(r"[\s.,:;!?()\[\]{}<>“”\"'‘’/…·\-–—।|*_=+%#@&~`0-9]+")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class Variant:
    term: str
    text: str

    def found_in(self, message: str) -> bool:
        words = _SEPARATORS.split(_PLACEHOLDER.sub(" ", message))
        if " " in self.text:
            return self.text in " ".join(message.split())
        if self.text.endswith("*"):
            stem = self.text[:-1]
            return any(word.startswith(stem) for word in words)
        return self.text in words


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def rejected_variants(language: str) -> list[Variant]:
    """The rejected variants of one language, read from the glossary's table."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
        if line.startswith("|")
    ]
    header, body = rows[0], rows[2:]  # rows[1] is the |---| line
    column = header.index(REJECTED_COLUMN[language])
    return [
        Variant(row[0], nfc(entry.strip()))
        for row in body
        for entry in row[column].split(";")
        if entry.strip()
    ]


def msgstrs(language: str) -> list[tuple[str, str]]:
    """(msgid, each translated form) of a catalogue."""
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    found: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        msgid = str(message.id[0] if isinstance(message.id, tuple) else message.id)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [(msgid, nfc(str(form))) for form in forms if form]
    return found


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_no_string_uses_a_rejected_variant(language: str) -> None:
    variants = rejected_variants(language)
    # The table was read: every product term has its rejected words.
    assert {v.term for v in variants} >= {
        "course", "lesson", "quiz", "badge", "streak", "payment link", "enrol", "roadmap",
        "points",
    }  # fmt: skip
    offending = [
        f"{variant.term}: {variant.text!r} in {msgid!r} → {text!r}"
        for msgid, text in msgstrs(language)
        for variant in variants
        if variant.found_in(text)
    ]
    assert not offending, "\n".join(offending)


def test_the_matching_tells_words_stems_and_phrases_apart() -> None:
    assert Variant("enrol", "प्रवेश").found_in("कोर्समध्ये प्रवेश घ्या.")
    assert not Variant("enrol", "प्रवेश").found_in("प्रवेशद्वार उघडा")
    assert Variant("course", "अभ्यासक्रम*").found_in("तुमच्या अभ्यासक्रमाच्या धड्यात")
    assert Variant("phrases", "करायला आवडेल").found_in("तुम्हाला काय करायला  आवडेल?")
    assert not Variant("quiz", "क्विज").found_in(nfc("क्विज़ शुरू करें"))
    assert Variant("quiz", nfc("क्विज़")).found_in(nfc("▶️ क्विज़ सुरू करा"))
