"""The attack stage: attack one model on one shard of the test examples (``workflow/rules/attack.smk``).

Examples are the first ``num_examples`` of the test split in order (the whole split if it
is smaller), as in the paper. Shard ``i`` of ``n`` takes every example whose position ``p``
satisfies ``p % n == i``, so shards get the same mix of easy and hard examples. Each example
is attacked with its own seed (``seed + position``) and a cleared attack cache, so a row
does not depend on which shard computed it: merged shards equal an unsharded run.

Rows are appended to ``<output>.partial`` as they finish; a rerun of a killed job skips
the rows already there, and the declared output appears only when the shard is complete.
"""

from __future__ import annotations

import json
import os
import random
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..digest import digest_of
from ..fileio import write_json_atomic, write_text_atomic


def shard_positions(total: int, shard: int, shards: int) -> list[int]:
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is outside 0..{shards - 1}")
    return [p for p in range(total) if p % shards == shard]


def _seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _read_partial(path: Path, identity: str) -> dict[int, dict[str, Any]]:
    """Rows a killed run of the same spec already finished (its first line names the spec).

    A partial file of another spec (the config or the code changed between the kill and
    the rerun) is discarded: its rows would describe an attack the config no longer asks for.
    """
    done: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return done
    with open(path, encoding="utf-8") as fh:
        lines = fh.readlines()
    try:
        header = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        header = {}
    if header.get("spec") != identity:
        if lines:
            print(f"discarding {path}: it was written for a different spec", flush=True)
        path.unlink()
        return done
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            break  # a torn last line from a killed job: recompute that example
        done[int(row["position"])] = row
    return done


class ConstraintCounter:
    """Counts, per constraint, the candidate texts it checked and those it let through.

    Every constraint applied after a transformation (POS, word-embedding distance, the
    sentence encoder, ...) is given a counting wrapper, so a row can show what each one did:
    ``{"PartOfSpeech": [checked, passed], ...}``. That is how a run proves that a
    constraint was really applied, and how often it rejected a swap.
    """

    def __init__(self, attack: Any) -> None:
        self.counts: dict[str, list[int]] = {}
        for constraint in attack.constraints:
            self._wrap(constraint)

    def _wrap(self, constraint: Any) -> None:
        name = type(constraint).__name__
        inner = constraint.call_many

        def call_many(transformed_texts, reference_text):
            kept = inner(transformed_texts, reference_text)
            count = self.counts.setdefault(name, [0, 0])
            count[0] += len(transformed_texts)
            count[1] += len(kept)
            return kept

        constraint.call_many = call_many

    def take(self) -> dict[str, list[int]]:
        """The counts since the last call (one example's), then reset."""
        counts, self.counts = self.counts, {}
        return counts


def _record(position: int, label: int, result: Any) -> dict[str, Any]:
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult

    original = result.original_result.attacked_text
    perturbed = result.perturbed_result.attacked_text
    if isinstance(result, SuccessfulAttackResult):
        status = "successful"
    elif isinstance(result, SkippedAttackResult):
        status = "skipped"
    elif isinstance(result, FailedAttackResult):
        status = "failed"
    else:  # MaximizedAttackResult and others never occur with these goal functions
        status = type(result).__name__
    changed = len(original.all_words_diff(perturbed)) if status == "successful" else 0
    return {
        "position": position,
        "label": int(label),
        "result": status,
        "original_text": dict(original._text_input),
        # A failed attack's last attempt is not an adversarial example: keep only successes.
        "perturbed_text": dict(perturbed._text_input) if status == "successful" else None,
        "original_output": int(result.original_result.output),
        "perturbed_output": int(result.perturbed_result.output),
        "num_queries": int(result.perturbed_result.num_queries),
        "num_words": len(original.words),
        "words_perturbed": changed,
    }


def attack(
    spec: dict[str, Any],
    model: str | Path,
    data: str | Path,
    manifest: str | Path,
    out: str | Path,
    constraints_out: str | Path,
) -> None:
    """Run one shard of ``spec`` (built by :meth:`mvprepro.plan.Plan.attack`).

    The model, the prepared splits and the attack resources (the folder of ``manifest``)
    are arguments, as every file the rule reads is one of its inputs.
    """
    from .. import attack_resources

    resource_dir = Path(manifest).parent
    attack_resources.activate(resource_dir)
    from datasets import load_from_disk

    from ..data.tasks import get_task
    from ..train import models
    from ..runtime import device_for, precision_record, use_precision
    from ..train.predict import model_labels
    from . import recipes
    from .wrapper import MethodModelWrapper

    output = Path(out)
    partial = output.with_name(output.name + ".partial")
    task = get_task(spec["task"])
    attack_cfg = spec["attack"]
    test = load_from_disk(str(Path(data) / "data"))["test"]
    total = min(int(attack_cfg["num_examples"]), len(test))
    positions = shard_positions(total, int(spec["shard"]), int(spec["shards"]))
    identity = digest_of(spec)
    done = _read_partial(partial, identity)
    fresh = not partial.exists()

    device = device_for(spec["device"])
    precision = use_precision(device, spec["precision"])
    classifier = models.load(model).to(device)
    wrapper = MethodModelWrapper(
        classifier, len(task.text_columns), int(classifier.spec["prompt_reserve"]), int(attack_cfg["model_batch_size"]), precision
    )
    built, report = recipes.build(spec["attack_name"], attack_cfg, wrapper, task, resource_dir)
    counter = ConstraintCounter(built)
    print(built, flush=True)

    from tqdm import tqdm

    base_seed = int(attack_cfg["seed"])
    with open(partial, "a", encoding="utf-8") as fh:
        if fresh:
            fh.write(json.dumps({"spec": identity}) + "\n")
        for position in tqdm(positions, desc=f"{spec['attack_name']} shard {spec['shard']}", mininterval=5):
            if position in done:
                continue
            example = test[position]
            text = OrderedDict((c, example[c]) for c in task.text_columns)
            _seed_all(base_seed + position)
            built.clear_cache()
            label = model_labels(spec, [example["label"]])[0]
            result = built.attack(text if len(text) > 1 else text[task.text_columns[0]], label)
            row = {**_record(position, label, result), "constraint_checks": counter.take(), "precision": precision_record(spec["precision"], precision)}
            fh.write(json.dumps(row, sort_keys=True) + "\n")
            fh.flush()
            done[position] = row
    rows = [done[p] for p in positions]
    write_json_atomic(constraints_out, report)
    write_text_atomic(output, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    os.unlink(partial)
