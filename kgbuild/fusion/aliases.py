"""Name knowledge fusion needs beyond string similarity: country names, person-name parts, function words.

* Countries: every common form of one country gets the same key ``country:ISO3`` ("U.S.", "US", "USA",
  "United States", "America" -> ``country:USA``). ISO 3166 names, official names, common names and codes
  come from ``pycountry``; the English short forms ISO does not list ("Britain", "UK", "America",
  "Russia") are the small table below. A demonym ("Swedish", "American") is *not* a country name and gets
  no key: it stays a Misc entity of its own (see docs/fusion.md).
* Person names: two person names are compatible when no given or family name differs ("Boris Yeltsin" /
  "Yeltsin" / "B. Yeltsin" are; "Boris Yeltsin" / "Naina Yeltsin" and "Lebed" / "Yeltsin" are not). One
  edit in a long word is tolerated, so spelling variants of one name stay compatible.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rapidfuzz.distance import OSA

from kgbuild import names as N

# English short forms of countries that ISO 3166 (pycountry) does not list as a name, official or common name.
_EXTRA_COUNTRY_FORMS = {
    "america": "USA",
    "united states of america": "USA",
    "uk": "GBR",
    "britain": "GBR",
    "great britain": "GBR",
    "russia": "RUS",
    "bosnia": "BIH",
    "holland": "NLD",
    "ivory coast": "CIV",
    "macedonia": "MKD",
    "burma": "MMR",
    "south korea": "KOR",
    "north korea": "PRK",
    "czech republic": "CZE",
    "vatican": "VAT",
}
# Words that end no proper name: a span ending in one is a fragment ("Sunol Valley via").
FUNCTION_WORDS = frozenset(
    "a an and as at but by for from in into of off on or per than the to via vs with without".split()
)
# Generational suffixes set aside when comparing person names ("Martin Luther King Jr." ~ "Martin Luther King").
_NAME_SUFFIXES = frozenset("jr sr ii iii iv".split())


@lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    """Normalised country name -> ISO 3166 alpha-3, from pycountry plus the short forms it lacks."""
    import pycountry

    table: dict[str, str] = {}
    for country in list(pycountry.countries) + list(pycountry.historic_countries):
        code = getattr(country, "alpha_3", None)
        if not code:
            continue
        for field in ("name", "official_name", "common_name"):
            value = getattr(country, field, None)
            if value:
                table.setdefault(N.normalize(value), code)
    for name, code in _EXTRA_COUNTRY_FORMS.items():
        table[N.normalize(name)] = code
    return table


@lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    """ISO alpha-2 and alpha-3 codes (lower case) -> alpha-3; "UK" is the United Kingdom's usual code."""
    import pycountry

    codes = {"uk": "GBR"}
    for country in pycountry.countries:
        codes[country.alpha_2.lower()] = country.alpha_3
        codes[country.alpha_3.lower()] = country.alpha_3
    return codes


@lru_cache(maxsize=1 << 20)
def country_code(name: str) -> str:
    """ISO 3166 alpha-3 of a country name in any common form, else "".

    Codes count only when written in capitals ("US", "U.S.", "USA"; not "us"), so a pronoun or a word
    is never a country.
    """
    norm = N.normalize(name)
    if not norm or len(norm) > 60:
        return ""
    found = _country_table().get(norm)
    if found:
        return found
    letters = [ch for ch in name if ch.isalpha()]
    if 2 <= len(letters) <= 3 and all(ch.isupper() for ch in letters) and " " not in norm:
        return _country_codes().get(norm.replace(" ", ""), "")
    return ""


@lru_cache(maxsize=1 << 20)
def person_tokens(name: str) -> tuple[str, ...]:
    """The words of a person name that identify the person: no titles, generational suffix or possessive."""
    stripped = name.strip()
    for tail in ("'s", "\u2019s", "'", "\u2019"):
        if stripped.endswith(tail):
            stripped = stripped[: -len(tail)]
            break
    words = [w for w in N.normalize(stripped).split() if w not in _NAME_SUFFIXES]
    return tuple(words)


