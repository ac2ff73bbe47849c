"""The model as TextAttack sees it: texts in, class scores out, fast.

TextAttack's stock ``HuggingFaceModelWrapper`` pads every query to the tokenizer's
``model_max_length`` (512): on short texts most of each forward pass is padding. This
wrapper encodes exactly as training did (:func:`mvprepro.data.encoding.encode_texts`), pads to
the longest query of each batch, runs under ``torch.inference_mode`` (in fp32 as the paper,
or bf16 autocast on CUDA with ``training.precision: bf16``), and for MVP computes the LM head only at the masks and only for the label words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from textattack.models.wrappers import ModelWrapper

from ..data.encoding import encode_texts
from ..runtime import autocast
from ..train.models import MethodModel


class MethodModelWrapper(ModelWrapper):
    def __init__(self, model: MethodModel, num_columns: int, prompt_reserve: int, batch_size: int = 32, precision: str = "fp32"):
        self.model = model.eval()
        self.precision = precision
        self.num_columns = num_columns
        self.prompt_reserve = prompt_reserve
        self.batch_size = batch_size
        self.queries = 0

    def _columns(self, text_input_list: Sequence[Any]) -> list[list[str]]:
        if self.num_columns == 1:
            return [[t if isinstance(t, str) else t[0] for t in text_input_list]]
        return [[t[c] for t in text_input_list] for c in range(self.num_columns)]

    @torch.inference_mode()
    def __call__(self, text_input_list: Sequence[Any]) -> torch.Tensor:
        self.queries += len(text_input_list)
        ids = encode_texts(self.model.tokenizer, self._columns(text_input_list), self.model.max_length, self.prompt_reserve)
        device = self.model.device
        outputs = []
        for start in range(0, len(ids), self.batch_size):
            batch = {k: v.to(device) for k, v in self.model.collate(ids[start : start + self.batch_size]).items()}
            with autocast(device, self.precision):
                logits = self.model(**batch)
            outputs.append(logits.float().cpu())
        return torch.cat(outputs)

    def get_grad(self, text_input):  # pragma: no cover - gradient-based recipes are not used
        raise NotImplementedError("gradient-based word importance is not supported")
