"""Shared fixtures: a tiny RoBERTa and the demo datasets, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def prompt_words() -> list[str]:
    """Label words and template words of config/prompts/*.yaml, which the tiny vocabulary keeps whole.

    The builders no longer read prompt files: the config lists these words in the builder's
    ``words`` option (as config/demo.yaml does), so the tests pass them the same way.
    """
    import yaml

    words: list[str] = []
    for path in sorted((REPO / "config" / "prompts").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for class_words in data["verbalizer"]:
            words += [str(w) for w in class_words]
        for template in data["templates"]:
            words += template.replace("[MASK]", " ").replace("[SEP]", " ").split()
    return list(dict.fromkeys(words))


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> dict[str, Path]:
    """The three demo datasets, saved as the download rule saves them."""
    from mvprepro.download.datasets import fetch_dataset

    root = tmp_path_factory.mktemp("datasets")
    out = {}
    for name in ("sst2", "ag_news", "boolq"):
        fetch_dataset({"builder": f"demo_{name}", "options": {"train_size": 400, "eval_size": 24}}, root / name, name)
        out[name] = root / name
    return out


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory, demo_raw) -> Path:
    """A tiny RoBERTa whose tokenizer knows the paper's label words."""
    from mvprepro.download.backbones import fetch_backbone

    out = tmp_path_factory.mktemp("backbone") / "tiny"
    corpus = [str(p) for p in demo_raw.values()]
    options = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "pretrain_steps": 200, "words": prompt_words()}
    fetch_backbone(
        {"builder": "tiny_roberta", "options": options},
        out,
        "tiny",
        corpus=corpus,
    )
    return out


@pytest.fixture(scope="session")
def tokenizer(tiny_backbone):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_backbone))


def _tiny(tmp_path_factory, demo_raw, builder: str) -> Path:
    from mvprepro.download.backbones import fetch_backbone

    out = tmp_path_factory.mktemp("backbone") / builder
    corpus = [str(p) for p in demo_raw.values()]
    options = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "pretrain_steps": 200, "words": prompt_words()}
    fetch_backbone({"builder": builder, "options": options}, out, builder, corpus=corpus)
    return out


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, demo_raw) -> Path:
    """A tiny BERT (WordPiece, masked LM)."""
    return _tiny(tmp_path_factory, demo_raw, "tiny_bert")


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory, demo_raw) -> Path:
    """A tiny GPT-2 (byte-level BPE, causal LM, with added pad and mask tokens)."""
    return _tiny(tmp_path_factory, demo_raw, "tiny_gpt2")
