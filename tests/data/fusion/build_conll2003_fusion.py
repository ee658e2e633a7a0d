"""Rebuild conll2003_testa_fusion.jsonl: a cross-document entity-identity gold on 40 CoNLL-2003 eng.testa news stories.

Run from the repository root:  python tests/data/fusion/build_conll2003_fusion.py /path/to/conll2003/eng.testa

eng.testa has no document markers; a story starts at the sentence before its dateline ("MOSCOW 1996-08-30").
Mentions are the gold NER spans (PER ORG LOC MISC). Identities were assigned by reading the stories: first a
proposal (same type and normalised text; a country's forms; a lone surname or given name with the one full name
of that story that holds it), then every entity checked by hand and corrected with ``SAME_AS`` below (acronyms
with their expansions, nicknames and patronymics, "the North" for North Korea, misspellings in the source,
singular and plural of one demonym). Written as kgbuild JSONL: entities sharing an ``id`` are one real entity,
in one document or across documents.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("conll2003_testa_fusion.jsonl")
# eng.testa stories (0-based, in file order) about politics and crime, chosen for the people, places and
# organisations they share: Chechnya, Iraq and the Kurds, Israel, China's dissidents, Belgium, Korea, the U.S.
DOCS = (36, 43, 44, 45, 50, 51, 52, 63, 65, 67, 69, 78, 80, 85, 87, 95, 96, 166, 168, 170, 171, 172, 177, 178,
        180, 182, 184, 188, 189, 190, 193, 194, 195, 197, 198, 204, 206, 208, 209, 210)
COUNTRIES = {  # the countries named in these stories, every form used there -> one id
    "u.s.": "USA", "united states": "USA", "iraq": "IRQ", "russia": "RUS", "russian federation": "RUS",
    "israel": "ISR", "belgium": "BEL", "britain": "GBR", "iran": "IRN", "china": "CHN", "germany": "DEU",
    "bosnia": "BIH", "france": "FRA", "jordan": "JOR", "syria": "SYR", "armenia": "ARM", "azerbaijan": "AZE",
    "bolivia": "BOL", "canada": "CAN", "chile": "CHL", "cyprus": "CYP", "finland": "FIN", "guatemala": "GTM",
    "honduras": "HND", "south korea": "KOR", "lebanon": "LBN", "libya": "LBY", "north korea": "PRK", "sudan": "SDN",
    "uruguay": "URY", "turkey": "TUR", "scotland": "SCO", "england": "ENG",
}
# Checked by hand: proposal id -> the id of the entity it really is.
SAME_AS = {
    "ORG:united nations": "ORG:un", "ORG:un council": "ORG:security council",
    "ORG:kurdistan democratic party": "ORG:kdp", "ORG:kpd": "ORG:kdp",  # "KPD" in a headline: the KDP
    "ORG:organisation for security and cooperation in europe": "ORG:osce",
    "ORG:patriotic union of kurdistan": "ORG:puk", "ORG:palestinian liberation organisation": "ORG:plo",
    "ORG:un interim force in lebanon": "ORG:unifil", "ORG:north atlantic treaty organisation": "ORG:nato",
    "ORG:party of god": "ORG:hizbollah", "ORG:party of democratic action": "ORG:sda",
    "ORG:iraqi news agency": "ORG:ina", "ORG:bay co bldg auth": "ORG:bay co building authority",
    "ORG:us treasury department": "ORG:treasury department",
    "LOC:n korea": "LOC:PRK", "LOC:north": "LOC:PRK", "LOC:s korea": "LOC:KOR", "LOC:south": "LOC:KOR",
    "LOC:mi": "LOC:michigan", "LOC:mich": "LOC:michigan", "LOC:chechen republic": "LOC:chechnya",
    "LOC:arab east jerusalem": "LOC:east jerusalem", "LOC:holy city of jerusalem": "LOC:jerusalem",
    "PER:wang": "PER:wang donghai", "PER:yeltsin": "PER:boris yeltsin", "PER:boris nikolayevich": "PER:boris yeltsin",
    "PER:naina": "PER:naina yeltsin", "PER:saddam": "PER:saddam hussein", "PER:hussein": "PER:saddam hussein", "PER:abu ammar": "PER:yasser arafat",
    "PER:iron lady": "PER:margaret thatcher", "PER:bernard ingram": "PER:bernard ingham",
    "PER:nancy": "PER:nancy reagan", "PER:rachel": "PER:rachel legeard", "PER:severine": "PER:severine potty",
    "PER:levrentyeva": "PER:olga lavrentyeva", "PER:kim": "PER:kim in so", "PER:li": "PER:li song ho",
    "MISC:iraqis": "MISC:iraqi", "MISC:israelis": "MISC:israeli", "MISC:palestinians": "MISC:palestinian",
    "MISC:chechens": "MISC:chechen", "MISC:armenians": "MISC:armenian", "MISC:azeris": "MISC:azeri",
    "MISC:moslems": "MISC:moslem", "MISC:serbs": "MISC:serb", "MISC:arabs": "MISC:arab", "MISC:kurdish": "MISC:kurds",
    "MISC:iraqi kurd": "MISC:iraqi kurds", "MISC:iraqi kurdish": "MISC:iraqi kurds", "MISC:jews": "MISC:jewish",
}
_WORD = re.compile(r"[^\w]+")


def sentences(path: Path) -> list[list[tuple[str, str]]]:
    out, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current = []
            continue
        token, _, _, tag = line.split(" ")
        if token != "-DOCSTART-":
            current.append((token, tag))
    if current:
        out.append(current)
    return out


def stories(path: Path) -> list[list[list[tuple[str, str]]]]:
    """Stories split at datelines: a short sentence ending in a date; the headline before it opens the story."""
    sents = sentences(path)
    dateline = [i for i, s in enumerate(sents) if i > 0 and 1 < len(s) <= 8 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", s[-1][0])]
    starts = [i - 1 for i in dateline]
    return [sents[a:b] for a, b in zip(starts, starts[1:] + [len(sents)])]


def spans(sentence: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    out: list[list] = []
    for i, (_, tag) in enumerate(sentence):
        if tag.startswith("B-") or (tag.startswith("I-") and (not out or out[-1][1] != i or out[-1][2] != tag[2:])):
            out.append([i, i + 1, tag[2:]])
        elif tag.startswith("I-"):
            out[-1][1] = i + 1
    return [tuple(x) for x in out]


def norm(text: str) -> str:
    return " ".join(_WORD.sub(" ", text.casefold().replace(".", "").replace("'s", "")).split()).removeprefix("the ")


def proposal(type_name: str, text: str) -> str:
    code = COUNTRIES.get(text.casefold())
    return f"LOC:{code}" if code and type_name == "LOC" else f"{type_name}:{norm(text)}"


def build(source: Path) -> list[dict]:
    records = []
    all_stories = stories(source)
    for d in DOCS:
        text_parts, sentence_spans, mentions = [], [], []
        offset = 0
        for sentence in all_stories[d]:
            line = " ".join(t for t, _ in sentence)
            token_starts, pos = [], offset
            for token, _ in sentence:
                token_starts.append(pos)
                pos += len(token) + 1
            for a, b, type_name in spans(sentence):
                start, end = token_starts[a], token_starts[b - 1] + len(sentence[b - 1][0])
                mentions.append([start, end, type_name])
            sentence_spans.append([offset, offset + len(line)])
            text_parts.append(line)
            offset += len(line) + 1
        text = "\n".join(text_parts)
        ids = [proposal(t, text[s:e]) for s, e, t in mentions]
        # a lone surname or given name: the one full name of this story that holds it
        for i, (s, e, t) in enumerate(mentions):
            words = norm(text[s:e]).split()
            if t == "PER" and len(words) == 1:
                full = {ids[j] for j, (s2, e2, t2) in enumerate(mentions)
                        if t2 == "PER" and len(norm(text[s2:e2]).split()) > 1 and words[0] in norm(text[s2:e2]).split()}
                if len(full) == 1:
                    ids[i] = full.pop()
        ids = [SAME_AS.get(i, i) for i in ids]
        entities = [{"start": s, "end": e, "type": t, "id": i} for (s, e, t), i in zip(mentions, ids)]
        assert all(text[x["start"]:x["end"]].strip() == text[x["start"]:x["end"]] for x in entities)
        records.append({"id": f"eng.testa-{d:03d}", "text": text, "sentences": sentence_spans, "entities": entities, "relations": []})
    return records


if __name__ == "__main__":
    rows = build(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/conll2003/eng.testa"))
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    n = sum(len(r["entities"]) for r in rows)
    ids = {e["id"] for r in rows for e in r["entities"]}
    multi = sum(1 for i in ids if sum(any(e["id"] == i for e in r["entities"]) for r in rows) > 1)
    print(f"{OUT}: {len(rows)} documents, {n} mentions, {len(ids)} entities, {multi} in several documents")
