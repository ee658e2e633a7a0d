"""Name normalisation, acronyms and blocking keys: every string comparison of names in kgbuild, in one place.

Two keys, for two jobs:
- :func:`normalize` says whether two names may denote the same thing (fusion's blocking and scoring): it drops
  case, accents, punctuation, a leading article or honorific and a legal suffix ("IBM Corp." -> "ibm").
- :func:`surface_key` is the spelling-level key the extractors' coreference features were trained on ("IBM Corp."
  -> "ibm corp", "U.S." -> "u s"): a trained model's input, so it changes only with a retrained model (switching
  the bundled models to :func:`normalize` without retraining measured B-cubed 77.34 -> 77.31 and relation F1
  27.38 -> 27.22 on Re-DocRED dev_100).

Everything here is a pure function of one name string (or two), cached, so that a million mentions with a few
hundred thousand distinct names cost a few hundred thousand calls.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[\W_]+")  # keeps letters and digits of every script
_DECIMAL_POINT = re.compile(r"(?<=\d)[.](?=\d)")
# a value's unit is part of it: "$7" is not "7", "50%" is not "50"; each symbol becomes a word of its own
_UNIT_SYMBOLS = {symbol: f" {name} " for symbol, name in
                 (("$", "dollar"), ("£", "pound"), ("€", "euro"), ("¥", "yen"), ("%", "percent"))}
_UNIT = re.compile("[" + re.escape("".join(_UNIT_SYMBOLS)) + "]")
# Honorifics and titles dropped from the front of a name ("Mr. Holmes" ~ "Holmes").
HONORIFICS = frozenset(
    "mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend fr father st saint "
    "president king queen prince princess gen general col capt captain sen senator rep judge".split()
)
# Legal-form suffixes dropped from the end ("Microsoft Corp." ~ "Microsoft").
LEGAL_SUFFIXES = frozenset("inc incorporated corp corporation ltd limited llc plc co gmbh ag sa nv bv".split())
# Words skipped when forming an acronym ("Federal Bureau of Investigation" -> "fbi").
ACRONYM_STOPWORDS = frozenset("of the and for in on at to de du des la le el y und der".split())


@lru_cache(maxsize=1 << 20)
def normalize(name: str) -> str:
    """Casefolded words without accents, punctuation, leading article, honorifics or legal suffix.

    Letters of every script stay ("北京" is not "東京"); only combining marks go ("Zürich" -> "zurich").
    """
    text = unicodedata.normalize("NFKD", name.replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _DECIMAL_POINT.sub("p", text)  # "$1.2 million" is not "$12 million"; "U.S." still becomes "us"
    text = _UNIT.sub(lambda m: _UNIT_SYMBOLS[m.group()], text)
    words = _NON_WORD.sub(" ", text.replace("'s ", " ").replace(".", "")).split()
    while len(words) > 1 and (words[0] == "the" or words[0] in HONORIFICS):
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words = words[:-1]
    return " ".join(words)


@lru_cache(maxsize=1 << 20)
def acronym(name: str) -> str:
    """The initials of a multi-word name ("International Business Machines" -> "ibm"), else "".

    Only names whose words all start with a letter have one: "19,550" is a number, not "One Nine".
    """
    words = [w for w in normalize(name).split() if w not in ACRONYM_STOPWORDS]
    if len(words) < 2 or not all(w[0].isalpha() for w in words):
        return ""
    return "".join(w[0] for w in words)


@lru_cache(maxsize=1 << 20)
def compact(name: str) -> str:
    """The normalised name without spaces: how an acronym written as a name compares ("I.B.M." -> "ibm")."""
    return normalize(name).replace(" ", "")


@lru_cache(maxsize=1 << 20)
def is_acronym_like(name: str) -> bool:
    """Written like an acronym: 2-8 letters, all capitals ("IBM", "I.B.M.", "EU"; not "Bee")."""
    letters = [ch for ch in name if ch.isalnum()]
    return 2 <= len(letters) <= 8 and all(ch.isalpha() and ch.isupper() for ch in letters) and " " not in normalize(name)


@lru_cache(maxsize=1 << 20)
def blocking_keys(name: str) -> tuple[str, ...]:
    """Keys under which two names may refer to the same thing; items sharing a key become candidates.

    ``n:`` the normalised name; ``a:`` an acronym (of a multi-word name, or a name that looks like one);
    ``t:`` the first and last word of a multi-word name and a one-word name itself, so that partial names
    ("Holmes", "Sherlock Holmes") meet.
    """
    norm = normalize(name)
    if not norm:
        return ()
    keys = {f"n:{norm}"}
    words = norm.split()
    initials = acronym(name)
    if initials and len(initials) >= 2:
        keys.add(f"a:{initials}")
    if is_acronym_like(name):
        keys.add(f"a:{norm}")
    if len(words) > 1:
        keys.add(f"t:{words[0]}")
        keys.add(f"t:{words[-1]}")
    else:
        keys.add(f"t:{norm}")
    return tuple(sorted(keys))


_WORD = re.compile(r"\w+", re.UNICODE)
_ARTICLES = frozenset({"the", "a", "an"})
_INITIALS_SKIP = _ARTICLES | {"of", "and", "for", "de", "la", "du"}


@lru_cache(maxsize=1 << 20)
def surface_key(text: str) -> str:
    """Lower case, accents and punctuation removed, leading article dropped: 'The U.S.' -> 'u s' (see module doc)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    words = _WORD.findall(text)
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def spells_initials_of(short: str, long: str) -> bool:
    """``short`` is 2-8 capitals and digits spelling the initials of the multi-word ``long`` ("IBM",
    "International Business Machines"), the acronym test of the coreference features."""
    letters = re.sub(r"[^A-Za-z0-9]", "", short)
    if not (2 <= len(letters) <= 8 and letters.isupper()):
        return False
    words = _WORD.findall(long)
    return len(words) >= 2 and letters.lower() == "".join(w[0] for w in words if w.lower() not in _INITIALS_SKIP).lower()


