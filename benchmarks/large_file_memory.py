"""Resident memory of a build on a very large file (issue 18): the figures docs/reliability.md quotes.

    python benchmarks/large_file_memory.py run --size-mb 50 --seconds 600 -- "" "--batch-size 4"
    python benchmarks/large_file_memory.py refuse --size-mb 1024
    python benchmarks/large_file_memory.py breakdown --size-mb 50 --batches 6

``run`` generates a single-line text of ``--size-mb`` MB (sentences with many distinct people, places and
organisations, so the graph keeps growing), then runs the real ``kgbuild build`` CLI on it once per setting given
after ``--`` ("" is the defaults), each for ``--seconds`` and then interrupted (SIGINT, as Ctrl-C). It samples the
resident set of the CLI process and of its FalkorDB server child every 0.5 s with psutil and prints, side by side,
the peaks (CLI, server, both together), the total at each minute, the growth rate of the total after the first
part committed (least squares, MB/min) and the parts committed.

``refuse`` writes a file of ``--size-mb`` MB and builds it with the default ``--max-file-mb``: it must be skipped in
one line naming the file and the limit, within the same memory.

``breakdown`` runs the build's stages in this process, step by step, and prints the resident set after each
component loads and after each batch of parts (with the Python heap from tracemalloc), to see where memory goes.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MB = 2**20
LEDGER = "kgbuild-ledger.sqlite"  # kgbuild.pipeline.ledger.LEDGER_NAME
FIRST = ("Ada", "Alan", "Marie", "Grace", "Tim", "Claude", "Emmy", "John", "Lena", "Omar", "Priya", "Kenji", "Sofia",
         "Mateo", "Yara", "Ivan", "Chloe", "Tariq", "Ingrid", "Pablo", "Amara", "Felix", "Hana", "Viktor", "Nadia")
LAST = ("Lovelace", "Turing", "Curie", "Hopper", "Shannon", "Noether", "Neumann", "Okafor", "Haddad", "Sharma",
        "Tanaka", "Rossi", "Garcia", "Lindqvist", "Petrov", "Dubois", "Rahman", "Berg", "Moreno", "Nakamura",
        "Adeyemi", "Kowalski", "Fischer", "Silva", "Novak", "Costa", "Ibrahim", "Keller", "Laine", "Moretti")
PLACES = ("London", "Manchester", "Paris", "Geneva", "Princeton", "Arlington", "Lagos", "Beirut", "Mumbai", "Osaka",
          "Milan", "Seville", "Uppsala", "Kazan", "Lyon", "Dhaka", "Bergen", "Valencia", "Kyoto", "Accra", "Krakow",
          "Hamburg", "Porto", "Cairo", "Zurich", "Helsinki", "Turin", "Boston", "Toronto", "Nairobi")
ORGS = ("Bell Labs", "CERN", "the University of Paris", "the United States Navy", "Siemens", "Toyota",
        "the University of Lagos", "Nokia", "Fiat", "the Karolinska Institute", "Infosys", "Petrobras",
        "the University of Cairo", "Philips", "the Bank of Canada", "Safaricom")
PATTERNS = (
    "{p} was born in {c} and later worked for {o}.",
    "{p} joined {o} in {y}, moving from {c} to {c2}.",
    "In {y}, {p} and {q} founded a laboratory in {c}.",
    "{p} studied at {o} before teaching in {c}.",
    "{o}, based in {c}, hired {p} as its director in {y}.",
    "{p} married {q} in {c} in {y}.",
)


def sentences(seed: int = 18):
    """An endless stream of varied sentences: ~22k distinct people, 30 places, 16 organisations."""
    rnd = random.Random(seed)
    while True:
        person = lambda: f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"  # noqa: E731
        yield rnd.choice(PATTERNS).format(p=person(), q=person(), c=rnd.choice(PLACES), c2=rnd.choice(PLACES),
                                          o=rnd.choice(ORGS), y=rnd.randint(1850, 2020))


def write_single_line(path: Path, size_mb: float, repeat_mb: float | None = None) -> Path:
    """``size_mb`` MB of sentences joined by spaces, no newline at all (the worst case for cutting parts).

    With ``repeat_mb``, the first ``repeat_mb`` MB are written again and again (fast, for a file only refused)."""
    target = int(size_mb * MB)
    written = 0
    stream = sentences()
    first: list[bytes] = []
    with path.open("wb") as out:
        while written < target:
            if repeat_mb and written >= repeat_mb * MB:
                block = first[(written // len(first[0])) % len(first)]
            else:
                block = (" ".join(next(stream) for _ in range(2000)) + " ").encode()
                first.append(block)
            out.write(block)
            written += len(block)
    return path


@dataclass
class Trace:
    """The sampled resident sets (bytes) of one build: CLI process, its children (the FalkorDB server)."""

    setting: str
    times: list[float] = field(default_factory=list)
    main: list[int] = field(default_factory=list)
    server: list[int] = field(default_factory=list)
    first_commit: float | None = None
    committed: int = 0
    returncode: int | None = None
    tail: str = ""

    @property
    def total(self) -> list[int]:
        return [a + b for a, b in zip(self.main, self.server)]

    def growth_mb_per_min(self) -> float:
        """Least-squares slope of the total after the first commit (the model loaded, a batch done), else over the
        second half of the run."""
        start = self.first_commit if self.first_commit is not None else (self.times[-1] / 2 if self.times else 0.0)
        pts = [(t, v / MB) for t, v in zip(self.times, self.total) if t >= start]
        if len(pts) < 3:
            return float("nan")
        mt = sum(t for t, _ in pts) / len(pts)
        mv = sum(v for _, v in pts) / len(pts)
        var = sum((t - mt) ** 2 for t, _ in pts)
        return 60 * sum((t - mt) * (v - mv) for t, v in pts) / var if var else float("nan")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from kgbuild.cli.app import main; main()", *args]


def sample(process: subprocess.Popen, trace: Trace, seconds: float, graph: Path, started: float) -> None:
    """Sample the tree every 0.5 s until it exits or ``seconds`` pass; note when the ledger first records a part."""
    root = psutil.Process(process.pid)
    ledger = graph / LEDGER
    while process.poll() is None and time.perf_counter() - started < seconds:
        try:
            children = root.children(recursive=True)
            main, server = root.memory_info().rss, sum(c.memory_info().rss for c in children)
        except psutil.Error:
            break
        trace.times.append(time.perf_counter() - started)
        trace.main.append(main)
        trace.server.append(server)
        if trace.first_commit is None and len(trace.times) % 10 == 0 and committed_parts(ledger):
            trace.first_commit = trace.times[-1]
        time.sleep(0.5)


def committed_parts(ledger: Path) -> int:
    """Parts the resume ledger records as done (read-only; 0 before it exists)."""
    import sqlite3

    if not ledger.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=10)
        try:
            return int(con.execute("SELECT count(*) FROM documents WHERE status = 'done'").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error as exc:
        print(f"(ledger not readable yet: {exc})", file=sys.stderr)
        return 0


def build_for(path: Path, graph: Path, setting: str, seconds: float, model: str) -> Trace:
    trace = Trace(setting or "defaults")
    args = cli("build", str(path), "--graph", str(graph), "--model", model, "--no-progress", *shlex.split(setting))
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sample(process, trace, seconds, graph, started)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # as Ctrl-C: the CLI stops, committed parts are kept
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    trace.returncode = process.returncode
    skipped = [line for line in err.splitlines() if line.startswith("skipped ")]
    trace.tail = "\n".join([*skipped, *out.strip().splitlines()[-1:]])
    trace.committed = committed_parts(graph / LEDGER)
    return trace


def report(traces: list[Trace]) -> None:
    width = max(12, *(len(t.setting) for t in traces))
    row = lambda label, cells: print(f"{label:<34}" + "".join(f"{c:>{width + 2}}" for c in cells))  # noqa: E731
    row("setting", [t.setting for t in traces])
    row("seconds sampled", [f"{t.times[-1]:.0f}" if t.times else "-" for t in traces])
    row("peak RSS, CLI process (MB)", [f"{max(t.main, default=0) / MB:,.0f}" for t in traces])
    row("peak RSS, FalkorDB server (MB)", [f"{max(t.server, default=0) / MB:,.0f}" for t in traces])
    row("peak RSS, both together (MB)", [f"{max(t.total, default=0) / MB:,.0f}" for t in traces])
    row("first part committed at (s)", [f"{t.first_commit:.0f}" if t.first_commit is not None else "never" for t in traces])
    row("growth after it (MB/min)", [f"{t.growth_mb_per_min():+.1f}" for t in traces])
    row("parts committed", [str(t.committed) for t in traces])
    minutes = math.ceil(max((t.times[-1] for t in traces if t.times), default=0) / 60)
    for minute in range(1, minutes + 1):
        cells = []
        for t in traces:
            window = [v for s, v in zip(t.times, t.total) if minute * 60 - 60 <= s < minute * 60]
            cells.append(f"{max(window) / MB:,.0f}" if window else "-")
        row(f"  peak total in minute {minute} (MB)", cells)
    for t in traces:
        print(f"[{t.setting}] exit {t.returncode}: {t.tail}")


def cmd_run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        path = write_single_line(Path(tmp) / f"big{args.size_mb:g}.txt", args.size_mb)
        print(f"{path}: {path.stat().st_size / MB:.1f} MB, one line", flush=True)
        traces = []
        for i, setting in enumerate(args.settings or [""]):
            traces.append(build_for(path, Path(tmp) / f"kg{i}", setting, args.seconds, args.model))
            print(f"done: {traces[-1].setting}", flush=True)
        report(traces)


def cmd_refuse(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        path = write_single_line(Path(tmp) / "big1g.txt", args.size_mb, repeat_mb=4)
        print(f"{path}: {path.stat().st_size / MB:.1f} MB, one line", flush=True)
        trace = build_for(path, Path(tmp) / "kg", "", args.seconds, args.model)
        report([trace])


def cmd_breakdown(args: argparse.Namespace) -> None:
    """Where the memory goes: the build's stages run here, RSS after each component and each batch."""
    import tracemalloc

    proc = psutil.Process()
    tree = lambda: sum(c.memory_info().rss for c in proc.children(recursive=True))  # noqa: E731
    last = [proc.memory_info().rss]

    def mark(what: str) -> None:
        now = proc.memory_info().rss
        heap = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
        print(f"{what:<48} RSS {now / MB:7,.0f} MB ({(now - last[0]) / MB:+7,.0f})  server {tree() / MB:5,.0f} MB"
              + (f"  python heap {heap / MB:6,.1f} MB" if heap else ""), flush=True)
        last[0] = now

    mark("python + psutil")
    import torch  # noqa: F401

    mark("import torch")
    from kgbuild.extract.deferred import DeferredExtractor
    from kgbuild.fusion.fuser import Fuser
    from kgbuild.graph import open_graph
    from kgbuild.graph.writer import WriteStage
    from kgbuild.ingest import IngestOptions, read_inputs
    from kgbuild.pipeline.runner import Runner
    from kgbuild.segment.segment import Segmenter

    mark("import kgbuild stages")
    extractor = DeferredExtractor(args.model)
    extractor.load()
    mark("extractor loaded")
    segmenter = Segmenter(max_tokens=extractor.max_tokens, count_tokens=extractor.count_tokens)
    segmenter.nlp
    mark("spaCy loaded")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        store = open_graph(Path(tmp) / "kg")
        store.open()
        store.ensure_schema(extractor.schema)
        mark("FalkorDB store open")
        fuser = Fuser(extractor.schema, store, device=extractor.device)
        fuser.embedder.model
        mark("sentence-transformers loaded")
        path = write_single_line(Path(tmp) / "big.txt", args.size_mb)
        mark(f"{args.size_mb:g} MB file written")
        items = read_inputs([path], IngestOptions(max_file_bytes=int(args.size_mb * MB) + MB))
        runner = Runner([segmenter, extractor], [fuser, WriteStage(store)], batch_size=args.batch_size, show_progress=False)
        if args.tracemalloc:
            tracemalloc.start(8)
        batch: list = []
        done = 0
        for item in items:
            batch.append(item)
            if len(batch) == args.batch_size:
                runner.run(batch)
                done += 1
                batch = []
                mark(f"batch {done} of {args.batch_size} parts built")
                if done >= args.batches:
                    break
        if args.tracemalloc:
            snapshot = tracemalloc.take_snapshot()
            for stat in snapshot.statistics("lineno")[:12]:
                print("   ", stat)
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "refuse", "breakdown"):
        p = sub.add_parser(name)
        p.add_argument("--size-mb", type=float, default=1024 if name == "refuse" else 50)
        p.add_argument("--model", default="default")
        p.add_argument("--tmp", default=None, help="Where to write the file and the graphs (default: the system's)")
        if name == "run":
            p.add_argument("--seconds", type=float, default=600)
            p.add_argument("settings", nargs="*", help='kgbuild build options to compare, one string each ("" = defaults)')
        elif name == "refuse":
            p.add_argument("--seconds", type=float, default=300)
        else:
            p.add_argument("--batches", type=int, default=6)
            p.add_argument("--batch-size", type=int, default=16)
            p.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    {"run": cmd_run, "refuse": cmd_refuse, "breakdown": cmd_breakdown}[args.command](args)


if __name__ == "__main__":
    main()
