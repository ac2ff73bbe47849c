"""Benchmark figures in the documents come from the recorded JSON, never by hand."""

from __future__ import annotations

import copy
import json
import shutil

from mvprepro.tools.bench_docs import render
from helpers import REPO

FIGURES = sorted((REPO / "benchmarks").glob("*.json"))


def test_documents_match_the_recorded_figures():
    assert FIGURES, "benchmarks/cpu.json is missing: run `mvprepro bench all --json benchmarks/cpu.json`"
    stale = render(FIGURES, REPO / "BENCHMARKS.md", REPO / "README.md", check=True)
    assert not stale, f"{stale} differ from {FIGURES}: run `mvprepro bench docs benchmarks/*.json`"


def test_new_figures_rewrite_the_documents(tmp_path):
    figures = json.loads((REPO / "benchmarks" / "cpu.json").read_text())
    changed = copy.deepcopy(figures)
    changed["attack"]["ratios"]["ours_vs_stock_mlp_ft"] = 3.25  # below the 10x target
    (tmp_path / "cpu.json").write_text(json.dumps(changed))
    for name in ("BENCHMARKS.md", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    assert render([tmp_path / "cpu.json"], tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == [
        str(tmp_path / "BENCHMARKS.md"),
        str(tmp_path / "README.md"),
    ]
    bench = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| attack throughput at least 10x the stock wrapper | 3.2x | **not met** |" in bench
    assert "answers 3.2x more queries per second" in (tmp_path / "README.md").read_text()
    # Rendering is idempotent: a second run changes nothing.
    assert render([tmp_path / "cpu.json"], tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == []


def _cpu_paths_figures() -> dict:
    """A made-up `mvprepro bench cpu` record: one path of each kind of row (figures, skipped, failed)."""

    def row(qps: float, ratio: float, diff: float, agree: float, **extra) -> dict:
        return {"threads": 1, "seconds_per_batch": 32 / qps, "queries_per_second": qps, "ratio_vs_fp32_eager": ratio,
                "max_abs_logit_diff": diff, "prediction_agreement": agree, **extra}  # fmt: skip

    rows = {
        "fp32_eager": row(50.0, 1.0, 0.0, 1.0),
        "fp32_eager_2threads": {**row(68.5, 1.37, 2e-7, 1.0), "threads": 2, "note": "competes with a second job"},
        "bf16_autocast": row(6.25, 0.125, 0.25, 0.96875, native=False, native_reason="processor lacks avx512_bf16 and amx_bf16"),
        "torch_compile": {"threads": 1, "error": "BackendCompilerFailed: no C++ compiler"},
        "int8_dynamic": row(56.5, 1.13, 1.0, 0.90625),
        "onnxruntime": {"skipped": "onnxruntime not installed (pip install onnxruntime)"},
    }
    meta = {"device": "cpu", "device_name": "Test CPU, 2 cores", "size": "base", "date": "2026-12-01",
            "versions": {"torch": "2.13.0+cpu", "transformers": "4.57.6", "textattack": "0.3.11"},
            "command": "mvprepro bench cpu --size base"}  # fmt: skip
    train = {"batch_size": 8, "steps": 2, "threads": 1, "native": False, "native_reason": "processor lacks avx512_bf16 and amx_bf16",
             "fp32": {"seconds_per_step": 2.0, "sequences_per_second": 4.0},
             "bf16_autocast": {"seconds_per_step": 16.0, "sequences_per_second": 0.5}, "ratio_bf16_vs_fp32": 0.125}  # fmt: skip
    cpu_paths = {"size": "base", "queries": 64, "batch_size": 32, "threads": 1, "passes": 2, "templates": 4, "bf16_native": False,
                 "bf16_reason": "processor lacks avx512_bf16 and amx_bf16", "paths": list(rows),
                 "mlp_ft": rows, "mvp": copy.deepcopy(rows), "train_mlp_ft": train}  # fmt: skip
    return {"meta": meta, "torch_threads": 2, "cpu_paths": cpu_paths}


def test_cpu_paths_render_into_their_own_block(tmp_path):
    for name in ("BENCHMARKS.md", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copy(REPO / "benchmarks" / "cpu.json", tmp_path / "cpu.json")
    before = (tmp_path / "BENCHMARKS.md").read_text()
    assert "<!-- bench:cpu_paths:begin -->" in before
    # Without a cpu_paths record the block keeps its text and nothing is rewritten.
    assert render([tmp_path / "cpu.json"], tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == []
    (tmp_path / "cpu_paths.json").write_text(json.dumps(_cpu_paths_figures()))
    files = [tmp_path / "cpu.json", tmp_path / "cpu_paths.json"]
    assert render(files, tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == [str(tmp_path / "BENCHMARKS.md")]
    bench = (tmp_path / "BENCHMARKS.md").read_text()
    block = bench.split("<!-- bench:cpu_paths:begin -->")[1].split("<!-- bench:cpu_paths:end -->")[0]
    assert "Not measured yet" not in block
    assert "the processor lacks native bf16 (processor lacks avx512_bf16 and amx_bf16)" in block
    assert "| fp32 eager (the reference) | 1 | 0.640 | 50.0 | 1.00x | 0 | 100.0% | |" in block
    assert "| fp32 eager | 2 | 0.467 | 68.5 | 1.37x | 2.0e-07 | 100.0% | competes with a second job |" in block
    assert "| bf16 autocast | 1 | 5.12 | 6.25 | 0.125x | 0.250 | 96.9% | bf16 emulated: no bf16 instructions |" in block
    assert "| dynamic int8 (the encoder's Linear layers) | 1 | 0.566 | 56.5 | 1.13x | 1.00 | 90.6% | |" in block
    assert "| `torch.compile` (inductor) | | | | | | | failed: BackendCompilerFailed: no C++ compiler |" in block
    assert "| ONNX Runtime (the encoder exported) | | | | | | | skipped: onnxruntime not installed (pip install onnxruntime) |" in block
    assert block.count("| fp32 eager (the reference) |") == 2  # MLP-FT and MVP
    assert "| bf16 autocast | 16.0 | 0.500 | 0.125x |" in block
    # The device blocks and the README still come from cpu.json alone.
    assert bench.split("<!-- bench:cpu_paths:begin -->")[0] == before.split("<!-- bench:cpu_paths:begin -->")[0]
    assert render(files, tmp_path / "BENCHMARKS.md", tmp_path / "README.md") == []