@lru_cache(maxsize=1 << 16)
def generation(name: str) -> str:
    """The generational suffix of a person name ("jr", "sr", "ii"...), or ""."""
    words = N.normalize(name).split()
    return words[-1] if len(words) > 1 and words[-1] in _NAME_SUFFIXES else ""


def _same_word(a: str, b: str) -> bool:
    """Equal, or one name spelt two ways (see :func:`spelling_edits`): "Lavrentyeva" / "Levrentyeva", "Mangi" /
    "Mnagi", "Gaddafi" / "Qaddafi", "Damol" typed "Daool" and "Damoa". Whether such a pair is one person is then
    the scorer's call; the rule only rules out names that plainly differ ("Boris" / "Naina", "Johann" / "Anna",
    "Lebed" / "Yeltsin"). (RapidFuzz's ratio >= 60, used before, took "Johann" for "Anna".)"""
    if a == b:
        return True
    allowed = spelling_edits(a, b)
    return allowed > 0 and OSA.distance(a, b, score_cutoff=allowed) <= allowed


def spelling_edits(a: str, b: str) -> int:
    """How many edits (Damerau's optimal string alignment: a swap of two letters is one) two words of a name may
    differ by and still be one name misspelt: none under four letters, one in four, two from five (two
    variants of one name, each one typo away from it, are two apart). "Johann" / "Anna" (four) and "Alan" /
    "Alex" (two in four letters) differ."""
    longest = max(len(a), len(b))
    return 0 if longest < 4 else 1 if longest == 4 else 2


def spelling_edits_for(longest: np.ndarray) -> np.ndarray:
    """:func:`spelling_edits` for many word pairs at once, from the length of the longer word of each (the
    scorer asks it for millions of candidate pairs)."""
    return np.where(longest < 4, 0, np.where(longest == 4, 1, 2))


def _given_names_agree(a: str, b: str) -> bool:
    """Given names agree when equal (up to a typo) or when one is the other's initial ("J." / "John")."""
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return _same_word(a, b)


@lru_cache(maxsize=1 << 20)
def persons_compatible(x: str, y: str) -> bool:
    """Could two person names name one person? False when a given or family name differs.

    A one-word name must be a word of the other ("Woods" / "Tiger Woods", "Boris" / "Boris Yeltsin");
    two longer names must share the family name (last word) and agree on the given name (first word).
    """
    a, b = person_tokens(x), person_tokens(y)
    if generation(x) and generation(y) and generation(x) != generation(y):
        return False  # "Paul Desmarais Jr." / "Paul Desmarais Sr."
    if not a or not b or a == b:
        return True
    if len(a) > 1 and len(b) > 1 and OSA.distance("".join(a), "".join(b), score_cutoff=1) <= 1:
        return True  # one typo that moved a space: "Cih uDamol" / "Cihu Damol"
    a, b = _family_only(a), _family_only(b)  # "De Masi" is Francesco De Masi's family name, not a given name
    if len(a) == 1 or len(b) == 1:
        single, other = (a, b) if len(a) == 1 else (b, a)
        if len(single[0]) == 1 or len(other[0]) == 1 and len(other) == 1:
            single, other = (single, other) if len(single[0]) == 1 else (other, single)  # a lone initial ("H.") agrees with a name that starts with it
            return other[0][0] == single[0]
        return any(_same_word(single[0], word) for word in other)
    return _same_word(a[-1], b[-1]) and _given_names_agree(a[0], b[0])


# Particles that open a family name ("De Masi", "van Gogh", "ibn Saud"): a name starting with one has no given name.
_FAMILY_PARTICLES = frozenset("de di del della van von der den du dos das bin ibn".split())  # not "Al", "Ben": given names too


