# Fine-tuning: one job per dataset x backbone x method x seed, then clean evaluation.


rule train:
    input:
        tokenized="results/tokenized/{dataset}/{backbone}",
        backbone="resources/backbones/{backbone}",
    output:
        model=directory(f"{RUN}/model"),
        metrics=ensure(f"{RUN}/metrics.json", non_empty=True),
    log:
        "logs/train/{dataset}/{backbone}/{method}/seed-{seed}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{backbone}/{method}/seed-{seed}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: lambda w: resources_for("train", "threads", 2)
    resources:
        gpu=lambda w: resources_for("train", "gpu", 1),
        mem_mb=lambda w: resources_for("train", "mem_mb", 16000),
        runtime=lambda w, attempt: attempt * resources_for("train", "runtime", 720),
    params:
        spec=lambda w: as_json(
            cfg.train_spec(
                config, w.dataset, w.backbone, w.method, w.seed, run_paths(w)
            )
        ),
    shell:
        "python -m mvprepro train --spec {params.spec:q} --model-out {output.model} "
        "--metrics-out {output.metrics} > {log} 2>&1"


rule evaluate:
    input:
        model=f"{RUN}/model",
        tokenized="results/tokenized/{dataset}/{backbone}",
    output:
        ensure(f"{RUN}/clean.json", non_empty=True),
    log:
        "logs/evaluate/{dataset}/{backbone}/{method}/seed-{seed}.log",
    conda:
        "../../envs/train.yaml"
    threads: lambda w: resources_for("evaluate", "threads", 2)
    resources:
        gpu=lambda w: resources_for("evaluate", "gpu", 1),
        mem_mb=lambda w: resources_for("evaluate", "mem_mb", 8000),
        runtime=lambda w, attempt: attempt * resources_for("evaluate", "runtime", 60),
    params:
        spec=lambda w: as_json(
            {
                "tokenized_dir": f"results/tokenized/{w.dataset}/{w.backbone}",
                "batch_size": 32,
                "device": config["training"]["device"],
            }
        ),
    shell:
        "python -m mvprepro evaluate --spec {params.spec:q} --model {input.model} --out {output} > {log} 2>&1"
