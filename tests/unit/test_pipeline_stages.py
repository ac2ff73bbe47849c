"""Stage functions end to end on tiny data: prepare, tokenize, train (deterministic), evaluate, attack."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from snakemake.utils import validate

from mvprepro import fileio
from mvprepro.attack import merge_attack as attack_merge
from mvprepro.attack import attack as attack_run
from mvprepro.plan.plan import TRAINING_KEYS
from mvprepro.data.prepare import prepare
from mvprepro.data.tokenize import tokenize
from mvprepro.digest import digest_of
from mvprepro.download.download_attack_resources import fetch as fetch_attack_resources
from mvprepro.train.evaluate import evaluate
from mvprepro.train.train import train

from interrupt import run_then_stop

from helpers import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
TRAINING = {
    "lr": 2e-3,
    "batch_size": 16,
    "grad_accumulation": 1,
    "group_by_length": False,
    "max_epochs": 3,
    "weight_decay": 0.01,
    "patience": 2,
    "eval_every_steps": None,
    "scale_eval_with_templates": True,
    "max_grad_norm": 1.0,
    "precision": "fp32",
    "max_length": 96,
    "prompt_reserve": 16,
    "max_eval_examples": None,
    "degenerate_share": 0.95,
    "device": "cpu",
}
PROMPTS = {
    "sst2": (["Sentiment of the statement is [MASK] . ", "[SEP] The statement is [MASK] "], [["negative"], ["positive"]]),
    "boolq": (["Answer to the question is [MASK]", "[SEP] The answer is [MASK]"], [["false"], ["true"]]),
}
NO_ENCODER = {"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}


def attack_config(recipe: str, **settings) -> dict:
    """An attack's config as a job gets it: the schema's defaults (the paper's settings) filled in."""
    config = {
        "backbones": {"b": {"source": {"builder": "tiny_roberta"}}},
        "datasets": {"d": {"task": "sst2", "source": {"builder": "demo_sst2"}, "prompts": "config/prompts/sst2.yaml"}},
        "methods": {"m": {"kind": "mlp_ft"}},
        "seeds": [0],
        "attacks": {"a": {"recipe": recipe, **settings}},
    }
    validate(config, SCHEMA)
    return config["attacks"]["a"]


@pytest.fixture(scope="module")
def stages(tmp_path_factory, demo_raw, tiny_backbone):
    root = tmp_path_factory.mktemp("stages")
    out = {}
    assert set(TRAINING) == set(TRAINING_KEYS)  # a train spec holds every training setting
    for ds in ("sst2", "boolq"):
        prepare(demo_raw[ds], root / "data" / ds, {"dataset": ds, "task": ds, "protocol": {}})
        tokenize(root / "data" / ds, tiny_backbone, root / "tok" / ds, {"task": ds, "max_length": 96, "prompt_reserve": 16})
        templates, verbalizer = PROMPTS[ds]
        spec = {
            "dataset": ds,
            "task": ds,
            "num_labels": 2,
            "backbone": "tiny",
            "method": {
                "name": "mvp", "kind": "mvp", "templates": templates, "verbalizer": verbalizer,
                "pool_label_words": "max", "pool_templates": "mean",
            },
            "seed": 0,
            "training": TRAINING,
        }
        train(spec, root / "tok" / ds, tiny_backbone, root / "runs" / ds / "model", root / "runs" / ds / "metrics.json")
        out[ds] = {"spec": spec, "run": root / "runs" / ds, "data": root / "data" / ds, "tok": root / "tok" / ds}
    resources = root / "attack"

    # Antonyms as neighbours, so that the attacks can flip labels of a model that learned the task.
    tied = {"builder": "demo", "options": {"shared_centres": [["pos_adj", "neg_adj"], ["pos_verb", "neg_verb"], ["yes_cue", "no_cue"]]}}
    fetch_attack_resources({**NO_ENCODER, "embeddings": {"counterfitted": {"source": tied}}}, resources / "manifest.json")
    out["resources"] = resources
    out["manifest"] = resources / "manifest.json"
    out["backbone"] = tiny_backbone
    out["root"] = root
    return out


def test_prepared_data_is_lowercased_with_canonical_columns(stages):
    from datasets import load_from_disk

    dd = load_from_disk(str(stages["boolq"]["data"] / "data"))
    assert dd["test"].column_names == ["passage", "question", "label"]
    assert all(p == p.lower() for p in dd["train"]["passage"])


def test_training_records_provenance(stages):
    info = fileio.read_json(stages["sst2"]["run"] / "model" / "run_info.json")
    assert info["seed"] == 0 and info["spec"]["method"]["kind"] == "mvp"
    assert {"torch", "transformers", "textattack"} <= set(info["versions"])
    assert list((stages["sst2"]["run"] / "model").glob("*.safetensors"))


def _train(stages, spec: dict, out: Path, metrics: Path, **kwargs) -> None:
    train(spec, stages[spec["dataset"]]["tok"], stages["backbone"], out, metrics, **kwargs)


def test_same_seed_gives_identical_metrics_and_weights(stages, tmp_path):
    spec = stages["sst2"]["spec"]
    _train(stages, spec, tmp_path / "model", tmp_path / "metrics.json")
    assert (tmp_path / "metrics.json").read_bytes() == (stages["sst2"]["run"] / "metrics.json").read_bytes()
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == (stages["sst2"]["run"] / "model" / "model.safetensors").read_bytes()


def test_evaluate_reports_test_accuracy(stages, tmp_path):
    spec = {"batch_size": 8, "device": "cpu", "precision": "fp32", "degenerate_share": 0.95}
    evaluate(spec, stages["sst2"]["run"] / "model", stages["sst2"]["tok"], tmp_path / "clean.json")
    clean = fileio.read_json(tmp_path / "clean.json")
    assert clean["num_examples"] == 24
    assert clean["accuracy"] == pytest.approx(100 * clean["correct"] / 24)
    assert clean["spec"] == spec
    # The batch size changes nothing but speed.
    evaluate({"batch_size": 5, "device": "cpu", "precision": "fp32", "degenerate_share": 0.95}, stages["sst2"]["run"] / "model", stages["sst2"]["tok"], tmp_path / "clean5.json")
    assert fileio.read_json(tmp_path / "clean5.json")["correct"] == clean["correct"]


def test_train_refuses_the_prompt_check_of_another_method(stages, tmp_path):
    spec = stages["sst2"]["spec"]
    other = {**spec["method"], "templates": ["[SEP] It was [MASK]"]}
    check = tmp_path / "check.json"
    fileio.write_json_atomic(check, {"spec": {"method": other}})
    with pytest.raises(ValueError, match="checked other prompts than this job's method; rerun check_prompts"):
        _train(stages, spec, tmp_path / "model", tmp_path / "metrics.json", prompt_check=check)
    assert not (tmp_path / "model").exists() and not (tmp_path / "model.checkpoint").exists()


def _attack_spec(ds: str, name: str, cfg: dict, shard: int, shards: int) -> dict:
    """An attack job's spec, as ``Plan.attack`` builds it (settings only, no paths)."""
    return {
        "attack_name": name,
        "attack": attack_config(name, **{"num_examples": 8, "shards": shards, "seed": 0, **cfg}),
        "task": ds,
        "shard": shard,
        "shards": shards,
        "device": "cpu",
        "precision": "fp32",
    }


def _attack(stages, ds: str, name: str, cfg: dict, shards: int, out: Path) -> list[dict]:
    files, reports = [], []
    for shard in range(shards):
        spec = _attack_spec(ds, name, cfg, shard, shards)
        files.append(out / f"shard-{shard}.jsonl")
        reports.append(out / f"shard-{shard}.constraints.json")
        attack_run.attack(spec, stages[ds]["run"] / "model", stages[ds]["data"], stages["manifest"], files[-1], reports[-1])
        assert not files[-1].with_name(files[-1].name + ".partial").exists()
    merge_spec = {"attack_name": name, "shards": shards}
    attack_merge.merge_attack([str(f) for f in files], [str(r) for r in reports], merge_spec, out / "summary.json", out / "records.jsonl")
    assert fileio.read_json(out / "summary.json")["spec"] == merge_spec
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("forced", ["1", "0"])
def test_attack_runs_in_bf16_where_supported_and_records_it(stages, tmp_path, monkeypatch, forced):
    """``precision: bf16`` reaches the model's forward during an attack (bf16 outputs inside
    its linear layers), or falls back to fp32 on a CPU without bf16 instructions; the
    summary records what was asked and what ran."""
    import torch

    monkeypatch.setenv("MVPREPRO_CPU_BF16", forced)
    seen: set = set()
    forward = torch.nn.Linear.forward

    def spy(self, x):
        out = forward(self, x)
        seen.add(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    spec = {**_attack_spec("sst2", "textbugger", {"max_candidates": 5, "num_examples": 2}, 0, 1), "precision": "bf16"}
    shard, report = tmp_path / "shard-0.jsonl", tmp_path / "shard-0.constraints.json"
    attack_run.attack(spec, stages["sst2"]["run"] / "model", stages["sst2"]["data"], stages["manifest"], shard, report)
    attack_merge.merge_attack([str(shard)], [str(report)], {"attack_name": "textbugger", "shards": 1}, tmp_path / "s.json", tmp_path / "r.jsonl")
    effective = "bf16" if forced == "1" else "fp32"
    assert seen == {torch.bfloat16 if forced == "1" else torch.float32}
    assert fileio.read_json(tmp_path / "s.json")["precision"] == {"requested": "bf16", "effective": effective}


@pytest.mark.parametrize(
    "name,cfg",
    [
        ("textfooler", {"max_words_perturbed": {"default": 0.3}, "max_candidates": 20}),
        ("textbugger", {"max_candidates": 5}),
    ],
)
def test_sharded_attack_equals_unsharded(stages, tmp_path, name, cfg):
    (tmp_path / "one").mkdir()
    (tmp_path / "three").mkdir()
    one = _attack(stages, "sst2", name, cfg, 1, tmp_path / "one")
    three = _attack(stages, "sst2", name, cfg, 3, tmp_path / "three")
    assert one == three
    assert [r["position"] for r in one] == list(range(8))
    assert any(r["result"] == "successful" for r in one), "the tied demo embedding lets attacks flip labels"
    summary = fileio.read_json(tmp_path / "one" / "summary.json")
    n_failed = sum(r["result"] == "failed" for r in one)
    assert summary["robust_accuracy"] == pytest.approx(100 * n_failed / 8)
    assert summary["robust_accuracy"] <= summary["clean_accuracy"]
    statuses = {c["constraint"]: c["status"] for c in summary["constraints"]}
    assert statuses["sentence_similarity(angular>=0.840845057, window=15)"] == "disabled"
    if name == "textfooler":
        assert statuses["part_of_speech"] == "disabled"
    else:
        assert statuses["stopwords"] == "replaced"


@pytest.mark.parametrize("recipe", ["textfooler", "textbugger"])
def test_boolq_attack_never_changes_the_question(stages, tmp_path, recipe):
    from collections import OrderedDict

    from mvprepro.attack import recipes
    from mvprepro.attack.wrapper import MethodModelWrapper
    from mvprepro.data.tasks import get_task
    from mvprepro.train import models
    from textattack.shared import AttackedText

    model = models.load(stages["boolq"]["run"] / "model")
    wrapper = MethodModelWrapper(model, 2, 16)
    attack, report = recipes.build(recipe, attack_config(recipe, max_words_perturbed=0.5), wrapper, get_task("boolq"), stages["resources"])
    assert {"constraint": "input_column_modification", "status": "enabled", "detail": "never modify ['question']"} in report
    text = AttackedText(OrderedDict(passage="observers say the dog is certainly red and it is very calm.", question="is the dog red?"))
    candidates = attack.get_transformations(text, text)
    assert candidates, "the passage offers words to swap"
    for cand in candidates:
        assert cand._text_input["question"] == "is the dog red?"
        assert cand._text_input["passage"] != text._text_input["passage"]
    # And through the whole runner: every recorded perturbation keeps the question.
    rows = _attack(stages, "boolq", recipe, {"max_words_perturbed": {"default": 0.5}}, 1, tmp_path)
    for row in rows:
        assert row["original_text"]["question"].endswith("?")
        if row["perturbed_text"] is not None:
            assert row["perturbed_text"]["question"] == row["original_text"]["question"]


@pytest.fixture
def attacked_positions(monkeypatch) -> list[int]:
    """The positions the attack actually computes (rather than reads back from a partial file)."""
    seen: list[int] = []
    original = attack_run._record

    def spy(position, label, result):
        seen.append(position)
        return original(position, label, result)

    monkeypatch.setattr(attack_run, "_record", spy)
    return seen


def test_killed_attack_resumes_without_recomputing(stages, tmp_path, attacked_positions):
    cfg = {"max_words_perturbed": {"default": 0.3}}
    full = _attack(stages, "sst2", "textfooler", cfg, 1, tmp_path)
    # A killed job leaves a partial file with finished rows and a torn last line.
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    partial = resumed / "shard-0.jsonl.partial"
    # Its first line names the spec it was written for.
    header = json.dumps({"spec": digest_of(_attack_spec("sst2", "textfooler", cfg, 0, 1))}) + "\n"
    partial.write_text(header + "".join(json.dumps(r, sort_keys=True) + "\n" for r in full[:5]) + '{"position": 5, "lab')
    attacked_positions.clear()
    again = _attack(stages, "sst2", "textfooler", cfg, 1, resumed)
    assert attacked_positions == [5, 6, 7]
    assert again == full
    assert not partial.exists()


@pytest.mark.parametrize("header", [{"spec": "0123456789abcdef"}, None], ids=["another-spec", "no-header"])
def test_partial_attack_of_another_spec_is_discarded(stages, tmp_path, attacked_positions, header):
    """Rows a killed job wrote for other settings (or an unlabelled file) are never reused."""
    cfg = {"max_words_perturbed": {"default": 0.3}}
    (tmp_path / "full").mkdir()
    full = _attack(stages, "sst2", "textfooler", cfg, 1, tmp_path / "full")
    partial = tmp_path / "shard-0.jsonl.partial"
    # Rows that look finished but claim the wrong outcome: kept, they would corrupt the result.
    stale = [{**r, "result": "skipped", "perturbed_text": None} for r in full[:5]]
    lines = ([json.dumps(header)] if header else []) + [json.dumps(r, sort_keys=True) for r in stale]
    partial.write_text("\n".join(lines) + "\n")
    attacked_positions.clear()
    again = _attack(stages, "sst2", "textfooler", cfg, 1, tmp_path)
    assert attacked_positions == list(range(8))  # everything recomputed
    assert again == full
    assert not partial.exists()


def test_summary_metrics():
    rows = [
        {"result": "successful", "words_perturbed": 1, "num_words": 10, "num_queries": 30},
        {"result": "failed", "words_perturbed": 0, "num_words": 10, "num_queries": 50},
        {"result": "skipped", "words_perturbed": 0, "num_words": 10, "num_queries": 1},
        {"result": "failed", "words_perturbed": 0, "num_words": 5, "num_queries": 10},
    ]
    s = attack_merge.summarise(rows)
    assert s["clean_accuracy"] == 75.0
    assert s["robust_accuracy"] == 50.0
    assert s["attack_success_rate"] == pytest.approx(100 / 3)
    assert s["mean_words_perturbed_pct"] == 10.0
    assert s["mean_queries"] == 30.0


def test_merge_refuses_shards_that_do_not_cover_the_examples(tmp_path):
    rows = [{"position": p, "result": "failed", "words_perturbed": 0, "num_words": 5, "num_queries": 3} for p in (0, 1, 3)]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    fileio.write_json_atomic(tmp_path / "c.json", [])
    with pytest.raises(RuntimeError, match="do not cover examples 0..2 exactly once"):
        attack_merge.merge_attack([str(tmp_path / "s.jsonl")], [str(tmp_path / "c.json")], {"attack_name": "x", "shards": 1},
                           tmp_path / "summary.json", tmp_path / "records.jsonl")
    assert not (tmp_path / "summary.json").exists()


def test_shard_positions_partition_the_examples():
    parts = [attack_run.shard_positions(10, i, 3) for i in range(3)]
    assert sorted(p for part in parts for p in part) == list(range(10))
    with pytest.raises(ValueError, match="outside"):
        attack_run.shard_positions(10, 3, 3)


def test_minilm_stands_in_for_use_and_is_reported(stages, tmp_path):
    """The offline sentence encoder is loaded from the package and labelled as a replacement."""

    fetch_attack_resources({**NO_ENCODER, "sentence_encoder": "minilm"}, tmp_path / "res" / "manifest.json")
    assert (tmp_path / "res" / "minilm" / "model.safetensors").exists()
    from mvprepro.attack.encoders import MiniLMEncoder

    enc = MiniLMEncoder(tmp_path / "res" / "minilm")
    vecs = enc.encode(["the film was good", "the movie was great", "the bank raised its profits"])
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2]  # a real sentence encoder, not noise
    local = dict(stages, resources=tmp_path / "res", manifest=tmp_path / "res" / "manifest.json")
    (tmp_path / "out").mkdir()
    _attack(local, "sst2", "textfooler", {"max_words_perturbed": {"default": 0.3}, "num_examples": 8}, 1, tmp_path / "out")
    summary = fileio.read_json(tmp_path / "out" / "summary.json")
    status = {c["constraint"]: (c["status"], c["detail"]) for c in summary["constraints"]}
    assert status["sentence_similarity(angular>=0.840845057, window=15)"] == ("replaced", "all-MiniLM-L6-v2 stands in for the Universal Sentence Encoder")


def test_embedding_from_text_file(tmp_path):
    """A word2vec-style text file is converted to arrays with nearest neighbours, self first.

    A ``path:`` source reaches the job as ``{"local": true}`` in the spec, its file as an
    argument (a rule input), never as a path inside the spec.
    """
    from mvprepro import attack_resources as res

    vec = tmp_path / "vectors.txt"
    vec.write_text("3 2\ngood 1.0 0.0\ngreat 0.9 0.1\nbad -1.0 0.0\n")
    spec = {**NO_ENCODER, "embeddings": {"glove": {"source": {"local": True}}}}
    fetch_attack_resources(spec, tmp_path / "res" / "manifest.json", local={"embedding_glove": str(vec)})
    manifest = res.manifest(tmp_path / "res")
    from mvprepro.download.pins import tree_sha256

    entry = manifest["embeddings"]["glove"]
    assert {k: entry[k] for k in ("source", "size", "entries", "dropped_unplaceable")} == {"source": {"local": True}, "size": 3, "entries": 3, "dropped_unplaceable": 0}
    # What the download read (the file's sha256, and its fingerprint as the planner takes
    # it, to tell whether a lock is still true of the file) and what it wrote are recorded.
    from mvprepro.digest import source_fingerprint

    assert entry["resolved"] == {"sha256": tree_sha256(vec), "fingerprint": source_fingerprint(vec)}
    assert entry["content_sha256"] == tree_sha256(tmp_path / "res" / "embeddings" / "glove")
    emb = res.load_embedding(tmp_path / "res", "glove")
    assert emb.nearest_neighbours(emb.word2index("good"), 1) == [emb.word2index("great")]
    assert emb.get_cos_sim("good", "bad") == pytest.approx(-1.0)
    # Without its file, a local source names the option to pass.
    with pytest.raises(res.AttackResourceError, match="needs its file \\(--local embedding_glove=FILE\\)"):
        fetch_attack_resources(spec, tmp_path / "res2" / "manifest.json")
    with pytest.raises(res.AttackResourceError, match="does not exist"):
        fetch_attack_resources(spec, tmp_path / "res3" / "manifest.json", local={"embedding_glove": str(tmp_path / "nope.txt")})
    assert not (tmp_path / "res2" / "manifest.json").exists()


def test_nltk_from_a_local_folder(tmp_path):
    from mvprepro import attack_resources as res

    nltk_dir = tmp_path / "nltk_data"
    (nltk_dir / "corpora" / "stopwords").mkdir(parents=True)
    (nltk_dir / "corpora" / "stopwords" / "english").write_text("the\na\n")
    spec = {**NO_ENCODER, "nltk": {"local": True}}
    fetch_attack_resources(spec, tmp_path / "res" / "manifest.json", local={"nltk": str(nltk_dir)})
    nltk = res.manifest(tmp_path / "res")["nltk"]
    assert {k: nltk[k] for k in ("source", "stopwords", "pos_tagger", "wordnet")} == {"source": "path", "stopwords": "nltk", "pos_tagger": False, "wordnet": False}
    # The folder read and the folder written have the same files: the same digest.
    assert nltk["resolved"]["sha256"] == nltk["content_sha256"]
    assert (tmp_path / "res" / "nltk_data" / "corpora" / "stopwords" / "english").read_text() == "the\na\n"
    with pytest.raises(res.AttackResourceError, match="needs its folder \\(--local nltk=DIR\\)"):
        fetch_attack_resources(spec, tmp_path / "res2" / "manifest.json")


def test_killed_training_resumes_from_its_checkpoint(stages, tmp_path, monkeypatch):
    """A job killed after epoch 1 resumes at epoch 2 and ends byte-identical to an unbroken run."""
    from mvprepro.train import train as train_mod

    class Killed(Exception):
        pass

    def kill_after_first_epoch(epoch):
        if epoch == 1:
            raise Killed

    spec = stages["sst2"]["spec"]
    monkeypatch.setattr(train_mod, "epoch_finished", kill_after_first_epoch)
    with pytest.raises(Killed):
        _train(stages, spec, tmp_path / "model", tmp_path / "metrics.json")
    assert not (tmp_path / "model").exists() and not (tmp_path / "metrics.json").exists()
    assert (tmp_path / "model.checkpoint" / "state.json").exists()

    epochs_run = []
    monkeypatch.setattr(train_mod, "epoch_finished", epochs_run.append)
    _train(stages, spec, tmp_path / "model", tmp_path / "metrics.json")
    assert epochs_run == [2, 3]  # epoch 1 was not redone
    assert not (tmp_path / "model.checkpoint").exists()
    reference = stages["sst2"]["run"]
    assert (tmp_path / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == (reference / "model" / "model.safetensors").read_bytes()


def test_checkpoint_of_another_spec_is_ignored(stages, tmp_path, monkeypatch):
    from mvprepro.train import train as train_mod

    def kill(epoch):
        raise RuntimeError("killed")

    spec = stages["sst2"]["spec"]
    monkeypatch.setattr(train_mod, "epoch_finished", kill)
    with pytest.raises(RuntimeError):
        _train(stages, spec, tmp_path / "model", tmp_path / "metrics.json")
    epochs_run = []
    monkeypatch.setattr(train_mod, "epoch_finished", epochs_run.append)
    changed = {**spec, "training": {**spec["training"], "max_epochs": 2}}
    _train(stages, changed, tmp_path / "model", tmp_path / "metrics.json")
    assert epochs_run == [1, 2]


def test_length_grouped_batches_cover_each_example_once():
    import random

    from mvprepro.train.train import epoch_batches

    lengths = [random.Random(i).randrange(5, 100) for i in range(1000)]
    plain = epoch_batches(lengths, 8, random.Random(0), False)
    grouped = epoch_batches(lengths, 8, random.Random(0), True)
    for batches in (plain, grouped):
        assert sorted(i for b in batches for i in b) == list(range(1000))
        assert all(len(b) == 8 for b in batches)
    padding = lambda bs: sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)  # noqa: E731
    assert padding(grouped) < padding(plain) / 5


def test_gradient_accumulation_counts_optimizer_steps(stages, tmp_path):
    """Batches of 8 accumulated twice take as many optimizer steps as batches of 16.

    (Their updates differ only through dropout masks and padding, so they are not compared.)
    """
    spec = stages["sst2"]["spec"]
    big = {**spec, "training": {**spec["training"], "batch_size": 16, "grad_accumulation": 1, "max_epochs": 1}}
    acc = {**spec, "training": {**spec["training"], "batch_size": 8, "grad_accumulation": 2, "max_epochs": 1}}
    _train(stages, big, tmp_path / "a", tmp_path / "a.json")
    _train(stages, acc, tmp_path / "b", tmp_path / "b.json")
    a, b = fileio.read_json(tmp_path / "a.json"), fileio.read_json(tmp_path / "b.json")
    assert a["steps"] == b["steps"]  # same number of optimizer steps per epoch


def test_stock_textfooler_has_no_word_share_limit(stages, tmp_path):
    _attack(stages, "sst2", "textfooler", {"variant": "stock", "num_examples": 2}, 1, tmp_path)
    constraints = {c["constraint"] for c in fileio.read_json(tmp_path / "summary.json")["constraints"]}
    assert "max_words_perturbed" not in constraints and "word_embedding_distance" in constraints


def test_deepwordbug_runs_offline(stages, tmp_path):
    rows = _attack(stages, "sst2", "deepwordbug", {}, 1, tmp_path)
    assert len(rows) == 8
    status = {c["constraint"]: c["status"] for c in fileio.read_json(tmp_path / "summary.json")["constraints"]}
    assert status["levenshtein_edit_distance"] == "enabled"
    changed = [r for r in rows if r["result"] == "successful"]
    assert all(r["perturbed_text"] != r["original_text"] for r in changed)


def test_pwws_without_wordnet_says_what_to_fetch(stages, tmp_path):
    with pytest.raises(Exception, match="PWWS needs NLTK's WordNet; set attack_resources.nltk to download"):
        _attack(stages, "sst2", "pwws", {}, 1, tmp_path)


def test_bae_uses_the_masked_lm_from_resources(stages, tmp_path):

    fetch_attack_resources(
        {**NO_ENCODER, "masked_lm": {"source": {"builder": "tiny_bert", "options": {"pretrain_steps": 50}}}},
        tmp_path / "res" / "manifest.json",
    )
    assert (tmp_path / "res" / "masked_lm" / "model.safetensors").exists()
    local = dict(stages, resources=tmp_path / "res", manifest=tmp_path / "res" / "manifest.json")
    (tmp_path / "out").mkdir()
    rows = _attack(local, "sst2", "bae", {"num_examples": 3}, 1, tmp_path / "out")
    assert len(rows) == 3
    status = {c["constraint"]: c["status"] for c in fileio.read_json(tmp_path / "out" / "summary.json")["constraints"]}
    assert status["part_of_speech"] == "disabled"
    assert status["sentence_similarity(cosine>=0.936338023, window=15)"] == "disabled"


def test_bae_without_masked_lm_says_what_to_fetch(stages, tmp_path):
    with pytest.raises(Exception, match="BAE needs a masked LM; add attack_resources.masked_lm.source"):
        _attack(stages, "sst2", "bae", {}, 1, tmp_path)


def test_embedding_from_a_zip_url(tmp_path):
    """The download path for text-format embeddings such as GloVe (here from a file:// URL)."""
    import zipfile

    from mvprepro import attack_resources as res
    from mvprepro.download import download_attack_resources as download

    archive = tmp_path / "glove.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("glove.6B.50d.txt", "good 1.0 0.0\ngreat 0.9 0.1\nbad -1.0 0.0\n")
        zf.writestr("readme.txt", "not vectors")
    res.activate(tmp_path / "res")
    download._fetch_nltk("builtin", tmp_path / "res" / "nltk_data", None)
    download._fetch_embedding("glove", {"source": {"url": archive.as_uri(), "member": "glove.6B.50d.txt"}}, tmp_path / "res" / "embeddings" / "glove", None)
    emb = res.load_embedding(tmp_path / "res", "glove")
    assert emb.nearest_neighbours(emb.word2index("good"), 1) == [emb.word2index("great")]
    assert sorted(p.name for p in (tmp_path / "res" / "embeddings" / "glove").iterdir()) == ["nn.npy", "vectors.npy", "vocab.txt"]


def test_sigkilled_training_job_resumes(stages, tmp_path):
    import sys

    spec = dict(stages["sst2"]["spec"])
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    cmd = [sys.executable, "-m", "mvprepro", "train", "--spec", f"@{tmp_path / 'spec.json'}",
           "--tokenized", str(stages["sst2"]["tok"]), "--backbone", str(stages["backbone"]),
           "--model-out", str(tmp_path / "model"), "--metrics-out", str(tmp_path / "metrics.json")]
    run_then_stop(cmd, lambda: (tmp_path / "model.checkpoint" / "state.json").exists(), env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert not (tmp_path / "metrics.json").exists()
    done = json.loads((tmp_path / "model.checkpoint" / "state.json").read_text())["counters"]["epoch"]
    assert done >= 1
    import subprocess

    subprocess.run(cmd, check=True, capture_output=True)
    reference = stages["sst2"]["run"]
    assert (tmp_path / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == (reference / "model" / "model.safetensors").read_bytes()


def test_sigkilled_attack_job_resumes(stages, tmp_path):
    import subprocess
    import sys

    spec = _attack_spec("sst2", "textfooler", {"max_words_perturbed": {"default": 0.3}}, 0, 1)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    out = tmp_path / "shard-0.jsonl"
    cmd = [sys.executable, "-m", "mvprepro", "attack", "--spec", f"@{tmp_path / 'spec.json'}",
           "--model", str(stages["sst2"]["run"] / "model"), "--data", str(stages["sst2"]["data"]),
           "--manifest", str(stages["manifest"]), "--out", str(out), "--constraints-out", str(tmp_path / "c.json")]
    partial = tmp_path / "shard-0.jsonl.partial"
    # The header line, then at least two finished rows.
    run_then_stop(cmd, lambda: partial.exists() and partial.read_text().count("\n") >= 3, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert not out.exists()
    header, *lines = partial.read_text().splitlines()
    assert json.loads(header) == {"spec": digest_of(spec)}
    finished = []
    for line in lines:
        try:
            finished.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the line being written when the job died
    subprocess.run(cmd, check=True, capture_output=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["position"] for r in rows] == list(range(8))
    assert rows[: len(finished)] == finished  # finished examples were kept, not recomputed
    (tmp_path / "fresh").mkdir()
    assert rows == _attack(stages, "sst2", "textfooler", {"max_words_perturbed": {"default": 0.3}}, 1, tmp_path / "fresh")


def test_local_dataset_source_comes_as_an_argument(tmp_path):
    """A ``path:`` dataset reaches the download job as ``{"local": true}`` plus its folder."""
    from datasets import load_from_disk

    from mvprepro.download.datasets import fetch_dataset
    from mvprepro.download.sources import SourceError

    folder = tmp_path / "mine"
    folder.mkdir()
    for split, n in (("train", 4), ("validation", 2)):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps({"sentence": f"text {i}", "label": i % 2}) + "\n" for i in range(n)))
    fetch_dataset({"local": True}, tmp_path / "out", "mine", local=folder)
    saved = load_from_disk(str(tmp_path / "out" / "data"))
    assert {k: len(v) for k, v in saved.items()} == {"train": 4, "validation": 2}
    record = fileio.read_json(tmp_path / "out" / "source.json")
    assert record["source"] == {"local": True} and record["local"] == str(folder)
    with pytest.raises(SourceError, match="needs its local path"):
        fetch_dataset({"local": True}, tmp_path / "x", "mine")
    with pytest.raises(SourceError, match="only a 'path' source takes one"):
        fetch_dataset({"builder": "demo_sst2"}, tmp_path / "y", "mine", local=folder)
    with pytest.raises(SourceError, match="exactly one of 'hub', 'package', 'path' or 'builder'"):
        fetch_dataset({"path": str(folder)}, tmp_path / "z", "mine")  # the config's form never reaches the job
    assert not any((tmp_path / d).exists() for d in ("x", "y", "z"))


def test_training_on_a_subset_of_the_split(stages, tmp_path):
    """A train_sizes run trains on the nested, class-balanced subset and records its size;
    a size the split cannot provide stops the job before it writes anything."""
    from mvprepro.data.subsets import SizeError

    spec = {**stages["sst2"]["spec"], "train_size": 16, "subset_seed": 0}
    _train(stages, spec, tmp_path / "model", tmp_path / "metrics.json")
    assert fileio.read_json(tmp_path / "metrics.json")["train_examples"] == 16
    with pytest.raises(SizeError, match=r"datasets.sst2: train_sizes entry 5000 is larger than its training split"):
        _train(stages, {**spec, "train_size": 5000}, tmp_path / "big", tmp_path / "big.json")
    assert not (tmp_path / "big").exists() and not (tmp_path / "big.json").exists()


def test_sentence_encoders_encode_each_distinct_sentence_once(stages):
    """TextFooler's windowed constraint asks for the starting text's window once per
    candidate; the encoders encode it once and return every row in the order asked."""
    import numpy as np

    from mvprepro import attack_resources as resources

    resources.activate(stages["resources"])  # TextAttack's first import reads NLTK data from here
    from mvprepro.attack.encoders import USEM3Encoder, encode_distinct

    seen: list[list[str]] = []

    def fake(batch: list[str]) -> np.ndarray:
        seen.append(list(batch))
        return np.array([[len(s), ord(s[0])] for s in batch], dtype=np.float64)

    asked = ["a window", "b", "a window", "cc", "a window", "b"]
    rows = encode_distinct(asked, fake, batch_size=2, width=2)
    assert seen == [["a window", "b"], ["cc"]]
    assert rows.dtype == np.float32 and rows.tolist() == [[len(s), ord(s[0])] for s in asked]
    assert encode_distinct([], fake, batch_size=2, width=7).shape == (0, 7)

    use = USEM3Encoder()
    real = use.encode(["the film was good", "the movie was great", "the film was good"])
    assert real.shape == (3, 512) and np.array_equal(real[0], real[2])
    alone = use.encode(["the film was good", "the movie was great"])
    assert np.allclose(real[:2], alone, atol=1e-6)