def _family_only(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """A name that is a family name with its particle ("de masi") compares as that family name alone."""
    return tokens[-1:] if len(tokens) > 1 and tokens[0] in _FAMILY_PARTICLES else tokens


def ends_with_function_word(name: str) -> bool:
    """A fragment: a span that starts or ends with a lower-case function word ("Sunol Valley via"), or a
    capitalised name that runs into a lower-case word ("Bernardin steadfastly"), or one that crosses a line."""
    words = name.split()
    if len(words) < 2:
        return False
    if words[-1] in FUNCTION_WORDS or (words[0] in FUNCTION_WORDS and words[0] != "the"):
        return True
    return "\n" in name or (words[0][:1].isupper() and words[-1][:1].islower() and words[-1].isalpha())


# Words that begin or end many different names, so sharing one says nothing ("New York" / "New Haven").
GENERIC_NAME_WORDS = frozenset(
    "new north south east west upper lower united national international royal great central city county state "
    "republic university bank club party company group association council stock exchange".split()
)


def names_related(a: str, b: str) -> bool:
    """Whether two names could name one organisation, place or work: the same words up to spelling, a shared
    distinctive word ("Cofinec" / "Cofinec S.A."), one country, or an acronym or a clipped word of the other
    ("BSE" / "Budapest Stock Exchange", "Fed" / "Federal Reserve"). "Cofinec" / "Budapest Stock Exchange", "CRICKET" /
    "Sri Lanka" and "leu" / "Comelf" are not, and neither is a place and its adjective ("Nigeria" / "Nigerian": a
    demonym is not the country, docs/fusion.md)."""
    na, nb = N.normalize(a), N.normalize(b)
    if not na or not nb or na == nb:
        return bool(na and nb)
    if adjective_of(na, nb) or adjective_of(nb, na):
        return False  # one letter apart, but not a spelling variant
    wa = set(na.split()) - FUNCTION_WORDS - GENERIC_NAME_WORDS - N.LEGAL_SUFFIXES
    wb = set(nb.split()) - FUNCTION_WORDS - GENERIC_NAME_WORDS - N.LEGAL_SUFFIXES
    if any(_same_word(x, y) for x in wa for y in wb):
        return True
    code = country_code(a)
    if code and code == country_code(b):
        return True
    for short, long, short_norm, long_norm in ((a, b, na, nb), (b, a, nb, na)):
        if N.spells_initials_of(short, long) or (N.is_acronym_like(short) and N.compact(short) == N.acronym(long)):
            return True
        if " " not in short_norm and len(short_norm) >= 3 and any(w.startswith(short_norm) for w in long_norm.split()[:1]):
            return True  # a clipped first word: "Fed" / "Federal Reserve"
    return False


# Endings that make an adjective or a demonym of a place name (-n covers -an and -ian: "Romania" -> "Romanian").
_DEMONYM_ENDINGS = ("n", "ese", "i", "ish")


def adjective_of(word: str, place: str) -> bool:
    """Whether the normalised one-word ``word`` is the adjective of the one-word ``place`` by a demonym ending, its
    last letter allowed to change: "romanian" / "romania", "canadian" / "canada", "chinese" / "china"."""
    return (" " not in word and " " not in place and len(word) > len(place) >= 4
            and word.startswith(place[:-1]) and word.endswith(_DEMONYM_ENDINGS))


def singular(normalized: str) -> str:
    """A normalised name with a plain English plural of its last word folded ("moslems" -> "moslem", "grammy awards"
    -> "grammy award"), for names of groups, works and events, where a name and its plural name one thing
    ("Moslem" / "Moslems", "Chechen" / "Chechens"). Short words and endings that are not plurals ("-ss", "-us",
    "-is": "Swiss", "Olympus", "Paris") and words under five letters are left alone."""
    head, _, last = normalized.rpartition(" ")
    if len(last) < 5 or not last.endswith("s") or last.endswith(("ss", "us", "is")):
        return normalized
    return f"{head} {last[:-1]}" if head else last[:-1]


TITLE_LABELS = frozenset({"misc", "other", "work", "product", "event"})
OTHER, PERSON, LITERAL, TITLE = 0, 1, 2, 3


def name_kind(type_name: str, labels: tuple[str, ...] = ()) -> int:
    """Which name rule a type follows: PERSON, LITERAL (dates, numbers), TITLE (works, products, events: Misc) or OTHER."""
    keys = {x.casefold() for x in (type_name, *labels)}
    if keys & N.PERSON_TYPES:
        return PERSON
    if keys & N.VALUE_TYPES:
        return LITERAL
    if keys & TITLE_LABELS:
        return TITLE
    return OTHER
