"""Markdown markup is blanked in place: the text reads clean and every offset still points into the file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.ingest.base import IngestOptions
from kgbuild.ingest.markdown import markdown_to_text
from kgbuild.ingest.plain import read_plain

SAMPLE = """# Stars and Stripes Forever ##

Stars and Stripes Forever is a **1952** film about _John Philip Sousa_, see [his page](https://example.org/sousa).

> A quoted line with `code`.

- first item
- second item
1. numbered

Setext heading
==============

```python
snake_case_name = 2 * 3
```
![a figure](figure.png)
"""


def test_markup_is_blanked_and_text_kept() -> None:
    clean = markdown_to_text(SAMPLE)
    words = clean.split()
    assert words[:4] == ["Stars", "and", "Stripes", "Forever"]
    assert "#" not in clean and "**" not in clean and "[" not in clean and "https" not in clean and ">" not in clean
    for phrase in ("a 1952 film about John Philip Sousa , see his page", "A quoted line with code",
                   "first item", "Setext heading", "snake_case_name = 2 * 3", "a figure"):
        assert phrase in " ".join(words), phrase
    assert "=====" not in clean and "```" not in clean


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="#*_`~>-+=[]()!.1 \tab\n", max_size=200))
def test_same_length_same_line_breaks_and_only_spaces_added(text: str) -> None:
    clean = markdown_to_text(text)
    assert len(clean) == len(text)
    assert all(c == o or (c == " " and o != "\n") for c, o in zip(clean, text))


def test_markdown_file_offsets_point_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "film.md"
    path.write_text(SAMPLE, encoding="utf-8")
    (doc,) = read_plain(path, IngestOptions())
    assert doc.title == "Stars and Stripes Forever"
    start = doc.text.index("John Philip Sousa")
    assert SAMPLE[start : start + len("John Philip Sousa")] == "John Philip Sousa"
    assert not doc.text.lstrip().startswith("#")
