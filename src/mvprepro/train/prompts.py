"""Prompt templates, verbalizers and their insertion into token ids (the heart of MVP).

A template is text with exactly one ``[MASK]``. A template that starts with ``[SEP]`` is
placed after the input; any other template right after the start token, as in the paper's
reference code:

    front:  <s> {template} {input} </s>
    back:   <s> {input} {template} </s>

The ``[SEP]`` marker itself is not inserted: it only says where the template goes.

Token ids follow the authors' code exactly. A RoBERTa template is the token of a lone space
followed by the template's body tokenized on its own (so its first word has no leading
space, and a trailing space in the config string becomes a final space token):

    front:  <s> Ġ Sent iment Ġof Ġthe Ġstatement Ġis <mask> Ġ. Ġ {input} </s>
    back:   <s> {input} Ġ The Ġstatement Ġis <mask> Ġ </s>

Other backbones (BERT, GPT-2) get the body's tokens alone. ``tests/test_prompts.py`` pins
these sequences for the SST-2 templates.

A verbalizer maps each class to one or more label words. Every word must be a single token
of the backbone; a word that is not is a configuration error naming that word, never
silently dropped. MVP on a masked LM reads each word with a leading space (it follows text
mid-sentence); CLSPrompt, and MVP on a causal LM (whose read position is the space token
before the mask), read it without, as the reference code does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from .templates import MASK, SEP, PromptError, Template, parse_template

__all__ = ["MASK", "SEP", "PromptError", "Template", "parse_template"]


@dataclass(frozen=True)
class EncodedTemplate:
    ids: tuple[int, ...]
    mask_offset: int  # index of the mask token within ids
    placement: str


@dataclass(frozen=True)
class Reading:
    """How a method reads prompts on a backbone, as the reference code does."""

    space_before_templates: bool  # a lone space token before every template (RoBERTa)
    label_word_space: bool  # label words read as " word" (MVP on a masked LM) or "word"
    causal: bool  # read at the token before the mask


def reading_for(kind: str, model_type: str, causal: bool) -> Reading:
    return Reading(model_type == "roberta", kind == "mvp" and not causal, causal)


def check_readable(template: Template, reading: Reading, backbone: str = "backbone") -> None:
    """A causal LM reads the prediction at the token before the mask, which sees only what
    precedes it: a template placed before the input would be scored without the input."""
    if reading.causal and template.placement == "front":
        raise PromptError(
            f"template {template.text!r} is placed before the input, but {backbone} is a causal LM: it reads the "
            "prediction at the token before [MASK], which then cannot see the input; start the template with "
            "'[SEP] ' to place it after the input (see config/prompts/gpt2/)"
        )


def encode_template(tokenizer: PreTrainedTokenizerBase, template: Template, space_before: bool = False) -> EncodedTemplate:
    """Token ids of a template (see the module docstring), with the mask's offset in them."""
    if tokenizer.mask_token is None:
        raise PromptError("the backbone's tokenizer has no mask token; prompt methods need one")
    body = template.body.replace(MASK, tokenizer.mask_token)
    ids = tokenizer(body, add_special_tokens=False)["input_ids"]
    if space_before:
        ids = tokenizer(" ", add_special_tokens=False)["input_ids"] + ids
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
    if len(positions) != 1:
        raise PromptError(f"template {template.text!r} does not tokenize to exactly one mask token")
    return EncodedTemplate(tuple(ids), positions[0], template.placement)


def encode_templates(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], reading: Reading, backbone: str = "backbone"
) -> list[EncodedTemplate]:
    """A method's templates, parsed, checked readable on the backbone and encoded: the one
    path both the ``check_prompts`` job and the model take."""
    encoded = []
    for text in texts:
        template = parse_template(text)
        check_readable(template, reading, backbone)
        encoded.append(encode_template(tokenizer, template, reading.space_before_templates))
    return encoded


def label_word_ids(
    tokenizer: PreTrainedTokenizerBase,
    verbalizer: Sequence[Sequence[str]],
    backbone: str = "backbone",
    leading_space: bool = True,
) -> tuple[list[int], list[int]]:
    """Return (token id of each label word, class index of each label word).

    ``leading_space``: read ``" word"`` (MVP on a masked LM) rather than ``"word"``.
    """
    ids: list[int] = []
    classes: list[int] = []
    for cls, words in enumerate(verbalizer):
        if not words:
            raise PromptError(f"verbalizer: class {cls} has no label words")
        for word in words:
            toks = tokenizer((" " if leading_space else "") + word.strip(), add_special_tokens=False)["input_ids"]
            if len(toks) != 1:
                pieces = tokenizer.convert_ids_to_tokens(toks)
                raise PromptError(
                    f"verbalizer word {word!r} (class {cls}) is not a single token for {backbone}: "
                    f"it splits into {pieces}; choose another word in the prompts file"
                )
            ids.append(toks[0])
            classes.append(cls)
    return ids, classes


