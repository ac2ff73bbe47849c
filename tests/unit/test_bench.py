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


def test_bench_cpu_paths_smoke(tmp_path):
    """Every CPU path gets a row: figures, or why it did not run (a missing package, an error)."""
    from mvprepro.tools.bench import CPU_PATHS

    out = tmp_path / "cpu_paths.json"
    assert main(["bench", "cpu", "--size", "tiny", "--device", "cpu", "--steps", "1", "--queries", "4", "--batch-size", "4", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["cpu_paths"]
    for kind in ("mlp_ft", "mvp"):
        rows = figures[kind]
        assert list(rows) == list(CPU_PATHS)
        for path, row in rows.items():
            if "skipped" in row or "error" in row:
                assert path not in ("fp32_eager", "fp32_eager_2threads", "bf16_autocast"), row  # plain torch: these always run
                continue
            assert row["seconds_per_batch"] > 0 and row["queries_per_second"] > 0 and 0 <= row["prediction_agreement"] <= 1, (path, row)
        assert rows["fp32_eager"]["ratio_vs_fp32_eager"] == 1.0
        assert rows["fp32_eager"]["max_abs_logit_diff"] == 0.0
        # The same arithmetic on two threads, up to the order of the reductions.
        assert rows["fp32_eager_2threads"]["threads"] == 2
        assert rows["fp32_eager_2threads"]["prediction_agreement"] >= 0.99
        assert rows["bf16_autocast"]["native"] == figures["bf16_native"]
    train = figures["train_mlp_ft"]
    assert train["ratio_bf16_vs_fp32"] > 0 and train["fp32"]["seconds_per_step"] > 0
