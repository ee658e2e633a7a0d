"""``kgbuild report``: one self-contained HTML page describing a built graph."""

from __future__ import annotations

from pathlib import Path

from kgbuild.report.collect import Queryable, ReportData, collect
from kgbuild.report.render import render

__all__ = ["ReportData", "collect", "render", "write_report"]


def write_report(graph: Queryable, graph_name: str, out: str | Path, top: int = 20, view_nodes: int = 60,
                 max_facts: int = 500) -> ReportData:
    """Collect the report's figures from ``graph`` and write the page to ``out``; returns what it showed."""
    data = collect(graph, graph_name, top=top, view_nodes=view_nodes, max_facts=max_facts)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(render(data), encoding="utf-8")
    tmp.replace(out)  # never leave a half-written page behind
    return data
