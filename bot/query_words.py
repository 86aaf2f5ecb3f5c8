"""What a farmer's search is about: the content words of what they typed, and their kin.

Farmers type single words ("khad"), phrases ("कीट नियंत्रण") and whole questions
("माझ्या कापसाला पाने लाल होत आहेत काय करू", "cotton leaves turning red what to
do"). `content_terms()` turns any of these into a few `Term`s, one per content
word, each with the spellings that count as a match:

- **Stopwords go.** Question words, particles, pronouns and verbs (काय, करू,
  कैसे, है, kya, kaise, what, how, माझ्या…) say nothing about the subject. When
  nothing else is left, the words are kept as typed.
- **Stems.** Marathi glues case endings to the word (कापसाला, कापसाची) and
  both languages inflect plurals (पत्तियाँ, कीटों). The ending is stripped and the
  stem matched as a prefix: कापसाला finds कापसाची. A word with no ending to
  strip is matched as a prefix too: कीट finds कीटों.
- **Synonyms.** A word of a curated group (खत/खाद/उर्वरक/fertiliser/khad …)
  also matches the other words of its group, at a lower weight.

The lists live in data, `bot/content/search_words.yaml`, read once.
Like bot.romanize, this module imports no application code: the database layer
and the handlers may both use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.romanize import fold_latin, romanize

__all__ = ["Spelling", "Term", "content_terms"]

# How much a match counts, by how the item's word relates to the typed one.
TYPED_WEIGHT = 1.0
STEM_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.45
# More words than this are a paragraph, not a search: the rest are ignored.
MAX_TERMS = 8
# A stem shorter than this (in code points) would match too much as a prefix:
# पाने → पान* would find पानी (water). Short stems that are safe are listed in
# the synonym groups with a star instead (कीट*).
MIN_STEM_CHARS = 4
# The romanised spelling of a word this short is too vague for trigrams.
MIN_FUZZY_CHARS = 3

# By path, not as a package resource: importing bot.content would load the loader's models.
VOCABULARY_FILE = Path(__file__).resolve().parent / "content" / "search_words.yaml"

_WORD = re.compile(r"[0-9A-Za-z\u00C0-\u024F\u0900-\u0963\u0966-\u097F\u200c\u200d]+")
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_VOWEL_SIGNS = frozenset(chr(c) for c in range(0x093E, 0x094D)) | {"\u0902", "\u0901"}


@dataclass(frozen=True, slots=True)
class Spelling:
    """One way an item may say a term's word."""

    word: str  # for full text: as written (Devanagari or Latin)
    prefix: bool  # match `word` as the start of a word (a stem)
    romanized: str  # for trigram matching; "" when not fuzzy-matched
    weight: float


@dataclass(frozen=True, slots=True)
class Term:
    """One content word of the query, and every spelling that counts as it."""

    typed: str
    spellings: tuple[Spelling, ...]


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    devanagari_stopwords: frozenset[str]
    latin_stopwords: frozenset[str]  # folded
    groups: tuple[tuple[tuple[str, bool], ...], ...]  # (word, matched as a prefix)
    group_of: dict[str, int]  # a Devanagari word as written, or a folded Latin word
    suffixes: tuple[str, ...]  # longest first


def _nfc(word: str) -> str:
    return unicodedata.normalize("NFC", word.replace("\u200c", "").replace("\u200d", ""))


def _key(word: str) -> str:
    """How a single word is looked up: Devanagari as written, Latin folded."""
    word = _nfc(word.strip())
    return word if _DEVANAGARI.search(word) else fold_latin(word)


