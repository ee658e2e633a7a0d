"""Regenerate examples/docs/ from Re-DocRED's dev_100.json: the first 37 documents as natural text.

The sentences are detokenised with sacremoses (Moses rules: no space before punctuation, quotes
attached) and hyphenated words DocRED split apart are joined again ("south - central" -> "south-central").
Thirty documents become .txt files, three .md (title as heading), three go into one .jsonl (fields id, title, text) and one
into an .html page, so that every reader of kgbuild is exercised by `kgbuild build examples/docs`.

    python examples/make_docs.py           # rewrite examples/docs/
    python examples/make_docs.py --check   # exit 1 if examples/docs/ differs from what the data gives
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

from sacremoses import MosesDetokenizer

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("KGBUILD_DATA", HERE.parent.parent / "shared" / "data"))
SOURCE = DATA / "re-docred" / "dev_100.json"
N_TXT, N_MD, N_JSONL, N_HTML = 30, 3, 3, 1


def detokenise(sentences: list[list[str]]) -> str:
    """DocRED token lists -> one paragraph of normally spaced text."""
    moses = MosesDetokenizer(lang="en")
    text = " ".join(moses.detokenize(tokens) for tokens in sentences)
    return re.sub(r"(?<=\w) - (?=\w)", "-", text)


def slug(title: str) -> str:
    """'Rio Grande de Mindanao' -> 'rio-grande-de-mindanao' (ASCII, for portable file names)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def html_page(title: str, text: str) -> str:
    """A small article page with navigation and footer boilerplate around the main text."""
    t, body = html.escape(title), html.escape(text)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{t}</title>\n</head>\n<body>\n"
        "<nav><a href=\"#\">Home</a> | <a href=\"#\">Articles</a> | <a href=\"#\">About</a></nav>\n"
        f"<main>\n<article>\n<h1>{t}</h1>\n<p>{body}</p>\n</article>\n</main>\n"
        "<footer><p>Example page for kgbuild. Text from Re-DocRED (MIT), originally from Wikipedia.</p></footer>\n"
        "</body>\n</html>\n"
    )


def render(docs: list[dict]) -> dict[str, str]:
    """File name -> content for every example file."""
    titles = [html.unescape(doc["title"]) for doc in docs]  # DocRED keeps some HTML entities, e.g. "&amp;"
    items = [(slug(title), title, detokenise(doc["sents"])) for title, doc in zip(titles, docs)]
    if len({name for name, _, _ in items}) != len(items):
        raise SystemExit("two titles give the same file name")
    files: dict[str, str] = {}
    for name, _, text in items[:N_TXT]:
        files[f"{name}.txt"] = text + "\n"
    for name, title, text in items[N_TXT : N_TXT + N_MD]:
        files[f"{name}.md"] = f"# {title}\n\n{text}\n"
    records = items[N_TXT + N_MD : N_TXT + N_MD + N_JSONL]
    files["more_articles.jsonl"] = "".join(
        json.dumps({"id": name, "title": title, "text": text}, ensure_ascii=False) + "\n"
        for name, title, text in records
    )
    for name, title, text in items[N_TXT + N_MD + N_JSONL : N_TXT + N_MD + N_JSONL + N_HTML]:
        files[f"{name}.html"] = html_page(title, text)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate examples/docs/ from Re-DocRED dev_100.json.")
    parser.add_argument("--out", type=Path, default=HERE / "docs")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    docs = json.loads(SOURCE.read_text(encoding="utf-8"))[: N_TXT + N_MD + N_JSONL + N_HTML]
    files = render(docs)
    if args.check:
        present = {p.name: p.read_text(encoding="utf-8") for p in args.out.iterdir()} if args.out.is_dir() else {}
        if present != files:
            print(f"{args.out} is stale: run python examples/make_docs.py", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.iterdir():
        if old.name not in files:
            old.unlink()
    for name, content in files.items():
        (args.out / name).write_text(content, encoding="utf-8")
    print(f"wrote {len(files)} files ({len(docs)} documents) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
