"""Render :class:`ReportData` as one self-contained HTML page (vis-network inlined, nothing fetched)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape

from kgbuild.errors import KgbuildError
from kgbuild.report.collect import ReportData

# Tableau 10: distinguishable, colour-blind-aware; entity types take them in order of size.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
VIS_VERSION = "vis-9.1.2"  # the vis-network build bundled inside the pyvis package
LABEL_LIMIT = 30  # relation labels on the graph view are on by default up to this many edges (they clutter beyond)


@lru_cache(maxsize=1)
def vis_assets() -> tuple[str, str]:
    """vis-network's JS and CSS as shipped by pyvis, read locally so the page works offline."""
    try:
        lib = resources.files("pyvis") / "lib" / VIS_VERSION
        return (lib / "vis-network.min.js").read_text(encoding="utf-8"), (lib / "vis-network.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise KgbuildError(f"the report needs vis-network from the pyvis package ({exc}); run: pip install pyvis") from None


def colours_for(types: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(types)}


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: no '</' can close it early."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def render(data: ReportData, generated: datetime | None = None) -> str:
    """The page as a string."""
    colours = colours_for(sorted(name for name, _ in data.entity_types))  # same type, same colour in every report
    graph = {
        "nodes": [
            {
                "id": n.id,
                "label": n.name,
                "title": f"{n.name} ({n.type}): {n.degree} facts, {n.mentions} mentions",
                "degree": n.degree,
                "colour": colours.get(n.type, "#9aa5b1"),
            }
            for n in data.view_nodes
        ],
        "edges": [{"source": e.source, "target": e.target, "type": e.type} for e in data.view_edges],
        "label_limit": LABEL_LIMIT,
    }
    js, css = vis_assets()
    env = Environment(loader=PackageLoader("kgbuild.report", "templates"), autoescape=select_autoescape(["j2", "html"]))
    template = env.get_template("report.html.j2")
    stamp = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    return template.render(
        data=data, colours=colours, graph_json=_script_json(graph), vis_js=js, vis_css=css,
        generated=stamp,
    )
