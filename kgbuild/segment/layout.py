"""Line breaks that end a unit of text: a paragraph, a headline, a byline, a dateline, a row of a table.

News and reports are laid out in lines: "SEOUL 1996-08-30" above the first sentence, "Adrian Warner" above that,
scoreboard rows one a line. spaCy reads such lines as the start of the next sentence; a name read across such a
break ("Larry Fine\\n\\nNEW") or a fact linking a dateline city to the story's first sentence is wrong. In hard-wrapped
text (no line longer than :data:`WRAP_WIDTH`) a break at the end of a full line is only wrapping, so text runs on.
Both the segmenter (sentences end at these breaks) and span decoding (no mention crosses one) use this rule.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

# A single line break is soft (text runs across it) only in hard-wrapped text, at the end of a full line:
# lines at most this long are taken as wrapped...
WRAP_WIDTH = 100
# ...and a line shorter than this share of the widest line ends a title, byline or dateline.
FULL_LINE = 0.7


def hard_breaks(text: str) -> list[int]:
    """Offsets of the line breaks that end a unit: every break next to a blank line, and a single break unless the
    text is hard-wrapped (no line over :data:`WRAP_WIDTH`) and the line it ends is full."""
    if "\n" not in text:
        return []
    lines = text.split("\n")
    width = max(len(line.rstrip()) for line in lines)
    wrapped = width <= WRAP_WIDTH
    breaks, position = [], 0
    for i, line in enumerate(lines[:-1]):
        position += len(line)
        blank = not line.strip() or not lines[i + 1].strip()
        full = wrapped and len(line.rstrip()) >= FULL_LINE * width
        if blank or not full:
            breaks.append(position)
        position += 1
    return breaks


def crosses(breaks: Sequence[int], start: int, end: int) -> bool:
    """Whether a break lies in ``[start, end)``."""
    i = bisect_left(breaks, start)
    return i < len(breaks) and breaks[i] < end
