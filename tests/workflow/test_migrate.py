"""`mvprepro migrate-layout`: results of the previous layout move, and nothing reruns."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

import pytest
import yaml
from helpers import REPO, checkout, snakemake

from mvprepro.tools.migrate import MigrationError, _record_id, migrate, new_path

# The last commit that wrote the previous layout (runs without a size level, ood/ folders,
# the *_ood twin rules).
PREVIOUS_LAYOUT = "bcc3eeb08b701ef0987799ecb1423e575cb2c504"
# Rules added since that commit: their outputs are new, not moved.
NEW_RULES = {"inputs", "all"}

MOVES = [
    # results: the size level appears, evaluations move under eval-<target>
    ("results/runs/sst2/bb/mvp/seed-0/model/config.json", "results/runs/sst2/bb/mvp/size-full/seed-0/model/config.json"),
    ("results/runs/sst2/bb/mvp/seed-0/metrics.json", "results/runs/sst2/bb/mvp/size-full/seed-0/metrics.json"),
    ("results/runs/sst2/bb/mvp/seed-0/clean.json", "results/runs/sst2/bb/mvp/size-full/seed-0/eval-sst2/clean.json"),
    ("results/runs/sst2/bb/mvp/seed-1/attacks/tf/shard-0.jsonl", "results/runs/sst2/bb/mvp/size-full/seed-1/eval-sst2/attacks/tf/shard-0.jsonl"),
    ("results/runs/sst2/bb/mvp/size-8/seed-0/attacks/tf.json", "results/runs/sst2/bb/mvp/size-8/seed-0/eval-sst2/attacks/tf.json"),
    ("results/runs/sst2/bb/mvp/size-8/seed-0/ood/imdb/clean.json", "results/runs/sst2/bb/mvp/size-8/seed-0/eval-imdb/clean.json"),
    # logs and benchmark files: the twin rules' folders merge into the rule's
    ("logs/train/sst2/bb/mvp/seed-0.log", "logs/train/sst2/bb/mvp/size-full/seed-0.log"),
    ("logs/evaluate/sst2/bb/mvp/seed-0.log", "logs/evaluate/sst2/bb/mvp/size-full/seed-0/eval-sst2.log"),
    ("logs/evaluate_ood/sst2/bb/mvp/size-8/seed-0/imdb.log", "logs/evaluate/sst2/bb/mvp/size-8/seed-0/eval-imdb.log"),
    ("logs/attack/sst2/bb/mvp/seed-0/tf-3.log", "logs/attack/sst2/bb/mvp/size-full/seed-0/eval-sst2/tf-3.log"),
    ("logs/attack_ood/sst2/bb/mvp/seed-0/imdb/tf-3.log", "logs/attack/sst2/bb/mvp/size-full/seed-0/eval-imdb/tf-3.log"),
    ("logs/merge_attack_ood/sst2/bb/mvp/seed-0/imdb/tf.log", "logs/merge_attack/sst2/bb/mvp/size-full/seed-0/eval-imdb/tf.log"),
    ("results/benchmarks/attack_ood/sst2/bb/mvp/seed-0/imdb/tf-0.tsv", "results/benchmarks/attack/sst2/bb/mvp/size-full/seed-0/eval-imdb/tf-0.tsv"),
    ("results/benchmarks/train/sst2/bb/mvp/seed-0.tsv", "results/benchmarks/train/sst2/bb/mvp/size-full/seed-0.tsv"),
    # everything else stays
    ("results/tables/main.csv", "results/tables/main.csv"),
    ("logs/prepare/sst2.log", "logs/prepare/sst2.log"),
    ("results/tokenized/sst2/bb", "results/tokenized/sst2/bb"),
]


@pytest.mark.parametrize("old,new", MOVES)
def test_every_old_path_has_one_new_place_and_new_paths_stay(old, new):
    assert new_path(old) == new
    assert new_path(new) == new  # a second run (or an interrupted first) moves nothing again


def test_a_result_in_both_layouts_stops_the_migration_before_any_move(tmp_path):
    old = tmp_path / "results/runs/sst2/bb/mvp/seed-0/metrics.json"
    new = tmp_path / "results/runs/sst2/bb/mvp/size-full/seed-0/metrics.json"
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    with pytest.raises(MigrationError, match="exist in both layouts"):
        migrate(tmp_path)
    assert old.exists() and new.exists()


def test_a_running_snakemake_stops_the_migration(tmp_path):
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("")
    (tmp_path / "results/runs/sst2/bb/mvp/seed-0").mkdir(parents=True)
    with pytest.raises(MigrationError, match="snakemake --unlock"):
        migrate(tmp_path)
    assert (tmp_path / "results/runs/sst2/bb/mvp/seed-0").is_dir()


def _small(c: dict) -> None:
    """config/own_dataset.yaml, reviews only: a run of each method on its own test split and
    on an evaluate_on target (stars)."""
    del c["datasets"]["claims"]


@pytest.mark.workflow
def test_a_finished_run_of_the_previous_layout_migrates_and_plans_nothing(tmp_path):
    """Run the previous layout's code to the end, put this checkout's code in its place,
    migrate: the dry run plans nothing, and every result sits where the new rules want it."""
    have = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{PREVIOUS_LAYOUT}^{{commit}}"], capture_output=True)
    if have.returncode != 0:
        pytest.skip(f"commit {PREVIOUS_LAYOUT[:7]} is not in this clone (shallow?): cannot run the previous layout")
    repo = tmp_path / "repo"
    archive = subprocess.run(["git", "-C", str(REPO), "archive", PREVIOUS_LAYOUT], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(repo, filter="data")
    configfile = repo / "config" / "own_dataset.yaml"

    def write_config() -> None:
        config = yaml.safe_load(configfile.read_text())
        _small(config)
        (repo / "small.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    write_config()
    result = snakemake(repo, "--cores", "2", "--configfile", "small.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    old_run = repo / "results/runs/reviews/tiny-roberta/mvp/seed-0"
    assert (old_run / "ood" / "stars" / "clean.json").is_file()

    # This checkout's code in place of the old one; results, logs and .snakemake stay.
    for name in ("Snakefile", "config", "workflow", "src", "profiles", "envs", "examples"):
        path = repo / name
        if path.is_dir():
            subprocess.run(["rm", "-rf", str(path)], check=True)
        elif path.exists():
            path.unlink()
    checkout(repo)
    write_config()
    planned = snakemake(repo, "-n", "--quiet", "rules", "--configfile", "small.yaml").stdout
    assert "train" in planned  # before the move, the new rules find nothing

    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    move = [sys.executable, "-m", "mvprepro", "migrate-layout", "--directory", str(repo)]
    result = subprocess.run(move, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    new_run = repo / "results/runs/reviews/tiny-roberta/mvp/size-full/seed-0"
    assert (new_run / "eval-stars" / "clean.json").is_file() and (new_run / "eval-reviews" / "attacks" / "textfooler.json").is_file()
    assert not old_run.exists() and not (repo / "logs" / "attack_ood").exists()
    # Every moved result keeps its Snakemake record, under its new path.
    records = repo / ".snakemake" / "metadata"
    recorded = {_record_id(records, r) for r in records.rglob("*") if r.is_file()}
    for output in ("model", "metrics.json", "eval-reviews/clean.json", "eval-stars/attacks/textfooler.json", "eval-stars/attacks/textfooler/shard-0.jsonl"):
        assert str((new_run / output).relative_to(repo)) in recorded, output
    assert not [p for p in recorded if p.startswith("results/runs/") and "/seed-" in p and "/size-" not in p]
    # Nothing is planned because of the move: no output is missing, no job's inputs or
    # command changed, no file looks newer. (Code changed since the previous layout's commit
    # replans, by their params, the jobs whose stage code it touched, as any code change
    # does; with that commit's stage code the demo's dry run plans nothing after the move.)
    dry = snakemake(repo, "-n", "--cores", "1", "--configfile", "small.yaml")
    reasons, rule = [], None
    for line in dry.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("reason:") and rule not in NEW_RULES:
            reasons.append((rule, line.strip()))
    for bad in ("Missing output files", "Set of input files has changed", "Code has changed", "Updated input files"):
        assert not [r for r in reasons if bad in r[1]], (bad, dry.stdout[-5000:])
    again = subprocess.run(move, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "moved 0 files" in again.stderr, again.stderr
