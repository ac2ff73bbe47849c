"""Throughput benchmarks: they print figures and ratios, they assert nothing.

``mvprepro bench train``: training steps per second for MLP-FT (sequences/s) and MVP
(template-sequences/s) against a naive MVP built the obvious way (a masked-LM forward with
full-vocabulary logits at every position, inputs padded to ``max_length``), on a
RoBERTa-base-sized model (random weights: speed does not depend on them).

``mvprepro bench attack``: model queries per second of this project's TextAttack wrapper
against TextAttack's stock ``HuggingFaceModelWrapper`` (which pads every query to the
tokenizer's ``model_max_length``), and the share of a real TextFooler attack's wall time
spent in the model forward.

Both run on CPU or CUDA (``--device``); on CUDA they also report tokens/s and peak memory.

``mvprepro bench cpu``: the CPU paths a user could pick for the attack-time forward (fp32
eager at the per-job thread count, two threads, bf16 autocast, ``torch.compile``, dynamic
int8 quantisation, ONNX Runtime where installed) as speed ratios to fp32 eager, with how far
their logits and predictions move from fp32 eager's, and one training step fp32 against bf16.
Texts are demo sentences joined to SST-2-like lengths (about 25 tokens).

``mvprepro bench agreement REFERENCE CANDIDATE``: whether two finished runs of one grid
(e.g. fp32 and bf16) agree, run by run, and what each stage cost in both
(:mod:`mvprepro.tools.agreement`).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..runtime import autocast, use_precision
from ..train.optimizer import adamw

SIZES = {
    # RoBERTa-base's shapes, vocabulary included (the naive baseline's cost depends on it).
    "base": {"vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    # all-MiniLM-L6-v2's shapes: the backbone of config/real.yaml.
    "minilm": {"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536},
    # A smoke-test size: it checks that the benchmark runs, its figures mean little.
    "tiny": {"vocab_size": 1000, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 256},
}
TEMPLATES = ["Sentiment of the statement is [MASK] . ", "[SEP] [MASK] ", "This is a [MASK] statement ", "[SEP] The statement is [MASK] "]
VERBALIZER = [["negative"], ["positive"]]
# TextFooler as the paper built it (the schema's defaults), with a word share that lets the
# attack search on these short texts.
TEXTFOOLER = {
    "recipe": "textfooler",
    "variant": "paper",
    "embedding": "counterfitted",
    "max_candidates": 50,
    "min_cos_sim": 0.5,
    "max_words_perturbed": 0.3,
    "pos": True,
    "query_batch_size": 64,
}


def _setup(size: str, workdir: Path) -> tuple[Path, list[str]]:
    """A backbone folder (demo tokenizer, RoBERTa config of the given size) and texts."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    from ..download import builders

    rng = random.Random(0)
    sentence = builders._sst2_sentence
    texts = [f"{sentence(rng, i % 2)} {sentence(rng, (i + 1) % 2)} {sentence(rng, i % 2)}" for i in range(256)]
    words = [w for ws in VERBALIZER for w in ws] + " ".join(TEMPLATES).replace("[MASK]", "").replace("[SEP]", "").split()
    lines = builders._corpus_lines([], words) + texts
    tokenizer = builders._tokenizer("tiny_roberta", lines, 1000, 514, workdir / "tok")
    tokenizer.model_max_length = 512
    config = RobertaConfig(max_position_embeddings=514, type_vocab_size=1, pad_token_id=tokenizer.pad_token_id, **SIZES[size])
    torch.manual_seed(0)
    backbone = workdir / "backbone"
    RobertaForMaskedLM(config).save_pretrained(backbone, safe_serialization=True)
    tokenizer.save_pretrained(backbone)
    return backbone, texts


