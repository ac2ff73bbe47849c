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
Texts are demo sentences joined to SST-2-like lengths (about 25 tokens).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .train.evaluate import autocast, use_precision

SIZES = {
    # RoBERTa-base's shapes, vocabulary included (the naive baseline's cost depends on it).
    "base": {"vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
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

    from .download import builders

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

    from .data.tokenize import encode_texts
    from .train import models, prompts

    with tempfile.TemporaryDirectory() as tmp:
        backbone, texts = _setup(size, Path(tmp))
        results: dict[str, Any] = {"size": size, "device": str(device), "batch_size": batch_size}
        for kind in ("mlp_ft", "mvp"):
            model = models.build(backbone, _spec(kind)).to(device).train()
            ids = encode_texts(model.tokenizer, [texts[:batch_size]], 512, 32)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
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
        opt = torch.optim.AdamW(full.parameters(), lr=1e-5)
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
        from .download.attack_resources import fetch

        res_dir = Path(tmp) / "attack"
        fetch({"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}, res_dir / "manifest.json")
        from textattack.models.wrappers import HuggingFaceModelWrapper

        from .attack import recipes
        from .attack.wrapper import MethodModelWrapper
        from .data.tasks import get_task
        from .train import models

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


def _meta(device: torch.device, size: str, argv: list[str]) -> dict[str, Any]:
    """Where and with what the figures were measured, for the documents rendered from them."""
    import datetime
    import os
    import platform

    from .fileio import package_versions

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
    p = argparse.ArgumentParser(prog="mvprepro bench", description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["train", "attack", "all"])
    p.add_argument("--size", choices=list(SIZES), default="base")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per method")
    p.add_argument("--batch-size", type=int, default=8)
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
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def docs_main(argv: list[str]) -> int:
    """``mvprepro bench docs FIGURES.json...``: rewrite the figures in BENCHMARKS.md and README.md."""
    from .bench_docs import render

    p = argparse.ArgumentParser(prog="mvprepro bench docs", description=docs_main.__doc__)
    p.add_argument("figures", nargs="+", help="JSON files written by `mvprepro bench all --json`")
    p.add_argument("--benchmarks", default="BENCHMARKS.md")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--check", action="store_true", help="only report documents that differ from the figures (exit 1)")
    args = p.parse_args(argv)
    stale = render(args.figures, args.benchmarks, args.readme, check=args.check)
    for path in stale:
        print(f"{path}: {'differs from' if args.check else 'rewritten from'} {' '.join(args.figures)}")
    return 1 if args.check and stale else 0
