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
        f"logs/attack/{JOB}/{{attack}}-{{shard}}.log",
    benchmark:
        f"results/benchmarks/attack/{JOB}/{{attack}}-{{shard}}.tsv"
    conda:
        "../../envs/attack.yaml"
    threads: lambda w: resources_for("attack", "threads")
    resources:
        gpu=lambda w: resources_for("attack", "gpu"),
        mem_mb=lambda w: resources_for("attack", "mem_mb"),
        runtime=lambda w, attempt: attempt * resources_for("attack", "runtime"),
    params:
        spec=spec("attack"),
    shell:
        "python -m mvprepro attack --spec {params.spec:q} --model {input.model} --data {input.data} "
        "--manifest {input.manifest} --out {output.records} "
        "--constraints-out {output.constraints} > {log} 2>&1"


rule merge_attack:
    input:
        shards=shard_files(".jsonl"),
        constraints=shard_files(".constraints.json"),
    output:
        summary=ensure(f"{RUN}/attacks/{{attack}}.json", non_empty=True),
        records=ensure(f"{RUN}/attacks/{{attack}}.records.jsonl", non_empty=True),
    log:
        f"logs/merge_attack/{JOB}/{{attack}}.log",
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("merge_attack"),
    shell:
        "python -m mvprepro merge-attack --spec {params.spec:q} --shards {input.shards} "
        "--constraints {input.constraints} --summary-out {output.summary} "
        "--records-out {output.records} > {log} 2>&1"


# The same attacks on the test examples of another dataset (datasets.<name>.evaluate_on).
rule attack_ood:
    input:
        model=f"{RUN}/model",
        data="results/data/{target}",
        manifest="resources/attack/manifest.json",
    output:
        records=ensure(
            f"{OOD}/attacks/{{attack}}/shard-{{shard}}.jsonl", non_empty=True
        ),
        constraints=f"{OOD}/attacks/{{attack}}/shard-{{shard}}.constraints.json",
    log:
        f"logs/attack_ood/{JOB}/{{target}}/{{attack}}-{{shard}}.log",
    benchmark:
        f"results/benchmarks/attack_ood/{JOB}/{{target}}/{{attack}}-{{shard}}.tsv"
    conda:
        "../../envs/attack.yaml"
    threads: lambda w: resources_for("attack", "threads")
    resources:
        gpu=lambda w: resources_for("attack", "gpu"),
        mem_mb=lambda w: resources_for("attack", "mem_mb"),
        runtime=lambda w, attempt: attempt * resources_for("attack", "runtime"),
    params:
        spec=spec("attack"),
    shell:
        "python -m mvprepro attack --spec {params.spec:q} --model {input.model} --data {input.data} "
        "--manifest {input.manifest} --out {output.records} "
        "--constraints-out {output.constraints} > {log} 2>&1"


rule merge_attack_ood:
    input:
        shards=shard_files(".jsonl"),
        constraints=shard_files(".constraints.json"),
    output:
        summary=ensure(f"{OOD}/attacks/{{attack}}.json", non_empty=True),
        records=ensure(f"{OOD}/attacks/{{attack}}.records.jsonl", non_empty=True),
    log:
        f"logs/merge_attack_ood/{JOB}/{{target}}/{{attack}}.log",
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("merge_attack"),
    shell:
        "python -m mvprepro merge-attack --spec {params.spec:q} --shards {input.shards} "
        "--constraints {input.constraints} --summary-out {output.summary} "
        "--records-out {output.records} > {log} 2>&1"
