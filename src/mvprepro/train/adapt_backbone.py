"""Masked-LM adaptation of a backbone: the ``adapt_backbone`` stage.

MVP scores label words with the backbone's own masked-LM head. A sentence encoder such as
all-MiniLM-L6-v2 ships without a trained head: loaded as ``BertForMaskedLM`` its decoder is
tied to the pretrained word embeddings, but the head's transform and bias are new, and it
fills ``[MASK]`` with nothing useful (0% top-1). MVP on such a head would not be MVP.
Continued masked-LM training of the whole model on unlabelled in-domain text makes the head
real: this stage does that on the training texts of the trained datasets (never their
validation or test text), holds a share of those texts out, and reports fill-mask top-1
accuracy on them before and after, with its cost, in ``adaptation.json``.

Every method then starts from the adapted checkpoint, exactly as they would start from a
pretrained masked LM.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import load_from_disk
from tqdm.auto import tqdm

from ..fileio import atomic_directory, run_info, write_json_atomic
from ..runtime import autocast, device_for, precision_record, seed_everything, use_precision
from .optimizer import adamw

# Sentences whose [MASK] shows what the head has learnt (printed in adaptation.json).
PROBES = (
    "a dull , tedious , boring mess . it was [MASK] .",
    "a warm , funny and moving film . it was [MASK] .",
    "the company said its profits [MASK] last year .",
)


def training_texts(data_dirs: list[str | Path]) -> list[str]:
    """Every text cell of the ``train`` split of each prepared dataset, deduplicated, in a
    fixed order (validation and test splits are never read)."""
    texts: list[str] = []
    seen: set[str] = set()
    for folder in data_dirs:
        train = load_from_disk(str(Path(folder) / "data"))["train"]
        for column in train.column_names:
            if column == "label":
                continue
            for text in train[column]:
                if isinstance(text, str) and text.strip() and text not in seen:
                    seen.add(text)
                    texts.append(text)
    return texts


def _mask(input_ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab: int, prob: float, gen: torch.Generator, corrupt: bool):
    """BERT's masking: ``prob`` of the ordinary tokens are predicted; when ``corrupt``, 80% of
    them become [MASK], 10% a random token, 10% stay (evaluation masks them all)."""
    labels = input_ids.clone()
    chosen = (torch.rand(input_ids.shape, generator=gen) < prob) & ~special
    # at least one prediction per row, so every held-out text counts
    empty = ~chosen.any(1)
    if empty.any():
        scores = torch.rand(input_ids.shape, generator=gen).masked_fill(special, -1.0)
        chosen[empty, scores[empty].argmax(1)] = True
    labels[~chosen] = -100
    inputs = input_ids.clone()
    if not corrupt:
        inputs[chosen] = mask_id
        return inputs, labels
    roll = torch.rand(input_ids.shape, generator=gen)
    inputs[chosen & (roll < 0.8)] = mask_id
    random_tokens = torch.randint(vocab, input_ids.shape, generator=gen)
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = random_tokens[swap]
    return inputs, labels


def _masked_loss(model, inputs: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at the masked positions, running the vocabulary-sized head only there
    (most positions predict nothing; the head is a third of the model's cost per token)."""
    head = getattr(model, "cls", None) or getattr(model, "lm_head", None)  # BERT / RoBERTa
    if head is None:
        return model(input_ids=inputs, attention_mask=attention_mask, labels=labels).loss
    hidden = model.base_model(input_ids=inputs, attention_mask=attention_mask).last_hidden_state
    where = labels != -100
    return torch.nn.functional.cross_entropy(head(hidden[where]), labels[where])


def _encode(tokenizer, texts: list[str], max_length: int):
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask").bool() | (enc["attention_mask"] == 0)
    return enc, special


