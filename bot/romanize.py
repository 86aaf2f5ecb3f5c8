"""One Latin spelling for words farmers type in Devanagari or in Latin letters.

Farmers write Hindi and Marathi both in Devanagari and in Latin letters, each in
their own way: सिंचाई, "sinchai", "sinchaai", "sinchayi"; गेहूँ, "gehu", "gehoon".
`romanize()` turns any of these into one lowercase ASCII form, so that a trigram
match (pg_trgm) between what was typed and what the catalogue says tolerates the
difference. The form is for matching only; nobody ever reads it.

Devanagari is first written the way it is spoken, then transliterated with
`indic_transliteration` (ITRANS), then folded like any Latin text:

- **Schwa deletion.** Hindi does not pronounce every inherent "a": कीट is "keet",
  not "keeta". The final one goes (unless after a cluster: क्षेत्र stays
  "kshetra"), then the medial ones in the context VC_CV, right to left
  (Ohala's rule: जानकारी → "jaankaari", समझना → "samajhna").
- **Nasals.** Anusvara and chandrabindu before a consonant become "n"
  (सिंचाई → "sinchai", जाँच → "jaanch"); elsewhere they are dropped
  (गेहूँ → "gehu").
- **Loan vowels.** ऑ/ॉ (कॉटन) read as o, ॅ as e, ॲ as a.

Then every word, from either script, is folded:

- lowercase, accents stripped ("sīṃchāī" → "simchai");
- vowel length: "ee" → i, "oo" → u, then every doubled letter once
  ("sinchaai" → "sinchai", "mitti" → "miti", "irrigation" → "irigation");
- च and छ are both "ch" ("chh" → ch), a "c" on its own is k ("cotton" → "koton");
- "sh" (श and ष alike) → s; "ph", "f" → p;
- aspiration dropped: kh, gh, jh, th, dh, bh → k, g, j, t, d, b
  (retroflex and dental already agree, the letter case being gone);
- w → v, z → j, q → k, x → ks; "m" before p/b → n (the anusvara's sound);
- ऋ → "ri", ज्ञ → "gy", ङ/ञ → n, ड़ → d, visarga and avagraha dropped;
- anything that is not a-z or 0-9 separates words.

The folding is repeated until nothing changes, so `romanize(romanize(x))` is
`romanize(x)`. Other scripts (Gurmukhi, Tamil…) are dropped for now.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from indic_transliteration import sanscript

__all__ = ["fold_latin", "romanize"]

# Letters and signs only: digits and dandas are handled before, as ASCII and spaces.
_DEVANAGARI_RUN = re.compile(r"[\u0900-\u0963\u0971-\u097F\uA8E0-\uA8FF]+")
_NON_WORD = re.compile(r"[^a-z0-9]+")

# ZWNJ/ZWJ only steer glyph shaping; the other Devanagari ITRANS does not spell.
_JOINERS = dict.fromkeys(map(ord, "\u200c\u200d"))
_LOAN_VOWELS = str.maketrans(
    {
        "\u0949": "\u094b",  # ॉ (कॉटन) → ो
        "\u0911": "\u0913",  # ऑ → ओ
        "\u0945": "\u0947",  # ॅ (बॅंक) → े
        "\u090d": "\u090f",  # ऍ → ए
        "\u0972": "\u0905",  # ॲ (ॲप) → अ
        "\u0950": "\u0913\u092e",  # ॐ → ओम
        "\u0900": "\u0901",  # inverted candrabindu → candrabindu
        "\u093d": None,  # avagraha
        "\u0903": None,  # visarga
        "\u0964": " ",  # danda
        "\u0965": " ",  # double danda
        "\u0970": " ",  # abbreviation sign
        **{chr(0x0966 + digit): str(digit) for digit in range(10)},
    }
)

_VIRAMA = "\u094d"
_NUKTA = "\u093c"
_NASALS = "\u0901\u0902"  # chandrabindu, anusvara
_NA_VIRAMA = "\u0928\u094d"


def _is_consonant(ch: str) -> bool:
    return "\u0915" <= ch <= "\u0939" or "\u0958" <= ch <= "\u095f" or ch in "\u0978\u0979"


def _is_vowel_sign(ch: str) -> bool:
    return "\u093e" <= ch <= "\u094c" or "\u0955" <= ch <= "\u0957" or ch in "\u0962\u0963"


def _is_independent_vowel(ch: str) -> bool:
    return "\u0904" <= ch <= "\u0914" or ch in "\u0960\u0961\u0972"


@dataclass(slots=True)
class _Syllable:
    """One written unit: a consonant (with nukta) or an independent vowel, and its marks."""

    letter: str
    vowel: str = ""  # a vowel sign, the virama, or "" for the inherent schwa
    nasal: str = ""
    consonant: bool = True

    @property
    def schwa(self) -> bool:
        return self.consonant and self.vowel == "" and self.nasal == ""

    @property
    def voiced(self) -> bool:
        """Carries a vowel: anything but a consonant with a virama."""
        return self.vowel != _VIRAMA


def _syllables(word: str) -> list[_Syllable] | None:
    """Split a Devanagari word into syllables, or None when it is not well formed."""
    units: list[_Syllable] = []
    for ch in word:
        if _is_consonant(ch):
            units.append(_Syllable(ch))
        elif _is_independent_vowel(ch):
            units.append(_Syllable(ch, consonant=False))
        elif not units:
            return None
        elif ch == _NUKTA and units[-1].consonant and not units[-1].vowel:
            units[-1].letter += ch
        elif (ch == _VIRAMA or _is_vowel_sign(ch)) and units[-1].consonant and not units[-1].vowel:
            units[-1].vowel = ch
        elif ch in _NASALS:
            units[-1].nasal = ch
        else:
            return None
    return units


def _delete_schwas(units: list[_Syllable], *, right_to_left: bool = True) -> None:
    """Mark the inherent vowels Hindi does not pronounce with a virama."""
    if not units:
        return
    last = units[-1]
    after_cluster = len(units) > 1 and units[-2].consonant and not units[-2].voiced
    has_other_vowel = any(u.voiced for u in units[:-1])
    if last.schwa and has_other_vowel and not after_cluster:
        last.vowel = _VIRAMA
    # VC_CV: the consonant before must carry a vowel, and the one after too.
    middle = range(len(units) - 2, 0, -1) if right_to_left else range(1, len(units) - 1)
    for i in middle:
        unit, before, after = units[i], units[i - 1], units[i + 1]
        if unit.schwa and before.voiced and after.consonant and after.voiced:
            unit.vowel = _VIRAMA


def _spoken_devanagari(word: str, *, right_to_left: bool = True) -> str:
    """The word respelled as said: silent schwas get a virama, nasals become न् or go."""
    units = _syllables(word)
    if units is None:
        return word
    _delete_schwas(units, right_to_left=right_to_left)
    out: list[str] = []
    for i, unit in enumerate(units):
        out.append(unit.letter + unit.vowel)
        if unit.nasal:
            following = units[i + 1] if i + 1 < len(units) else None
            if following is not None and following.consonant:
                out.append(_NA_VIRAMA)
    return "".join(out)


# ITRANS spellings that are not plain letters, longest first.
_ITRANS_TOKENS = (
    ("j~n", "gy"),
    ("RRi", "ri"),
    ("RRI", "ri"),
    ("LLi", "li"),
    ("LLI", "li"),
    ("~N", "n"),
    ("~n", "n"),
    (".D", "D"),
)


def _itrans(spoken: str) -> str:
    latin: str = sanscript.transliterate(spoken, sanscript.DEVANAGARI, sanscript.ITRANS)
    for token, plain in _ITRANS_TOKENS:
        latin = latin.replace(token, plain)
    return latin


# A catalogue repeats its words (की, से, खेती…): transliterate each one once.
@lru_cache(maxsize=65536)
def _devanagari_to_latin(word: str, *, alternatives: bool) -> str:
    latin = _itrans(_spoken_devanagari(word))
    if alternatives:
        # शेतकरी is "shetkari": compounds drop the first of two schwas, not the last.
        other = _itrans(_spoken_devanagari(word, right_to_left=False))
        if other != latin:
            latin += " " + other
    return latin


# Applied in order to lowercase ASCII, again until nothing changes.
_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ee", "i"),
        (r"oo", "u"),
        (r"([a-z])\1+", r"\1"),
        (r"c(?!h)", "k"),
        (r"chh+", "ch"),
        (r"sh", "s"),
        (r"ph", "p"),
        (r"f", "p"),
        (r"([kgjtdb])h", r"\1"),
        (r"w", "v"),
        (r"z", "j"),
        (r"q", "k"),
        (r"x", "ks"),
        (r"m(?=[pb])", "n"),
        (r"([a-z])\1+", r"\1"),
    )
)


def fold_latin(text: str) -> str:
    """Fold Latin text to the matching form: see the module docstring for the rules."""
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    folded = _NON_WORD.sub(" ", stripped.lower())
    while True:
        before = folded
        for pattern, replacement in _FOLDS:
            folded = pattern.sub(replacement, folded)
        if folded == before:
            return " ".join(folded.split())


def romanize(text: str, *, alternatives: bool = False) -> str:
    """The matching form of any mix of Devanagari and Latin text: lowercase a-z, 0-9, spaces.

    With `alternatives`, a Devanagari word whose silent vowels are ambiguous is
    followed by its other spelling (शेतकरी → "setakri setkari"): for indexing the
    catalogue, where a second spelling costs nothing; queries use one.
    """
    text = unicodedata.normalize("NFC", text.translate(_JOINERS)).translate(_LOAN_VOWELS)
    latin = _DEVANAGARI_RUN.sub(
        lambda m: " " + _devanagari_to_latin(m.group(), alternatives=alternatives) + " ", text
    )
    return fold_latin(latin)
