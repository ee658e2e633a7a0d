"""CoNLL-2003 column text (``token POS chunk NER``, IOB2 or IOB1 tags, blank line between sentences).

Each sentence is a one-sentence document (the files have no document boundaries we rely on); ``-DOCSTART-`` lines
are skipped. Tags PER ORG LOC MISC become schema types through the schema's ``labels``.
"""

from __future__ import annotations

from pathlib import Path

from kgbuild.datasets.common import detokenize, entity_type
from kgbuild.datasets.records import AnnotatedDocument, GoldMention
from kgbuild.errors import InputError
from kgbuild.schema import Schema


def read_conll2003(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """Sentences of a CoNLL-2003 file as documents with typed mentions and no relations."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read CoNLL-2003 file ({type(exc).__name__})") from None
    documents: list[AnnotatedDocument] = []
    rows: list[tuple[str, str]] = []
    start_line = 1
    for number, line in enumerate([*lines, ""], start=1):
        fields = line.split()
        if fields and fields[0] == "-DOCSTART-":
            continue
        if fields:
            if len(fields) < 2:
                raise InputError(f"{path}: line {number}: expected 'token ... NER-tag', got {line!r}")
            if not rows:
                start_line = number
            rows.append((fields[0], fields[-1]))
            continue
        if rows:
            documents.append(_sentence(rows, schema, f"{path}: line {start_line}", f"{path.name}:{start_line}", str(path)))
            rows = []
    return documents


def _sentence(rows: list[tuple[str, str]], schema: Schema | None, where: str, identifier: str,
              source: str) -> AnnotatedDocument:
    text, spans = detokenize([token for token, _ in rows])
    mentions: list[GoldMention] = []
    begin, current = -1, ""
    for i, (_, tag) in enumerate([*rows, ("", "O")]):
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I", "O") or (prefix != "O" and not label):
            raise InputError(f"{where}: bad NER tag {tag!r}")
        continues = prefix == "I" and label == current
        if current and not continues:
            mentions.append(GoldMention(spans[begin][0], spans[i - 1][1], entity_type(current, schema, where)))
            current = ""
        if prefix != "O" and not continues:
            begin, current = i, label
    return AnnotatedDocument(identifier, text, tuple(mentions), tuple((i,) for i in range(len(mentions))), (),
                             ((0, len(text)),) if text else (), source)
