"""Do two runs of the same grid agree? The check a faster numeric path has to pass.

``precision: bf16`` (or any other change meant to save time, not to change results) is
only worth adopting if a whole workflow run with it tells the same story as the fp32 run
of the same config. ``mvprepro bench agreement REFERENCE CANDIDATE`` reads two finished
project folders (their ``results/runs`` and ``results/tables/costs.csv``) and compares,
run by run and then per row of the table (dataset x backbone x method x size, seeds
pooled):

- **clean accuracy**: the row's mean may move by at most ``--clean-points`` (1 point);
- **attack success** (and robust accuracy, reported): the row's mean may move by at most
  the reference's seed-to-seed standard deviation, the noise a reader already accepts
  (rows with a single seed have no spread to judge against and are reported, not judged);
- **selected checkpoints**: the step each run kept; every run whose step differs is listed
  with both validation accuracies (a near-tie can flip under rounding, which is a reason,
  not a silent pass);
- **collapse**: a run flagged degenerate in one folder and not in the other fails;
- **paired outcomes** (reported, not judged): every attacked example is the same test
  example in both folders, so each row also counts the examples whose outcome flipped,
  successful in the reference and failed in the candidate or the reverse, with an exact
  two-sided sign test. With about 20 attacked examples per seed, one flip moves a seed's
  success rate by about 5 points and a 3-seed mean by 1.5, so a row can leave a tight seed
  spread on two flips; the flips pooled over the grid say whether the candidate's attacks
  are systematically weaker or stronger, or the moves are noise;
- **time**: per rule, the summed job seconds from both ``costs.csv`` and their ratio.

Runs present in only one folder are listed and fail the check, so two different grids are
never compared as if they were one.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from ..fileio import read_json as _read
from ..fileio import read_jsonl

CLEAN_POINTS = 1.0


def collect(project: str | Path) -> dict[str, dict[str, Any]]:
    """Every run's numbers in one project folder, keyed by its path under results/runs
    (``dataset/backbone/method/size-N/seed-S``), with its evaluations keyed by target."""
    root = Path(project) / "results" / "runs"
    if not root.is_dir():
        raise FileNotFoundError(f"{root} does not exist: pass the project folder of a finished workflow run (the one holding results/)")
    runs: dict[str, dict[str, Any]] = {}
    for metrics in sorted(root.glob("*/*/*/size-*/seed-*/metrics.json")):
        run_dir = metrics.parent
        m = _read(metrics)
        evals = {}
        for clean in sorted(run_dir.glob("eval-*/clean.json")):
            c = _read(clean)
            attacks = {}
            for summary in sorted((clean.parent / "attacks").glob("*.json")):
                s = _read(summary)
                records = summary.with_name(f"{summary.stem}.records.jsonl")
                attacks[summary.stem] = {
                    **{k: s.get(k) for k in ("attack_success_rate", "robust_accuracy")},
                    "outcomes": _outcomes(records) if records.exists() else None,
                }
            evals[clean.parent.name.removeprefix("eval-")] = {
                "accuracy": c["accuracy"],
                "degenerate": bool(c.get("degenerate")),
                "precision": (c.get("precision") or {}).get("effective"),
                "attacks": attacks,
            }
        runs[str(run_dir.relative_to(root))] = {
            "best_step": m.get("best_step"),
            "best_val_accuracy": m.get("best_val_accuracy"),
            "history": {r["step"]: r.get("val_accuracy") for r in m.get("history", []) if not r.get("warmup")},
            "evaluations": evals,
        }
    if not runs:
        raise FileNotFoundError(f"no finished run (metrics.json) under {root}")
    return runs


def _outcomes(records: Path) -> dict[int, str]:
    """Each attacked example's result (successful, failed, skipped, ...) by its test position."""
    return {int(r["position"]): str(r["result"]) for r in read_jsonl(records)}


def _flip(reference: str, candidate: str) -> str:
    if reference == candidate:
        return "same"
    if (reference, candidate) == ("successful", "failed"):
        return "success_to_failed"
    if (reference, candidate) == ("failed", "successful"):
        return "failed_to_success"
    return "other_changes"  # e.g. skipped in one: the clean prediction moved


