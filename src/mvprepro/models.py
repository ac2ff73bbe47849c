"""The methods behind one interface: text ids in, class scores out.

* ``mlp_ft``: the backbone's standard sequence-classification head
  (dense -> tanh -> out_proj on the start token).
* ``mvp``: every input is expanded into one sequence per prompt template; the masked-LM
  head scores the verbalizer's label words at the template's mask; class score = max (or
  mean) over the class's label words, then mean (or max) over templates.

The MVP head applies the LM head's transform only at mask positions and projects only onto
the label words' rows of the output embedding: the same numbers as the full-vocabulary
logits at every position (a test checks this), at a fraction of the cost.

Models are saved with ``save_pretrained(safe_serialization=True)`` (safetensors) next to a
``method.json`` describing the method, and loaded back without ``trust_remote_code``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.activations import get_activation

from . import prompts

METHOD_FILE = "method.json"
KINDS = ("mlp_ft", "mvp")


class MethodModel(nn.Module):
    """Common interface of every method: ``collate`` ids into a batch, ``forward`` to logits."""

    kind: str

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]):
        super().__init__()
        self.hf = hf_model
        self.tokenizer = tokenizer
        self.spec = spec
        self.num_labels = int(spec["num_labels"])
        self.max_length = int(spec["max_length"])

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def collate(self, input_ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        ids, att = prompts.pad(input_ids, self.tokenizer.pad_token_id)
        return {"input_ids": ids, "attention_mask": att}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any) -> torch.Tensor:
        raise NotImplementedError

    def save(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        self.hf.save_pretrained(out, safe_serialization=True)
        self.tokenizer.save_pretrained(out)
        (out / METHOD_FILE).write_text(json.dumps(self.spec, indent=2, sort_keys=True) + "\n")


class SequenceClassifier(MethodModel):
    kind = "mlp_ft"

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any) -> torch.Tensor:
        return self.hf(input_ids=input_ids, attention_mask=attention_mask).logits


class PromptClassifier(MethodModel):
    kind = "mvp"

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]):
        super().__init__(hf_model, tokenizer, spec)
        templates = [prompts.parse_template(t) for t in spec["templates"]]
        if not templates:
            raise prompts.PromptError(f"method {spec.get('name')!r}: MVP needs at least one template")
        self.templates = [prompts.encode_template(tokenizer, t) for t in templates]
        longest = max(len(t.ids) for t in self.templates)
        if longest > int(spec["prompt_reserve"]):
            raise prompts.PromptError(
                f"a template is {longest} tokens long but training.prompt_reserve is "
                f"{spec['prompt_reserve']}; raise prompt_reserve"
            )
        word_ids, word_classes = prompts.label_word_ids(tokenizer, spec["verbalizer"], spec.get("backbone", "backbone"))
        if len(spec["verbalizer"]) != self.num_labels:
            raise prompts.PromptError(
                f"the verbalizer has {len(spec['verbalizer'])} classes but the dataset has {self.num_labels}"
            )
        self.register_buffer("word_ids", torch.tensor(word_ids, dtype=torch.long), persistent=False)
        self.register_buffer("word_classes", torch.tensor(word_classes, dtype=torch.long), persistent=False)
        self.pool_words = spec.get("pool_label_words", "max")
        self.pool_templates = spec.get("pool_templates", "mean")
        self._transform = _mlm_transform(hf_model)

    @property
    def num_templates(self) -> int:
        return len(self.templates)

    def collate(self, input_ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        rows, masks = prompts.insert_templates(input_ids, self.templates, self.max_length)
        ids, att = prompts.pad(rows, self.tokenizer.pad_token_id)
        return {"input_ids": ids, "attention_mask": att, "mask_index": torch.tensor(masks, dtype=torch.long)}

    def label_word_scores(self, hidden_at_mask: torch.Tensor) -> torch.Tensor:
        """MLM scores of the label words only, from hidden states at the masks [N, H] -> [N, W]."""
        decoder = self.hf.get_output_embeddings()
        if self._transform is None:  # unknown head layout: full vocabulary, mask rows only
            return self.hf_lm_head(hidden_at_mask)[:, self.word_ids]
        h = self._transform(hidden_at_mask)
        weight = decoder.weight[self.word_ids]
        bias = decoder.bias[self.word_ids] if decoder.bias is not None else None
        return nn.functional.linear(h, weight, bias)

    def hf_lm_head(self, hidden: torch.Tensor) -> torch.Tensor:
        head = getattr(self.hf, "lm_head", None) or self.hf.cls
        return head(hidden)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_index: torch.Tensor | None = None, **_: Any) -> torch.Tensor:
        if mask_index is None:
            raise ValueError("MVP needs mask_index; build batches with collate()")
        hidden = self.hf.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        at_mask = hidden[rows, mask_index.to(hidden.device)]
        words = self.label_word_scores(at_mask)
        classes = prompts.pool_label_words(words, self.word_classes, self.num_labels, self.pool_words)
        return prompts.pool_templates(classes, self.num_templates, self.pool_templates)


def _mlm_transform(model: PreTrainedModel):
    """The LM head minus its vocabulary projection, for the head layouts we know."""
    head = getattr(model, "lm_head", None)
    if head is not None and all(hasattr(head, a) for a in ("dense", "layer_norm", "decoder")):
        act = get_activation("gelu")
        return lambda h: head.layer_norm(act(head.dense(h)))  # RoBERTa-style
    cls = getattr(model, "cls", None)
    if cls is not None and hasattr(cls, "predictions"):
        return cls.predictions.transform  # BERT-style
    return None


MODEL_CLASSES: dict[str, type[MethodModel]] = {"mlp_ft": SequenceClassifier, "mvp": PromptClassifier}


def build(backbone_dir: str | Path, spec: dict[str, Any]) -> MethodModel:
    """Create a method's model from the pretrained backbone (new heads are seeded by the caller)."""
    kind = spec["kind"]
    if kind not in MODEL_CLASSES:
        raise ValueError(f"unknown method kind {kind!r}; known kinds: {list(MODEL_CLASSES)}")
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir, trust_remote_code=False)
    if kind == "mlp_ft":
        hf = AutoModelForSequenceClassification.from_pretrained(
            backbone_dir, num_labels=int(spec["num_labels"]), trust_remote_code=False
        )
    else:
        hf = AutoModelForMaskedLM.from_pretrained(backbone_dir, trust_remote_code=False)
    return MODEL_CLASSES[kind](hf, tokenizer, spec)


def load(model_dir: str | Path) -> MethodModel:
    """Load a trained model saved by :meth:`MethodModel.save` (safetensors only)."""
    model_dir = Path(model_dir)
    spec = json.loads((model_dir / METHOD_FILE).read_text())
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    auto = AutoModelForSequenceClassification if spec["kind"] == "mlp_ft" else AutoModelForMaskedLM
    hf = auto.from_pretrained(model_dir, use_safetensors=True, trust_remote_code=False)
    model = MODEL_CLASSES[spec["kind"]](hf, tokenizer, spec)
    model.eval()
    return model