@cache
def _vocabulary() -> _Vocabulary:
    raw: dict[str, Any] = yaml.safe_load(VOCABULARY_FILE.read_text("utf-8"))
    stopwords: dict[str, list[str]] = raw["stopwords"]
    devanagari = {_nfc(str(w)) for lang in ("hi", "mr") for w in stopwords[lang]}
    latin = {fold_latin(str(w)) for lang in ("en", "latin") for w in stopwords[lang]}
    groups = tuple(
        tuple((_nfc(str(w)).rstrip("*"), str(w).endswith("*")) for w in group)
        for group in raw["synonyms"]
    )
    group_of: dict[str, int] = {}
    for number, group in enumerate(groups):
        for word, _prefix in group:
            group_of.setdefault(_key(word), number)
    suffixes = sorted(
        {_nfc(str(s)) for lang in raw["suffixes"].values() for s in lang}, key=len, reverse=True
    )
    return _Vocabulary(frozenset(devanagari), frozenset(latin), groups, group_of, tuple(suffixes))


def _is_stopword(word: str, vocabulary: _Vocabulary) -> bool:
    if _DEVANAGARI.search(word):
        return word in vocabulary.devanagari_stopwords
    return fold_latin(word) in vocabulary.latin_stopwords


def _stem(word: str, vocabulary: _Vocabulary) -> str | None:
    """The word without its case or plural ending, or None when nothing came off."""
    if _DEVANAGARI.search(word):
        stem = word
        for suffix in vocabulary.suffixes:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= MIN_STEM_CHARS:
                stem = stem[: -len(suffix)]
                break
        # कापसा → कापस, पाने → पान: the stem's own final vowel varies with the ending.
        if stem[-1] in _VOWEL_SIGNS and len(stem) - 1 >= MIN_STEM_CHARS:
            stem = stem[:-1]
    else:
        stem = word.lower()
        for ending in ("ing", "es", "s", "ed"):
            if stem.endswith(ending) and len(stem) - len(ending) >= MIN_STEM_CHARS + 1:
                stem = stem[: -len(ending)]
                break
    return stem if stem != word.lower() and stem != word else None


def _term(word: str, vocabulary: _Vocabulary) -> Term:
    romanized = romanize(word)
    spellings = [
        Spelling(
            word,
            prefix=False,
            romanized=romanized if len(romanized) >= MIN_FUZZY_CHARS else "",
            weight=TYPED_WEIGHT,
        )
    ]
    stem = _stem(word, vocabulary)
    if stem is not None:
        spellings.append(Spelling(stem, prefix=True, romanized="", weight=STEM_WEIGHT))
    elif len(word) >= (MIN_STEM_CHARS if _DEVANAGARI.search(word) else MIN_STEM_CHARS + 1):
        # The item may inflect the word the farmer typed bare: कीट finds कीटों.
        spellings.append(Spelling(word, prefix=True, romanized="", weight=STEM_WEIGHT))
    typed = {_key(word)} | ({_key(stem)} if stem is not None else set())
    group = next((vocabulary.group_of[k] for k in typed if k in vocabulary.group_of), None)
    if group is not None:
        for other, prefix in vocabulary.groups[group]:
            if _key(other) not in typed:
                spellings.append(Spelling(other, prefix, romanized="", weight=SYNONYM_WEIGHT))
            elif prefix:
                # The typed word itself, listed as safe to match as a prefix: कीट → कीटों.
                spellings.append(Spelling(other, prefix=True, romanized="", weight=STEM_WEIGHT))
    return Term(word, _distinct(spellings))


def _distinct(spellings: list[Spelling]) -> tuple[Spelling, ...]:
    """One spelling per word and way of matching, at its highest weight."""
    best: dict[tuple[str, bool], Spelling] = {}
    for spelling in spellings:
        key = (spelling.word, spelling.prefix)
        if key not in best or spelling.weight > best[key].weight:
            best[key] = spelling
    return tuple(best.values())


def content_terms(text: str) -> list[Term]:
    """The content words of what the farmer typed, each with the spellings that match it."""
    vocabulary = _vocabulary()
    words: list[str] = []
    for word in _WORD.findall(_nfc(text)):
        if word not in words and any(ch.isalnum() for ch in word):
            words.append(word)
    content = [w for w in words if not _is_stopword(w, vocabulary)] or words
    return [_term(word, vocabulary) for word in content[:MAX_TERMS]]
