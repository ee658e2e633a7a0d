"""Mention spans a reader would accept: cut at layout breaks, snapped to whole words, names with letters.

The tagger labels the subword tokenizer's words, which split "U.S." into "U", ".", "S", "." and "AT&T" into "AT",
"&", "T": a tag on some of those pieces decoded the entity "S". Here a decoded span grows to whole words as spaCy's
English tokenizer cuts them (its exceptions keep "U.S.", "St." and "Corp." whole; "AT&T" is one token; a trailing
comma or "'s" stays out, and punctuation at either end is trimmed), a break in the layout (a paragraph, or the end of a headline, byline or dateline line)
ends every span, two parts of one name around " & " ("Procter & Gamble") are one mention, and a person's name ends at a number or
a lower-case word ("S. Jayasuriya c Healy b Fleming 44" on a scorecard is three people), and the place a newswire
dateline opens with is a place ("LONDON 1996-08-30").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_left, bisect_right
from typing import Sequence

from kgbuild.names import LOCATION_TYPES, PERSON_TYPES, VALUE_TYPES

Span = tuple[int, int, str, float]  # (start, end, type, score), character offsets

_LETTER = re.compile(r"[^\W\d_]")
_PIECE = re.compile(r"[^-\u2010-\u2015]+|[-\u2010-\u2015]")


@functools.cache
def _tokenizer():  # noqa: ANN202 - spaCy's Tokenizer; imported lazily so decoding stays import-light
    import spacy

    return spacy.blank("en").tokenizer


def name_pieces(text: str, near: Sequence[tuple] | None = None) -> list[tuple[int, int]]:
    """Word pieces a name is made of: spaCy English tokens, cut again at hyphens ("U.S.-led" -> "U.S.", "-", "led").

    spaCy cuts at whitespace first and reads each whitespace-free run alone, so with ``near`` (spans whose first two
    items are character offsets) only the runs those spans touch are tokenised: the same pieces there, at a fraction
    of the cost of the whole text."""
    if near is None:
        regions = [(0, len(text))]
    else:
        regions = []
        for span in sorted(near):
            start, end = span[0], span[1]
            while start > 0 and not text[start - 1].isspace():
                start -= 1
            while end < len(text) and not text[end].isspace():
                end += 1
            if regions and start <= regions[-1][1]:
                regions[-1] = (regions[-1][0], max(regions[-1][1], end))
            else:
                regions.append((start, end))
    pieces = []
    tokenizer = _tokenizer()
    for lo, hi in regions:
        for token in tokenizer(text[lo:hi]):
            for match in _PIECE.finditer(token.text):
                pieces.append((lo + token.idx + match.start(), lo + token.idx + match.end()))
    return pieces


def snap(text: str, spans: Sequence[Span], pieces: Sequence[tuple[int, int]]) -> list[Span]:
    """Spans grown to whole pieces ("S" inside "U.S." becomes "U.S."), with punctuation pieces at either end
    trimmed ("OPEN." -> "OPEN"; "Corp." is one piece and stays; "$" and "%" are no punctuation), sorted; spans that then overlap are one mention,
    of the type of the longer original (the lower score kept)."""
    starts, ends = [p[0] for p in pieces], [p[1] for p in pieces]
    grown = []
    for start, end, type_, score in spans:
        first = bisect_right(starts, start) - 1  # the piece holding the first character
        if first < 0 or ends[first] <= start:
            first += 1
        last = bisect_left(ends, end)  # the piece holding the last character
        if last >= len(pieces) or starts[last] >= end:
            last -= 1
        if first <= last:
            while first < last and not _has_alnum(text, pieces[first]):
                first += 1
            while last > first and not _has_alnum(text, pieces[last]):
                last -= 1
            start, end = starts[first], ends[last]
        grown.append((start, end, type_, score, end - start))
    grown.sort()
    out: list[list] = []
    for start, end, type_, score, length in grown:
        if out and start < out[-1][1]:
            last_span = out[-1]
            if length > last_span[4]:
                last_span[2], last_span[4] = type_, length
            last_span[1], last_span[3] = max(last_span[1], end), min(last_span[3], score)
        else:
            out.append([start, end, type_, score, length])
    return [(s, e, t, sc) for s, e, t, sc, _ in out]


def _has_alnum(text: str, piece: tuple[int, int]) -> bool:
    """Whether a piece is more than punctuation: a letter, a digit, a currency sign ("$3.2 billion") or "%"."""
    return any(ch.isalnum() or ch == "%" or unicodedata.category(ch) == "Sc" for ch in text[piece[0] : piece[1]])


def join_ampersand(text: str, spans: Sequence[Span]) -> list[Span]:
    """Neighbours of one type with only " & " between them are one name ("Procter & Gamble"); the lower score."""
    out: list[Span] = []
    for span in spans:
        if out and out[-1][2] == span[2] and text[out[-1][1] : span[0]].strip(" ") == "&":
            out[-1] = (out[-1][0], span[1], span[2], min(out[-1][3], span[3]))
        else:
            out.append(span)
    return out


# Lower-case words that join two parts of one name ("Bank of" + "Canada", "Banco de" + "Portugal").
_JOINERS = frozenset("of for and de del du des da di von van der den la le y".split())
# Lower-case words no name ends with ("Sunol Valley via"): dropped from a span's end.
_NO_NAME_END = _JOINERS | frozenset("the a an via on in at to by from with".split())


def join_dangling(text: str, spans: Sequence[Span]) -> list[Span]:
    """A span ending in a joining word right before another span is one name with it ("Bank of" + "Canada" -> "Bank of
    Canada", of the first span's type, the lower score); a span still ending in a word no name ends with loses it."""
    out: list[Span] = []
    for span in spans:
        if out and text[out[-1][1] : span[0]].strip(" ") == "" and _last_word(text, out[-1]) in _JOINERS:
            out[-1] = (out[-1][0], span[1], out[-1][2], min(out[-1][3], span[3]))
        else:
            out.append(span)
    trimmed = []
    for start, end, type_, score in out:
        piece = text[start:end].rstrip()
        words = piece.split()
        while len(words) > 1 and words[-1] in _NO_NAME_END:
            piece = piece[: -len(words.pop())].rstrip()
        trimmed.append((start, start + len(piece), type_, score))
    return trimmed


# Lower-case words inside people's names ("Vincent van Gogh", "Osama bin Laden", "Juan de la Cruz", "Duchess of York").
_NAME_PARTICLES = frozenset("van von vom de der den del della di da do dos das du la le lo bin binti ibn bint ben abu "
                            "al el y e zu zur ter ten wa of dal dei degli delle the".split())
_WORD = re.compile(r"\S+")
_INITIAL = re.compile(r"(?:[^\W\d_]\.)+")  # "A." or "J.R.": initials alone name nobody


def split_person_names(text: str, spans: Sequence[Span]) -> list[Span]:
    """A person's name holds no number and no lower-case word but a particle ("van", "bin"): such a word ends it.

    On a cricket scorecard the tagger read "S. Jayasuriya c Healy b Fleming 44" as one person, in a results list
    "Russ Cochran\n67" and "64 Bob Estes"; these are "S. Jayasuriya", "Healy" and "Fleming", "Russ Cochran", "Bob
    Estes". Each part keeps the span's type and score; a part whose only capitalised words are initials, or that has
    none, names nobody and is dropped ("lbw", "S.")."""
    out: list[Span] = []
    for start, end, type_, score in spans:
        if type_.casefold() not in PERSON_TYPES:
            out.append((start, end, type_, score))
            continue
        part: list[re.Match] = []
        for word in [*_WORD.finditer(text, start, end), None]:
            if word is not None and not _ends_a_name(word.group()):
                part.append(word)
                continue
            if any(w.group()[:1].isupper() and not _INITIAL.fullmatch(w.group()) for w in part):
                out.append((part[0].start(), part[-1].end(), type_, score))
            part = []
    return out


# What follows a dateline's place on its line: maybe a region after a comma, then the date or the agency, then the
# end of the line or a dash ("LONDON 1996-08-30", "BOGOTA, Colombia 1996-08-30", "LONDON (Reuters) -").
_DATELINE_REST = re.compile(r"(?:[ \t]*,[ \t]*[A-Z][\w.'&-]*(?:[ \t]+[A-Z][\w.'&-]*)*)?[ \t]+"
                            r"(?:\d{4}-\d{2}-\d{2}|\((?:Reuters|AP|AFP|UPI|dpa)\))[ \t]*(?:$|\n|[-\u2013\u2014])")


def location_type(types: Sequence[str]) -> str | None:
    """The schema's type for places (Location, LOC, GPE), if it has one."""
    return next((t for t in types if t.casefold() in LOCATION_TYPES), None)


def place_in_dateline(text: str, spans: Sequence[Span], location: str | None) -> list[Span]:
    """A name in capitals that opens a dateline line is a place, of type ``location``: the tagger read 23 of the 179
    dateline places of CoNLL-2003 eng.testa as organisations or people ("LONDON 1996-08-30" after a cricket headline),
    and each became an organisation named LONDON. Other spans, and every span when the schema has no place type, are
    kept as they are."""
    if location is None:
        return list(spans)
    out: list[Span] = []
    for start, end, type_, score in spans:
        # cheapest tests first: this runs on every span of every document
        if type_ != location and text[start:end].isupper() and _opens_a_line(text, start) \
                and _DATELINE_REST.match(text, end):
            type_ = location
        out.append((start, end, type_, score))
    return out


def _opens_a_line(text: str, start: int) -> bool:
    return not text[text.rfind("\n", 0, start) + 1 : start].strip()


def _ends_a_name(word: str) -> bool:
    """A number ("44", "4-55"), or a lower-case word that is no particle and no piece after an apostrophe ("Sa 'id")."""
    if not _LETTER.search(word):
        return any(ch.isdigit() for ch in word)
    return word.islower() and word not in _NAME_PARTICLES and not word.startswith(("'", "’"))


def _last_word(text: str, span: Sequence) -> str:
    words = text[span[0] : span[1]].split()
    return words[-1] if words else ""


def names_something(text: str, type_: str) -> bool:
    """A mention needs a letter ("4-38" or "--" names nothing), except in value types ("1996" as a Time), and a
    lower-case function word or pronoun names nothing ("us" was tagged a Location and joined the U.S.)."""
    if type_.lower() in VALUE_TYPES:  # digits alone are fine there ("1996" as a Time)
        return any(ch.isalnum() for ch in text)
    if text.islower() and text in _stop_words():
        return False
    return bool(_LETTER.search(text))


@functools.cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)