@torch.inference_mode()
def fill_mask_accuracy(model, tokenizer, texts: list[str], max_length: int, prob: float, seed: int, batch_size: int = 64) -> float:
    """Top-1 accuracy at masked positions of ``texts`` (the same positions on every call)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    hits = total = 0
    device = next(model.parameters()).device
    for start in range(0, len(texts), batch_size):
        enc, special = _encode(tokenizer, texts[start : start + batch_size], max_length)
        inputs, labels = _mask(enc["input_ids"], special, tokenizer.mask_token_id, len(tokenizer), prob, gen, corrupt=False)
        logits = model(input_ids=inputs.to(device), attention_mask=enc["attention_mask"].to(device)).logits.cpu()
        where = labels != -100
        hits += int((logits[where].argmax(-1) == labels[where]).sum())
        total += int(where.sum())
    return hits / max(total, 1)


@torch.inference_mode()
def probe(model, tokenizer, k: int = 5) -> dict[str, list[str]]:
    model.eval()
    out = {}
    for text in PROBES:
        enc = tokenizer(text.replace("[MASK]", tokenizer.mask_token), return_tensors="pt")
        logits = model(**enc.to(next(model.parameters()).device)).logits[enc["input_ids"] == tokenizer.mask_token_id][0]
        out[text] = tokenizer.convert_ids_to_tokens(logits.topk(k).indices.tolist())
    return out


def adapt_backbone(backbone: str | Path, data: list[str | Path], out: str | Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Continue masked-LM training of the backbone in ``backbone`` on the training texts
    of ``data``; save the adapted backbone (safetensors) and ``adaptation.json``."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, get_linear_schedule_with_warmup

    settings = spec["adapt"]
    seed = int(settings["seed"])
    seed_everything(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(backbone), trust_remote_code=False)
    model = AutoModelForMaskedLM.from_pretrained(str(backbone), use_safetensors=True, trust_remote_code=False)
    if tokenizer.mask_token_id is None:
        raise ValueError(f"backbones.{spec['name']}.adapt: the backbone's tokenizer has no mask token; only masked LMs can be adapted")

    device = device_for(spec.get("device", "auto"))
    model.to(device)
    # training.precision applies here as to every training: the adaptation is the longest
    # single job of a real-data run, and the one no other job can run beside on few cores.
    requested = str(spec.get("precision", "fp32"))
    precision = use_precision(device, requested)
    texts = training_texts(data)
    order = np.random.default_rng(seed).permutation(len(texts))
    n_held = min(int(settings["heldout_max"]), max(1, int(round(len(texts) * float(settings["heldout_fraction"])))))
    if len(texts) - n_held < int(settings["batch_size"]):
        raise ValueError(
            f"backbones.{spec['name']}.adapt: only {len(texts)} training texts; need more than "
            f"batch_size + held-out ({settings['batch_size']} + {n_held})"
        )
    heldout = [texts[i] for i in order[:n_held]]
    train = [texts[i] for i in order[n_held:]]
    max_length, prob = int(settings["max_length"]), float(settings["mask_prob"])

    before = fill_mask_accuracy(model, tokenizer, heldout, max_length, prob, seed)
    before_probe = probe(model, tokenizer)
    steps, batch_size = int(settings["steps"]), int(settings["batch_size"])
    optimizer = adamw(model.parameters(), lr=float(settings["lr"]), weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(math.ceil(0.06 * steps)), steps)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    queue: list[int] = []
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    for _ in tqdm(range(steps), desc="masked-LM adaptation", mininterval=5):
        while len(queue) < batch_size:  # epochs of a seeded shuffle, without replacement
            queue.extend(rng.permutation(len(train)).tolist())
        batch, queue = [train[i] for i in queue[:batch_size]], queue[batch_size:]
        enc, special = _encode(tokenizer, batch, max_length)
        inputs, labels = _mask(enc["input_ids"], special, tokenizer.mask_token_id, len(tokenizer), prob, gen, corrupt=True)
        with autocast(device, precision):
            loss = _masked_loss(model, inputs.to(device), enc["attention_mask"].to(device), labels.to(device))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    after = fill_mask_accuracy(model, tokenizer, heldout, max_length, prob, seed)
    report = {
        "fill_mask_top1": {"before": before, "after": after},
        "heldout_texts": len(heldout),
        "train_texts": len(train),
        "steps": steps,
        "seconds": seconds,
        "precision": precision_record(requested, precision),
        "loss": {"first_10": float(np.mean(losses[:10])), "last_10": float(np.mean(losses[-10:]))},
        "probes": {"before": before_probe, "after": probe(model, tokenizer)},
        "run": run_info(spec, seed),
    }
    with atomic_directory(out) as tmp:
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp, safe_serialization=True)
        write_json_atomic(tmp / "adaptation.json", report)
    print(
        f"fill-mask top-1 on {len(heldout)} held-out texts: {before:.1%} before, {after:.1%} after "
        f"({steps} steps, {seconds:.0f} s)"
    )
    return report