def insert_templates(
    input_ids: Sequence[Sequence[int]],
    templates: Sequence[EncodedTemplate],
    max_length: int,
    specials: tuple[int, int] = (1, 1),
) -> tuple[list[list[int]], list[int]]:
    """Expand each input into one sequence per template (the readable reference version).

    ``specials`` is how many special tokens each input starts and ends with (``<s>``/``</s>``
    for RoBERTa, ``[CLS]``/``[SEP]`` for BERT, none for GPT-2); templates go between them
    and the text. Returns the sequences, example-major (the templates of example i are rows
    ``i*T .. i*T+T-1``), and the position of the mask token in each. The mask's position is
    tracked rather than searched for, so a literal mask string in the input text cannot be
    mistaken for the prompt's mask. Inputs longer than the room left are cut from the end of
    the text; the special tokens are kept.
    """
    n_start, n_end = specials
    rows: list[list[int]] = []
    masks: list[int] = []
    for ids in input_ids:
        ids = list(ids)
        start, body, end = ids[:n_start], ids[n_start : len(ids) - n_end], ids[len(ids) - n_end :]
        for tpl in templates:
            room = max_length - n_start - n_end - len(tpl.ids)
            text = body[:room]
            if tpl.placement == "front":
                rows.append([*start, *tpl.ids, *text, *end])
                masks.append(n_start + tpl.mask_offset)
            else:
                rows.append([*start, *text, *tpl.ids, *end])
                masks.append(n_start + len(text) + tpl.mask_offset)
    return rows, masks


def insert_templates_batched(
    ids: torch.Tensor,
    lengths: torch.Tensor,
    templates: Sequence[EncodedTemplate],
    max_length: int,
    specials: tuple[int, int],
    pad_id: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`insert_templates` on a padded batch, with tensor indexing instead of Python loops.

    ``ids`` is [B, L] (padded), ``lengths`` [B]. Returns ids [B*T, W], attention mask
    [B*T, W] and mask positions [B*T], example-major, padded to the longest row: the same
    rows as :func:`insert_templates` (a test checks it), at a cost that does not grow with
    Python-level work per example.
    """
    n_start, n_end = specials
    batch, width_in = ids.shape
    device = ids.device
    outs, atts, masks = [], [], []
    for tpl in templates:
        t = torch.as_tensor(tpl.ids, dtype=ids.dtype, device=device)
        k = len(tpl.ids)
        body_len = (lengths - n_start - n_end).clamp(min=0, max=max_length - n_start - n_end - k)
        new_len = n_start + k + body_len + n_end
        p = torch.arange(int(new_len.max()), device=device)[None, :].expand(batch, -1)
        body_end = (n_start + body_len)[:, None]
        if tpl.placement == "front":
            in_tpl = (p >= n_start) & (p < n_start + k)
            in_body = (p >= n_start + k) & (p < body_end + k)
            tpl_pos, body_src = p - n_start, p - k
            tail_start = body_end + k
            masks.append(torch.full((batch,), n_start + tpl.mask_offset, dtype=torch.long, device=device))
        else:
            in_body = (p >= n_start) & (p < body_end)
            in_tpl = (p >= body_end) & (p < body_end + k)
            tpl_pos, body_src = p - body_end, p
            tail_start = body_end + k
            masks.append((n_start + body_len + tpl.mask_offset).long())
        in_tail = (p >= tail_start) & (p < new_len[:, None])
        tail_src = lengths[:, None] - n_end + (p - tail_start)
        src = torch.where(in_body, body_src, torch.where(in_tail, tail_src, p)).clamp(0, width_in - 1)
        row = ids.gather(1, src)
        row = torch.where(in_tpl, t[tpl_pos.clamp(0, max(k - 1, 0))], row)
        live = p < new_len[:, None]
        outs.append(torch.where(live, row, torch.full_like(row, pad_id)))
        atts.append(live.long())
    width = max(o.shape[1] for o in outs)
    padded = [nn_pad(o, width, pad_id) for o in outs]
    att = [nn_pad(a, width, 0) for a in atts]
    stack = lambda xs: torch.stack(xs, dim=1).reshape(batch * len(templates), *xs[0].shape[1:])  # noqa: E731
    return stack(padded), stack(att), torch.stack(masks, dim=1).reshape(-1)


def nn_pad(x: torch.Tensor, width: int, value: int) -> torch.Tensor:
    return torch.nn.functional.pad(x, (0, width - x.shape[1]), value=value)


def pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest row of the batch (never to the model's maximum length)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
        att[i, : len(r)] = 1
    return ids, att


def pool_label_words(word_scores: torch.Tensor, word_classes: torch.Tensor, num_classes: int, how: str) -> torch.Tensor:
    """Pool label-word scores [N, W] into class scores [N, C] by max or mean per class."""
    cols = []
    for c in range(num_classes):
        sel = word_scores[:, word_classes == c]
        cols.append(sel.max(dim=1).values if how == "max" else sel.mean(dim=1))
    return torch.stack(cols, dim=1)


def pool_templates(scores: torch.Tensor, num_templates: int, how: str) -> torch.Tensor:
    """Pool example-major rows [B*T, C] into [B, C] by mean or max over templates."""
    grouped = scores.view(-1, num_templates, scores.shape[-1])
    return grouped.mean(dim=1) if how == "mean" else grouped.max(dim=1).values
