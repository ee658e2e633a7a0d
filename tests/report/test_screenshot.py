"""The report page renders in headless Chromium (Debian's ``chromium``): a screenshot with a drawn graph view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kgbuild.report import ReportData
from kgbuild.report.render import render
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from tests.datafiles import dataset
from tests.report.chromium import GRAPH_VIEW, saturated_pixels, screenshot
from tests.report.gold import gold_report_data

DEV = dataset("re-docred/dev_100.json")


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReportData]:
    data = gold_report_data(DEV, load_schema(REPO_ROOT / "schemas" / "default.yaml"), count=10)
    page = tmp_path_factory.mktemp("page") / "report.html"
    page.write_text(render(data), encoding="utf-8")
    return page, data


def test_report_renders_with_a_drawn_graph(report_page: tuple[Path, ReportData], tmp_path: Path) -> None:
    page, data = report_page
    assert len(data.view_nodes) == 60 and data.view_edges
    image = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    assert image.size == (1280, 900)
    assert len(np.unique(np.asarray(image).reshape(-1, 3), axis=0)) > 500, "the page looks blank"
    assert saturated_pixels(image, GRAPH_VIEW) > 2000, "no coloured entity nodes in the graph view"


def test_graph_view_is_drawn_by_script(report_page: tuple[Path, ReportData], tmp_path: Path) -> None:
    """Control: the same page with scripts disabled has an empty graph canvas, so the check above measures vis-network."""
    page, _ = report_page
    static = tmp_path / "static.html"
    static.write_text(page.read_text(encoding="utf-8").replace("<script>", '<script type="text/plain">'), encoding="utf-8")
    image = screenshot(static, tmp_path / "static.png", tmp_path / "profile")
    assert saturated_pixels(image, GRAPH_VIEW) < 200