def sign_test(a: int, b: int) -> float:
    """Exact two-sided sign test of ``a`` against ``b`` paired changes (1.0 when there are none)."""
    n = a + b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(a, b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _flips(counts: Counter) -> dict[str, Any]:
    a, b = counts["success_to_failed"], counts["failed_to_success"]
    return {
        "examples": sum(counts.values()),
        "success_to_failed": a,
        "failed_to_success": b,
        "other_changes": counts["other_changes"],
        "sign_test_p": sign_test(a, b),
    }


def _row(key: str) -> str:
    """The table row of a run: its path without the seed level."""
    return key.rsplit("/", 1)[0]


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else float("nan")


def compare(reference: dict[str, dict[str, Any]], candidate: dict[str, dict[str, Any]], clean_points: float = CLEAN_POINTS) -> dict[str, Any]:
    """The run-by-run and row-by-row comparison of two :func:`collect` results, with a verdict."""
    only_ref = sorted(set(reference) - set(candidate))
    only_cand = sorted(set(candidate) - set(reference))
    shared = sorted(set(reference) & set(candidate))

    checkpoints = []
    collapse = []
    # row -> target -> metric -> ([reference values], [candidate values])
    pooled: dict[tuple[str, str], dict[str, tuple[list[float], list[float]]]] = defaultdict(lambda: defaultdict(lambda: ([], [])))
    flips: dict[tuple[str, str, str], Counter] = defaultdict(Counter)  # (row, target, attack) -> outcome changes
    max_run_clean = 0.0
    precisions: dict[str, set] = {"reference": set(), "candidate": set()}
    for key in shared:
        ref, cand = reference[key], candidate[key]
        if ref["best_step"] != cand["best_step"]:
            checkpoints.append(
                {
                    "run": key,
                    "reference_step": ref["best_step"],
                    "candidate_step": cand["best_step"],
                    "reference_val": ref["best_val_accuracy"],
                    "candidate_val": cand["best_val_accuracy"],
                    # what the candidate scored at the reference's step: a near-tie or not
                    "candidate_val_at_reference_step": cand["history"].get(ref["best_step"]),
                }
            )
        for target in sorted(set(ref["evaluations"]) & set(cand["evaluations"])):
            re, ce = ref["evaluations"][target], cand["evaluations"][target]
            precisions["reference"].add(re["precision"])
            precisions["candidate"].add(ce["precision"])
            if re["degenerate"] != ce["degenerate"]:
                collapse.append({"run": key, "target": target, "reference": re["degenerate"], "candidate": ce["degenerate"]})
            cell = pooled[(_row(key), target)]
            cell["clean_accuracy"][0].append(re["accuracy"])
            cell["clean_accuracy"][1].append(ce["accuracy"])
            max_run_clean = max(max_run_clean, abs(ce["accuracy"] - re["accuracy"]))
            for attack in sorted(set(re["attacks"]) & set(ce["attacks"])):
                for metric in ("attack_success_rate", "robust_accuracy"):
                    cell[f"{attack}:{metric}"][0].append(float(re["attacks"][attack][metric]))
                    cell[f"{attack}:{metric}"][1].append(float(ce["attacks"][attack][metric]))
                ro, co = re["attacks"][attack].get("outcomes"), ce["attacks"][attack].get("outcomes")
                if ro is not None and co is not None:
                    counter = flips[(_row(key), target, attack)]
                    for position in sorted(ro.keys() & co.keys()):
                        counter[_flip(ro[position], co[position])] += 1

    rows = []
    for (row, target), cell in sorted(pooled.items()):
        for metric, (ref_vals, cand_vals) in cell.items():
            diff = statistics.fmean(cand_vals) - statistics.fmean(ref_vals)
            spread = _std(ref_vals)
            if metric == "clean_accuracy":
                limit, judged = clean_points, True
            else:
                limit, judged = spread, metric.endswith("attack_success_rate") and not math.isnan(spread)
            rows.append(
                {
                    "row": row,
                    "target": target,
                    "metric": metric,
                    "seeds": len(ref_vals),
                    "reference_mean": statistics.fmean(ref_vals),
                    "candidate_mean": statistics.fmean(cand_vals),
                    "difference": diff,
                    "reference_std": spread,
                    "limit": limit,
                    "judged": judged,
                    "within": (abs(diff) <= limit + 1e-9) if judged else None,
                }
            )
            attack = metric.split(":")[0]
            if metric.endswith("attack_success_rate") and (row, target, attack) in flips:
                rows[-1]["outcomes"] = _flips(flips[(row, target, attack)])
    failures = [r for r in rows if r["within"] is False]
    return {
        "runs_compared": len(shared),
        "only_in_reference": only_ref,
        "only_in_candidate": only_cand,
        "precision": {k: sorted(str(p) for p in v) for k, v in precisions.items()},
        "max_run_clean_difference": max_run_clean,
        "rows": rows,
        "checkpoints_differing": checkpoints,
        "collapse_differing": collapse,
        "failures": failures,
        "outcomes": _flips(sum(flips.values(), Counter())) if flips else None,
        "agrees": not failures and not collapse and not only_ref and not only_cand and bool(shared),
    }


def stage_seconds(project: str | Path) -> dict[str, float]:
    """Summed job wall seconds per rule from a project's ``results/tables/costs.csv``."""
    path = Path(project) / "results" / "tables" / "costs.csv"
    if not path.exists():
        return {}
    table = pd.read_csv(path)
    return {str(rule): float(s) for rule, s in table.groupby("rule", sort=False)["seconds"].sum().items()}


def _reading(outcomes: dict[str, Any]) -> str:
    a, b = outcomes["success_to_failed"], outcomes["failed_to_success"]
    if a == b:
        return "as many flips each way"
    side = "weaker" if a > b else "stronger"
    if outcomes["sign_test_p"] < 0.05:
        return f"the candidate's attacks are systematically {side}"
    return f"more flips make the candidate's attacks {side}, within what chance gives"


def _fmt_flips(outcomes: dict[str, Any] | None) -> str:
    if not outcomes:
        return "–"
    return f"{outcomes['success_to_failed']} / {outcomes['failed_to_success']} of {outcomes['examples']}"


def _fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(result: dict[str, Any], times: dict[str, dict[str, float]] | None = None) -> str:
    """The comparison as the tables BENCHMARKS.md shows."""
    lines = [
        f"Runs compared: {result['runs_compared']}; precision ran: reference {', '.join(result['precision']['reference'])}, "
        f"candidate {', '.join(result['precision']['candidate'])}; largest clean-accuracy difference of one run: "
        f"{result['max_run_clean_difference']:.2f} points. Verdict: **{'agrees' if result['agrees'] else 'does not agree'}**.",
        "",
        "| row | metric | seeds | reference | candidate | difference | allowed | examples flipped (success -> failed / failed -> success) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if r["metric"].endswith("robust_accuracy"):
            continue
        row = r["row"] if r["target"] == r["row"].split("/")[0] else f"{r['row']} on {r['target']}"
        allowed = f"±{_fmt(r['limit'])}" if r["judged"] else "not judged (one seed)"
        mark = "" if r["within"] in (True, None) else " ✗"
        lines.append(
            f"| {row} | {r['metric'].replace(':attack_success_rate', ' success')} | {r['seeds']} | {_fmt(r['reference_mean'])} | "
            f"{_fmt(r['candidate_mean'])} | {r['difference']:+.1f}{mark} | {allowed} | {_fmt_flips(r.get('outcomes'))} |"
        )
    total = result.get("outcomes")
    if total:
        lines += [
            "",
            f"Paired outcomes, every attack pooled (reported, not judged): {total['examples']} attacked examples compared; "
            f"{total['success_to_failed']} successful in the reference and failed in the candidate, {total['failed_to_success']} the "
            f"reverse, {total['other_changes']} other changes (the clean prediction moved); two-sided sign test p = "
            f"{total['sign_test_p']:.3g} ({_reading(total)}).",
        ]
    lines += ["", f"Selected checkpoints that differ: {len(result['checkpoints_differing'])} of {result['runs_compared']} runs."]
    if result["checkpoints_differing"]:
        lines += ["", "| run | step (reference / candidate) | validation accuracy (reference / candidate) | candidate at the reference's step |", "|---|---|---|---|"]
        for c in result["checkpoints_differing"]:
            lines.append(
                f"| {c['run']} | {c['reference_step']} / {c['candidate_step']} | {_fmt(c['reference_val'])} / {_fmt(c['candidate_val'])} | "
                f"{_fmt(c['candidate_val_at_reference_step'])} |"
            )
    for name, label in (("only_in_reference", "Only in the reference"), ("only_in_candidate", "Only in the candidate"), ("collapse_differing", "Collapse flag differs")):
        if result[name]:
            lines += ["", f"{label}: {result[name]}"]
    if times and times.get("reference") and times.get("candidate"):
        lines += ["", "| rule | reference job-seconds | candidate job-seconds | ratio (candidate / reference) |", "|---|---|---|---|"]
        ref, cand = times["reference"], times["candidate"]
        for rule in ref:
            if rule in cand:
                lines.append(f"| {rule} | {ref[rule]:.0f} | {cand[rule]:.0f} | {cand[rule] / ref[rule]:.2f} |")
        total_r, total_c = sum(ref.values()), sum(cand.values())
        lines.append(f"| all | {total_r:.0f} | {total_c:.0f} | {total_c / total_r:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """``mvprepro bench agreement REFERENCE CANDIDATE``: exit 0 when the two runs agree."""
    import argparse

    p = argparse.ArgumentParser(prog="mvprepro bench agreement", description=__doc__.split("\n\n")[0])
    p.add_argument("reference", help="project folder of the reference run (e.g. fp32)")
    p.add_argument("candidate", help="project folder of the run to check (e.g. bf16), same config otherwise")
    p.add_argument("--clean-points", type=float, default=CLEAN_POINTS, help="largest allowed move of a row's mean clean accuracy, in points")
    p.add_argument("--json", help="also write the comparison to this file")
    args = p.parse_args(argv)
    result = compare(collect(args.reference), collect(args.candidate), args.clean_points)
    times = {"reference": stage_seconds(args.reference), "candidate": stage_seconds(args.candidate)}
    print(markdown(result, times), end="")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({**result, "job_seconds": times}, indent=2, default=str) + "\n")
    return 0 if result["agrees"] else 1
