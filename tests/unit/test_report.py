"""Tables, comparisons, published numbers, plots and example pages, on hand-made numbers."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy import stats

from mvprepro.aggregate import costs
from mvprepro.aggregate import aggregate
from mvprepro.plan import readers
from mvprepro.report import adversarial_examples as examples
from mvprepro.report import compare, plots, published, training_curves


def _long(values: dict[tuple[str, str, str, int], float], attack_values=None) -> pd.DataFrame:
    """A runs.csv-like frame: clean accuracy per (dataset, method, metric?, seed)."""
    rows = []
    for (dataset, method, metric, seed), value in values.items():
        attack = "" if metric == "clean_accuracy" else metric.split(":")[1]
        name = "clean_accuracy" if metric == "clean_accuracy" else metric.split(":")[0]
        rows.append({"dataset": dataset, "backbone": "bb", "method": method, "seed": seed, "metric": name, "attack": attack, "value": value, "num_examples": 100})
    return pd.DataFrame(rows)


@pytest.fixture
def long() -> pd.DataFrame:
    values = {}
    numbers = {
        # dataset, method: (clean per seed, textfooler robust per seed, textbugger robust per seed)
        ("sst2", "mlp_ft"): ([90, 91, 92], [30, 35, 40], [50, 52, 54]),
        ("sst2", "mvp"): ([91, 92, 92], [40, 38, 50], [60, 55, 56]),
        ("boolq", "mlp_ft"): ([80, 79, 81], [28, 26, 30], [40, 41, 42]),
        ("boolq", "mvp"): ([82, 83, 81], [42, 40, 44], [40, 48, 50]),
    }
    for (dataset, method), (clean, tf, tb) in numbers.items():
        for seed in range(3):
            values[(dataset, method, "clean_accuracy", seed)] = clean[seed]
            values[(dataset, method, "robust_accuracy:textfooler", seed)] = tf[seed]
            values[(dataset, method, "robust_accuracy:textbugger", seed)] = tb[seed]
    return _long(values)


def test_summary_marks_the_best_robust_accuracy_per_dataset(long):
    table = aggregate.summarise(long, ["sst2", "boolq"], ["mlp_ft", "mvp"], ["textfooler", "textbugger"])
    assert list(zip(table.dataset, table.method)) == [("sst2", "mlp_ft"), ("sst2", "mvp"), ("boolq", "mlp_ft"), ("boolq", "mvp")]
    row = table.set_index(["dataset", "method"]).loc[("sst2", "mvp")]
    assert row.textfooler_robust_mean == pytest.approx(128 / 3)
    assert row.textfooler_robust_std == pytest.approx(pd.Series([40, 38, 50]).std(ddof=1))
    assert table.textfooler_best.tolist() == [False, True, False, True]
    # boolq textbugger: mlp_ft 41.0, mvp 46.0 -> only mvp
    assert table.textbugger_best.tolist() == [False, True, False, True]
    md = aggregate.markdown(table, ["textfooler", "textbugger"])
    assert "| sst2 | bb | mvp | 3 | 91.7 ± 0.6 | **42.7 ± 6.4** | **57.0 ± 2.6** |" in md
    tex = aggregate.latex(table, ["textfooler", "textbugger"])
    assert r"mlp\_ft" in tex and r"\textbf{42.7 $\pm$ 6.4}" in tex and r"\toprule" in tex
    page = aggregate.html_page(table, ["textfooler", "textbugger"])
    assert "<td class='best'>42.7 ± 6.4</td>" in page


def test_ties_are_all_marked():
    values = {("sst2", m, "robust_accuracy:textfooler", 0): 50.0 for m in ("a", "b")}
    values.update({("sst2", m, "clean_accuracy", 0): 90.0 for m in ("a", "b")})
    table = aggregate.summarise(_long(values), ["sst2"], ["a", "b"], ["textfooler"])
    assert table.textfooler_best.all()
    # One seed: no standard deviation, the mean alone.
    assert "| sst2 | bb | a | 1 | 90.0 | **50.0** |" in aggregate.markdown(table, ["textfooler"])


def test_paired_differences_are_per_seed(long):
    diffs = compare.paired_differences(long, [("mvp", "mlp_ft")], ["sst2", "boolq"], ["textfooler", "textbugger"])
    row = diffs[(diffs.dataset == "sst2") & (diffs.attack == "textfooler")].iloc[0]
    per_seed = pd.Series([40 - 30, 38 - 35, 50 - 40], dtype=float)
    assert row.diff_mean == pytest.approx(per_seed.mean())
    assert row.diff_std == pytest.approx(per_seed.std(ddof=1))
    half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / math.sqrt(3)
    assert (row.diff_ci95_low, row.diff_ci95_high) == pytest.approx((per_seed.mean() - half, per_seed.mean() + half))
    assert row.seeds_favouring_method == 3 and row.num_seeds == 3
    assert (row.method_mean, row.baseline_mean) == pytest.approx((128 / 3, 35.0))
    # The average over datasets is taken seed by seed, then summarised.
    avg = diffs[(diffs.dataset == "average") & (diffs.attack == "textfooler")].iloc[0]
    boolq = pd.Series([42 - 28, 40 - 26, 44 - 30], dtype=float)
    assert avg.diff_mean == pytest.approx(((per_seed + boolq) / 2).mean())
    assert avg.diff_std == pytest.approx(((per_seed + boolq) / 2).std(ddof=1))
    # Over datasets and attacks.
    overall = diffs[diffs.attack == "all"].iloc[0]
    tb = (pd.Series([10, 3, 2], dtype=float) + pd.Series([0, 7, 8], dtype=float)) / 2
    assert overall.diff_mean == pytest.approx((((per_seed + boolq) / 2 + tb) / 2).mean())
    clean = diffs[(diffs.metric == "clean_accuracy") & (diffs.dataset == "boolq")].iloc[0]
    assert clean.diff_mean == pytest.approx(2.0) and clean.seeds_favouring_method == 2


def test_unpaired_seeds_are_left_out(long):
    partial = long[~((long.method == "mvp") & (long.seed == 2))]
    diffs = compare.paired_differences(partial, [("mvp", "mlp_ft")], ["sst2", "boolq"], ["textfooler"])
    assert set(diffs.num_seeds) == {2}


def test_comparison_pairs_default_to_the_papers_and_reject_unknown_methods():
    assert readers.comparison_pairs({}, ["mlp_ft", "mvp"]) == [("mvp", "mlp_ft")]
    assert readers.comparison_pairs({}, ["mlp_ft", "mvp", "mlp_ft_adv", "mvp_adv"]) == list(readers.PAPER_COMPARISONS)
    assert readers.comparison_pairs({"comparisons": [{"method": "a", "baseline": "b"}]}, ["a", "b"]) == [("a", "b")]
    with pytest.raises(ValueError, match=r"report.comparisons\[0\].baseline is 'zzz'"):
        readers.comparison_pairs({"comparisons": [{"method": "a", "baseline": "zzz"}]}, ["a", "b"])



def _comparison_md(tmp_path, diffs_by_dataset: dict[str, list[float]]) -> tuple[str, str]:
    """comparisons.md and .html for mvp - mlp_ft with the given per-seed robust differences
    (clean accuracy equal, so its difference is exactly zero)."""
    values = {}
    for dataset, diffs in diffs_by_dataset.items():
        for seed, diff in enumerate(diffs):
            values[(dataset, "mlp_ft", "clean_accuracy", seed)] = 80.0
            values[(dataset, "mvp", "clean_accuracy", seed)] = 80.0
            values[(dataset, "mlp_ft", "robust_accuracy:textfooler", seed)] = 30.0
            values[(dataset, "mvp", "robust_accuracy:textfooler", seed)] = 30.0 + diff
    runs = tmp_path / "runs.csv"
    _long(values).to_csv(runs, index=False)
    out = {k: tmp_path / f"{k}.out" for k in ("comparisons_csv", "comparisons_md", "comparisons_html", "published_csv", "published_md", "published_html")}
    spec = {"comparisons": [["mvp", "mlp_ft"]], "datasets": list(diffs_by_dataset), "attacks": ["textfooler"]}
    compare.compare(spec, runs, **out)
    return out["comparisons_md"].read_text(), out["comparisons_html"].read_text()


def test_a_difference_whose_interval_contains_zero_is_not_bold(tmp_path):
    # Per-seed differences 5, -3, 2: mean +1.3, 95% interval about [-8.7, +11.4].
    md, page = _comparison_md(tmp_path, {"sst2": [5.0, -3.0, 2.0]})
    row = next(line for line in md.splitlines() if "| sst2 | robust (textfooler) |" in line)
    assert "| +1.3 ± 4.0 | [-8.7, +11.4] |" in row and "**" not in row
    assert "<td>+1.3 ± 4.0</td>" in page and "class='best'>+1.3" not in page
    # A difference of exactly zero (the clean accuracies), interval [0, 0], is not bold either.
    clean = next(line for line in md.splitlines() if "| sst2 | clean |" in line)
    assert "**" not in clean
    assert "only where its interval excludes zero" in md


def test_a_difference_whose_interval_excludes_zero_is_bold(tmp_path):
    # 10, 11, 12: interval about [+8.5, +13.5]; -10, -11, -12 the same below zero.
    md, page = _comparison_md(tmp_path, {"sst2": [10.0, 11.0, 12.0], "boolq": [-10.0, -11.0, -12.0]})
    assert "| **+11.0 ± 1.0** | [+8.5, +13.5] |" in md
    assert "| **-11.0 ± 1.0** | [-13.5, -8.5] |" in md
    assert "<td class='best'>+11.0 ± 1.0</td>" in page
    # One seed: no interval, so no bold however large the difference.
    md, _ = _comparison_md(tmp_path, {"sst2": [25.0]})
    row = next(line for line in md.splitlines() if "| sst2 | robust (textfooler) |" in line)
    assert "| +25.0 |  |" in row and "**" not in row


def test_excludes_zero_is_strict():
    assert compare.excludes_zero(0.1, 2.0) and compare.excludes_zero(-2.0, -0.1)
    assert not compare.excludes_zero(0.0, 2.0) and not compare.excludes_zero(-2.0, 0.0)
    assert not compare.excludes_zero(-1.0, 1.0) and not compare.excludes_zero(float("nan"), float("nan"))


HEADER = "dataset,backbone,method,metric,attack,value,source\n"


@pytest.mark.parametrize(
    "body,message",
    [
        ("sst2,bb,mvp,accuracy,,80,paper\n", "metric 'accuracy' is not one of"),
        ("sst2,bb,mvp,clean_accuracy,textfooler,80,paper\n", "clean_accuracy takes no attack"),
        ("sst2,bb,mvp,robust_accuracy,,80,paper\n", "needs an attack"),
        ("sst2,bb,mvp,clean_accuracy,,eighty,paper\n", "'eighty' is not a number"),
        ("sst2,bb,mvp,clean_accuracy,,0.8,\n", "needs its source"),
        ("sst2,bb,mvp,clean_accuracy,,180,paper\n", "not a percentage"),
        ("sst2,bb,mvp,clean_accuracy,,80,paper\nsst2,bb,mvp,clean_accuracy,,81,paper\n", "given twice"),
    ],
)
def test_published_csv_errors_name_the_row_and_fix(tmp_path, body, message):
    path = tmp_path / "published.csv"
    path.write_text(HEADER + body)
    with pytest.raises(published.PublishedError, match=message):
        published.load_published(path)


def test_published_csv_needs_its_header(tmp_path):
    path = tmp_path / "published.csv"
    path.write_text("dataset,method,value\nsst2,mvp,80\n")
    with pytest.raises(published.PublishedError, match="missing columns"):
        published.load_published(path)


def test_ours_beside_published(tmp_path, long):
    path = tmp_path / "published.csv"
    path.write_text(
        "# comments are allowed\n" + HEADER
        + "sst2,bb,mvp,robust_accuracy,textfooler,45,Table 1\n"
        + "boolq,bb,mvp,robust_accuracy,unspecified,42,README figure\n"
        + "boolq,bb,mvp,clean_accuracy,,82,README figure\n"
        + "ag_news,bb,mvp,clean_accuracy,,90,Table 1\n"
    )
    table = compare.beside_published(long, published.load_published(path), ["sst2", "boolq"])
    cell = table[(table.dataset == "sst2") & (table.method == "mvp") & (table.attack == "textfooler")].iloc[0]
    assert cell.published == 45 and cell.difference == pytest.approx(128 / 3 - 45) and cell.num_seeds == 3
    # Only a named attack matches its own cell.
    other = table[(table.dataset == "sst2") & (table.method == "mvp") & (table.attack == "textbugger")].iloc[0]
    assert pd.isna(other.published) and pd.isna(other.difference)
    # An unnamed attack is set beside each of ours and keeps its caveat.
    loose = table[(table.dataset == "boolq") & (table.method == "mvp") & (table.metric == "robust_accuracy")]
    assert set(loose.attack) == {"textfooler", "textbugger"}
    assert (loose.published == 42).all() and (loose.published_attack == "unspecified").all()
    assert table[(table.dataset == "boolq") & (table.method == "mvp") & (table.metric == "clean_accuracy")].iloc[0].difference == pytest.approx(0.0)
    # No published value is invented for mlp_ft; a published cell without a run of ours is kept.
    assert table[table.method == "mlp_ft"].published.isna().all()
    orphan = table[table.dataset == "ag_news"].iloc[0]
    assert orphan.published == 90 and pd.isna(orphan.ours_mean)
    assert list(dict.fromkeys(table.dataset)) == ["sst2", "boolq", "ag_news"]
    _, rows = compare._published_cells(table)
    assert any("textfooler (published: attack not named)" == cells[4][0] for cells in rows)


def test_compare_writes_every_table(tmp_path, long):
    runs = tmp_path / "runs.csv"
    long.to_csv(runs, index=False)
    out = {k: tmp_path / f"{k}.out" for k in ("comparisons_csv", "comparisons_md", "comparisons_html", "published_csv", "published_md", "published_html")}
    spec = {"comparisons": [["mvp", "mlp_ft"]], "datasets": ["sst2", "boolq"], "attacks": ["textfooler", "textbugger"]}
    compare.compare(spec, runs, **out)
    diffs = pd.read_csv(out["comparisons_csv"])
    assert len(diffs) == 2 * 3 + 3 + 1  # (2 datasets + average) x (clean + 2 attacks) + all
    assert "| mvp - mlp_ft | bb | **average** | robust (textfooler) | 3 |" in out["comparisons_md"].read_text()
    published = pd.read_csv(out["published_csv"])
    assert published.published.isna().all() and len(published) == 2 * 2 * 3
    # The published numbers come as a file argument, never through the spec.
    numbers = tmp_path / "published.csv"
    numbers.write_text(HEADER + "sst2,bb,mvp,robust_accuracy,textfooler,45,Table 1\n")
    compare.compare(spec, runs, **out, published=numbers)
    published = pd.read_csv(out["published_csv"])
    cell = published[(published.dataset == "sst2") & (published.method == "mvp") & (published.attack == "textfooler")].iloc[0]
    assert cell.published == 45 and cell.difference == pytest.approx(128 / 3 - 45, abs=1e-4)  # 4 decimals in the CSV
    assert published.published.notna().sum() == 1
    assert "Table 1" in out["published_md"].read_text()


def test_highlight_marks_changed_words_and_escapes_html():
    out = examples.highlight("the film was <b>great</b> fun", "the movie was <b>great</b> fun")
    assert out == "the <del>film</del> <ins>movie</ins> was &lt;b&gt;great&lt;/b&gt; fun"
    assert examples.highlight("a b c", "a b c") == "a b c"
    assert examples.highlight("a b c", "a c") == "a <del>b</del> c"


def test_examples_page(tmp_path):
    def record(position, result, original, perturbed=None):
        return {
            "position": position, "label": 1, "result": result, "original_text": {"sentence": original},
            "perturbed_text": {"sentence": perturbed} if perturbed else None, "original_output": 1,
            "perturbed_output": 0 if result == "successful" else 1, "num_queries": 7, "num_words": 3,
            "words_perturbed": 1 if perturbed else 0,
        }

    runs, records = [], []
    for seed in (0, 1):
        run = {"dataset": "sst2", "backbone": "bb", "method": "mvp", "seed": seed}
        runs.append(run)
        # Run-major, one records file per attack of the spec.
        tf = tmp_path / f"seed{seed}-textfooler.jsonl"
        rows = [record(0, "failed", "a fine film"), record(1, "successful", "a good film", "a decent film"), record(2, "skipped", "a bad film")]
        tf.write_text("".join(json.dumps(r) + "\n" for r in rows))
        tb = tmp_path / f"seed{seed}-textbugger.jsonl"
        tb.write_text(json.dumps(record(0, "failed", "a fine film")) + "\n")
        records += [str(tf), str(tb)]
    out = tmp_path / "sst2.html"
    spec = {"dataset": "sst2", "task": "sst2", "methods": ["mvp"], "attacks": ["textfooler", "textbugger"], "per_method": 1, "runs": runs}
    examples.adversarial_examples(spec, records, out)
    page = out.read_text()
    assert "textfooler: 2 successful of 4 attacked examples over 2 seed(s)" in page
    assert "textbugger: 0 successful of 2 attacked examples over 2 seed(s)" in page
    assert page.count("class='example'") == 1  # per_method caps the sample
    assert "a <del>good</del> <ins>decent</ins> film" in page
    assert "gold <b>positive</b>, predicted positive &rarr; <b>negative</b>" in page
    # One file per run and attack, or an error: never a silent misalignment.
    with pytest.raises(ValueError, match="3 records files for 2 runs x 2"):
        examples.adversarial_examples(spec, records[:3], out)


def test_plots_are_pngs_and_reproducible(tmp_path, long):
    extra = long[long.metric == "robust_accuracy"].assign(metric="attack_success_rate", value=lambda d: 100 - d.value)
    words = long[long.metric == "robust_accuracy"].assign(metric="mean_words_perturbed_pct", value=5.0)
    runs = tmp_path / "runs.csv"
    pd.concat([long, extra, words]).to_csv(runs, index=False)
    spec = {"datasets": ["sst2", "boolq"], "methods": ["mlp_ft", "mvp"], "attacks": ["textfooler", "textbugger"]}
    first = {"accuracy": tmp_path / "a1.png", "success": tmp_path / "s1.png"}
    second = {"accuracy": tmp_path / "a2.png", "success": tmp_path / "s2.png"}
    plots.plots(spec, runs, **first)
    plots.plots(spec, runs, **second)
    for key, path in first.items():
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert data == second[key].read_bytes()


def test_training_curves(tmp_path):
    runs, metrics = [], []
    for method in ("mlp_ft", "mvp"):
        for seed in (0, 1):
            path = tmp_path / f"{method}-{seed}.json"
            history = [{"epoch": e, "step": 10 * e, "loss": 1 / e, "val_accuracy": 50 + 10 * e + seed} for e in (1, 2, 3)]
            path.write_text(json.dumps({"history": history}))
            runs.append({"dataset": "sst2", "backbone": "bb", "method": method, "seed": seed})
            metrics.append(str(path))
    spec = {"dataset": "sst2", "methods": ["mlp_ft", "mvp"], "runs": runs}
    out = tmp_path / "curves.png"
    training_curves.training_curves(spec, metrics, out)
    data = out.read_bytes()
    assert data[:4] == b"\x89PNG"
    training_curves.training_curves(spec, metrics, tmp_path / "again.png")
    assert (tmp_path / "again.png").read_bytes() == data
    with pytest.raises(ValueError, match="3 metrics files for 4 runs"):
        training_curves.training_curves(spec, metrics[:3], out)


def test_training_curves_leave_a_gap_for_warm_up_evaluations(tmp_path, monkeypatch):
    """A +adv run's warm-up evaluations have no selection accuracy (None in metrics.json),
    and its curve, the PGD-perturbed accuracy it selects on, is titled as such."""
    history = [{"epoch": 1, "step": 10, "loss": 0.7, "val_accuracy": None, "val_accuracy_clean": 60.0, "warmup": True}]
    history += [{"epoch": e, "step": 10 * e, "loss": 1 / e, "val_accuracy": 40.0 + e} for e in (2, 3)]
    runs, metrics = [], []
    for method, selected_on in (("mvp", "clean"), ("mvp_adv", "perturbed")):
        path = tmp_path / f"{method}.json"
        path.write_text(json.dumps({"history": history, "selected_on": selected_on}))
        runs.append({"dataset": "sst2", "backbone": "bb", "method": method, "seed": 0})
        metrics.append(str(path))
    figures = []
    monkeypatch.setattr(training_curves, "save_figure", lambda fig, path: figures.append(fig))
    training_curves.training_curves({"dataset": "sst2", "methods": ["mvp", "mvp_adv"], "runs": runs}, metrics, tmp_path / "curves.png")
    top = figures[0].axes[:2]
    assert [ax.get_title() for ax in top] == ["mvp", "mvp_adv (PGD-perturbed)"]
    ys = top[1].get_lines()[0].get_ydata()
    assert math.isnan(ys[0]) and list(ys[1:]) == [42.0, 43.0]


def _clean_and_summaries(tmp_path, numbers):
    """clean.json and attack summaries of hand-made runs, as the evaluate and merge jobs write them."""
    runs, clean, summaries = [], [], []
    for (dataset, method, seed), (acc, robust) in numbers.items():
        runs.append({"dataset": dataset, "backbone": "bb", "method": method, "seed": seed})
        path = tmp_path / f"{dataset}-{method}-{seed}-clean.json"
        path.write_text(json.dumps({"accuracy": acc, "correct": int(acc), "num_examples": 100}))
        clean.append(str(path))
        for attack, value in robust.items():
            path = tmp_path / f"{dataset}-{method}-{seed}-{attack}.json"
            summary = {"robust_accuracy": value, "clean_accuracy": acc, "attack_success_rate": 100 * (1 - value / acc),
                       "mean_words_perturbed_pct": 5.0, "mean_queries": 30.0, "num_examples": 50}
            path.write_text(json.dumps(summary))
            summaries.append(str(path))
    return runs, clean, summaries


def test_aggregate_reads_the_files_in_the_specs_order(tmp_path):
    numbers = {
        ("sst2", "mlp_ft", 0): (90.0, {"textfooler": 30.0, "textbugger": 50.0}),
        ("sst2", "mlp_ft", 1): (92.0, {"textfooler": 40.0, "textbugger": 54.0}),
        ("sst2", "mvp", 0): (91.0, {"textfooler": 40.0, "textbugger": 60.0}),
        ("sst2", "mvp", 1): (93.0, {"textfooler": 50.0, "textbugger": 56.0}),
    }
    runs, clean, summaries = _clean_and_summaries(tmp_path, numbers)
    spec = {"runs": runs, "datasets": ["sst2"], "methods": ["mlp_ft", "mvp"], "attacks": ["textfooler", "textbugger"]}
    out = {k: tmp_path / f"main.{k}" for k in ("runs", "csv", "md", "tex", "html")}
    aggregate.aggregate(spec, clean, summaries, **out)
    long = pd.read_csv(out["runs"], keep_default_na=False)
    cell = long[(long.method == "mvp") & (long.seed == 1) & (long.metric == "robust_accuracy") & (long.attack == "textbugger")]
    assert cell.value.tolist() == [56.0]
    assert long[(long.method == "mlp_ft") & (long.seed == 0) & (long.metric == "clean_accuracy")].value.tolist() == [90.0]
    # The attack summary's accuracy on the attacked subset is kept apart from the clean accuracy.
    assert "attacked_clean_accuracy" in set(long.metric)
    table = pd.read_csv(out["csv"])
    assert table.method.tolist() == ["mlp_ft", "mvp"]
    assert table.textfooler_robust_mean.tolist() == [35.0, 45.0] and table.textbugger_robust_mean.tolist() == [52.0, 58.0]
    assert table.textfooler_best.tolist() == [False, True]
    assert "| sst2 | bb | mvp | 2 | 92.0 ± 1.4 | **45.0 ± 7.1** | **58.0 ± 2.8** |" in out["md"].read_text()
    assert r"\textbf{45.0 $\pm$ 7.1}" in out["tex"].read_text()
    assert "<td class='best'>45.0 ± 7.1</td>" in out["html"].read_text()
    with pytest.raises(ValueError, match="7 attacks files for 4 runs x 2"):
        aggregate.aggregate(spec, clean, summaries[:7], **out)
    with pytest.raises(ValueError, match="3 clean files for 4 runs x 1"):
        aggregate.aggregate(spec, clean[:3], summaries, **out)


def test_cost_table_pairs_jobs_with_their_benchmarks(tmp_path):
    jobs = [
        {"rule": "train", "dataset": "sst2", "backbone": "bb", "method": "mvp", "seed": 0, "attack": "", "shard": ""},
        {"rule": "attack", "dataset": "sst2", "backbone": "bb", "method": "mvp", "seed": 0, "attack": "textfooler", "shard": 0},
    ]
    files = []
    for i, seconds in enumerate((120.5, 33.25)):
        path = tmp_path / f"bench-{i}.tsv"
        path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t{1000 + i}\n")
        files.append(str(path))
    out = tmp_path / "costs.csv"
    costs.costs({"jobs": jobs}, files, out)
    table = pd.read_csv(out, keep_default_na=False)
    assert table.rule.tolist() == ["train", "attack"]
    assert table.seconds.tolist() == [120.5, 33.25] and table.max_rss_mb.tolist() == [1000.0, 1001.0]
    assert "benchmark" not in table.columns
    with pytest.raises(ValueError, match="1 benchmark files for 2 jobs"):
        costs.costs({"jobs": jobs}, files[:1], out)
