"""Counter-fitting word vectors to synonymy and antonymy (Mrksic et al., NAACL 2016).

Distributional vectors such as GloVe put antonyms next to each other (``good``/``bad``,
``dull``/``lively``): they occur in the same contexts. TextFooler and TextBugger swap a word
for its nearest neighbours, so with raw GloVe an "adversarial" swap often flips the meaning
and the attack measures nothing. The paper's attacks use counter-fitted vectors for this
reason. We counter-fit here from any vectors and WordNet, minimising the paper's three terms
over unit vectors ``v`` (``d`` is cosine distance, ``v0`` the original vectors):

* antonym repel: ``sum over antonyms (u, w) of relu(delta - d(v_u, v_w))``;
* synonym attract: ``sum over synonyms (u, w) of relu(d(v_u, v_w) - gamma)``;
* vector-space preservation: for pairs closer than ``rho`` in the original space (other
  than antonyms), ``relu(d(v_u, v_w) - d(v0_u, v0_w))``, so the rest of the space keeps
  its shape.

The original optimises with SGD over mini-batches for 20 epochs; we use full-batch Adam,
a deliberate simplification (same objective). :func:`antonym_neighbours` measures what
matters to the attacks: how many antonym pairs remain among each word's nearest neighbours.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import torch


def wordnet_pairs(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Synonym pairs (lemmas sharing a synset) and antonym pairs (lemmas of two synsets
    WordNet links by antonymy) among ``words``, as index arrays of shape (n, 2)."""
    from nltk.corpus import wordnet as wn

    index = {w: i for i, w in enumerate(words)}

    def members(synset) -> list[int]:
        return sorted({index[n.lower()] for n in synset.lemma_names() if n.lower() in index})

    synonyms: set[tuple[int, int]] = set()
    antonyms: set[tuple[int, int]] = set()
    for synset in wn.all_synsets():
        group = members(synset)
        synonyms.update(combinations(group, 2))
        for lemma in synset.lemmas():
            for anti in lemma.antonyms():
                for a in group:
                    for b in members(anti.synset()):
                        if a != b:
                            antonyms.add((min(a, b), max(a, b)))
    synonyms -= antonyms  # a pair WordNet lists both ways is not a synonym pair
    as_array = lambda pairs: np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)  # noqa: E731
    return as_array(synonyms), as_array(antonyms)


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(vectors, dim=1)


def _close_pairs(vectors: torch.Tensor, rows: np.ndarray, rho: float, chunk: int = 1024) -> np.ndarray:
    """Pairs (row, other) with cosine distance below ``rho``, for the given rows."""
    found = []
    for start in range(0, len(rows), chunk):
        block = torch.from_numpy(rows[start : start + chunk])
        dist = 1 - vectors[block] @ vectors.T
        r, c = torch.nonzero(dist < rho, as_tuple=True)
        keep = block[r] != c
        found.append(torch.stack([block[r][keep], c[keep]], 1).numpy())
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def counter_fit(vectors: np.ndarray, synonyms: np.ndarray, antonyms: np.ndarray, settings: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Counter-fitted unit vectors, and the loss terms before and after."""
    torch.manual_seed(0)
    original = _unit(torch.from_numpy(np.asarray(vectors, dtype=np.float32)))
    delta, gamma, rho = float(settings.get("delta", 1.0)), float(settings.get("gamma", 0.0)), float(settings.get("rho", 0.2))
    w = {"antonym": 1.0, "synonym": 1.0, "preserve": 1.0, **settings.get("weights", {})}
    constrained = np.unique(np.concatenate([synonyms.ravel(), antonyms.ravel()]))
    close = _close_pairs(original, constrained, rho)
    # Antonyms are exactly the close pairs that must move apart: preserving their distance
    # would cancel the repel term.
    opposed = {(int(a), int(b)) for a, b in antonyms} | {(int(b), int(a)) for a, b in antonyms}
    close = close[[(int(a), int(b)) not in opposed for a, b in close]] if len(close) else close
    close_dist = (1 - (original[close[:, 0]] * original[close[:, 1]]).sum(1)) if len(close) else torch.zeros(0)
    syn, ant = torch.from_numpy(synonyms), torch.from_numpy(antonyms)
    current = original.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([current], lr=float(settings.get("lr", 0.05)))

    def terms(v: torch.Tensor) -> dict[str, torch.Tensor]:
        v = _unit(v)
        dist = lambda pairs: 1 - (v[pairs[:, 0]] * v[pairs[:, 1]]).sum(1)  # noqa: E731
        out = {
            "antonym": torch.relu(delta - dist(ant)).sum() if len(ant) else torch.zeros(()),
            "synonym": torch.relu(dist(syn) - gamma).sum() if len(syn) else torch.zeros(()),
            "preserve": torch.relu(dist(torch.from_numpy(close)) - close_dist).sum() if len(close) else torch.zeros(()),
        }
        return out

    with torch.no_grad():
        before = {k: float(t) for k, t in terms(current).items()}
    for _ in range(int(settings.get("steps", 200))):
        optimizer.zero_grad()
        loss = sum(w[k] * t for k, t in terms(current).items())
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        result = _unit(current)
        after = {k: float(t) for k, t in terms(result).items()}
    stats = {
        "synonym_pairs": len(synonyms),
        "antonym_pairs": len(antonyms),
        "preserved_pairs": len(close),
        "loss_before": before,
        "loss_after": after,
        "settings": {"delta": delta, "gamma": gamma, "rho": rho, "weights": w, "steps": int(settings.get("steps", 200))},
    }
    return result.numpy(), stats


def antonym_neighbours(nn: np.ndarray, vectors: np.ndarray, antonyms: np.ndarray, ks: tuple[int, ...] = (5, 50), min_cos: float = 0.5) -> dict[str, int]:
    """How many antonym pairs (u, w) have w among u's k nearest neighbours (either way round),
    for TextBugger's 5 and TextFooler's 50 candidates; ``..._cos`` counts only neighbours that
    also pass TextFooler's cosine threshold, i.e. swaps the attack would actually try."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    out: dict[str, int] = {}
    for k in ks:
        hits = hits_cos = 0
        for a, b in antonyms:
            for u, v in ((a, b), (b, a)):
                if v in nn[u, 1 : k + 1]:
                    hits += 1
                    hits_cos += float(unit[u] @ unit[v]) >= min_cos
                    break
        out[f"among_{k}_nearest"] = hits
        out[f"among_{k}_nearest_cos_{min_cos:g}"] = int(hits_cos)
    return out
