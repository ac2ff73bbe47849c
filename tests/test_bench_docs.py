"""Benchmark figures in the documents come from the recorded JSON, never by hand."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from mvprepro.bench_docs import render

REPO = Path(__file__).resolve().parents[1]
FIGURES = sorted((REPO / "benchmarks").glob("*.json"))


def test_documents_match_the_recorded_figures():
    assert FIGURES, "benchmarks/cpu.json is missing: run `mvprepro bench all --json benchmarks/cpu.json`"
    stale = render(FIGURES, REPO / "BENCHMARKS.md", REPO / "README.md", check=True)
    assert not stale, f"{stale} differ from {FIGURES}: run `mvprepro bench docs benchmarks/*.json`"


def test_new_figures_rewrite_the_documents(tmp_path):
    figures = json.loads((REPO / "benchmarks" / "cpu.json").read_text())
    changed = copy.deepcopy(figures)
    changed["attack"]["ratios"]["ours_vs_stock_mlp_ft"] = 3.25  # below the 10x target
    (tmp_path / "cpu.json").write_text(json.dumps(changed))
    for name in ("BENCHMARKS.md", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    assert render([tmp_path / "cpu.json"], tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == [
        str(tmp_path / "BENCHMARKS.md"),
        str(tmp_path / "README.md"),
    ]
    bench = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| attack throughput at least 10x the stock wrapper | 3.2x | **not met** |" in bench
    assert "answers 3.2x more queries per second" in (tmp_path / "README.md").read_text()
    # Rendering is idempotent: a second run changes nothing.
    assert render([tmp_path / "cpu.json"], tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == []
