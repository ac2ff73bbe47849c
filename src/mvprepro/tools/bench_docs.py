"""Benchmark figures in BENCHMARKS.md and the README, rendered from the benchmark's JSON.

``mvprepro bench all --json benchmarks/<device>.json`` records the figures (and the
versions and machine they were measured on); ``mvprepro bench docs benchmarks/*.json``
rewrites the marked blocks of BENCHMARKS.md and README.md from them. No figure is pasted by
hand, and ``tests/unit/test_bench.py`` fails when a document and its JSON disagree (``--check``).

A block is delimited by ``<!-- bench:NAME:begin -->`` and ``<!-- bench:NAME:end -->``;
NAME is the JSON's device (``cpu``, ``cuda``) in BENCHMARKS.md, and ``summary`` in the README.
A JSON with a ``cpu_paths`` key (``mvprepro bench cpu --json benchmarks/cpu_paths.json``)
fills the ``cpu_paths`` block instead; until one is recorded that block keeps its text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

# Targets the figures are read against (the project's performance goals).
TARGETS = {
    "mvp_vs_mlp_ft": 1.2,  # MVP per template-sequence at most 1.2x MLP-FT per sequence
    "mvp_vs_naive": 1.5,  # MVP at least 1.5x faster than the naive build
    "wrapper_vs_stock": 10.0,  # our wrapper answers at least 10x the stock wrapper's queries/s
    "forward_share": 0.85,  # at least 85% of an attack's wall time in the model forward
}


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _num(x: float, digits: int = 3) -> str:
    """A figure with ``digits`` significant digits, without exponent notation."""
    if x == 0:
        return "0"
    from math import floor, log10

    decimals = max(0, digits - 1 - floor(log10(abs(x))))
    return f"{x:,.{decimals}f}"


def device_section(figures: dict[str, Any]) -> str:
    """The BENCHMARKS.md block of one device's figures."""
    meta = figures["meta"]
    train, attack = figures["train"], figures["attack"]
    lines = [
        f"Measured {meta['date']} on {meta['device_name']} with torch {meta['versions']['torch']}, "
        f"transformers {meta['versions']['transformers']}, textattack {meta['versions']['textattack']}, "
        f"{figures['torch_threads']} torch threads; command: `{meta['command']}`.",
        "",
        "### Training step (forward, backward, AdamW)",
        "",
        "| | seconds / step | sequences / s | tokens / s |" + (" peak GB |" if "peak_memory_gb" in train["mlp_ft"] else ""),
        "|---|---|---|---|" + ("---|" if "peak_memory_gb" in train["mlp_ft"] else ""),
    ]
    names = {
        "mlp_ft": f"MLP-FT ({train['batch_size']} sequences)",
        "mvp": f"MVP ({train['batch_size']} examples x {train['templates']} templates = "
        f"{train['batch_size'] * train['templates']} template-sequences)",
    }
    for key, name in names.items():
        row = train[key]
        peak = f" {_num(row['peak_memory_gb'])} |" if "peak_memory_gb" in row else ""
        lines.append(
            f"| {name} | {_num(row['seconds_per_step'])} | {_num(row['sequences_per_second'])} | "
            f"{_num(row['tokens_per_second'])} |{peak}"
        )
    naive = train["naive_mvp"]
    lines.append(
        f"| naive MVP (full-vocabulary masked LM, padded to {naive['padded_length']}) | "
        f"{_num(naive['seconds_per_step'])} | {_num(naive['sequences_per_second'])} | |" + (" |" if "peak_memory_gb" in train["mlp_ft"] else "")
    )
    r = train["ratios"]
    lines += [
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| MVP per template-sequence within {TARGETS['mvp_vs_mlp_ft']}x of MLP-FT per sequence | "
        f"{r['mvp_per_template_sequence_vs_mlp_ft_per_sequence']:.2f}x | "
        f"{_met(r['mvp_per_template_sequence_vs_mlp_ft_per_sequence'] <= TARGETS['mvp_vs_mlp_ft'])} |",
        f"| MVP at least {TARGETS['mvp_vs_naive']}x faster than the naive baseline | {r['mvp_speedup_vs_naive']:.1f}x | "
        f"{_met(r['mvp_speedup_vs_naive'] >= TARGETS['mvp_vs_naive'])} |",
        "",
        "### Attack queries (TextAttack model wrapper, inference)",
        "",
        "| wrapper | queries / s |",
        "|---|---|",
        f"| ours, MLP-FT | {_num(attack['ours_mlp_ft']['queries_per_second'])} |",
        f"| TextAttack's `HuggingFaceModelWrapper`, MLP-FT (pads to {attack['stock_mlp_ft']['padded_length']}) | "
        f"{_num(attack['stock_mlp_ft']['queries_per_second'])} |",
        f"| ours, MVP (each query = {train['templates']} template-sequences) | {_num(attack['ours_mvp']['queries_per_second'])} |",
    ]
    tf = attack["attack_textfooler_mvp"]
    ratio = attack["ratios"]["ours_vs_stock_mlp_ft"]
    lines += [
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| attack throughput at least {TARGETS['wrapper_vs_stock']:g}x the stock wrapper | {ratio:.1f}x | "
        f"{_met(ratio >= TARGETS['wrapper_vs_stock'])} |",
        f"| at least {TARGETS['forward_share']:.0%} of attack wall time in the model forward | "
        f"{tf['forward_share']:.1%} ({tf['forward_seconds']:.1f} s of {tf['wall_seconds']:.1f} s, TextFooler on MVP, "
        f"{tf['examples']} examples, {tf['queries']} queries) | {_met(tf['forward_share'] >= TARGETS['forward_share'])} |",
    ]
    return "\n".join(lines)


# How the CPU paths of ``mvprepro bench cpu`` read in the table; unknown keys show as they are.
CPU_PATH_NAMES = {
    "fp32_eager": "fp32 eager (the reference)",
    "fp32_eager_2threads": "fp32 eager",
    "bf16_autocast": "bf16 autocast",
    "torch_compile": "`torch.compile` (inductor)",
    "int8_dynamic": "dynamic int8 (the encoder's Linear layers)",
    "onnxruntime": "ONNX Runtime (the encoder exported)",
}


def _diff(x: float) -> str:
    """A logit difference: small ones (float rounding) in exponent notation, to stay short."""
    return "0" if x == 0 else (f"{x:.1e}" if abs(x) < 1e-3 else _num(x))


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def cpu_paths_section(figures: dict[str, Any]) -> str:
    """The BENCHMARKS.md block comparing the CPU paths (``mvprepro bench cpu``)."""
    meta, cpu = figures["meta"], figures["cpu_paths"]
    size = {"base": " (RoBERTa-base-sized model)", "minilm": " (all-MiniLM-L6-v2-sized model, the backbone of config/real.yaml)"}.get(
        meta["size"], f" ({meta['size']}, smoke-test size: the figures mean little)"
    )
    bf16 = "has" if cpu["bf16_native"] else "lacks"
    lines = [
        f"Measured {meta['date']} on {meta['device_name']}{size} with torch {meta['versions']['torch']}; "
        f"{cpu['queries']} queries in batches of {cpu['batch_size']}, {_plural(cpu['threads'], 'torch thread')} per path unless "
        f"the row says otherwise, {_plural(cpu['passes'], 'timed pass', 'timed passes')} after a warm-up; the processor {bf16} native bf16 "
        f"({cpu['bf16_reason']}); command: `{meta['command']}`.",
    ]
    names = {"mlp_ft": "MLP-FT", "mvp": f"MVP (each query = {cpu['templates']} template-sequences)"}
    for kind, title in names.items():
        lines += [
            "",
            f"### Attack queries, {title}",
            "",
            "| path | threads | seconds / batch | queries / s | speed-up vs fp32 eager | max abs logit diff | same prediction | note |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for path, row in cpu[kind].items():
            name = CPU_PATH_NAMES.get(path, path)
            if "skipped" in row or "error" in row:
                why = f"skipped: {row['skipped']}" if "skipped" in row else f"failed: {row['error']}"
                lines.append(f"| {name} | | | | | | | {why.replace('|', '/')} |")
                continue
            notes = []
            if "compile_seconds" in row:
                notes.append(f"compiling took {_num(row['compile_seconds'])} s")
            if "native" in row:
                notes.append("native bf16" if row["native"] else "bf16 emulated: no bf16 instructions")
            if "note" in row:
                notes.append(row["note"])
            cells = [
                name,
                str(row["threads"]),
                _num(row["seconds_per_batch"]),
                _num(row["queries_per_second"]),
                f"{_num(row['ratio_vs_fp32_eager'])}x",
                _diff(row["max_abs_logit_diff"]),
                f"{row['prediction_agreement']:.1%}",
                "; ".join(notes),
            ]
            lines.append(("| " + " | ".join(cells) + " |").replace("|  |", "| |"))
    train = cpu["train_mlp_ft"]
    lines += [
        "",
        f"### Training step, MLP-FT ({train['batch_size']} sequences, forward, backward, AdamW, {_plural(train['threads'], 'thread')})",
        "",
        "| precision | seconds / step | sequences / s | speed-up vs fp32 |",
        "|---|---|---|---|",
        f"| fp32 | {_num(train['fp32']['seconds_per_step'])} | {_num(train['fp32']['sequences_per_second'])} | 1.00x |",
        f"| bf16 autocast | {_num(train['bf16_autocast']['seconds_per_step'])} | "
        f"{_num(train['bf16_autocast']['sequences_per_second'])} | {_num(train['ratio_bf16_vs_fp32'])}x |",
    ]
    return "\n".join(lines)


def summary_section(by_device: dict[str, dict[str, Any]]) -> str:
    """The README's performance sentence, from the CPU figures (and the GPU's if measured)."""
    parts = []
    for device, figures in by_device.items():
        train, attack = figures["train"]["ratios"], figures["attack"]
        where = f"{figures['meta']['device_name']}"
        size = "RoBERTa-base-sized" if figures["meta"]["size"] == "base" else f"{figures['meta']['size']} (smoke-test) size"
        parts.append(
            f"On a {size} model on {where}: an MVP template-sequence trains at "
            f"{train['mvp_per_template_sequence_vs_mlp_ft_per_sequence']:.2f}x the cost of an MLP-FT sequence, "
            f"{train['mvp_speedup_vs_naive']:.1f}x faster than a naive full-vocabulary MVP padded to 512; the "
            f"attack wrapper answers {attack['ratios']['ours_vs_stock_mlp_ft']:.1f}x more queries per second than "
            f"TextAttack's stock wrapper, and {attack['attack_textfooler_mvp']['forward_share']:.0%} of an attack's "
            f"wall time is the model forward ({device}, {figures['meta']['date']})."
        )
    return "\n".join(parts)


def replace_block(text: str, name: str, body: str, where: str) -> str:
    pattern = re.compile(rf"(<!-- bench:{re.escape(name)}:begin -->).*?(<!-- bench:{re.escape(name)}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"{where} has no block <!-- bench:{name}:begin --> ... <!-- bench:{name}:end -->")
    return pattern.sub(lambda m: m.group(1) + "\n" + body + "\n" + m.group(2), text)


def render(figure_files: list[str | Path], benchmarks_md: str | Path, readme: str | Path, check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, compare) the generated blocks; returns the stale files."""
    by_device, cpu_paths = {}, []
    for file in figure_files:
        figures = json.loads(Path(file).read_text())
        if "cpu_paths" in figures:  # `bench cpu`: its own block, not a device's
            cpu_paths.append(figures)
        if "train" in figures or "cpu_paths" not in figures:
            by_device[figures["meta"]["device"]] = figures
    stale = []
    updates = {
        Path(benchmarks_md): [(device, device_section(f)) for device, f in by_device.items()],
        Path(readme): [("summary", summary_section(by_device))],
    }
    if cpu_paths:  # none recorded yet: the block keeps what it says
        updates[Path(benchmarks_md)].append(("cpu_paths", "\n\n".join(cpu_paths_section(f) for f in cpu_paths)))
    for path, blocks in updates.items():
        old = path.read_text(encoding="utf-8")
        new = old
        for name, body in blocks:
            new = replace_block(new, name, body, str(path))
        if new != old:
            stale.append(str(path))
            if not check:
                path.write_text(new, encoding="utf-8")
    return stale
