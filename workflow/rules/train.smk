# Fine-tuning: one job per dataset x backbone x method x seed, then clean evaluation.


# Label words must be single tokens of the backbone and templates must fit the reserve:
# known only once the backbone is local, so a job (not a parse-time check) tests them.
rule check_prompts:
    input:
        backbone=backbone_dir,
    output:
        layout.output("check_prompts"),
    log:
        layout.log("check_prompts"),
    conda:
        "../../envs/train.yaml"
    params:
        spec=spec("check_prompts"),
    shell:
        "python -m mvprepro check-prompts --spec {params.spec:q} --backbone {input.backbone} "
        "--out {output} > {log} 2>&1"


# Masked-LM adaptation of a backbone without a trained LM head (backbones.<name>.adapt):
# continued pretraining on the trained datasets' training texts, before any method.
rule adapt_backbone:
    input:
        backbone=layout.BACKBONE_DOWNLOAD,
        data=adapt_corpus,
    output:
        directory(layout.output("adapt_backbone")),
    log:
        layout.log("adapt_backbone"),
    benchmark:
        layout.BENCHMARKS["adapt_backbone"]
    conda:
        "../../envs/train.yaml"
    threads: lambda w: resources_for("adapt", "threads")
    resources:
        gpu=lambda w: resources_for("adapt", "gpu"),
        mem_mb=lambda w: resources_for("adapt", "mem_mb"),
        runtime=lambda w, attempt: attempt * resources_for("adapt", "runtime"),
    params:
        spec=spec("adapt_backbone"),
    shell:
        "python -m mvprepro adapt-backbone --spec {params.spec:q} --backbone {input.backbone} "
        "--data {input.data} --out {output} > {log} 2>&1"


rule train:
    input:
        unpack(prompt_check),
        tokenized=layout.TOKENIZED,
        backbone=backbone_dir,
    output:
        model=directory(layout.output("train", "model_out")),
        metrics=ensure(layout.output("train", "metrics_out"), non_empty=True),
    log:
        layout.log("train"),
    benchmark:
        layout.BENCHMARKS["train"]
    conda:
        "../../envs/train.yaml"
    threads: lambda w: resources_for("train", "threads")
    resources:
        gpu=lambda w: resources_for("train", "gpu"),
        mem_mb=lambda w: resources_for("train", "mem_mb"),
        runtime=lambda w, attempt: attempt * resources_for("train", "runtime"),
    params:
        spec=spec("train"),
        prompt_check=optional_input_flag("prompt_check", "--prompt-check"),
    shell:
        "python -m mvprepro train --spec {params.spec:q} --tokenized {input.tokenized} "
        "--backbone {input.backbone} {params.prompt_check} --model-out {output.model} "
        "--metrics-out {output.metrics} > {log} 2>&1"


# Clean accuracy on the test split of the run's own dataset or of an evaluate_on target
# (datasets.<name>.evaluate_on), with the target's classes mapped to the model's.
rule evaluate:
    input:
        model=layout.MODEL,
        tokenized=layout.TARGET_TOKENIZED,
    output:
        ensure(layout.output("evaluate"), non_empty=True),
    log:
        layout.log("evaluate"),
    conda:
        "../../envs/train.yaml"
    threads: lambda w: resources_for("evaluate", "threads")
    resources:
        gpu=lambda w: resources_for("evaluate", "gpu"),
        mem_mb=lambda w: resources_for("evaluate", "mem_mb"),
        runtime=lambda w, attempt: attempt * resources_for("evaluate", "runtime"),
    params:
        spec=spec("evaluate"),
    shell:
        "python -m mvprepro evaluate --spec {params.spec:q} --model {input.model} "
        "--tokenized {input.tokenized} --out {output} > {log} 2>&1"
