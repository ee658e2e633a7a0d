"""benchmarks/fusion_scale.py runs end to end on a small size, beside the exhaustive resolver."""

from __future__ import annotations

import importlib.util
import sys

from kgbuild.resources import REPO_ROOT


def test_scale_benchmark_runs_and_blocking_loses_little(capsys) -> None:
    spec = importlib.util.spec_from_file_location("fusion_scale", REPO_ROOT / "benchmarks" / "fusion_scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fusion_scale"] = module
    spec.loader.exec_module(module)
    (row,) = module.main(["--sizes", "3000", "--baseline-max", "3000"])
    printed = capsys.readouterr().out
    assert "exhaustive" in printed and "kgbuild" in printed
    ours, exact = row["kgbuild"], row["exhaustive"]
    assert row["mentions"] >= 3000
    assert ours["candidates"] < exact["candidates"] / 3
    assert ours["pairwise_f1"] > 0.9
    assert ours["pairwise_f1"] >= exact["pairwise_f1"] - 0.02
