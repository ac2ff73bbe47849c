"""Offline stand-ins for the hub: small synthetic datasets, a tiny RoBERTa, a word embedding.

Everything here is built from a seed on the local machine, in the same formats as the real
sources (GLUE SST-2, AG News, BoolQ columns and splits; a RoBERTa masked-LM checkpoint with
its byte-level BPE tokenizer; a word embedding with nearest neighbours), so the demo and the
tests run the very same rules as a full reproduction, only smaller.

The texts are generated from word groups whose members are near-synonyms; the demo word
embedding places each group's members close together, so the attacks' word swaps behave
like swaps between real near-synonyms.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

# Word groups: members of a group are near-synonyms for the demo embedding.
GROUPS: dict[str, list[str]] = {
    "pos_adj": ["good", "great", "fine", "excellent", "superb", "wonderful", "lovely", "brilliant"],
    "neg_adj": ["bad", "awful", "poor", "terrible", "dreadful", "horrible", "lousy", "dismal"],
    "pos_verb": ["loved", "enjoyed", "adored", "liked", "admired", "praised"],
    "neg_verb": ["hated", "disliked", "loathed", "despised", "detested", "resented"],
    "intens": ["very", "really", "truly", "quite", "rather", "extremely"],
    "film": ["movie", "film", "picture", "story", "script", "plot", "cast", "show"],
    "people": ["critics", "viewers", "fans", "audiences", "reviewers", "people"],
    "world": ["government", "minister", "election", "parliament", "president", "diplomats", "treaty", "war"],
    "sports": ["team", "coach", "match", "season", "league", "players", "goal", "championship"],
    "business": ["company", "profits", "shares", "market", "investors", "bank", "earnings", "merger"],
    "tech": ["software", "computer", "internet", "chip", "researchers", "network", "device", "laptop"],
    "news_verb": ["announced", "reported", "said", "revealed", "confirmed", "stated"],
    "time": ["monday", "tuesday", "wednesday", "thursday", "friday", "yesterday", "today"],
    "yes_cue": ["indeed", "certainly", "definitely", "surely", "truly"],
    "no_cue": ["never", "hardly", "barely", "rarely", "seldom"],
    "animal": ["dog", "cat", "horse", "bird", "fox", "rabbit"],
    "color": ["red", "blue", "green", "brown", "white", "black"],
    "place": ["forest", "city", "village", "farm", "river", "valley"],
}


def _pick(rng: random.Random, group: str) -> str:
    return rng.choice(GROUPS[group])


def _sst2_sentence(rng: random.Random, label: int) -> str:
    adj = "pos_adj" if label else "neg_adj"
    verb = "pos_verb" if label else "neg_verb"
    forms = [
        lambda: f"the {_pick(rng, 'film')} was {_pick(rng, 'intens')} {_pick(rng, adj)} .",
        lambda: f"{_pick(rng, 'people')} {_pick(rng, verb)} this {_pick(rng, 'film')} .",
        lambda: f"a {_pick(rng, adj)} {_pick(rng, 'film')} with a {_pick(rng, 'intens')} {_pick(rng, adj)} {_pick(rng, 'film')} .",
        lambda: f"the {_pick(rng, 'film')} is {_pick(rng, adj)} and the {_pick(rng, 'film')} is {_pick(rng, 'intens')} {_pick(rng, adj)}",
    ]
    return rng.choice(forms)()


def _agnews_text(rng: random.Random, label: int) -> str:
    topic = ("world", "sports", "business", "tech")[label]
    return (
        f"the {_pick(rng, topic)} {_pick(rng, 'news_verb')} on {_pick(rng, 'time')} that the "
        f"{_pick(rng, topic)} and the {_pick(rng, topic)} were {_pick(rng, 'intens')} busy ."
    )


def _boolq_example(rng: random.Random, label: int) -> dict[str, Any]:
    animal, color, place = _pick(rng, "animal"), _pick(rng, "color"), _pick(rng, "place")
    cue = _pick(rng, "yes_cue" if label else "no_cue")
    passage = (
        f"The {animal} lives near the {place}. Observers say the {animal} is {cue} {color} "
        f"and it is {_pick(rng, 'intens')} calm."
    )
    return {"question": f"is the {animal} {color}", "answer": bool(label), "passage": passage}


def build_dataset(builder: str, seed: int = 0, train_size: int = 400, eval_size: int = 80) -> Any:
    """Build a DatasetDict in the hub format of the real dataset the builder stands in for."""
    from datasets import Dataset, DatasetDict

    rng = random.Random(seed)
    if builder == "demo_sst2":
        def split(n: int, labelled: bool = True) -> Dataset:
            rows = []
            for i in range(n):
                y = rng.randint(0, 1)
                rows.append({"sentence": _sst2_sentence(rng, y).capitalize(), "label": y if labelled else -1, "idx": i})
            return Dataset.from_list(rows)
        # GLUE's test split has no labels (label -1), which is why the protocol tests on validation.
        return DatasetDict({"train": split(train_size), "validation": split(eval_size), "test": split(eval_size, False)})
    if builder == "demo_ag_news":
        def split(n: int) -> Dataset:
            rows = []
            for _ in range(n):
                y = rng.randint(0, 3)
                rows.append({"text": _agnews_text(rng, y).capitalize(), "label": y})
            return Dataset.from_list(rows)
        return DatasetDict({"train": split(train_size), "test": split(eval_size)})
    if builder == "demo_boolq":
        def split(n: int) -> Dataset:
            return Dataset.from_list([_boolq_example(rng, rng.randint(0, 1)) for _ in range(n)])
        # BoolQ publishes train and validation only.
        return DatasetDict({"train": split(train_size), "validation": split(2 * eval_size)})
    raise ValueError(
        f"unknown dataset builder {builder!r}; known builders: demo_sst2, demo_ag_news, demo_boolq"
    )


def _corpus_lines(corpus: list[str], words: list[str] | None = None) -> list[str]:
    """Text lines for tokenizer training: the saved datasets' text, plus ``words`` repeated.

    ``words`` (the builder option of that name) are words the small vocabulary must hold
    whole, such as label words and the words of templates. They come from the config, not
    from the prompt files, so that editing a template never rebuilds the backbone (and
    retrains every model): a word not listed simply splits into sub-words.
    """
    from datasets import load_from_disk

    lines: list[str] = []
    if words:
        # Each after a space (as MVP reads label words mid-sentence) and at the start of a
        # line (as CLSPrompt and causal MVP read them), so both forms become one token.
        lines += [" " + " ".join(words)] * 50 + [w for w in words for _ in range(50)]
    for item in corpus:
        dd = load_from_disk(str(Path(item) / "data"))
        for split in dd.values():
            for col in split.column_names:
                if split.features[col].dtype == "string":
                    lines += [str(t).lower() for t in split[col]]
    for group in GROUPS.values():
        lines += [" ".join(group)] * 5
    return lines


BACKBONE_BUILDERS = ("tiny_roberta", "tiny_bert", "tiny_gpt2")


def _tokenizer(builder: str, lines: list[str], vocab_size: int, max_positions: int, workdir: Path):
    """Train a small tokenizer of the family the builder stands in for."""
    from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer
    from transformers import BertTokenizerFast, GPT2TokenizerFast, RobertaTokenizerFast

    workdir.mkdir(parents=True, exist_ok=True)
    if builder == "tiny_bert":
        wp = BertWordPieceTokenizer(lowercase=True)
        wp.train_from_iterator(lines, vocab_size=vocab_size, min_frequency=2)
        wp.save_model(str(workdir))
        return BertTokenizerFast(vocab_file=str(workdir / "vocab.txt"), do_lower_case=True, model_max_length=max_positions)
    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if builder == "tiny_roberta" else ["<|endoftext|>"]
    bpe.train_from_iterator(lines, vocab_size=vocab_size, min_frequency=2, special_tokens=specials)
    bpe.save_model(str(workdir))
    files = {"vocab_file": str(workdir / "vocab.json"), "merges_file": str(workdir / "merges.txt")}
    if builder == "tiny_roberta":
        return RobertaTokenizerFast(**files, model_max_length=max_positions - 2)
    tok = GPT2TokenizerFast(**files, model_max_length=max_positions)
    # GPT-2 has neither padding nor a mask token: add them, as the paper's code does.
    tok.add_special_tokens({"pad_token": "<|pad|>", "mask_token": "<|mask|>"})
    return tok


def build_backbone(
    builder: str,
    out_dir: str | Path,
    corpus: list[str],
    words: list[str] | None = None,
    seed: int = 0,
    vocab_size: int = 1000,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 2,
    max_positions: int = 160,
    pretrain_steps: int = 200,
) -> None:
    """A tiny RoBERTa, BERT or GPT-2: a tokenizer trained on the corpus, a small config,
    and brief (masked or causal) LM pretraining.

    The short pretraining gives the LM head something to say, so prompt methods start from
    a backbone that, like the real ones, already predicts words at a mask.
    """
    if builder not in BACKBONE_BUILDERS:
        raise ValueError(f"unknown backbone builder {builder!r}; known builders: {list(BACKBONE_BUILDERS)}")
    import shutil

    import torch
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        DataCollatorForLanguageModeling,
        GPT2Config,
        GPT2LMHeadModel,
        RobertaConfig,
        RobertaForMaskedLM,
    )

    out = Path(out_dir)
    lines = _corpus_lines(corpus, words)
    tokenizer = _tokenizer(builder, lines, vocab_size, max_positions, out / "_tok")
    shutil.rmtree(out / "_tok")
    torch.manual_seed(seed)
    common = {"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id}
    if builder == "tiny_roberta":
        config = RobertaConfig(
            **common, hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=num_heads,
            intermediate_size=4 * hidden_size, max_position_embeddings=max_positions,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, type_vocab_size=1,
        )
        model = RobertaForMaskedLM(config)
    elif builder == "tiny_bert":
        config = BertConfig(
            **common, hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=num_heads,
            intermediate_size=4 * hidden_size, max_position_embeddings=max_positions,
        )
        model = BertForMaskedLM(config)
    else:
        config = GPT2Config(**common, n_embd=hidden_size, n_layer=num_layers, n_head=num_heads, n_positions=max_positions,
                            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
        model = GPT2LMHeadModel(config)
    if pretrain_steps > 0:
        collator = DataCollatorForLanguageModeling(tokenizer, mlm=builder != "tiny_gpt2", mlm_probability=0.15)
        enc = tokenizer(lines, truncation=True, max_length=64)["input_ids"]
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        gen = random.Random(seed)
        model.train()
        for _ in range(pretrain_steps):
            batch = collator([{"input_ids": enc[gen.randrange(len(enc))]} for _ in range(32)])
            loss = model(**batch).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
    tokenizer.save_pretrained(out)
    model.save_pretrained(out, safe_serialization=True)


def build_embedding(
    seed: int = 0, dim: int = 64, noise: float = 0.35, shared_centres: list[list[str]] | None = None
) -> tuple[list[str], np.ndarray]:
    """Word vectors where members of a demo word group are close (cosine about 0.9).

    ``shared_centres`` lists groups placed around one centre, making e.g. positive and
    negative adjectives neighbours: an embedding that lets attacks flip a label, for tests.
    """
    rng = np.random.default_rng(seed)
    centres = {name: rng.normal(size=dim) for name in GROUPS}
    for tied in shared_centres or []:
        unknown = [g for g in tied if g not in GROUPS]
        if unknown:
            raise ValueError(f"shared_centres: unknown word groups {unknown}; known: {sorted(GROUPS)}")
        for name in tied[1:]:
            centres[name] = centres[tied[0]]
    words: list[str] = []
    vectors = []
    for name, group in GROUPS.items():
        for word in group:
            if word in words:
                continue
            words.append(word)
            vectors.append(centres[name] + noise * rng.normal(size=dim))
    return words, np.asarray(vectors, dtype=np.float32)
