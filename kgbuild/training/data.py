"""Readers for annotated data: DocRED / Re-DocRED JSON, SpERT JSON (CoNLL04, SciERC, ADE) and kgbuild JSONL.

Every reader yields the same record, :class:`AnnotatedDocument`: the text, character-offset mentions, the
in-document entities as mention clusters, relations between clusters and sentence spans. Token-list formats are
detokenised into readable text with character offsets (``text[start:end] == token`` for every token). With a
schema, dataset tags (PER, P17, Work_For) become the schema's type names; an unknown tag is a one-line error.
This module needs neither spaCy nor the model, so training runs anywhere torch does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from kgbuild.errors import InputError
from kgbuild.records import Document, SegmentedDocument, Sentence, Token, Window
from kgbuild.schema import Schema


@dataclass(frozen=True, slots=True)
class GoldMention:
    """A typed span with character offsets into the document text."""

    start: int
    end: int
    type: str


@dataclass(frozen=True, slots=True)
class GoldRelation:
    """A relation between two clusters (indices into ``AnnotatedDocument.clusters``)."""

    head: int
    tail: int
    type: str
    evidence: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AnnotatedDocument:
    """One annotated document; ``clusters`` group mention indices into entities (every mention in one cluster)."""

    id: str
    text: str
    mentions: tuple[GoldMention, ...]
    clusters: tuple[tuple[int, ...], ...]
    relations: tuple[GoldRelation, ...]
    sentences: tuple[tuple[int, int], ...]
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def cluster_type(self, index: int) -> str:
        """The majority type of a cluster's mentions (first seen wins ties), as in DocRED."""
        types = [self.mentions[m].type for m in self.clusters[index]]
        return max(dict.fromkeys(types), key=types.count)


# ---------------------------------------------------------------- detokenising

_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "'S", "n't", "'re", "'ve", "'ll", "'d", "'m", "''", "-RRB-"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "``", "#", "-LRB-"}


