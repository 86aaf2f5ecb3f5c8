"""bot.query_words: the content words of what a farmer typed, with stems and synonyms from data."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.query_words import (
    STEM_WEIGHT,
    SYNONYM_WEIGHT,
    TYPED_WEIGHT,
    VOCABULARY_FILE,
    Term,
    content_terms,
)
from bot.romanize import fold_latin


def typed(terms: list[Term]) -> list[str]:
    return [term.typed for term in terms]


def spellings(term: Term) -> dict[tuple[str, bool], float]:
    return {(s.word, s.prefix): s.weight for s in term.spellings}


@pytest.mark.parametrize(
    ("question", "content"),
    [
        ("माझ्या कापसाला पाने लाल होत आहेत काय करू", ["कापसाला", "पाने", "लाल"]),
        ("मेरी कपास की पत्तियाँ लाल हो रही हैं, क्या करूँ?", ["कपास", "पत्तियाँ", "लाल"]),
        ("kapas ke patte lal kyon ho rahe hain kya karen", ["kapas", "patte", "lal"]),
        ("Why are my cotton leaves turning red? What should I do?", ["cotton", "leaves", "red"]),
        ("गेहूं में खाद कैसे डालें", ["गेहूं", "खाद"]),
        ("कापसाला खत कधी द्यावे", ["कापसाला", "खत"]),
        ("kaise", ["kaise"]),  # nothing but a question word: kept, not an empty search
    ],
)
def test_questions_keep_their_content_words(question: str, content: list[str]) -> None:
    assert typed(content_terms(question)) == content


def test_the_typed_word_outweighs_its_stem_and_its_synonyms() -> None:
    [cotton] = content_terms("कापसाला")
    weights = spellings(cotton)
    assert weights[("कापसाला", False)] == TYPED_WEIGHT
    assert weights[("कापस", True)] == STEM_WEIGHT  # finds कापसाची
    assert weights[("कपास", False)] == SYNONYM_WEIGHT
    assert weights[("cotton", False)] == SYNONYM_WEIGHT
    assert weights[("कपाशी", True)] == SYNONYM_WEIGHT  # listed with a star
    # Only the typed word is compared by trigrams.
    assert [s.romanized for s in cotton.spellings if s.romanized] == ["kapsala"]


@pytest.mark.parametrize(
    ("word", "synonym"),
    [("khad", "खाद"), ("खत", "खाद"), ("उर्वरक", "खत"), ("fertilizer", "खत"),
     ("keeda", "कीड"), ("कीट", "pest"), ("paani", "सिंचाई"), ("irrigation", "पाणी")],
)  # fmt: skip
def test_synonyms_come_from_the_data_file(word: str, synonym: str) -> None:
    [term] = content_terms(word)
    assert (synonym, False) in spellings(term) or (synonym, True) in spellings(term)


def test_short_stems_are_not_guessed() -> None:
    # पाने → पान* would find पानी (water): only the data may list a short prefix.
    [leaves] = content_terms("पाने")
    assert ("पान", True) not in spellings(leaves)
    [pest] = content_terms("कीट")
    assert spellings(pest)[("कीट", True)] == STEM_WEIGHT  # कीट* is in the data: finds कीटों


def test_the_data_file_is_consistent() -> None:
    raw = yaml.safe_load(VOCABULARY_FILE.read_text("utf-8"))
    stopwords = {w for words in raw["stopwords"].values() for w in words}
    seen: dict[str, int] = {}
    for number, group in enumerate(raw["synonyms"]):
        for word in group:
            word = word.rstrip("*")
            # A stopword in a group would be dropped before its group is looked up.
            assert word not in stopwords, word
            key = word if not word.isascii() else fold_latin(word)
            assert seen.setdefault(key, number) == number, f"{word} is in two groups"


@given(st.text(max_size=200))
def test_any_text_gives_a_few_well_formed_terms(text: str) -> None:
    terms = content_terms(text)
    assert len(terms) <= 8
    for term in terms:
        assert term.spellings and term.spellings[0].weight == TYPED_WEIGHT
        assert all(s.word.strip() for s in term.spellings)


def test_shared_vocabulary_imports_no_application_code() -> None:
    # db.queries.search and handlers both use these: they must not pull in bot/ app code.
    probe = (
        "import sys, bot.query_words; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bot', 'db', 'handlers')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "['bot', 'bot.query_words', 'bot.romanize']"