def _timed(fn: Callable[[], Any], device: torch.device, repeats: int) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def _spec(kind: str, max_length: int = 512) -> dict[str, Any]:
    spec = {"kind": kind, "name": kind, "num_labels": 2, "max_length": max_length, "prompt_reserve": 32, "backbone": "bench"}
    if kind == "mvp":
        spec.update(templates=TEMPLATES, verbalizer=VERBALIZER, pool_label_words="max", pool_templates="mean")
    return spec


def bench_train(size: str, device: torch.device, steps: int, batch_size: int, precision: str = "fp32") -> dict[str, Any]:
    from transformers import AutoModelForMaskedLM

    from ..data.encoding import encode_texts
    from ..train import models, prompts

    with tempfile.TemporaryDirectory() as tmp:
        backbone, texts = _setup(size, Path(tmp))
        results: dict[str, Any] = {"size": size, "device": str(device), "batch_size": batch_size}
        for kind in ("mlp_ft", "mvp"):
            model = models.build(backbone, _spec(kind)).to(device).train()
            ids = encode_texts(model.tokenizer, [texts[:batch_size]], 512, 32)
            opt = adamw(model.parameters(), lr=1e-5)
            labels = torch.tensor([i % 2 for i in range(batch_size)], device=device)
            batch = {k: v.to(device) for k, v in model.collate(ids).items()}

            def step(model=model, batch=batch, opt=opt):
                with autocast(device, precision):
                    loss = torch.nn.functional.cross_entropy(model(**batch).float(), labels)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            seconds = _timed(step, device, steps)
            rows = batch["input_ids"].shape[0]
            results[kind] = {
                "seconds_per_step": seconds,
                "sequences_per_second": rows / seconds,
                "tokens_per_second": int(batch["attention_mask"].sum()) / seconds,
                "mean_tokens": float(batch["attention_mask"].sum(1).float().mean()),
                **({"peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30} if device.type == "cuda" else {}),
            }
            del model, opt

        # The naive MVP: full-vocabulary logits at every position, padded to max_length.
        mvp = models.build(backbone, _spec("mvp"))
        tok = mvp.tokenizer
        full = AutoModelForMaskedLM.from_pretrained(backbone, trust_remote_code=False).to(device).train()
        opt = adamw(full.parameters(), lr=1e-5)
        ids = encode_texts(tok, [texts[:batch_size]], 512, 32)
        rows, masks = prompts.insert_templates(ids, mvp.templates, 512, mvp.specials)
        naive_ids = torch.full((len(rows), 512), tok.pad_token_id, dtype=torch.long)
        for i, r in enumerate(rows):
            naive_ids[i, : len(r)] = torch.tensor(r)
        naive_ids = naive_ids.to(device)
        naive_att = (naive_ids != tok.pad_token_id).long()
        mask_idx = torch.tensor(masks, device=device)
        word_ids = mvp.word_ids.to(device)
        labels = torch.tensor([i % 2 for i in range(batch_size)], device=device)

        per_chunk = len(TEMPLATES) * 2  # two examples' template rows at a time: [8, 512, vocab] logits fit in memory

        def naive_step():
            # Same arithmetic as one batch; gradients accumulated over chunks to bound memory.
            for start in range(0, len(rows), per_chunk):
                sl = slice(start, start + per_chunk)
                with autocast(device, precision):
                    logits = full(input_ids=naive_ids[sl], attention_mask=naive_att[sl]).logits  # [rows, 512, vocab]
                    at_mask = logits[torch.arange(logits.shape[0], device=device), mask_idx[sl]][:, word_ids]
                    scores = at_mask.view(-1, len(TEMPLATES), at_mask.shape[-1]).mean(1)
                    ex = labels[start // len(TEMPLATES) : (start + per_chunk) // len(TEMPLATES)]
                    loss = torch.nn.functional.cross_entropy(scores.float(), ex) * len(ex) / batch_size
                loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        seconds = _timed(naive_step, device, max(1, steps // 2))
        results["naive_mvp"] = {"seconds_per_step": seconds, "sequences_per_second": len(rows) / seconds, "padded_length": 512}
        mlp, mvp_r, naive = results["mlp_ft"], results["mvp"], results["naive_mvp"]
        results["ratios"] = {
            "mvp_per_template_sequence_vs_mlp_ft_per_sequence": (mvp_r["seconds_per_step"] / len(rows) * batch_size) / mlp["seconds_per_step"],
            "mvp_speedup_vs_naive": naive["seconds_per_step"] / mvp_r["seconds_per_step"],
        }
        return results


def bench_attack(size: str, device: torch.device, queries: int, examples: int, precision: str = "fp32") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        backbone, texts = _setup(size, Path(tmp))
        from ..download.download_attack_resources import fetch

        res_dir = Path(tmp) / "attack"
        fetch({"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}, res_dir / "manifest.json")
        from textattack.models.wrappers import HuggingFaceModelWrapper

        from ..attack import recipes
        from ..attack.wrapper import MethodModelWrapper
        from ..data.tasks import get_task
        from ..train import models

        results: dict[str, Any] = {"size": size, "device": str(device), "queries": queries}
        batch = texts[:queries]
        for kind in ("mlp_ft", "mvp"):
            model = models.build(backbone, _spec(kind)).to(device).eval()
            ours = MethodModelWrapper(model, 1, 32, batch_size=32, precision=precision)
            results[f"ours_{kind}"] = {"queries_per_second": queries / _timed(lambda ours=ours: ours(batch), device, 1)}
            if kind == "mlp_ft":
                stock = HuggingFaceModelWrapper(model.hf, model.tokenizer)

                def run_stock(stock=stock):
                    with torch.inference_mode():
                        for s in range(0, len(batch), 32):
                            stock(batch[s : s + 32])

                results["stock_mlp_ft"] = {"queries_per_second": queries / _timed(run_stock, device, 1), "padded_length": model.tokenizer.model_max_length}
        results["ratios"] = {"ours_vs_stock_mlp_ft": results["ours_mlp_ft"]["queries_per_second"] / results["stock_mlp_ft"]["queries_per_second"]}

        # Share of a real attack's wall time spent in the model forward (MVP, TextFooler).
        model = models.build(backbone, _spec("mvp")).to(device).eval()
        wrapper = MethodModelWrapper(model, 1, 32, batch_size=32, precision=precision)
        forward_seconds = 0.0
        original_forward = model.forward

        def timed_forward(*args, **kwargs):
            nonlocal forward_seconds
            start = time.perf_counter()
            out = original_forward(*args, **kwargs)
            if device.type == "cuda":
                torch.cuda.synchronize()
            forward_seconds += time.perf_counter() - start
            return out

        model.forward = timed_forward  # type: ignore[method-assign]
        attack, _ = recipes.build("textfooler", TEXTFOOLER, wrapper, get_task("sst2"), res_dir)
        start = time.perf_counter()
        for i, text in enumerate(texts[:examples]):
            attack.clear_cache()
            attack.attack(text, i % 2)
        wall = time.perf_counter() - start
        results["attack_textfooler_mvp"] = {
            "examples": examples,
            "wall_seconds": wall,
            "forward_seconds": forward_seconds,
            "forward_share": forward_seconds / wall,
            "queries": wrapper.queries,
        }
        return results


# CPU paths a user could pick for the attack-time forward, in the order the table shows them.
CPU_PATHS = ("fp32_eager", "fp32_eager_2threads", "bf16_autocast", "torch_compile", "int8_dynamic", "onnxruntime")


def _passes(run: Callable[[], torch.Tensor], repeats: int) -> tuple[torch.Tensor, float, float]:
    """Logits of one pass (the warm-up, and the agreement's input), its wall seconds, and the
    mean seconds of ``repeats`` further passes (the steady state, what an attack sees)."""
    start = time.perf_counter()
    logits = run()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return logits, first, (time.perf_counter() - start) / repeats


class _OrtBackbone(torch.nn.Module):
    """Stands in for a Hugging Face model's base model (``hf.roberta``): runs the exported
    encoder in an ONNX Runtime session, so the method's own head (MLP-FT's classifier, MVP's
    label-word read-out) stays the same torch code as in the other paths."""

    def __init__(self, session: Any):
        super().__init__()
        self.session = session

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutput

        if input_ids is None or attention_mask is None:
            raise ValueError("the ONNX encoder takes token ids and an attention mask, not embeddings")
        feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return BaseModelOutput(last_hidden_state=torch.from_numpy(self.session.run(None, feeds)[0]))


def _missing_onnx() -> str | None:
    """Why the ONNX Runtime path cannot run here, if it cannot: neither package is a
    dependency of this project, and ``torch.onnx.export`` needs ``onnx`` to write the model."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime not installed (pip install onnxruntime)"
    if importlib.util.find_spec("onnx") is None:
        return "onnx not installed, which torch.onnx.export needs (pip install onnx)"
    return None


def _onnx_model(model: torch.nn.Module, example: dict[str, torch.Tensor], threads: int, workdir: Path) -> torch.nn.Module:
    """A copy of ``model`` whose encoder runs in ONNX Runtime (the encoder alone is exported:
    the heads read hidden states at positions that differ per method)."""
    import copy

    import onnxruntime

    class Encoder(torch.nn.Module):
        def __init__(self, base: torch.nn.Module):
            super().__init__()
            self.base = base

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    hf = model.hf  # type: ignore[attr-defined]
    path = workdir / f"{type(model).__name__}.onnx"
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}, "hidden": {0: "batch", 1: "length"}}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(hf.base_model).eval(),  # wrapper included: exported in training mode, the hidden states differed from eager's
            (example["input_ids"], example["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ort = copy.deepcopy(model)
    setattr(ort.hf, hf.base_model_prefix, _OrtBackbone(session))  # type: ignore[attr-defined]
    return ort


def bench_cpu_paths(size: str, queries: int, batch_size: int, threads: int = 1, steps: int = 1, train_batch_size: int = 8) -> dict[str, Any]:
    """The CPU paths a user could pick for attack-time inference, side by side.

    Each path answers the same ``queries`` texts in batches of ``batch_size`` the way the
    attack wrapper does (``model(**model.collate(ids))`` under inference mode), for MLP-FT
    and MVP; its speed is a ratio to fp32 eager at ``threads`` threads (the pipeline's
    per-job setting) and its logits are compared with fp32 eager's, since a faster path that
    changes predictions changes what an attack finds. ``steps`` timed passes follow one
    warm-up pass (which also compiles, for ``torch.compile``). One training step (forward,
    backward, AdamW on MLP-FT) compares fp32 with bf16 autocast.
    """
    import copy

    from ..data.encoding import encode_texts
    from ..train import models
    from ..runtime import cpu_bf16_support

    native, why = cpu_bf16_support()
    initial_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        backbone, texts = _setup(size, Path(tmp))
        results: dict[str, Any] = {
            "size": size,
            "queries": queries,
            "batch_size": batch_size,
            "threads": threads,
            "passes": steps,
            "templates": len(TEMPLATES),
            "bf16_native": native,
            "bf16_reason": why,
            "paths": list(CPU_PATHS),
        }
        try:
            for kind in ("mlp_ft", "mvp"):
                model = models.build(backbone, _spec(kind)).eval()
                ids = encode_texts(model.tokenizer, [texts[:queries]], model.max_length, 32)
                batches = [model.collate(ids[s : s + batch_size]) for s in range(0, len(ids), batch_size)]

                def run(m: torch.nn.Module = model, bf16: bool = False, batches: list[dict[str, torch.Tensor]] = batches) -> torch.Tensor:
                    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                        return torch.cat([m(**b).float() for b in batches])

                rows: dict[str, dict[str, Any]] = {}
                reference: torch.Tensor | None = None
                ref_seconds = 1.0
                for path in CPU_PATHS:
                    torch.set_num_threads(threads)
                    row: dict[str, Any] = {"threads": threads}
                    try:
                        if path == "fp32_eager":
                            fn = run
                        elif path == "fp32_eager_2threads":
                            row["threads"] = 2 * threads
                            row["note"] = f"the pipeline runs one job per core (threads: {threads}): the extra threads take another job's core"
                            torch.set_num_threads(2 * threads)
                            fn = run
                        elif path == "bf16_autocast":
                            row.update(native=native, native_reason=why)
                            fn = partial(run, bf16=True)
                        elif path == "torch_compile":
                            torch.compiler.reset()  # MVP's compile does not reuse MLP-FT's graphs of the shared encoder
                            compiled = torch.compile(model)
                            fn = partial(run, compiled)
                        elif path == "int8_dynamic":
                            # The encoder's Linear layers only: MVP reads the LM head's weight
                            # rows directly, which a quantised Linear does not expose.
                            quantised = copy.deepcopy(model)
                            torch.ao.quantization.quantize_dynamic(quantised.hf.base_model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
                            fn = partial(run, quantised)
                        else:  # onnxruntime
                            missing = _missing_onnx()
                            if missing:
                                rows[path] = {"skipped": missing}
                                continue
                            ort = _onnx_model(model, batches[0], threads, Path(tmp))
                            fn = partial(run, ort)
                        logits, first, seconds = _passes(fn, steps)
                    except Exception as e:  # a path that does not run here is a finding, not a crash
                        if path == "fp32_eager":
                            raise
                        first_line = (str(e).strip().splitlines() or [""])[0]
                        rows[path] = {**row, "error": f"{type(e).__name__}: {first_line}"[:300]}
                        continue
                    finally:
                        torch.set_num_threads(threads)
                    if reference is None:
                        reference, ref_seconds = logits, seconds
                    if path == "torch_compile":
                        row["compile_seconds"] = max(0.0, first - seconds)  # the warm-up pass less a steady one
                    rows[path] = {
                        **row,
                        "seconds_per_batch": seconds / len(batches),
                        "queries_per_second": len(ids) / seconds,
                        "ratio_vs_fp32_eager": ref_seconds / seconds,
                        "max_abs_logit_diff": float((logits - reference).abs().max()),
                        "prediction_agreement": float((logits.argmax(-1) == reference.argmax(-1)).float().mean()),
                    }
                results[kind] = rows
                del model

            # Training: fp32 against bf16 autocast, the same start for both.
            torch.set_num_threads(threads)
            base = models.build(backbone, _spec("mlp_ft"))
            ids = encode_texts(base.tokenizer, [texts[:train_batch_size]], 512, 32)
            batch = base.collate(ids)
            labels = torch.tensor([i % 2 for i in range(len(ids))])
            train: dict[str, Any] = {"batch_size": len(ids), "steps": steps, "threads": threads, "native": native, "native_reason": why}
            for name, bf16 in (("fp32", False), ("bf16_autocast", True)):
                model = copy.deepcopy(base).train()
                opt = adamw(model.parameters(), lr=1e-5)

                def step(model=model, opt=opt, bf16=bf16):
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                        loss = torch.nn.functional.cross_entropy(model(**batch).float(), labels)
                    loss.backward()
                    opt.step()
                    opt.zero_grad(set_to_none=True)

                seconds = _timed(step, torch.device("cpu"), steps)
                train[name] = {"seconds_per_step": seconds, "sequences_per_second": len(ids) / seconds}
            train["ratio_bf16_vs_fp32"] = train["fp32"]["seconds_per_step"] / train["bf16_autocast"]["seconds_per_step"]
            results["train_mlp_ft"] = train
        finally:
            torch.set_num_threads(initial_threads)
        return results


def _meta(device: torch.device, size: str, argv: list[str]) -> dict[str, Any]:
    """Where and with what the figures were measured, for the documents rendered from them."""
    import datetime
    import os
    import platform

    from ..fileio import package_versions

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        model = platform.machine()
        cpuinfo = Path("/proc/cpuinfo")
        if cpuinfo.exists():
            found = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
            model = found[0] if found else model
        name = f"{model}, {os.cpu_count()} cores"
    return {
        "device": device.type,
        "device_name": name,
        "size": size,
        "date": datetime.date.today().isoformat(),
        "versions": {k: v for k, v in package_versions().items() if k in ("torch", "transformers", "textattack")},
        "command": " ".join(["mvprepro", "bench", *argv]),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(argv or [])
    if argv[:1] == ["docs"]:
        return docs_main(argv[1:])
    if argv[:1] == ["agreement"]:  # two finished runs of one grid: do they tell the same story?
        from .agreement import main as agreement_main

        return agreement_main(argv[1:])
    p = argparse.ArgumentParser(prog="mvprepro bench", description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["train", "attack", "all", "cpu"], help="all = train + attack; cpu = the CPU paths compared (not part of all)")
    p.add_argument("--size", choices=list(SIZES), default="base")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per method (cpu: also timed passes over the queries per path)")
    p.add_argument("--batch-size", type=int, default=8, help="training batch (cpu: the query batch, 32 in the attack wrapper)")
    p.add_argument("--threads", type=int, default=1, help="cpu: torch threads of every path but the two-thread one (the CPU configs' per-job threads)")
    p.add_argument("--queries", type=int, default=64, help="queries timed per wrapper")
    p.add_argument("--examples", type=int, default=3, help="examples attacked for the forward share")
    p.add_argument(
        "--precision", choices=["fp32", "bf16"], default="fp32", help="as training.precision: fp32 (the paper) or bf16 autocast (+ TF32 on CUDA; CPUs with bf16 instructions)"
    )
    p.add_argument("--json", help="also write the figures to this file (e.g. benchmarks/cpu.json; then `mvprepro bench docs`)")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    args.precision = use_precision(device, args.precision)
    out: dict[str, Any] = {"meta": _meta(device, args.size, [a for a in argv if a != args.json and not a.startswith("--json")]), "torch_threads": torch.get_num_threads()}
    if args.what in ("train", "all"):
        out["train"] = {**bench_train(args.size, device, args.steps, args.batch_size, args.precision), "batch_size": args.batch_size, "templates": len(TEMPLATES)}
    if args.what in ("attack", "all"):
        out["attack"] = bench_attack(args.size, device, args.queries, args.examples, args.precision)
    if args.what == "cpu":
        if device.type != "cpu":
            p.error("`bench cpu` compares CPU paths: run it with --device cpu")
        out["cpu_paths"] = bench_cpu_paths(args.size, args.queries, args.batch_size, args.threads, args.steps)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def docs_main(argv: list[str]) -> int:
    """``mvprepro bench docs FIGURES.json...``: rewrite the figures in BENCHMARKS.md and README.md."""
    from .bench_docs import render

    p = argparse.ArgumentParser(prog="mvprepro bench docs", description=docs_main.__doc__)
    p.add_argument("figures", nargs="+", help="JSON files written by `mvprepro bench all --json` (and `bench cpu --json`)")
    p.add_argument("--benchmarks", default="BENCHMARKS.md")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--check", action="store_true", help="only report documents that differ from the figures (exit 1)")
    args = p.parse_args(argv)
    stale = render(args.figures, args.benchmarks, args.readme, check=args.check)
    for path in stale:
        print(f"{path}: {'differs from' if args.check else 'rewritten from'} {' '.join(args.figures)}")
    return 1 if args.check and stale else 0