def detokenize(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join word tokens into readable text; returns the text and each token's ``(start, end)``.

    Spaces are dropped before closing punctuation and clitics and after opening brackets, so the text reads like
    the original; the subword tokenizer splits punctuation anyway, so the model sees the same pieces.
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    previous = ""
    for index, token in enumerate(tokens):
        token = token if token.strip() else "_"  # an empty or blank token would break offsets
        token = re.sub(r"\s+", "_", token)
        if index > 0 and token not in _NO_SPACE_BEFORE and previous not in _NO_SPACE_AFTER:
            parts.append(" ")
            position += 1
        spans.append((position, position + len(token)))
        parts.append(token)
        position += len(token)
        previous = token
    return "".join(parts), spans


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(\s+)(?=[\"'(\[]*[A-Z0-9])")


def split_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """A dependency-free sentence splitter (punctuation + capital), for user annotations without sentences."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if text[start : match.start(1)].strip():
            spans.append(_strip(text, start, match.start(1)))
        start = match.end()
    if text[start:].strip():
        spans.append(_strip(text, start, len(text)))
    return tuple(spans) or ((0, len(text)),)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# ---------------------------------------------------------------- schema mapping


def _entity_type(tag: str, schema: Schema | None, where: str) -> str:
    if schema is None:
        return tag
    try:
        return schema.entity_for_label(tag)
    except KeyError:
        raise InputError(
            f"{where}: entity tag {tag!r} is not in schema {schema.name!r}; add it to an entity type's labels"
        ) from None


def _relation_type(tag: str, schema: Schema | None, where: str) -> str:
    if schema is None:
        return tag
    try:
        return schema.relation_for_label(tag)
    except KeyError:
        raise InputError(
            f"{where}: relation tag {tag!r} is not in schema {schema.name!r}; add it to a relation type's labels"
        ) from None


# ---------------------------------------------------------------- readers


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: data file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read data file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def read_docred(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """DocRED / Re-DocRED JSON: ``sents`` token lists, ``vertexSet`` mention clusters, ``labels`` relations."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: DocRED data must be a JSON list of documents")
    documents = []
    for number, raw in enumerate(data):
        where = f"{path}: document {number}"
        try:
            tokens = [token for sentence in raw["sents"] for token in sentence]
            text, spans = detokenize(tokens)
            sentence_starts = []
            offset = 0
            sentences = []
            for sentence in raw["sents"]:
                sentence_starts.append(offset)
                if sentence:
                    sentences.append((spans[offset][0], spans[offset + len(sentence) - 1][1]))
                offset += len(sentence)
            mentions: list[GoldMention] = []
            clusters: list[tuple[int, ...]] = []
            for vertex in raw["vertexSet"]:
                cluster = []
                spans_here: set[tuple[int, int]] = set()
                for mention in vertex:
                    first = sentence_starts[mention["sent_id"]] + mention["pos"][0]
                    last = sentence_starts[mention["sent_id"]] + mention["pos"][1] - 1
                    span = (spans[first][0], spans[last][1])
                    if span in spans_here:  # a span annotated twice in one entity: keep one mention
                        continue
                    spans_here.add(span)
                    cluster.append(len(mentions))
                    mentions.append(GoldMention(span[0], span[1], _entity_type(mention["type"], schema, where)))
                clusters.append(tuple(cluster))
            relations = tuple(
                dict.fromkeys(
                    GoldRelation(int(label["h"]), int(label["t"]), _relation_type(label["r"], schema, where),
                                 tuple(label.get("evidence", ())))
                    for label in raw.get("labels", ())
                )
            )
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed DocRED record ({type(exc).__name__}: {exc})") from None
        documents.append(
            AnnotatedDocument(str(raw.get("title") or f"doc{number}"), text, tuple(mentions), tuple(clusters),
                              _dedupe_relations(relations), tuple(sentences), str(path))
        )
    return documents


def _dedupe_relations(relations: Iterable[GoldRelation]) -> tuple[GoldRelation, ...]:
    """One relation per (head, tail, type): DocRED repeats some with different evidence."""
    kept: dict[tuple[int, int, str], GoldRelation] = {}
    for relation in relations:
        kept.setdefault((relation.head, relation.tail, relation.type), relation)
    return tuple(kept.values())


def read_spert(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """SpERT JSON (CoNLL04, SciERC, ADE): ``tokens``, ``entities`` (token offsets, end exclusive), ``relations``.

    Each entity is its own cluster (these datasets annotate no coreference), so relations are between mentions.
    """
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: SpERT data must be a JSON list of sentences")
    documents = []
    for number, raw in enumerate(data):
        where = f"{path}: record {number}"
        try:
            text, spans = detokenize(list(raw["tokens"]))
            mentions = tuple(
                GoldMention(spans[e["start"]][0], spans[e["end"] - 1][1], _entity_type(e["type"], schema, where))
                for e in raw["entities"]
            )
            relations = _dedupe_relations(
                GoldRelation(int(r["head"]), int(r["tail"]), _relation_type(r["type"], schema, where))
                for r in raw.get("relations", ())
            )
            for relation in relations:
                if not (0 <= relation.head < len(mentions) and 0 <= relation.tail < len(mentions)):
                    raise IndexError(f"relation names entity {max(relation.head, relation.tail)} of {len(mentions)}")
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed SpERT record ({type(exc).__name__}: {exc})") from None
        identifier = str(raw.get("orig_id", number))
        documents.append(
            AnnotatedDocument(identifier, text, mentions, tuple((i,) for i in range(len(mentions))), relations,
                              ((0, len(text)),) if text else (), str(path))
        )
    return documents


def read_jsonl(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """kgbuild JSONL: one document per line, character offsets.

    ``{"id", "text", "entities": [{"start", "end", "type", "id"?}], "relations": [{"head", "tail", "type"}],
    "sentences"?: [[start, end], ...]}``. Entities sharing an ``id`` are mentions of one entity (a cluster);
    a relation's ``head``/``tail`` is an entity index in the list or an entity ``id``.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: data file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read data file: {exc}") from None
    documents = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg}") from None
        try:
            documents.append(_jsonl_record(raw, schema, where, str(path)))
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed record ({type(exc).__name__}: {exc})") from None
    return documents


def _jsonl_record(raw: dict[str, Any], schema: Schema | None, where: str, source: str) -> AnnotatedDocument:
    text = raw["text"]
    if not isinstance(text, str):
        raise TypeError("'text' must be a string")
    mentions: list[GoldMention] = []
    cluster_of_key: dict[str, int] = {}
    clusters: list[list[int]] = []
    mention_cluster: list[int] = []
    for index, entity in enumerate(raw.get("entities", ())):
        start, end = int(entity["start"]), int(entity["end"])
        if not 0 <= start < end <= len(text):
            raise InputError(f"{where}: entity {index} has offsets [{start}, {end}) outside the text of {len(text)} characters")
        mentions.append(GoldMention(start, end, _entity_type(str(entity["type"]), schema, where)))
        key = str(entity["id"]) if entity.get("id") is not None else f"\x00{index}"
        if key not in cluster_of_key:
            cluster_of_key[key] = len(clusters)
            clusters.append([])
        clusters[cluster_of_key[key]].append(index)
        mention_cluster.append(cluster_of_key[key])

    def cluster_index(ref: Any) -> int:
        if isinstance(ref, int) and not isinstance(ref, bool):
            if not 0 <= ref < len(mentions):
                raise InputError(f"{where}: relation names entity index {ref}, but there are {len(mentions)} entities")
            return mention_cluster[ref]
        if str(ref) in cluster_of_key:
            return cluster_of_key[str(ref)]
        raise InputError(f"{where}: relation names entity {ref!r}, which is neither an index nor an entity id")

    relations = _dedupe_relations(
        GoldRelation(cluster_index(r["head"]), cluster_index(r["tail"]), _relation_type(str(r["type"]), schema, where))
        for r in raw.get("relations", ())
    )
    sentences = tuple(tuple(map(int, s)) for s in raw["sentences"]) if raw.get("sentences") else split_sentences(text)
    return AnnotatedDocument(str(raw.get("id", where)), text, tuple(mentions), tuple(tuple(c) for c in clusters),
                             relations, sentences, source)  # type: ignore[arg-type]


def detect_format(path: str | Path) -> str:
    """``docred``, ``spert`` or ``jsonl``, from the extension and the first record's keys."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return "jsonl"
    data = _load_json(path)
    first = data[0] if isinstance(data, list) and data else {}
    if isinstance(first, dict) and "vertexSet" in first:
        return "docred"
    if isinstance(first, dict) and "tokens" in first:
        return "spert"
    raise InputError(f"{path}: unknown annotation format; expected DocRED JSON, SpERT JSON or kgbuild .jsonl")


def read_annotations(path: str | Path, schema: Schema | None = None, fmt: str = "auto") -> list[AnnotatedDocument]:
    """Read any supported format (detected from the file unless ``fmt`` names it)."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {"docred": read_docred, "spert": read_spert, "jsonl": read_jsonl}
    if fmt not in readers:
        raise InputError(f"{path}: unknown format {fmt!r}; use one of {sorted(readers)}")
    return readers[fmt](path, schema)


# ---------------------------------------------------------------- windows and records for the extractor


def sentence_windows(
    sentences: Sequence[tuple[int, int]], count: Callable[[int, int], int], max_tokens: int, overlap: int = 1
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Greedy windows of whole sentences within ``max_tokens`` (``count(start, end)`` in model tokens), the next
    window repeating the last ``overlap`` sentences. A sentence over budget is a window alone; the extractor cuts it
    into overlapping chunks. (kgbuild.text makes windows for raw documents; this one serves annotated data and needs
    no spaCy, so training runs on machines without it.)"""
    windows: list[tuple[int, int, tuple[int, ...]]] = []
    i, n = 0, len(sentences)
    while i < n:
        j = i + 1
        while j < n and count(sentences[i][0], sentences[j][1]) <= max_tokens:
            j += 1
        windows.append((sentences[i][0], sentences[j - 1][1], tuple(range(i, j))))
        if j >= n:
            break
        i = max(i + 1, j - overlap)
    return windows


def to_segmented(doc: AnnotatedDocument, count_tokens: Callable[[str], int], max_tokens: int) -> SegmentedDocument:
    """The annotated document as the extractor's input: its own sentences, word tokens and encoder windows."""
    document = Document(doc.id, doc.text, doc.source or "annotations", doc.id)
    sentences = tuple(Sentence(doc.id, i, s, e, doc.text[s:e]) for i, (s, e) in enumerate(doc.sentences))
    tokens = tuple(Token(m.start(), m.end(), m.group()) for m in re.finditer(r"\w+|[^\w\s]", doc.text))
    spans = sentence_windows(doc.sentences, lambda s, e: count_tokens(doc.text[s:e]), max_tokens)
    windows = tuple(Window(doc.id, i, s, e, idx) for i, (s, e, idx) in enumerate(spans))
    return SegmentedDocument(document, sentences, tokens, windows)
