"""Derive schemas/default.yaml, conll04.yaml and scierc.yaml from the annotated training data.

Domain and range of every relation are the entity types actually seen as its head and tail in
the training split, so the schemas are measured, not guessed. Run from the repository root:

    python tools/make_schemas.py            # (re)write the three files
    python tools/make_schemas.py --check    # exit 1 if a committed file differs from the data

The data folder is $KGBUILD_DATA, else ../shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kgbuild.resources import data_dir  # noqa: E402
from kgbuild.schema.load import load_schema  # noqa: E402

# Wikidata properties among Re-DocRED's 96 that carry Wikidata's "symmetric constraint"
# (Q21510862): spouse, sibling, twinned administrative body ("sister city").
WIKIDATA_SYMMETRIC = frozenset({"P26", "P3373", "P190"})
# A Wikidata-symmetric relation is marked symmetric only if at least this share of its
# train_400 pairs is annotated in both directions.
SYMMETRY_SUPPORT = 0.9

DOCRED_TYPES = (  # tag, name, description (DocRED's entity types, Yao et al. 2019)
    ("PER", "Person", "A person, real or fictional."),
    ("ORG", "Organization", "A company, institution, team, band, party, government body or other organisation."),
    ("LOC", "Location", "A place: country, city, region, river, mountain, building, geographic feature."),
    ("TIME", "Time", "A date, year or other point or span of time."),
    ("NUM", "Number", "A numeric quantity, e.g. a count, an amount or a percentage."),
    ("MISC", "Misc", "Any other named thing: works, events, products, languages, nationalities, awards."),
)
CONLL04_TYPES = (
    ("Peop", "Person", "A person."),
    ("Org", "Organization", "An organisation: company, agency, government, group."),
    ("Loc", "Location", "A place: country, city, region, landmark."),
    ("Other", "Other", "Any other named thing: titles, events, products, nationalities."),
    # CoNLL04's Other holds dates and amounts beside names; the news model types those apart (its training data's
    # Other mentions that look like values become Value, `kgbuild train extract --split-values Other:Value`), since
    # CoNLL-2003's MISC holds no values. Scored against CoNLL04's gold, Value counts as Other (its tag).
    ("Other", "Value", "A date, time, number or amount (CoNLL04's Other tag holds these with the names)."),
)
# CoNLL-2003's tags name the same four kinds of thing (Tjong Kim Sang and De Meulder 2003): its data reads into this
# schema too (`kgbuild eval --model conll04 --data .../eng.testa`).
CONLL04_EXTRA_LABELS = {"Person": ("PER",), "Organization": ("ORG",), "Location": ("LOC",), "Other": ("MISC",)}
# CrossRE's news sentences are CoNLL-2003 eng.testa sentences with relations (Bassignana and Plank 2022): its news tags
# and the relations of its 17 that say what CoNLL04's do, told apart by their arguments' types
# (Schema.relation_for_label), so that `kgbuild eval --model conll04 --data .../crossre/news-dev.json` scores facts on
# news. Approximate: CrossRE's `physical` for a person and a country also holds visits.
CROSSRE_NEWS_LABELS = {"Person": ("person",), "Organization": ("organisation",), "Location": ("location", "country"),
                       "Other": ("misc",)}
CROSSRE_NEWS_RELATIONS = {"WORK_FOR": ("role", "part-of"), "LIVE_IN": ("physical",), "ORG_BASED_IN": ("physical",),
                          "LOCATED_IN": ("physical", "part-of")}
CONLL04_RELATIONS = (  # tag, name, description
    ("Work_For", "WORK_FOR", "The person works for the organisation."),
    ("Kill", "KILL", "The person killed the other person."),
    ("OrgBased_In", "ORG_BASED_IN", "The organisation is based in the location."),
    ("Live_In", "LIVE_IN", "The person lives in the location."),
    ("Located_In", "LOCATED_IN", "The location lies in the other location."),
)
SCIERC_TYPES = (
    ("Task", "Task", "A problem to solve or an application."),
    ("Method", "Method", "A method, model, algorithm or system."),
    ("Material", "Material", "Data, a dataset, a corpus or a resource."),
    ("OtherScientificTerm", "OtherScientificTerm", "Another scientific term: a phenomenon, feature, constraint..."),
    ("Metric", "Metric", "An evaluation metric or measure."),
    ("Generic", "Generic", "A generic reference to a method or task, e.g. 'this approach'."),
)
SCIERC_RELATIONS = (
    ("Used-for", "USED_FOR", "The head is used for the tail."),
    ("Feature-of", "FEATURE_OF", "The head is a feature or property of the tail."),
    ("Hyponym-of", "HYPONYM_OF", "The head is a kind of the tail."),
    ("Evaluate-for", "EVALUATE_FOR", "The head is used to evaluate the tail."),
    ("Part-of", "PART_OF", "The head is a part of the tail."),
    ("Compare", "COMPARE", "The two are compared (symmetric)."),
    ("Conjunction", "CONJUNCTION", "The two are used or mentioned together (symmetric)."),
)


@dataclass
class RelationStats:
    """What the data says about one relation: head and tail type counts, and how many pairs go both ways."""

    heads: Counter = field(default_factory=Counter)
    tails: Counter = field(default_factory=Counter)
    count: int = 0
    reversed: int = 0


def upper_snake(text: str) -> str:
    """A readable relation name as UPPER_SNAKE_CASE: 'dissolved, abolished or demolished' -> DISSOLVED_ABOLISHED_OR_DEMOLISHED."""
    return "_".join(re.findall(r"[A-Za-z0-9]+", text)).upper()


def entity_type(mentions: list[dict]) -> str:
    """An entity's type: its mentions' majority type (ties go to the first mention's type)."""
    counts = Counter(m["type"] for m in mentions)
    best = max(counts.values())
    return next(m["type"] for m in mentions if counts[m["type"]] == best)


def docred_stats(path: Path) -> dict[str, RelationStats]:
    """Per relation id: the types of heads and tails, and the pairs also annotated in reverse."""
    stats: dict[str, RelationStats] = defaultdict(RelationStats)
    for doc in json.loads(path.read_text(encoding="utf-8")):
        types = [entity_type(vertex) for vertex in doc["vertexSet"]]
        pairs = {(label["r"], label["h"], label["t"]) for label in doc["labels"]}
        for label in doc["labels"]:
            s = stats[label["r"]]
            s.heads[types[label["h"]]] += 1
            s.tails[types[label["t"]]] += 1
            s.count += 1
            s.reversed += (label["r"], label["t"], label["h"]) in pairs
    return stats


def spert_stats(path: Path) -> dict[str, RelationStats]:
    """Per relation tag in a SpERT-format file: the types of heads and tails."""
    stats: dict[str, RelationStats] = defaultdict(RelationStats)
    for sentence in json.loads(path.read_text(encoding="utf-8")):
        entities = sentence["entities"]
        for relation in sentence["relations"]:
            s = stats[relation["type"]]
            s.heads[entities[relation["head"]]["type"]] += 1
            s.tails[entities[relation["tail"]]["type"]] += 1
            s.count += 1
    return stats


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def counts_comment(counter: Counter, names: dict[str, str]) -> str:
    return ", ".join(f"{names[tag]} {n}" for tag, n in counter.most_common())


def render(
    name: str,
    description: str,
    header: list[str],
    types: tuple[tuple[str, str, str], ...],
    relations: list[dict],
    extra_labels: dict[str, tuple[str, ...]] | None = None,
) -> str:
    """The YAML text: a comment header, the entity types, then one block per relation with its evidence as comments."""
    lines = [f"# {line}".rstrip() for line in header]
    lines += [f"name: {name}", f"description: {q(description)}", "entities:"]
    for tag, type_name, text in types:
        lines += [f"  - name: {type_name}", f"    description: {q(text)}", f"    labels: {flow([q(tag), *map(q, (extra_labels or {}).get(type_name, ()))])}"]
    lines.append("relations:")
    for rel in relations:
        lines += [f"  # {c}" for c in rel["comments"]]
        lines += [
            f"  - name: {rel['name']}",
            f"    description: {q(rel['description'])}",
            f"    domain: {flow(rel['domain'])}",
            f"    range: {flow(rel['range'])}",
            f"    symmetric: {'true' if rel['symmetric'] else 'false'}",
            f"    functional: false",
            f"    labels: {flow([q(rel['tag']), *map(q, rel.get('extra_labels', ()))])}",
        ]
    return "\n".join(lines) + "\n"


def ordered(counter: Counter, types: tuple[tuple[str, str, str], ...]) -> list[str]:
    """The schema type names seen in ``counter``, in the schema's declaration order."""
    return [type_name for tag, type_name, _ in types if counter[tag]]


def make_default(data: Path) -> str:
    """schemas/default.yaml from Re-DocRED's rel_info.json, train_400.json (and dev_100.json where train lacks a relation)."""
    rel_info: dict[str, str] = json.loads((data / "re-docred" / "rel_info.json").read_text(encoding="utf-8"))
    train = docred_stats(data / "re-docred" / "train_400.json")
    dev = docred_stats(data / "re-docred" / "dev_100.json")
    names = {tag: type_name for tag, type_name, _ in DOCRED_TYPES}
    everything = [type_name for _, type_name, _ in DOCRED_TYPES]
    relations, from_dev, unseen, symmetric = [], [], [], []
    for tag, readable in rel_info.items():
        stats, source = train.get(tag), "train_400.json"
        if stats is None and tag in dev:
            stats, source = dev[tag], "dev_100.json"
            from_dev.append(tag)
        if stats is None:
            unseen.append(tag)
            comments = [f"{tag}: no instance in train_400.json or dev_100.json: domain and range left open (all types)"]
            domain = range_ = everything
            is_symmetric = False
        else:
            comments = [
                f"{tag}: {stats.count} pairs in {source}; "
                f"{stats.reversed} of them also annotated in reverse",
                f"  heads: {counts_comment(stats.heads, names)}",
                f"  tails: {counts_comment(stats.tails, names)}",
            ]
            domain, range_ = ordered(stats.heads, DOCRED_TYPES), ordered(stats.tails, DOCRED_TYPES)
            is_symmetric = tag in WIKIDATA_SYMMETRIC and stats.reversed >= SYMMETRY_SUPPORT * stats.count
            if is_symmetric:
                symmetric.append(tag)
        relations.append(
            {
                "tag": tag, "name": upper_snake(readable), "description": readable, "comments": comments,
                "domain": domain, "range": range_, "symmetric": is_symmetric,
            }
        )
    header = [
        "kgbuild default schema: the entity and relation types of Re-DocRED (Tan et al. 2022; DocRED, Yao et al. 2019).",
        "GENERATED by tools/make_schemas.py from ../shared/data/re-docred; edit the script, not this file.",
        "",
        "Entity types: DocRED's six (labels: the dataset tag).",
        "Relations: the 96 Wikidata properties of rel_info.json; name = its readable name in UPPER_SNAKE_CASE,",
        "description = the readable name, labels = the Wikidata id.",
        "Domain / range: every entity type seen as head / tail of the relation in train_400.json, where an entity's",
        "type is the majority type of its mentions. Rare types are kept (the counts are in the comments) so that no",
        "training annotation falls outside the schema.",
        f"Relations absent from train_400.json, derived from dev_100.json instead: {', '.join(from_dev) or 'none'}.",
        f"Relations absent from both files, left open to all six types: {', '.join(unseen) or 'none'}.",
        "Symmetric: true only for a property with Wikidata's symmetric constraint (P26 spouse, P3373 sibling, P190",
        f"sister city) AND at least {SYMMETRY_SUPPORT:.0%} of its train_400.json pairs annotated in both directions;",
        f"true here for: {', '.join(symmetric) or 'none'}. Functional: false throughout; the data gives no single-value",
        "guarantee (e.g. a person's birth date is annotated as both '1963' and '13 March 1963').",
    ]
    return render(
        "default",
        "General-purpose schema of kgbuild's default model: Re-DocRED's 6 entity types and 96 Wikidata relations.",
        header, DOCRED_TYPES, relations,
    )


def make_spert(
    name: str,
    path: Path,
    citation: str,
    types: tuple[tuple[str, str, str], ...],
    rel_specs: tuple[tuple[str, str, str], ...],
    types_file: Path,
) -> str:
    """A schema for a SpERT-format dataset; symmetric comes from the dataset's own types file."""
    stats = spert_stats(path)
    declared = json.loads(types_file.read_text(encoding="utf-8"))["relations"]
    names = {tag: type_name for tag, type_name, _ in types}
    relations = []
    for tag, rel_name, description in rel_specs:
        s = stats[tag]
        if not s.count:
            raise SystemExit(f"{path}: relation {tag!r} never occurs; cannot derive its domain and range")
        relations.append(
            {
                "tag": tag, "name": rel_name, "description": description,
                "comments": [
                    f"{tag}: {s.count} relations in {path.name}",
                    f"  heads: {counts_comment(s.heads, names)}",
                    f"  tails: {counts_comment(s.tails, names)}",
                ],
                "domain": ordered(s.heads, types), "range": ordered(s.tails, types),
                "symmetric": bool(declared[tag]["symmetric"]),
                "extra_labels": CROSSRE_NEWS_RELATIONS.get(rel_name, ()) if name == "conll04" else (),
            }
        )
    header = [
        f"kgbuild schema for {citation}.",
        f"GENERATED by tools/make_schemas.py from ../shared/data/{path.parent.name}/{path.name}; edit the script, not this file.",
        "",
        "labels: the dataset's tags. Domain / range: every entity type seen as head / tail of the relation in",
        f"{path.name} (the counts are in the comments). Symmetric: as declared in {types_file.name}.",
        "Functional: false throughout.",
    ]
    extra = {t: CONLL04_EXTRA_LABELS.get(t, ()) + CROSSRE_NEWS_LABELS.get(t, ()) for t in CONLL04_EXTRA_LABELS} \
        if name == "conll04" else None
    if extra:
        header.append("Entity labels also carry CoNLL-2003's PER ORG LOC MISC, the same four kinds of thing, and CrossRE's")
        header.append("news tags; relation labels after the first are CrossRE's, each taken only between the relation's")
        header.append("domain and range (Schema.relation_for_label): CrossRE's news sentences are CoNLL-2003 eng.testa's.")
    return render(name, f"Schema of {citation}.", header, types, relations, extra)


def build_all(data: Path) -> dict[str, str]:
    return {
        "default.yaml": make_default(data),
        "conll04.yaml": make_spert(
            "conll04", data / "conll04" / "conll04_train.json", "CoNLL04 (Roth and Yih 2004)",
            CONLL04_TYPES, CONLL04_RELATIONS, data / "conll04" / "conll04_types.json",
        ),
        "scierc.yaml": make_spert(
            "scierc", data / "scierc" / "scierc_train.json", "SciERC (Luan et al. 2018)",
            SCIERC_TYPES, SCIERC_RELATIONS, data / "scierc" / "scierc_types.json",
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default: $KGBUILD_DATA or ../shared/data)")
    parser.add_argument("--out", type=Path, default=REPO / "schemas", help="where to write the YAML files")
    parser.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = parser.parse_args(argv)
    texts = build_all(args.data or data_dir())
    stale = []
    for filename, text in texts.items():
        target = args.out / filename
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        schema = load_schema(target)
        print(f"{target}: {len(schema.entities)} entity types, {len(schema.relations)} relation types")
    if stale:
        print(f"stale (re-run tools/make_schemas.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
