# Adversarial evaluation: each model's attacked examples split into shards, then merged.


rule attack:
    input:
        model=f"{RUN}/model",
        data="results/data/{dataset}",
        manifest="resources/attack/manifest.json",
    output:
        records=ensure(
            f"{RUN}/attacks/{{attack}}/shard-{{shard}}.jsonl", non_empty=True
        ),
        constraints=f"{RUN}/attacks/{{attack}}/shard-{{shard}}.constraints.json",
    log:
        "logs/attack/{dataset}/{backbone}/{method}/seed-{seed}/{attack}-{shard}.log",
    benchmark:
        "results/benchmarks/attack/{dataset}/{backbone}/{method}/seed-{seed}/{attack}-{shard}.tsv"
    conda:
        "../../envs/attack.yaml"
    threads: lambda w: resources_for("attack", "threads", 2)
    resources:
        gpu=lambda w: resources_for("attack", "gpu", 1),
        mem_mb=lambda w: resources_for("attack", "mem_mb", 16000),
        runtime=lambda w, attempt: attempt * resources_for("attack", "runtime", 720),
    params:
        spec=lambda w: as_json(
            cfg.attack_spec(config, w.dataset, w.attack, w.shard, run_paths(w))
        ),
    shell:
        "python -m mvprepro attack --spec {params.spec:q} --out {output.records} "
        "--constraints-out {output.constraints} > {log} 2>&1"


rule merge_attack:
    input:
        shards=lambda w: shard_files(w, ".jsonl"),
        constraints=lambda w: shard_files(w, ".constraints.json"),
    output:
        summary=ensure(f"{RUN}/attacks/{{attack}}.json", non_empty=True),
        records=ensure(f"{RUN}/attacks/{{attack}}.records.jsonl", non_empty=True),
    log:
        "logs/merge_attack/{dataset}/{backbone}/{method}/seed-{seed}/{attack}.log",
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=lambda w: as_json({"attack_name": w.attack, **run_paths(w)}),
    shell:
        "python -m mvprepro merge-attack --spec {params.spec:q} --shards {input.shards} "
        "--constraints {input.constraints} --summary-out {output.summary} "
        "--records-out {output.records} > {log} 2>&1"
