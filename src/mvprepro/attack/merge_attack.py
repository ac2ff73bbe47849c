"""The merge_attack stage: a model's attack shards -> one summary and one records file.

Merging checks that the shards cover the attacked examples exactly once, so a shard from
another split of the examples can never be counted twice or missed.

With ``attacks.<name>.query_budget`` as a list, the attack ran once with the largest budget,
and the summary gives the result at every budget (:func:`by_query_budget`): an example the
attack broke with ``num_queries`` queries counts as broken at every budget of at least that
many. TextAttack counts a query batch (one word's candidates) whole, so the count is the
batch in which the attack succeeded; a search stopped at a smaller budget in the middle of
that batch could have succeeded a few queries earlier. Robust accuracy at a smaller budget
is therefore an upper bound, at most one batch of queries optimistic; at the largest budget
it is exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import read_json, read_jsonl, write_json_atomic, write_text_atomic


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of one model under one attack, in percent, as TextAttack defines them."""
    n = len(rows)
    counts = {k: sum(r["result"] == k for r in rows) for k in ("successful", "failed", "skipped")}
    attacked = counts["successful"] + counts["failed"]
    succ = [r for r in rows if r["result"] == "successful"]
    return {
        "num_examples": n,
        **{f"num_{k}": v for k, v in counts.items()},
        # Skipped examples were misclassified before any change, so they count as errors.
        "clean_accuracy": 100.0 * attacked / n if n else float("nan"),
        "robust_accuracy": 100.0 * counts["failed"] / n if n else float("nan"),
        "attack_success_rate": 100.0 * counts["successful"] / attacked if attacked else 0.0,
        "mean_words_perturbed_pct": float(np.mean([100.0 * r["words_perturbed"] / max(r["num_words"], 1) for r in succ])) if succ else 0.0,
        "mean_queries": float(np.mean([r["num_queries"] for r in rows if r["result"] != "skipped"])) if attacked else 0.0,
        "constraint_checks": constraint_totals(rows),
    }


def by_query_budget(rows: list[dict[str, Any]], budgets: list[int]) -> dict[str, dict[str, float]]:
    """Robust accuracy and attack success rate (percent) had the search stopped after each budget."""
    n = len(rows)
    attacked = sum(r["result"] != "skipped" for r in rows)
    out = {}
    for budget in budgets:
        broken = sum(r["result"] == "successful" and r["num_queries"] <= budget for r in rows)
        out[str(budget)] = {
            "robust_accuracy": 100.0 * (attacked - broken) / n if n else float("nan"),
            "attack_success_rate": 100.0 * broken / attacked if attacked else 0.0,
        }
    return out


def constraint_totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Candidates each constraint checked and rejected, over all rows."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        for name, (checked, passed) in row.get("constraint_checks", {}).items():
            t = totals.setdefault(name, {"checked": 0, "rejected": 0})
            t["checked"] += checked
            t["rejected"] += checked - passed
    return totals


def merge_attack(
    shards: list[str], constraints: list[str], spec: dict[str, Any], summary_out: str | Path, records_out: str | Path
) -> None:
    if not shards or len(shards) != len(constraints):
        raise ValueError(f"{len(shards)} shard files and {len(constraints)} constraint reports: pass one of each per shard")
    rows: list[dict[str, Any]] = []
    for f in shards:
        rows += read_jsonl(f)
    rows.sort(key=lambda r: r["position"])
    positions = [r["position"] for r in rows]
    if positions != list(range(len(rows))):
        raise RuntimeError(f"shards do not cover examples 0..{len(rows) - 1} exactly once")
    reports = [read_json(f) for f in constraints]
    # Each attacked example records the precision its shard ran in; a summary states one.
    ran = sorted({json.dumps(r.get("precision", "unrecorded"), sort_keys=True) for r in rows})
    precision = json.loads(ran[0]) if len(ran) == 1 else {"mixed": [json.loads(p) for p in ran]}
    summary = {**summarise(rows), "attack": spec["attack_name"], "constraints": reports[0], "precision": precision, "spec": spec}
    if spec.get("query_budgets"):
        summary["by_query_budget"] = by_query_budget(rows, [int(b) for b in spec["query_budgets"]])
    write_text_atomic(records_out, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    write_json_atomic(summary_out, summary)

