"""The data protocol of each task: splits, filtering, lowercasing, canonical columns."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

from mvprepro.data.tasks import ProtocolError, prepare_splits


def _sst2(n_train: int = 100, n_val: int = 20) -> DatasetDict:
    train = [{"sentence": f"A Fine Movie {i}" if i % 10 else "...", "label": i % 2, "idx": i} for i in range(n_train)]
    val = [{"sentence": f"Great Film {i}", "label": i % 2, "idx": i} for i in range(n_val)]
    test = [{"sentence": "unlabelled", "label": -1, "idx": i} for i in range(5)]
    return DatasetDict({"train": Dataset.from_list(train), "validation": Dataset.from_list(val), "test": Dataset.from_list(test)})


def test_sst2_uses_glue_validation_as_test_and_splits_train():
    out = prepare_splits("sst2", _sst2(), {"split_seed": 0, "validation_fraction": 0.05, "train_fraction": 0.95})
    assert set(out) == {"train", "validation", "test"}
    # GLUE validation becomes the test set, untouched but lowercased.
    assert list(out["test"]["sentence"]) == [f"great film {i}" for i in range(20)]
    # 5% of train goes to validation (before dropping letterless sentences).
    assert len(out["train"]) + len(out["validation"]) == 90  # 10 of 100 sentences have no letter
    assert out["train"].column_names == ["sentence", "label"]
    assert all(s == s.lower() for s in out["train"]["sentence"])
    assert all(any(c.isalpha() for c in s) for s in list(out["train"]["sentence"]) + list(out["validation"]["sentence"]))


def test_sst2_split_is_deterministic_and_disjoint():
    a = prepare_splits("sst2", _sst2(), {})
    b = prepare_splits("sst2", _sst2(), {})
    assert list(a["validation"]["sentence"]) == list(b["validation"]["sentence"])
    assert not set(a["train"]["sentence"]) & set(a["validation"]["sentence"])


def test_ag_news_keeps_official_test():
    raw = DatasetDict(
        {
            "train": Dataset.from_list([{"text": f"Story {i}", "label": i % 4} for i in range(200)]),
            "test": Dataset.from_list([{"text": f"Test {i}", "label": i % 4} for i in range(12)]),
        }
    )
    out = prepare_splits("ag_news", raw, {})
    assert len(out["test"]) == 12 and len(out["validation"]) == 10 and len(out["train"]) == 190


def test_boolq_halves_validation_and_protects_question_format():
    rows = [{"question": f"Is it {i}", "answer": bool(i % 2), "passage": f"Passage {i}."} for i in range(40)]
    raw = DatasetDict({"train": Dataset.from_list(rows * 3), "validation": Dataset.from_list(rows)})
    out = prepare_splits("boolq", raw, {"split_seed": 0, "train_fraction": 0.95})
    assert out["test"].column_names == ["passage", "question", "label"]
    assert len(out["validation"]) == 20 and len(out["test"]) == 20
    assert set(out["validation"]["question"]).isdisjoint(out["test"]["question"])
    assert all(q.endswith("?") and q == q.lower() for q in out["test"]["question"])
    assert set(out["train"]["label"]) == {0, 1}
    assert len(out["train"]) == 114  # 95% of 120


def test_boolq_subset_is_the_reference_codes_block():
    """train_fraction < 1 keeps what the reference's train_test_split(test_size=val_size,
    train_size=train_size, seed=0)["train"] keeps: the block after a discarded val_size block
    of one seeded permutation (not the permutation's first or last block)."""
    rows = [{"question": f"Is it {i}", "answer": bool(i % 2), "passage": f"Passage {i}."} for i in range(200)]
    raw = DatasetDict({"train": Dataset.from_list(rows), "validation": Dataset.from_list(rows[:40])})
    out = prepare_splits("boolq", raw, {"split_seed": 0, "train_fraction": 0.5, "validation_fraction": 0.1})
    passages = list(out["train"]["passage"])
    reference = raw["train"].train_test_split(test_size=0.1, train_size=0.5, seed=0)["train"]
    assert passages == [p.lower() for p in reference["passage"]]
    permutation = np.random.default_rng(0).permutation(200)  # the one train_test_split draws
    assert passages == [f"passage {i}." for i in permutation[20:120]]  # after the 10% block
    assert passages != [f"passage {i}." for i in permutation[100:]] and passages != [f"passage {i}." for i in permutation[:100]]
    # With validation_fraction = 1 - train_fraction (0.05 and 0.95: the reference's argparse
    # defaults and our schema's) the block is the permutation's last one.
    default = prepare_splits("boolq", raw, {"split_seed": 0, "train_fraction": 0.95})
    assert list(default["train"]["passage"]) == [f"passage {i}." for i in permutation[10:]]
    with pytest.raises(ProtocolError, match="exceeds 1"):
        prepare_splits("boolq", raw, {"train_fraction": 0.95, "validation_fraction": 0.1})
    assert len(prepare_splits("boolq", raw, {"train_fraction": 1.0, "validation_fraction": 0.1})["train"]) == 200


def test_missing_split_names_the_problem():
    raw = DatasetDict({"train": Dataset.from_list([{"text": "a", "label": 0}])})
    with pytest.raises(ProtocolError, match="no 'test' split"):
        prepare_splits("ag_news", raw, {})


def test_missing_column_names_the_problem():
    raw = DatasetDict({"train": Dataset.from_list([{"sentence": "a b", "label": 0}] * 20), "validation": Dataset.from_list([{"text": "a", "label": 0}])})
    with pytest.raises(ProtocolError, match="lacks columns"):
        prepare_splits("sst2", raw, {})


def test_unlabelled_split_is_rejected():
    raw = DatasetDict(
        {
            "train": Dataset.from_list([{"text": f"x {i}", "label": 0} for i in range(40)]),
            "test": Dataset.from_list([{"text": "y", "label": -1}]),
        }
    )
    with pytest.raises(ProtocolError, match="outside 0..3"):
        prepare_splits("ag_news", raw, {})


def test_unknown_task():
    with pytest.raises(ProtocolError, match="unknown task"):
        prepare_splits("mnli", DatasetDict(), {})