PERSON_TYPES = frozenset({"person", "per", "peop", "people", "persons"})  # type names and dataset labels of people
LOCATION_TYPES = frozenset({"location", "loc", "gpe", "place"})  # type names and dataset labels of places
# Entity types (by name or dataset tag, case-folded) whose mentions are values, not names: a value needs no letter
# ("1996"), and two values are one only when written alike.
VALUE_TYPES = frozenset({"time", "date", "number", "num", "quantity", "money", "percent", "cardinal", "ordinal", "value"})
# Words that make a phrase a date, time, number or amount ("two years", "Sunday", "5 Apr 94", "14 billion crowns").
VALUE_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "seconds minute minutes hour hours day days week weeks weekend month months year years decade decades "
    "century centuries today yesterday tomorrow tonight noon midnight morning afternoon evening night "
    "gmt est edt cst pdt am pm a.m p.m "
    "percent cent cents dollar dollars pound pounds yen hundred hundreds thousand thousands million millions "
    "billion billions trillion dozen dozens half quarter "
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety first second third fourth fifth".split()
)


@lru_cache(maxsize=1 << 16)
def looks_like_value(text: str) -> bool:
    """Whether a mention is a date, time, number or amount rather than a name: it has a digit or a value word
    ("1900 GMT", "two years", "Sunday", "$218,592") and no capitalised word that is not a value word ("1996 World
    Cup", "Boeing 747" and "Thanksgiving" are names). CoNLL04's Other holds both kinds; CoNLL-2003's MISC only
    names (docs/training.md, ``--split-values``)."""
    words = [w.strip(".,;:'\"()") for w in text.split()]
    if any(w[:1].isupper() and w.casefold() not in VALUE_WORDS for w in words):
        return False
    return any(ch.isdigit() for ch in text) or any(w.casefold() in VALUE_WORDS for w in words)
