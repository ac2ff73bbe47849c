"""The benchmark command runs and reports its figures (no timing is asserted)."""

from __future__ import annotations

import json

from mvprepro.cli import main


def test_bench_smoke(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "all", "--size", "tiny", "--steps", "1", "--queries", "8", "--examples", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    train, attack = figures["train"], figures["attack"]
    assert set(train["ratios"]) == {"mvp_per_template_sequence_vs_mlp_ft_per_sequence", "mvp_speedup_vs_naive"}
    assert train["naive_mvp"]["padded_length"] == 512
    assert attack["stock_mlp_ft"]["padded_length"] == 512
    assert 0 < attack["attack_textfooler_mvp"]["forward_share"] <= 1
