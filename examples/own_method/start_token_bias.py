"""A method of your own, as a config entry: ``kind: examples.own_method.start_token_bias:StartTokenBias``.

It reads the label through the masked-LM head at the start token ``<s>`` (as ``clsprompt``
does), and adds a learned bias per class: the LM's prior over the label words is not the
task's prior, and one parameter per class is enough to correct it. Everything else (the
training loop, adversarial training, evaluation, attacks) is the pipeline's.

What a kind must provide (``mvprepro.train.models.MethodModel``):

- ``backbone_head``: how the backbone is loaded (``"lm"``: with its masked-LM head);
- ``reads_label_words = True``: its spec gets the dataset's ``verbalizer`` (and templates,
  which this kind ignores);
- ``forward(input_ids, attention_mask, inputs_embeds, **batch)`` -> ``[batch, num_labels]``;
- ``extra_modules()``: parameters outside the Hugging Face model, saved beside it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mvprepro.train import prompts
from mvprepro.train.models import MethodModel


class ClassBias(nn.Module):
    def __init__(self, num_labels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_labels))


class StartTokenBias(MethodModel):
    backbone_head = "lm"
    reads_label_words = True

    def __init__(self, hf_model, tokenizer, spec: dict[str, Any]) -> None:
        super().__init__(hf_model, tokenizer, spec)
        # Label words read bare (no leading space), as at the start of a text.
        word_ids, word_classes = prompts.label_word_ids(tokenizer, spec["verbalizer"], spec["backbone"], leading_space=False)
        self.register_buffer("word_ids", torch.tensor(word_ids), persistent=False)
        self.register_buffer("word_classes", torch.tensor(word_classes), persistent=False)
        self.class_bias = ClassBias(self.num_labels)
        # A setting from the config (methods.<name>.options.pool), with a default.
        self.pool = spec.get("options", {}).get("pool", "max")

    def extra_modules(self) -> dict[str, nn.Module]:
        return {"class_bias": self.class_bias}

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, **_: Any) -> torch.Tensor:
        out = self.hf(input_ids=None if inputs_embeds is not None else input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        at_start = out.logits[:, 0, :]  # LM scores over the vocabulary at <s>
        words = at_start[:, self.word_ids]  # ... of the label words only
        scores = prompts.pool_label_words(words, self.word_classes, self.num_labels, self.pool)
        return scores + self.class_bias.bias
