"""The Snakemake workflow itself: the paper's grid plans offline; the demo runs end to end."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import checkout, snakemake
from interrupt import run_then_stop

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.workflow


def _planned(result: subprocess.CompletedProcess) -> dict[str, int]:
    counts = {}
    for line in result.stdout.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m:
            counts[m.group(1)] = int(m.group(2))
    return counts


def test_paper_grid_plans_offline(tmp_path):
    repo = checkout(tmp_path / "repo")
    result = snakemake(repo, "-n", "--cores", "1", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    plan = _planned(result)
    assert plan["train"] == 63  # 3 datasets x 7 methods x 3 seeds
    assert plan["evaluate"] == 63
    assert plan["merge_attack"] == 126  # x 2 attacks
    assert plan["attack"] == 126  # one shard each
    assert plan["download_dataset"] == 3 and plan["download_backbone"] == 1


@pytest.mark.parametrize(
    "configfile,trains",
    [
        ("config/ablations.yaml", 72),
        ("config/backbones.yaml", 36),
        ("config/ood.yaml", 18),
        ("config/ag_news_inline.yaml", 21),
        ("config/own_dataset.yaml", 4),
    ],
)
def test_other_shipped_configs_plan_offline(tmp_path, configfile, trains):
    repo = checkout(tmp_path / "repo")
    result = snakemake(repo, "-n", "--cores", "1", "--quiet", "rules", "--configfile", configfile)
    assert result.returncode == 0, result.stderr
    assert _planned(result)["train"] == trains


def test_bad_config_fails_before_any_job(tmp_path):
    repo = checkout(tmp_path / "repo")
    path = _edited_config(repo, lambda c: c["attacks"]["textfooler"].update(shards=5000))
    result = snakemake(repo, "-n", "--cores", "1", "--configfile", path)
    assert result.returncode != 0
    assert "attacks.textfooler.shards (5000) is larger than num_examples (1000)" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    repo = checkout(tmp_path_factory.mktemp("demo") / "repo")
    result = snakemake(repo, "--cores", "2", "--configfile", "config/demo.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo


DEMO_METHODS = ("mlp_ft", "mvp", "mlp_ft_adv", "mvp_adv")


def test_demo_table_has_every_dataset_and_method(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "main.csv")
    assert sorted(zip(table.dataset, table.method)) == sorted(
        (d, m) for d in ("sst2", "ag_news", "boolq") for m in DEMO_METHODS
    )
    # A collapsed model (one class for >= 95% of the test examples) is counted from the
    # per-run files and marked in the table. In the demo every model learns, the
    # adversarially trained ones included (after their clean warm-up), so nothing is marked
    # and every method is well above chance on every dataset.
    for (dataset, method), row in table.set_index(["dataset", "method"]).iterrows():
        flags = _per_run(demo_run, dataset, method, "clean", "degenerate")
        assert row.degenerate_seeds == sum(flags.values()), (dataset, method)
    assert (table.degenerate_seeds == 0).all(), table[table.degenerate_seeds > 0][["dataset", "method"]]
    chance = {"sst2": 50.0, "ag_news": 25.0, "boolq": 50.0}
    assert (table.clean_mean > table.dataset.map(chance) + 20).all(), table[["dataset", "method", "clean_mean"]]
    assert (table.num_seeds == 2).all()
    for col in ("clean_mean", "textfooler_robust_mean", "textbugger_robust_mean"):
        assert table[col].between(0, 100).all(), col
    # The demo attacks the whole test split, so robust accuracy can never exceed clean.
    assert (table.textfooler_robust_mean <= table.clean_mean + 1e-9).all()
    assert (table.textbugger_robust_mean <= table.clean_mean + 1e-9).all()
    md = (demo_run / "results" / "tables" / "main.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Dataset")]
    assert len(rows) == 12 and all("±" in r for r in rows)
    marked = {(r.split(" | ")[0][2:], r.split(" | ")[2].split()[0]) for r in rows if "†" in r.split(" | ")[2]}
    assert marked == set(zip(*[table[table.degenerate_seeds > 0][k] for k in ("dataset", "method")]))


def test_demo_table_matches_per_run_files(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "main.csv").set_index(["dataset", "method"])
    for (dataset, method), row in table.iterrows():
        runs = sorted((demo_run / "results" / "runs" / dataset / "tiny-roberta" / method / "size-full").glob(f"seed-*/eval-{dataset}"))
        assert len(runs) == 2
        clean = [json.loads((r / "clean.json").read_text())["accuracy"] for r in runs]
        robust = [json.loads((r / "attacks" / "textfooler.json").read_text())["robust_accuracy"] for r in runs]
        assert row.clean_mean == pytest.approx(sum(clean) / 2, abs=1e-3)
        assert row.textfooler_robust_mean == pytest.approx(sum(robust) / 2, abs=1e-3)
        assert row.clean_std == pytest.approx(pd.Series(clean).std(ddof=1), abs=1e-3)


def test_demo_reports_disabled_constraints_and_records(demo_run):
    run = demo_run / "results" / "runs" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0"
    summary = json.loads((run / "eval-boolq" / "attacks" / "textfooler.json").read_text())
    status = {c["constraint"]: c["status"] for c in summary["constraints"]}
    assert status["part_of_speech"] == "disabled"
    assert status["sentence_similarity(angular>=0.840845057, window=15)"] == "disabled"
    rows = [json.loads(line) for line in (run / "eval-boolq" / "attacks" / "textfooler.records.jsonl").read_text().splitlines()]
    assert len(rows) == summary["num_examples"] == 24
    assert {"original_text", "perturbed_text", "result", "num_queries"} <= set(rows[0])
    info = json.loads((run / "model" / "run_info.json").read_text())
    assert info["seed"] == 0 and "torch" in info["versions"]
    assert (demo_run / "logs" / "train" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0.log").exists()
    assert (demo_run / "logs" / "evaluate" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0" / "eval-boolq.log").exists()
    assert (demo_run / "results" / "benchmarks" / "train" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0.tsv").exists()


def test_demo_cost_table_lists_every_train_and_attack_job(demo_run):
    costs = pd.read_csv(demo_run / "results" / "tables" / "costs.csv")
    assert (costs.rule == "train").sum() == 24 and (costs.rule == "attack").sum() == 48
    assert (costs.seconds > 0).all() and (costs.max_rss_mb > 0).all()


def _per_run(demo_run: Path, dataset: str, method: str, name: str, key: str) -> dict[int, float]:
    """{seed: value} read straight from the per-run JSON files."""
    out = {}
    for run in sorted((demo_run / "results" / "runs" / dataset / "tiny-roberta" / method / "size-full").glob("seed-*")):
        path = run / f"eval-{dataset}" / ("clean.json" if name == "clean" else f"attacks/{name}.json")
        out[int(run.name.split("-")[1])] = json.loads(path.read_text())[key]
    return out


def test_demo_best_marks_and_latex_match_per_run_files(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "main.csv")
    tex = (demo_run / "results" / "tables" / "main.tex").read_text()
    for dataset in ("sst2", "ag_news", "boolq"):
        for attack in ("textfooler", "textbugger"):
            # A row with a collapsed seed is never marked best (its robustness is not robustness).
            flagged = set(table[(table.dataset == dataset) & (table.degenerate_seeds > 0)].method)
            candidates = [m for m in DEMO_METHODS if m not in flagged]
            means = {m: sum(v.values()) / 2 for m in candidates for v in [_per_run(demo_run, dataset, m, attack, "robust_accuracy")]}
            best = {m for m, v in means.items() if round(v, 1) == round(max(means.values()), 1)}
            rows = table[table.dataset == dataset]
            assert set(rows[rows[f"{attack}_best"]].method) == best, (dataset, attack)
    assert tex.count("\\textbf{") == int(table[["textfooler_best", "textbugger_best"]].sum().sum())
    assert "\\begin{tabular}" in tex and "ag\\_news" in tex


def test_demo_comparisons_match_per_run_files(demo_run):
    diffs = pd.read_csv(demo_run / "results" / "tables" / "comparisons.csv", keep_default_na=False, na_values=[""])
    # The paper's pairs, all present in the demo.
    assert set(diffs.comparison) == {"mvp - mlp_ft", "mvp - mlp_ft_adv", "mvp_adv - mvp"}
    diffs = diffs[diffs.comparison == "mvp - mlp_ft"]
    averages = {}
    for attack in ("textfooler", "textbugger"):
        per_dataset = []
        for dataset in ("sst2", "ag_news", "boolq"):
            mvp = _per_run(demo_run, dataset, "mvp", attack, "robust_accuracy")
            base = _per_run(demo_run, dataset, "mlp_ft", attack, "robust_accuracy")
            d = pd.Series({s: mvp[s] - base[s] for s in mvp})
            per_dataset.append(d)
            row = diffs[(diffs.dataset == dataset) & (diffs.attack == attack)].iloc[0]
            assert row.num_seeds == 2
            assert row.diff_mean == pytest.approx(d.mean(), abs=1e-3)
            assert row.diff_std == pytest.approx(d.std(ddof=1), abs=1e-3)
            assert row.seeds_favouring_method == int((d > 0).sum())
        averages[attack] = sum(per_dataset) / 3
        row = diffs[(diffs.dataset == "average") & (diffs.attack == attack)].iloc[0]
        assert row.diff_mean == pytest.approx(averages[attack].mean(), abs=1e-3)
    overall = diffs[diffs.attack == "all"].iloc[0]
    assert overall.diff_mean == pytest.approx(((averages["textfooler"] + averages["textbugger"]) / 2).mean(), abs=1e-3)
    clean = diffs[(diffs.metric == "clean_accuracy") & (diffs.dataset == "boolq")].iloc[0]
    mvp, base = _per_run(demo_run, "boolq", "mvp", "clean", "accuracy"), _per_run(demo_run, "boolq", "mlp_ft", "clean", "accuracy")
    assert clean.diff_mean == pytest.approx(sum(mvp[s] - base[s] for s in mvp) / 2, abs=1e-3)


def test_demo_published_table_never_invents_values(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "published.csv", keep_default_na=False, na_values=[""])
    source = pd.read_csv(demo_run / "config" / "published.csv", comment="#", keep_default_na=False, na_values=[""])
    # The demo's tiny backbone has no published numbers: ours stand alone ...
    ours = table[table.backbone == "tiny-roberta"]
    assert ours.published.isna().all() and ours.difference.isna().all()
    assert len(ours) == 3 * 4 * 3  # datasets x methods x (clean + 2 attacks)
    boolq = ours[(ours.dataset == "boolq") & (ours.method == "mvp") & (ours.attack == "textfooler")].iloc[0]
    assert boolq.ours_mean == pytest.approx(sum(_per_run(demo_run, "boolq", "mvp", "textfooler", "robust_accuracy").values()) / 2, abs=1e-3)
    # ... and every published value is shown as given, with its source.
    theirs = table[table.published.notna()]
    assert sorted(theirs.published) == sorted(source.value.astype(float))
    assert theirs.ours_mean.isna().all() and (theirs.source != "").all()


def test_demo_figures_and_example_pages(demo_run):
    results = demo_run / "results"
    for png in ("plots/accuracy.png", "plots/attack_success.png", *[f"plots/curves/{d}.png" for d in ("sst2", "ag_news", "boolq")]):
        assert (results / png).read_bytes()[:4] == b"\x89PNG", png
    for dataset in ("sst2", "ag_news", "boolq"):
        page = (results / "examples" / f"{dataset}.html").read_text()
        assert "<h2>mlp_ft (tiny-roberta)</h2>" in page and "<h2>mvp (tiny-roberta)</h2>" in page
        successes = 0
        for method in DEMO_METHODS:
            for attack in ("textfooler", "textbugger"):
                rows = [json.loads(line) for r in (0, 1) for line in (results / "runs" / dataset / "tiny-roberta" / method / "size-full" / f"seed-{r}" / f"eval-{dataset}" / "attacks" / f"{attack}.records.jsonl").read_text().splitlines()]
                n = sum(row["result"] == "successful" for row in rows)
                successes += min(n, 5)
                assert f"{attack}: {n} successful of" in page
        assert page.count("class='example'") == successes
        if successes:
            assert "<del>" in page and "<ins>" in page


def test_demo_html_report(demo_run, tmp_path):
    report = demo_run / "results" / "report.html"
    result = snakemake(demo_run, "--configfile", "config/demo.yaml", "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    text = report.read_text(errors="replace")
    assert len(text) > 100_000
    for needle in ("1. Tables", "2. Plots", "3. Training curves", "4. Adversarial examples", "accuracy.png", "boolq.html"):
        assert needle in text, needle


@pytest.mark.browser
def test_demo_html_report_in_a_browser(demo_run, tmp_path):
    """What a reader sees: every table, plot and example page renders in headless Chromium."""
    sys.path.insert(0, str(REPO / "scripts"))
    import report_screenshots as shots

    chromium = shots.find_chromium()
    try:
        import playwright  # noqa: F401
    except ImportError:
        chromium = None
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must check the report in a browser: install chromium and the browser extra")
        pytest.skip("needs Chromium and playwright (pip install -e '.[browser]')")
    report = demo_run / "results" / "report.html"
    if not report.exists():
        assert snakemake(demo_run, "--configfile", "config/demo.yaml", "--report", str(report)).returncode == 0
    seen = shots.capture(report, tmp_path / "shots", chromium)
    tables = seen["1. Tables / clean and robust accuracy"]
    assert "Robust acc. (textfooler)" in tables and "tiny-roberta" in tables and "±" in tables
    assert "mvp - mlp_ft" in seen["1. Tables / headline comparisons"]
    assert "roberta-base" in seen["1. Tables / ours vs published"]
    for key in ("2. Plots / clean vs robust accuracy", "3. Training curves / boolq"):
        assert "[png images: 1]" in seen[key], key
    assert "Adversarial examples: boolq" in seen["4. Adversarial examples / boolq"]
    assert len(list((tmp_path / "shots").glob("*.png"))) == len(seen)


def test_finished_demo_plans_nothing(demo_run):
    result = snakemake(demo_run, "-n", "--cores", "1", "--configfile", "config/demo.yaml")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


# ---------------------------------------------------------------- rerun precision

# Summaries every change of runs reaches.
DOWNSTREAM = ("aggregate", "costs", "compare", "plots", "all")


def _planned_jobs(repo: Path, configfile: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute."""
    result = snakemake(repo, "-n", "--cores", "1", "--configfile", configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs, rule = set(), None
    for line in (result.stdout + result.stderr).splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if m:
            rule = m.group(1)
            jobs.add((rule, ""))
        m = re.match(r"^wildcards: (.*)$", line.strip())
        if m and rule:
            jobs.discard((rule, ""))
            jobs.add((rule, m.group(1)))
    return jobs


def _edited_config(repo: Path, edit, base: str = "config/demo.yaml") -> str:
    config = yaml.safe_load((repo / base).read_text())
    edit(config)
    # Key order kept: dataset and attack order is part of the tables (and of their params).
    (repo / "config" / "edited.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return "config/edited.yaml"


RUN_RULES = ("check_prompts", "train", "evaluate", "attack", "merge_attack")


def test_changing_mvp_templates_reruns_only_mvp(demo_run):
    path = _edited_config(demo_run, lambda c: c["methods"]["mvp"].update(templates=["[SEP] It was [MASK]"]))
    jobs = _planned_jobs(demo_run, path)
    rules = {r for r, _ in jobs}
    assert rules == {*RUN_RULES, *DOWNSTREAM, "training_curves", "adversarial_examples"}
    assert all(re.search(r"method=mvp(,|$)", w) for r, w in jobs if r in RUN_RULES)  # not mvp_adv
    assert len([1 for r, _ in jobs if r == "train"]) == 6  # 3 datasets x 2 seeds


def test_changing_one_attack_reruns_only_that_attack(demo_run):
    path = _edited_config(demo_run, lambda c: c["attacks"]["textbugger"].update(max_candidates=3))
    jobs = _planned_jobs(demo_run, path)
    # Training curves read only training metrics: they stay.
    assert {r for r, _ in jobs} == {"attack", "merge_attack", *DOWNSTREAM, "adversarial_examples"}
    assert all("attack=textbugger" in w for r, w in jobs if r in ("attack", "merge_attack"))
    assert len([1 for r, _ in jobs if r == "attack"]) == 24  # 3 datasets x 4 methods x 2 seeds


def test_adding_a_seed_adds_only_that_seed(demo_run):
    path = _edited_config(demo_run, lambda c: c.update(seeds=[0, 1, 2]))
    jobs = _planned_jobs(demo_run, path)
    assert {r for r, _ in jobs} == {"train", "evaluate", "attack", "merge_attack", *DOWNSTREAM, "training_curves", "adversarial_examples"}
    assert all("seed=2" in w for r, w in jobs if r in ("train", "evaluate", "attack", "merge_attack"))
    assert len([1 for r, _ in jobs if r == "train"]) == 12


@contextlib.contextmanager
def _appended(path: Path, text: str):
    """``path`` with ``text`` appended for the duration of the block, then restored."""
    original = path.read_text()
    try:
        path.write_text(original + text)
        yield
    finally:
        path.write_text(original)


def test_editing_published_numbers_reruns_only_the_comparison(demo_run):
    with _appended(demo_run / "config" / "published.csv", "sst2,tiny-roberta,mvp,clean_accuracy,,50,a test\n"):
        jobs = _planned_jobs(demo_run, "config/demo.yaml")
    assert {r for r, _ in jobs} == {"compare", "all"}


def test_changing_the_example_count_reruns_only_the_example_pages(demo_run):
    path = _edited_config(demo_run, lambda c: c["report"].update(examples_per_method=2))
    jobs = _planned_jobs(demo_run, path)
    assert {r for r, _ in jobs} == {"adversarial_examples", "all"}
    assert len([1 for r, _ in jobs if r == "adversarial_examples"]) == 3


def test_editing_one_sst2_template_reruns_only_sst2_mvp(demo_run):
    """The demo backbone does not depend on the prompt files: one template edit reruns one
    dataset's prompt method and the tables, nothing else (no backbone, no other dataset)."""
    prompts = demo_run / "config" / "prompts" / "sst2.yaml"
    original = prompts.read_text()
    try:
        prompts.write_text(original.replace("This is a [MASK] statement", "This was a [MASK] statement"))
        jobs = _planned_jobs(demo_run, "config/demo.yaml")
    finally:
        prompts.write_text(original)
    assert {r for r, _ in jobs} == {*RUN_RULES, *DOWNSTREAM, "training_curves", "adversarial_examples"}
    assert all("dataset=sst2" in w and re.search(r"method=mvp(_adv)?(,|$)", w) for r, w in jobs if r in RUN_RULES)
    assert {w for r, w in jobs if r in ("training_curves", "adversarial_examples")} == {"dataset=sst2"}
    assert len([1 for r, _ in jobs if r == "train"]) == 4  # mvp and mvp_adv, 2 seeds
    assert len([1 for r, _ in jobs if r == "check_prompts"]) == 2


# Each stage's code digest is the import closure of its entry module: an edit of any module
# it can import, listed nowhere by hand, reruns it (and what depends on it).
@pytest.mark.parametrize(
    "module,rules",
    [
        ("train/adversarial.py", {"train": 24, "evaluate": 24, "attack": 48}),
        ("train/probe.py", {"train": 24, "evaluate": 24, "attack": 48}),
        ("train/evaluate.py", {"train": 24, "evaluate": 24, "attack": 48}),
        ("attack/recipes.py", {"train": 0, "evaluate": 0, "attack": 48}),
        ("aggregate/formats.py", {"train": 0, "attack": 0, "aggregate": 1, "compare": 1}),
    ],
)
def test_editing_any_imported_module_reruns_its_stages(demo_run, module, rules):
    with _appended(demo_run / "src" / "mvprepro" / module, "\n# an edit\n"):
        jobs = _planned_jobs(demo_run, "config/demo.yaml")
    for rule, count in rules.items():
        assert len([1 for r, _ in jobs if r == rule]) == count, (module, rule)
    assert not any(r in ("prepare", "tokenize", "download_dataset", "download_backbone") for r, _ in jobs)


# ---------------------------------------------------------------- interrupted reruns


def _copy_run(src: Path, dest: Path) -> Path:
    """A copy of a finished run, metadata and modification times included."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def _start_and_kill(repo: Path, configfile: str, started, sig: int = signal.SIGKILL) -> None:
    """Run the workflow and stop it with ``sig`` once ``started(repo)``: SIGINT is a user's
    Ctrl-C; SIGKILL of the whole process group a node failure or a time limit, after which
    the user removes the stale lock with ``--unlock`` as Snakemake's message says."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), "--cores", "1", "--configfile", configfile]
    run_then_stop(cmd, lambda: started(repo), sig=sig, cwd=repo, env=env)
    if sig == signal.SIGKILL:
        assert snakemake(repo, "--unlock", "--configfile", configfile).returncode == 0


def test_interrupted_attack_rerun_leaves_no_stale_summary(demo_run, tmp_path, monkeypatch):
    """Change an attack setting, kill the first attack job mid-way, run again: every model's
    summary (and the table) describes the new setting; none keeps the old one."""
    repo = _copy_run(demo_run, tmp_path / "repo")
    path = _edited_config(repo, lambda c: c["attacks"]["textbugger"].update(num_examples=5))
    shard = "results/runs/sst2/tiny-roberta/mlp_ft/size-full/seed-0/eval-sst2/attacks/textbugger/shard-0.jsonl"
    # Snakemake deletes a job's old outputs when it starts it: Ctrl-C right then, while the
    # job is loading or attacking.
    _start_and_kill(repo, path, lambda r: not (r / shard).exists(), sig=signal.SIGINT)
    assert not (repo / shard).exists()
    attacks = {(r, w) for r, w in _planned_jobs(repo, path) if r in ("attack", "merge_attack")}
    # Without train_sizes a run trains on the whole training split: size "full".
    killed = "dataset=sst2, backbone=tiny-roberta, method=mlp_ft, size=full, seed=0, target=sst2, attack=textbugger"
    assert ("attack", killed + ", shard=0") in attacks and ("merge_attack", killed) in attacks
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    summaries = sorted((repo / "results" / "runs").glob("*/*/*/size-full/seed-*/eval-*/attacks/textbugger.json"))
    assert len(summaries) == 24
    assert {json.loads(f.read_text())["num_examples"] for f in summaries} == {5}
    table = pd.read_csv(repo / "results" / "tables" / "main.csv")
    assert set(table.textbugger_num_examples) == {5}
    assert "Nothing to be done" in snakemake(repo, "-n", "--cores", "1", "--configfile", path).stdout
    _assert_results_describe_config(repo, path, monkeypatch)


def _assert_results_describe_config(repo: Path, configfile: str, monkeypatch) -> None:
    """Every model, clean accuracy and attack summary records exactly the spec the current
    config gives its job: no result of an older config survives anywhere."""
    from snakemake.utils import validate

    from mvprepro.config import Plan

    monkeypatch.chdir(repo)  # prompts files are relative to the run directory
    config = yaml.safe_load((repo / configfile).read_text())
    validate(config, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    plan = Plan(config)
    for run in plan.runs():
        key = plan.key(run)
        path = repo / "results" / "runs" / run["dataset"] / run["backbone"] / run["method"] / f"size-{run['size']}" / f"seed-{run['seed']}"
        assert json.loads((path / "model" / "run_info.json").read_text())["spec"] == plan.train(**key), path
        for target in [run["dataset"], *plan.targets(run["dataset"])]:
            evaluation = path / f"eval-{target}"
            assert json.loads((evaluation / "clean.json").read_text())["spec"] == plan.evaluate(**key, target=target), evaluation
            for attack in plan.attacks:
                summary = json.loads((evaluation / "attacks" / f"{attack}.json").read_text())
                assert summary["spec"] == plan.merge_attack(**key, attack=attack, target=target), (evaluation, attack)


def test_interrupted_training_rerun_leaves_no_stale_result(demo_run, tmp_path, monkeypatch):
    """Change one method's training, SIGKILL the run (and unlock, as Snakemake says) when
    one of its train jobs starts: the next dry run plans the killed job and nothing of the
    other method, and the next run leaves every result describing the new config."""
    repo = _copy_run(demo_run, tmp_path / "repo")
    path = _edited_config(repo, lambda c: c["methods"]["mvp"].update(training={"lr": 1.0e-3}))
    metrics = "results/runs/sst2/tiny-roberta/mvp/size-full/seed-0/metrics.json"
    # Snakemake deletes a job's old outputs when it starts it: kill the run right then.
    _start_and_kill(repo, path, lambda r: not (r / metrics).exists())
    jobs = _planned_jobs(repo, path)
    assert ("train", "dataset=sst2, backbone=tiny-roberta, method=mvp, size=full, seed=0") in jobs
    assert all("method=mvp" in w for r, w in jobs if r in ("train", "evaluate", "attack", "merge_attack"))
    assert ("aggregate", "") in jobs
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(repo, "-n", "--cores", "1", "--configfile", path).stdout
    _assert_results_describe_config(repo, path, monkeypatch)


def test_editing_a_local_source_reruns_what_was_built_from_it(tmp_path):
    """A `path:` dataset and a `path:` embedding are inputs: editing the file reruns the
    jobs built from it, although the folder's modification time does not change."""
    repo = checkout(tmp_path / "repo")
    from mvprepro.download.builders import build_dataset

    local = repo / "local" / "sst2"
    local.mkdir(parents=True)
    for split, rows in build_dataset("demo_sst2", train_size=60, eval_size=12).items():
        rows.to_json(local / f"{split}.jsonl")
    vectors = repo / "local" / "vectors.txt"
    vectors.write_text("good 1 0\nfine 0.9 0.1\nbad -1 0\n")
    config = yaml.safe_load((repo / "config" / "demo.yaml").read_text())
    config["datasets"] = {"sst2": {**config["datasets"]["sst2"], "source": {"path": "local/sst2"}}}
    config["attack_resources"]["embeddings"]["counterfitted"]["source"] = {"path": "local/vectors.txt"}
    (repo / "config" / "local.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ("results/data/sst2", "resources/attack/manifest.json")
    result = snakemake(repo, *targets, "--cores", "1", "--configfile", "config/local.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(repo, *targets, "-n", "--cores", "1", "--configfile", "config/local.yaml").stdout

    train = local / "train.jsonl"
    train.write_text(train.read_text().replace('"label":0', '"label":1', 1))
    vectors.write_text(vectors.read_text() + "awful -0.9 -0.1\n")
    result = snakemake(repo, *targets, "-n", "--cores", "1", "--configfile", "config/local.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    plan = _planned(result)
    assert plan.get("download_dataset") == 1 and plan.get("prepare") == 1
    assert plan.get("download_attack_resources") == 1


# ---------------------------------------------------------------- every method


def test_every_method_trains_through_the_same_rules(tmp_path):
    """All method kinds (and an untrained variant, and adversarial training) on demo data."""
    repo = checkout(tmp_path / "repo")
    config = yaml.safe_load((repo / "config" / "demo.yaml").read_text())
    config["datasets"] = {"sst2": config["datasets"]["sst2"]}
    config["seeds"] = [0]
    config["methods"] = {
        "mlp_ft": {"kind": "mlp_ft"},
        "lpft": {"kind": "lpft", "probe_c": [0.1, 1.0]},
        "projectcls": {"kind": "projectcls"},
        "clsprompt": {"kind": "clsprompt"},
        "mvp": {"kind": "mvp"},
        "mlp_ft_adv": {"kind": "mlp_ft", "adv": {"epsilon": 0.5, "epsilon_unit": "embedding_norm", "warmup_epochs": 1}},
        "mvp_adv": {"kind": "mvp", "adv": {"norm": "linf", "epsilon": 0.01, "objective": "adversarial"}},
        "untrained_mvp": {"kind": "mvp", "untrained": True},
    }
    # The budget sweep: one more mlp_ft_adv run at 0.25, attacked by TextFooler alone.
    config["adv_sweep"] = {"methods": ["mlp_ft_adv"], "epsilons": [0.25, 0.5], "attacks": ["textfooler"]}
    for attack in config["attacks"].values():
        attack["num_examples"] = 6
    (repo / "config" / "methods.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(repo, "--cores", "2", "--configfile", "config/methods.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    table = pd.read_csv(repo / "results" / "tables" / "main.csv")
    assert list(table.method) == list(config["methods"])  # the sweep's run is not a row
    sweep = pd.read_csv(repo / "results" / "tables" / "adv_sweep.csv")
    assert list(zip(sweep.run, sweep.epsilon)) == [("mlp_ft", 0.0), ("mlp_ft_adv-eps0.25", 0.25), ("mlp_ft_adv", 0.5)]
    assert sweep.textfooler_robust_accuracy_mean.between(0, 100).all()
    assert (repo / "results" / "plots" / "adv_sweep.png").read_bytes()[:4] == b"\x89PNG"
    variant = repo / "results" / "runs" / "sst2" / "tiny-roberta" / "mlp_ft_adv-eps0.25" / "size-full" / "seed-0"
    assert json.loads((variant / "metrics.json").read_text())["adv"]["epsilon_setting"] == 0.25
    assert sorted(p.name for p in (variant / "eval-sst2" / "attacks").glob("*.json")) == ["textfooler.json"]
    assert table[["clean_mean", "textfooler_robust_mean", "textbugger_robust_mean"]].notna().all().all()
    run = repo / "results" / "runs" / "sst2" / "tiny-roberta"
    assert "probe" in json.loads((run / "lpft" / "size-full" / "seed-0" / "metrics.json").read_text())
    assert json.loads((run / "mvp_adv" / "size-full" / "seed-0" / "model" / "method.json").read_text())["adv"]["norm"] == "linf"


# ---------------------------------------------------------------- your own dataset


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    """config/own_dataset.yaml: local files, inline tasks, a pair task and an evaluate_on target."""
    repo = checkout(tmp_path_factory.mktemp("own") / "repo")
    result = snakemake(repo, "--cores", "2", "--configfile", "config/own_dataset.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo


def test_own_datasets_run_end_to_end_by_config_alone(own_run):
    tables = own_run / "results" / "tables"
    table = pd.read_csv(tables / "main.csv")
    assert sorted(zip(table.dataset, table.method)) == sorted((d, m) for d in ("reviews", "claims") for m in ("mlp_ft", "mvp"))
    assert table.clean_mean.between(0, 100).all() and table.textfooler_robust_mean.between(0, 100).all()
    # The reviews models, also evaluated and attacked on stars: both in the table.
    reviews = table[table.dataset == "reviews"]
    assert reviews.ood_stars_clean_mean.between(0, 100).all()
    assert reviews.ood_stars_textfooler_robust_mean.between(0, 100).all()
    assert table[table.dataset == "claims"].ood_stars_clean_mean.isna().all()
    md = (tables / "main.md").read_text()
    assert "| Clean acc. | Robust acc. (textfooler) | OOD stars: clean | OOD stars: textfooler |" in md
    runs = pd.read_csv(tables / "runs.csv")
    on_stars = runs[runs.evaluated_on == "stars"]
    assert set(on_stars.dataset) == {"reviews"} and set(on_stars.num_examples[on_stars.metric == "clean_accuracy"]) == {30}
    clean = json.loads((own_run / "results/runs/reviews/tiny-roberta/mvp/size-full/seed-0/eval-stars/clean.json").read_text())
    assert clean["spec"]["target"] == "stars" and clean["num_examples"] == 30
    effective = pd.read_csv(tables / "effective_robustness.csv")
    assert set(effective.metric) == {"clean", "robust (textfooler)"} and set(effective.method) == {"mlp_ft", "mvp"}
    assert (own_run / "results" / "plots" / "effective_robustness.png").stat().st_size > 0
    costs = pd.read_csv(tables / "costs.csv")
    assert ((costs.rule == "attack") & (costs.target == "stars")).sum() == 2
    # Only the test split of an evaluate_only dataset is prepared.
    assert json.loads((own_run / "results/data/stars/stats.json").read_text())["sizes"] == {"test": 30}


def test_own_pair_task_never_changes_its_protected_column(own_run):
    records = []
    for path in (own_run / "results" / "runs" / "claims").glob("*/*/size-full/seed-0/eval-claims/attacks/textfooler.records.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    successes = [r for r in records if r["result"] == "successful"]
    assert successes, "no successful attack on the pair task: nothing shows the constraint held"
    for r in successes:
        assert set(r["original_text"]) == {"evidence", "claim"}
        assert r["perturbed_text"]["claim"] == r["original_text"]["claim"]
        assert r["perturbed_text"]["evidence"] != r["original_text"]["evidence"]
    summary = json.loads((own_run / "results/runs/claims/tiny-roberta/mvp/size-full/seed-0/eval-claims/attacks/textfooler.json").read_text())
    assert any(c["constraint"] == "input_column_modification" and c["status"] == "enabled" for c in summary["constraints"])


def test_editing_an_evaluate_on_target_reruns_only_its_evaluations(own_run):
    def edit(c):
        c["datasets"]["stars"]["task"]["label_map"][3] = "negative"

    jobs = _planned_jobs(own_run, _edited_config(own_run, edit, "config/own_dataset.yaml"))
    rules = {r for r, _ in jobs}
    assert rules == {
        "prepare", "tokenize", "evaluate", "attack", "merge_attack",
        "aggregate", "costs", "compare", "plots", "effective_robustness", "all",
    }, rules
    assert {w for r, w in jobs if r in ("prepare", "tokenize")} == {"dataset=stars", "dataset=stars, backbone=tiny-roberta"}
    assert all("target=stars" in w for r, w in jobs if r in ("evaluate", "attack", "merge_attack"))


def test_adding_an_evaluate_on_target_plans_only_that_target(own_run):
    def edit(c):
        c["datasets"]["claims"]["evaluate_on"] = ["claims_again"]
        c["datasets"]["claims_again"] = {**c["datasets"]["claims"], "evaluate_only": True}
        del c["datasets"]["claims_again"]["evaluate_on"]

    jobs = _planned_jobs(own_run, _edited_config(own_run, edit, "config/own_dataset.yaml"))
    per_run = {r for r, _ in jobs} - {"aggregate", "costs", "compare", "plots", "effective_robustness", "all"}
    assert per_run == {"download_dataset", "prepare", "tokenize", "evaluate", "attack", "merge_attack"}, per_run
    assert all("claims_again" in w for r, w in jobs if r in per_run)


def test_interrupted_ood_rerun_then_edited_again_leaves_no_stale_result(own_run, tmp_path, monkeypatch):
    """Edit the evaluate_on target's labels, Ctrl-C the run in its first OOD attack, edit
    the config again (the attack budget), run: every in- and out-of-distribution result
    records exactly what the final config gives its job."""
    repo = _copy_run(own_run, tmp_path / "repo")

    def relabel(c):
        c["datasets"]["stars"]["task"]["label_map"][3] = "negative"

    path = _edited_config(repo, relabel, "config/own_dataset.yaml")
    shard = "results/runs/reviews/tiny-roberta/mlp_ft/size-full/seed-0/eval-stars/attacks/textfooler/shard-0.jsonl"
    _start_and_kill(repo, path, lambda r: not (r / shard).exists(), sig=signal.SIGINT)
    jobs = _planned_jobs(repo, path)
    killed = "dataset=reviews, backbone=tiny-roberta, method=mlp_ft, size=full, seed=0, target=stars, attack=textfooler, shard=0"
    assert ("attack", killed) in jobs
    assert "train" not in {r for r, _ in jobs}
    assert all("target=stars" in w for r, w in jobs if r in ("evaluate", "attack", "merge_attack"))

    def relabel_and_shrink(c):
        relabel(c)
        c["attacks"]["textfooler"]["num_examples"] = 10

    path = _edited_config(repo, relabel_and_shrink, "config/own_dataset.yaml")
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(repo, "-n", "--cores", "1", "--configfile", path).stdout
    _assert_results_describe_config(repo, path, monkeypatch)
    runs = pd.read_csv(repo / "results" / "tables" / "runs.csv")
    assert set(runs[runs.metric == "robust_accuracy"].num_examples) == {10}


# ---------------------------------------------------------------- sample efficiency


def _small_sizes(c):
    c["seeds"] = [0]
    c["train_sizes"] = [8, 32, "full"]
    c["attacks"]["textfooler"]["num_examples"] = 12


@pytest.fixture(scope="module")
def sizes_run(tmp_path_factory):
    """config/sample_efficiency_demo.yaml, one seed and three sizes."""
    repo = checkout(tmp_path_factory.mktemp("sizes") / "repo")
    path = _edited_config(repo, _small_sizes, "config/sample_efficiency_demo.yaml")
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo, path


def test_training_set_sizes_run_end_to_end(sizes_run):
    repo, path = sizes_run
    runs = repo / "results" / "runs" / "sst2" / "tiny-roberta"
    for method in ("mlp_ft", "mvp"):
        examples = {z: json.loads((runs / method / f"size-{z}" / "seed-0" / "metrics.json").read_text())["train_examples"] for z in ("8", "32", "full")}
        assert examples == {"8": 8, "32": 32, "full": 380}
        assert sorted(p.name for p in (runs / method).iterdir()) == ["size-32", "size-8", "size-full"]
    table = pd.read_csv(repo / "results" / "tables" / "main.csv", dtype={"train_size": str})
    assert list(zip(table.train_size, table.method)) == [(z, m) for z in ("8", "32", "full") for m in ("mlp_ft", "mvp")]
    assert "| sst2 | 32 | tiny-roberta | mvp |" in (repo / "results" / "tables" / "main.md").read_text()
    smallest = pd.read_csv(repo / "results" / "tables" / "sample_efficiency" / "sst2.csv")
    assert set(smallest.method) == {"mlp_ft", "mvp"} and set(smallest.clean_accuracy_target) == {60, 70, 80, 90}
    assert set(smallest.train_examples.dropna()) <= {8, 32, 380}
    assert (repo / "results" / "plots" / "sample_efficiency" / "sst2.png").stat().st_size > 0
    assert "(size 32)" in (repo / "results" / "tables" / "comparisons.md").read_text()
    report = repo / "results" / "report.html"
    assert snakemake(repo, "--configfile", path, "--report", str(report)).returncode == 0
    text = report.read_text(errors="replace")
    assert "sample efficiency" in text and "smallest training set per accuracy" in text


def test_adding_a_size_plans_only_that_sizes_jobs(sizes_run):
    repo, _ = sizes_run

    def more(c):
        _small_sizes(c)
        c["train_sizes"] = [8, 16, 32, "full"]

    jobs = _planned_jobs(repo, _edited_config(repo, more, "config/sample_efficiency_demo.yaml"))
    per_run = {(r, w) for r, w in jobs if r in RUN_RULES}
    assert {r for r, _ in per_run} == {"train", "evaluate", "attack", "merge_attack"}
    assert all("size=16," in w for _, w in per_run), per_run
    assert len([1 for r, _ in per_run if r == "train"]) == 2  # two methods, one seed
    assert {r for r, _ in jobs} - set(RUN_RULES) == {
        "aggregate", "costs", "compare", "plots", "training_curves", "adversarial_examples", "sample_efficiency", "all"
    }


def test_a_size_larger_than_the_split_stops_its_train_job(sizes_run, tmp_path):
    repo = _copy_run(sizes_run[0], tmp_path / "repo")

    def too_large(c):
        _small_sizes(c)
        c["train_sizes"] = [8, 5000]

    path = _edited_config(repo, too_large, "config/sample_efficiency_demo.yaml")
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode != 0
    log = (repo / "logs" / "train" / "sst2" / "tiny-roberta" / "mvp" / "size-5000" / "seed-0.log").read_text()
    assert "datasets.sst2: train_sizes entry 5000 is larger than its training split (380 examples)" in log
    assert not (repo / "results" / "runs" / "sst2" / "tiny-roberta" / "mvp" / "size-5000").exists()
