"""Prompt parsing, insertion on token ids, and the MVP head against a full-vocabulary reference."""

from __future__ import annotations


import pytest
import torch
import yaml
from transformers import AutoModelForMaskedLM

from mvprepro.train import models, prompts
from mvprepro.train.templates import PromptError, parse_template
from helpers import REPO

# The reference configs' SST-2 templates, verbatim (trailing spaces included).
SST2_TEMPLATES = yaml.safe_load((REPO / "config" / "prompts" / "sst2.yaml").read_text())["templates"]


def test_shipped_sst2_templates_are_the_reference_strings():
    assert SST2_TEMPLATES == [
        "Sentiment of the statement is [MASK] . ",
        "[SEP] [MASK] ",
        "This is a [MASK] statement ",
        "[SEP] The statement is [MASK] ",
    ]


def test_template_placement_follows_sep_prefix():
    assert parse_template("This is a [MASK] statement ").placement == "front"
    assert parse_template("This is a [MASK] statement ").body == "This is a [MASK] statement "
    back = parse_template("[SEP] The statement is [MASK] ")
    assert back.placement == "back" and back.body == "The statement is [MASK] "
    # The reference code splits on single spaces: " [MASK] " is a front template.
    assert parse_template(" [MASK] ").placement == "front"


@pytest.mark.parametrize("bad", ["No mask here", "[MASK] and [MASK]", "Before [SEP] [MASK]", "[SEP] a [SEP] [MASK]"])
def test_bad_templates_are_rejected_with_the_template_named(bad):
    with pytest.raises(PromptError, match="template"):
        parse_template(bad)


@pytest.fixture(scope="module")
def demo_tokenizer(demo_raw, tmp_path_factory):
    """The tokenizer of the demo's backbone, built from config/demo.yaml's own options."""
    from transformers import AutoTokenizer

    from mvprepro.download.backbones import fetch_backbone

    source = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["backbones"]["tiny-roberta"]["source"]
    out = tmp_path_factory.mktemp("demo-backbone") / "tiny-roberta"
    options = {**source["options"], "pretrain_steps": 0}  # the tokenizer does not depend on pretraining
    fetch_backbone({"builder": source["builder"], "options": options}, out, "tiny-roberta", corpus=[str(p) for p in demo_raw.values()])
    return AutoTokenizer.from_pretrained(str(out))


def test_sst2_template_token_sequences_match_the_reference_code(demo_tokenizer):
    """The reference code's RoBERTa sequences: a lone space token before every template,
    the template's first word without a leading space, its trailing space as a final token,
    the text spliced in as its own token ids, [SEP] only a placement marker."""
    tok = demo_tokenizer
    text_ids = tok(["the film was good ."])["input_ids"]
    encoded = [prompts.encode_template(tok, parse_template(t), space_before=True) for t in SST2_TEMPLATES]
    rows, masks = prompts.insert_templates(text_ids, encoded, max_length=64)
    text = ["the", "Ġfilm", "Ġwas", "Ġgood", "Ġ."]
    assert [tok.convert_ids_to_tokens(r) for r in rows] == [
        ["<s>", "Ġ", "S", "entiment", "Ġof", "Ġthe", "Ġstatement", "Ġis", "<mask>", "Ġ.", "Ġ", *text, "</s>"],
        ["<s>", *text, "Ġ", "<mask>", "Ġ", "</s>"],
        ["<s>", "Ġ", "T", "h", "is", "Ġis", "Ġa", "<mask>", "Ġstatement", "Ġ", *text, "</s>"],
        ["<s>", *text, "Ġ", "T", "h", "e", "Ġstatement", "Ġis", "<mask>", "Ġ", "</s>"],
    ]
    for row, mask in zip(rows, masks):
        assert row[mask] == tok.mask_token_id and row.count(tok.mask_token_id) == 1
    # The space token is the reference's tokenizer(" ")["input_ids"][1:-1].
    assert list(encoded[1].ids[:1]) == tok(" ")["input_ids"][1:-1]


def test_label_words_are_read_as_the_reference_code_reads_them(demo_tokenizer):
    tok = demo_tokenizer
    spaced, _ = prompts.label_word_ids(tok, [["negative"], ["positive"]], leading_space=True)
    bare, _ = prompts.label_word_ids(tok, [["negative"], ["positive"]], leading_space=False)
    assert tok.convert_ids_to_tokens(spaced) == ["Ġnegative", "Ġpositive"]  # MVP on a masked LM
    assert tok.convert_ids_to_tokens(bare) == ["negative", "positive"]  # CLSPrompt, MVP on a causal LM
    assert prompts.reading_for("mvp", "roberta", causal=False) == prompts.Reading(True, True, False)
    assert prompts.reading_for("clsprompt", "roberta", causal=False) == prompts.Reading(True, False, False)
    assert prompts.reading_for("mvp", "gpt2", causal=True) == prompts.Reading(False, False, True)
    assert prompts.reading_for("mvp", "bert", causal=False) == prompts.Reading(False, True, False)


def test_causal_backbone_refuses_templates_before_the_input():
    reading = prompts.reading_for("mvp", "gpt2", causal=True)
    prompts.check_readable(parse_template("[SEP] The answer is [MASK]"), reading, "gpt2")
    with pytest.raises(PromptError, match="'I think \\[MASK\\]' is placed before the input, but gpt2 is a causal LM"):
        prompts.check_readable(parse_template("I think [MASK]"), reading, "gpt2")


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
        "backbone": "tiny",
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
    word_ids, word_classes = prompts.label_word_ids(tokenizer, [["negative"], ["positive", "great"]], leading_space=True)
    encoded = [prompts.encode_template(tokenizer, parse_template(t), space_before=True) for t in SST2_TEMPLATES]
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
    spec = {"kind": "mlp_ft", "name": "mlp_ft", "num_labels": 4, "max_length": 64, "prompt_reserve": 16, "backbone": "tiny"}
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
