"""Prompt parsing, insertion on token ids, and the MVP head against a full-vocabulary reference."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForMaskedLM

from mvprepro.train import models, prompts
from mvprepro.train.templates import PromptError, parse_template

SST2_TEMPLATES = [
    "Sentiment of the statement is [MASK] .",
    "[SEP] [MASK]",
    "This is a [MASK] statement",
    "[SEP] The statement is [MASK]",
]


def test_template_placement_follows_sep_prefix():
    assert parse_template("This is a [MASK] statement").placement == "front"
    back = parse_template("[SEP] The statement is [MASK]")
    assert back.placement == "back" and back.body == "The statement is [MASK]"


@pytest.mark.parametrize("bad", ["No mask here", "[MASK] and [MASK]", "Before [SEP] [MASK]"])
def test_bad_templates_are_rejected_with_the_template_named(bad):
    with pytest.raises(PromptError, match="template"):
        parse_template(bad)


def test_insertion_front_and_back(tokenizer):
    text_ids = tokenizer(["the film was good ."])["input_ids"]
    encoded = [prompts.encode_template(tokenizer, parse_template(t)) for t in SST2_TEMPLATES]
    rows, masks = prompts.insert_templates(text_ids, encoded, max_length=64)
    assert len(rows) == 4
    decoded = [tokenizer.decode(r) for r in rows]
    # The text keeps its own tokenization (its first word has no leading space), as in the
    # reference code, which also splices token ids rather than strings.
    assert decoded[0] == "<s>Sentiment of the statement is<mask> .the film was good .</s>"
    assert decoded[1] == "<s>the film was good .<mask></s>"
    assert decoded[3] == "<s>the film was good . The statement is<mask></s>"
    for row, mask in zip(rows, masks):
        assert row[mask] == tokenizer.mask_token_id
        assert row.count(tokenizer.mask_token_id) == 1
        assert row[0] == tokenizer.cls_token_id and row[-1] == tokenizer.sep_token_id


def test_insertion_truncates_text_not_template(tokenizer):
    long_ids = tokenizer(["good " * 100])["input_ids"]
    encoded = [prompts.encode_template(tokenizer, parse_template(t)) for t in SST2_TEMPLATES]
    rows, masks = prompts.insert_templates(long_ids, encoded, max_length=32)
    assert all(len(r) == 32 for r in rows)
    for row, mask, tpl in zip(rows, masks, encoded):
        assert row[mask] == tokenizer.mask_token_id
        start = mask - tpl.mask_offset
        assert tuple(row[start : start + len(tpl.ids)]) == tpl.ids


def test_label_word_that_is_not_one_token_is_named(tokenizer):
    with pytest.raises(PromptError, match="'antidisestablishmentarianism'.*not a single token for tiny"):
        prompts.label_word_ids(tokenizer, [["negative"], ["antidisestablishmentarianism"]], "tiny")


def test_label_words_map_to_classes(tokenizer):
    ids, classes = prompts.label_word_ids(tokenizer, [["negative"], ["positive", "great"]])
    assert classes == [0, 1, 1]
    assert len(set(ids)) == 3


def _mvp(tiny_backbone, pool_words="max", pool_templates="mean", verbalizer=(("negative",), ("positive", "great"))):
    spec = {
        "kind": "mvp",
        "name": "mvp",
        "templates": SST2_TEMPLATES,
        "verbalizer": [list(v) for v in verbalizer],
        "pool_label_words": pool_words,
        "pool_templates": pool_templates,
        "num_labels": 2,
        "max_length": 64,
        "prompt_reserve": 16,
    }
    torch.manual_seed(0)
    return models.build(tiny_backbone, spec).eval()


@pytest.mark.parametrize("pool_words,pool_templates", [("max", "mean"), ("mean", "max")])
def test_mvp_head_equals_full_vocabulary_reference(tiny_backbone, tokenizer, pool_words, pool_templates):
    model = _mvp(tiny_backbone, pool_words, pool_templates)
    texts = ["the film was good .", "critics hated this movie and the plot is dreadful", "a lovely story"]
    ids = tokenizer(texts)["input_ids"]
    batch = model.collate(ids)
    with torch.no_grad():
        ours = model(**batch)

    # Reference: the stock masked-LM over the full vocabulary, one sequence at a time,
    # then explicit Python pooling.
    full = AutoModelForMaskedLM.from_pretrained(tiny_backbone).eval()
    word_ids, word_classes = prompts.label_word_ids(tokenizer, [["negative"], ["positive", "great"]])
    encoded = [prompts.encode_template(tokenizer, parse_template(t)) for t in SST2_TEMPLATES]
    expected = []
    for text_ids in ids:
        per_template = []
        for tpl in encoded:
            (row,), (mask,) = prompts.insert_templates([text_ids], [tpl], 64)
            with torch.no_grad():
                logits = full(input_ids=torch.tensor([row])).logits[0, mask]  # [vocab]
            scores = []
            for c in (0, 1):
                words = [logits[w] for w, k in zip(word_ids, word_classes) if k == c]
                scores.append(max(words) if pool_words == "max" else sum(words) / len(words))
            per_template.append(torch.stack(scores))
        stacked = torch.stack(per_template)
        expected.append(stacked.mean(0) if pool_templates == "mean" else stacked.max(0).values)
    torch.testing.assert_close(ours, torch.stack(expected), atol=1e-5, rtol=1e-5)


def test_mvp_batch_padding_does_not_change_scores(tiny_backbone, tokenizer):
    model = _mvp(tiny_backbone)
    ids = tokenizer(["good", "the film was good and the cast was lovely and brilliant ."])["input_ids"]
    with torch.no_grad():
        together = model(**model.collate(ids))
        alone = torch.cat([model(**model.collate([i])) for i in ids])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_verbalizer_class_count_must_match(tiny_backbone):
    with pytest.raises(PromptError, match="3 classes but the dataset has 2"):
        _mvp(tiny_backbone, verbalizer=(("negative",), ("positive",), ("great",)))


def test_mlp_ft_is_the_standard_classification_head(tiny_backbone):
    spec = {"kind": "mlp_ft", "name": "mlp_ft", "num_labels": 4, "max_length": 64, "prompt_reserve": 16}
    model = models.build(tiny_backbone, spec)
    names = {n for n, _ in model.hf.classifier.named_parameters()}
    assert names == {"dense.weight", "dense.bias", "out_proj.weight", "out_proj.bias"}
    assert model.hf.classifier.out_proj.out_features == 4


def test_save_and_load_roundtrip_uses_safetensors(tiny_backbone, tokenizer, tmp_path):
    model = _mvp(tiny_backbone)
    model.save(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin"))
    loaded = models.load(tmp_path)
    ids = tokenizer(["a lovely story"])["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(model(**model.collate(ids)), loaded(**loaded.collate(ids)))


@pytest.mark.parametrize("specials", [(1, 1), (0, 0)])
def test_batched_insertion_equals_the_reference(tokenizer, specials):
    import random

    rng = random.Random(0)
    encoded = [prompts.encode_template(tokenizer, parse_template(t)) for t in SST2_TEMPLATES]
    inputs = [[rng.randrange(5, 900) for _ in range(rng.randrange(2, 50))] for _ in range(40)]
    for max_length in (24, 40, 200):
        rows, masks = prompts.insert_templates(inputs, encoded, max_length, specials)
        padded, att = prompts.pad(inputs, tokenizer.pad_token_id)
        ids, mask_att, mask_idx = prompts.insert_templates_batched(padded, att.sum(1), encoded, max_length, specials, tokenizer.pad_token_id)
        ref_ids, ref_att = prompts.pad(rows, tokenizer.pad_token_id)
        assert torch.equal(ids, ref_ids) and torch.equal(mask_att, ref_att)
        assert mask_idx.tolist() == masks
