"""``mvprepro bench agreement``: two finished runs of one grid compared run by run, the check
a faster precision has to pass before a config adopts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvprepro.tools import agreement
from mvprepro.tools.bench import main as bench_main

SUCCESS = {0: 60.0, 1: 70.0, 2: 80.0}  # reference attack success per seed: std 10 points


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _project(
    root: Path,
    precision: str = "fp32",
    clean_shift: float = 0.0,
    success_shift: float = 0.0,
    step: dict | None = None,
    collapse: bool = False,
    seeds=(0, 1, 2),
    records=None,
) -> Path:
    for method in ("mlp_ft", "mvp"):
        for seed in seeds:
            run = root / "results" / "runs" / "sst2" / "tiny" / method / "size-64" / f"seed-{seed}"
            best = (step or {}).get((method, seed), 8)
            _write(run / "metrics.json", {"best_step": best, "best_val_accuracy": 80.0 + seed, "history": [{"step": 4, "val_accuracy": 79.0}, {"step": 8, "val_accuracy": 80.0 + seed}]})
            shift = clean_shift if method == "mvp" else 0.0
            _write(
                run / "eval-sst2" / "clean.json",
                {"accuracy": 85.0 + seed + shift, "degenerate": collapse and method == "mvp" and seed == 0, "precision": {"requested": precision, "effective": precision}},
            )
            success = SUCCESS[seed] + (success_shift if method == "mlp_ft" else 0.0)
            _write(run / "eval-sst2" / "attacks" / "textfooler.json", {"attack_success_rate": success, "robust_accuracy": 100 - success})
            if records is not None:  # {position: result} of each attacked example
                lines = [json.dumps({"position": pos, "result": result}) for pos, result in records(method, seed).items()]
                (run / "eval-sst2" / "attacks" / "textfooler.records.jsonl").write_text("\n".join(lines) + "\n")
    costs = root / "results" / "tables" / "costs.csv"
    costs.parent.mkdir(parents=True, exist_ok=True)
    factor = 0.5 if precision == "bf16" else 1.0
    costs.write_text(f"rule,dataset,seconds\ntrain,sst2,{100 * factor}\nattack,sst2,{200 * factor}\nadapt_backbone,,50\n")
    return root


def _compare(tmp_path, **candidate) -> dict:
    ref = agreement.collect(_project(tmp_path / "ref"))
    cand = agreement.collect(_project(tmp_path / "cand", precision="bf16", **candidate))
    return agreement.compare(ref, cand)


def test_identical_runs_agree_and_every_row_is_judged(tmp_path):
    result = _compare(tmp_path)
    assert result["agrees"] and result["runs_compared"] == 6 and not result["checkpoints_differing"]
    judged = {(r["row"].split("/")[2], r["metric"]) for r in result["rows"] if r["judged"]}
    assert judged == {(m, k) for m in ("mlp_ft", "mvp") for k in ("clean_accuracy", "textfooler:attack_success_rate")}
    assert result["precision"] == {"reference": ["fp32"], "candidate": ["bf16"]}


@pytest.mark.parametrize("shift, agrees", [(0.9, True), (1.5, False), (-1.5, False)])
def test_clean_accuracy_may_move_by_one_point(tmp_path, shift, agrees):
    result = _compare(tmp_path, clean_shift=shift)
    assert result["agrees"] is agrees
    if not agrees:
        (failure,) = result["failures"]
        assert failure["metric"] == "clean_accuracy" and "/mvp/" in failure["row"]
        assert failure["difference"] == pytest.approx(shift)


@pytest.mark.parametrize("shift, agrees", [(9.0, True), (11.0, False)])
def test_attack_success_may_move_by_the_seed_spread(tmp_path, shift, agrees):
    result = _compare(tmp_path, success_shift=shift)
    assert result["agrees"] is agrees
    row = next(r for r in result["rows"] if r["metric"] == "textfooler:attack_success_rate" and "/mlp_ft/" in r["row"])
    assert row["limit"] == pytest.approx(10.0) and row["difference"] == pytest.approx(shift)


def test_one_seed_has_no_spread_to_judge_attack_success_by(tmp_path):
    ref = agreement.collect(_project(tmp_path / "ref", seeds=(0,)))
    cand = agreement.collect(_project(tmp_path / "cand", precision="bf16", success_shift=30.0, seeds=(0,)))
    result = agreement.compare(ref, cand)
    row = next(r for r in result["rows"] if r["metric"] == "textfooler:attack_success_rate" and "/mlp_ft/" in r["row"])
    assert row["judged"] is False and row["within"] is None and result["agrees"]  # reported, not passed off as judged
    assert "not judged (one seed)" in agreement.markdown(result)


def test_a_different_checkpoint_is_listed_with_the_near_tie(tmp_path):
    result = _compare(tmp_path, step={("mvp", 1): 4})
    (c,) = result["checkpoints_differing"]
    assert c["run"] == "sst2/tiny/mvp/size-64/seed-1" and (c["reference_step"], c["candidate_step"]) == (8, 4)
    assert c["candidate_val_at_reference_step"] == 81.0
    assert "Selected checkpoints that differ: 1 of 6 runs." in agreement.markdown(result)


def test_a_collapse_in_one_run_only_fails(tmp_path):
    result = _compare(tmp_path, collapse=True)
    assert not result["agrees"] and result["collapse_differing"] == [{"run": "sst2/tiny/mvp/size-64/seed-0", "target": "sst2", "reference": False, "candidate": True}]


def test_different_grids_are_not_compared_as_one(tmp_path):
    ref = agreement.collect(_project(tmp_path / "ref"))
    cand = agreement.collect(_project(tmp_path / "cand", precision="bf16", seeds=(0, 1)))
    result = agreement.compare(ref, cand)
    assert not result["agrees"] and result["only_in_reference"] == ["sst2/tiny/mlp_ft/size-64/seed-2", "sst2/tiny/mvp/size-64/seed-2"]


def test_cli_exit_code_json_and_stage_times(tmp_path, capsys):
    _project(tmp_path / "ref")
    _project(tmp_path / "cand", precision="bf16")
    assert bench_main(["agreement", str(tmp_path / "ref"), str(tmp_path / "cand"), "--json", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "| train | 100 | 50 | 0.50 |" in out and "| adapt_backbone | 50 | 50 | 1.00 |" in out and "| all | 350 | 200 | 0.57 |" in out
    assert json.loads((tmp_path / "a.json").read_text())["job_seconds"]["candidate"]["attack"] == 100.0
    _project(tmp_path / "bad", precision="bf16", clean_shift=3.0)
    assert bench_main(["agreement", str(tmp_path / "ref"), str(tmp_path / "bad")]) == 1
    with pytest.raises(FileNotFoundError, match="results/runs does not exist"):
        agreement.collect(tmp_path / "nowhere")


def _outcomes(method: str, seed: int, flipped: bool = False) -> dict[int, str]:
    """Ten attacked examples: 6 successful, 3 failed, 1 skipped; ``flipped`` moves MLP-FT's
    position 0 to failed in every seed and position 6 to successful in seed 0."""
    out = {**{p: "successful" for p in range(6)}, **{p: "failed" for p in range(6, 9)}, 9: "skipped"}
    if flipped and method == "mlp_ft":
        out[0] = "failed"
        if seed == 0:
            out[6] = "successful"
    return out


def test_paired_outcomes_count_the_examples_that_flipped(tmp_path):
    """Each attacked example is paired with itself across the two folders: the report counts
    the flips each way per row and pooled, with an exact sign test, and judges nothing by it."""
    ref = agreement.collect(_project(tmp_path / "ref", records=_outcomes))
    cand = agreement.collect(_project(tmp_path / "cand", precision="bf16", records=lambda m, s: _outcomes(m, s, flipped=True)))
    result = agreement.compare(ref, cand)
    rows = {r["row"].split("/")[2]: r for r in result["rows"] if r["metric"] == "textfooler:attack_success_rate"}
    assert rows["mlp_ft"]["outcomes"] == {"examples": 30, "success_to_failed": 3, "failed_to_success": 1, "other_changes": 0, "sign_test_p": 0.625}
    assert rows["mvp"]["outcomes"]["success_to_failed"] == rows["mvp"]["outcomes"]["failed_to_success"] == 0
    assert result["outcomes"]["examples"] == 60 and result["outcomes"]["sign_test_p"] == 0.625
    assert result["agrees"]  # the summaries did not move: flips are reported, not judged
    text = agreement.markdown(result)
    assert "| 3 / 1 of 30 |" in text and "3 successful in the reference and failed in the candidate, 1 the reverse" in text
    assert "within what chance gives" in text

    assert agreement.sign_test(10, 0) == pytest.approx(2 / 1024) and agreement.sign_test(0, 0) == 1.0
    assert agreement.sign_test(3, 3) == 1.0 and agreement.sign_test(1, 9) == agreement.sign_test(9, 1)
    # a skipped example in one folder is another change, not a flip of the attack
    cand = agreement.collect(_project(tmp_path / "skip", records=lambda m, s: {**_outcomes(m, s), 0: "skipped"}))
    assert agreement.compare(ref, cand)["outcomes"]["other_changes"] == 6

    # folders without per-example records: nothing paired, and the table says so
    plain = agreement.compare(agreement.collect(_project(tmp_path / "a")), agreement.collect(_project(tmp_path / "b")))
    assert plain["outcomes"] is None and "outcomes" not in plain["rows"][1]
    assert "| – |" in agreement.markdown(plain) and "Paired outcomes" not in agreement.markdown(plain)


def test_systematic_flips_are_named(tmp_path):
    ref = agreement.collect(_project(tmp_path / "ref", records=lambda m, s: {p: "successful" for p in range(8)}))
    cand = agreement.collect(_project(tmp_path / "cand", records=lambda m, s: {p: "failed" if p < 3 else "successful" for p in range(8)}))
    result = agreement.compare(ref, cand)
    assert result["outcomes"]["success_to_failed"] == 18 and result["outcomes"]["sign_test_p"] < 0.05
    assert "the candidate's attacks are systematically weaker" in agreement.markdown(result)
