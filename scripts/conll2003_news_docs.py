"""Write CoNLL-2003 stories as plain-text news documents, to build a graph from and read by hand (issue 13).

The shared copy of CoNLL-2003 has no -DOCSTART- lines; kgbuild.datasets.conll2003 rebuilds the stories at their
datelines (headline, optional byline, "LONDON 1996-08-30", body). Each story becomes ``NNN.txt``: its headline,
byline and dateline on lines of their own, then the body one sentence a line, as Reuters laid stories out.

    python scripts/conll2003_news_docs.py ../shared/data/conll2003/eng.testa /tmp/news --first 40
    kgbuild build /tmp/news --model conll04 --graph /tmp/news-kg

Only the generated text goes to OUT; nothing of the data is kept in the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgbuild.datasets.conll2003 import read_conll2003  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="CoNLL-2003 column file, e.g. eng.testa")
    parser.add_argument("out", type=Path, help="folder to write NNN.txt into")
    parser.add_argument("--first", type=int, default=40, help="how many stories, from the start of the file")
    parser.add_argument("--skip", type=int, default=0, help="stories to skip first")
    args = parser.parse_args(argv)
    docs = read_conll2003(args.data)[args.skip : args.skip + args.first]
    args.out.mkdir(parents=True, exist_ok=True)
    for number, doc in enumerate(docs, args.skip + 1):
        (args.out / f"{number:03d}.txt").write_text(doc.text + "\n", encoding="utf-8")
    print(f"{len(docs)} stories, {sum(len(d.sentences) for d in docs)} sentences -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
