# Adversarial evaluation: each model's attacked test examples (of its own dataset or of an
# evaluate_on target) split into shards, then merged.


rule attack:
    input:
        model=layout.MODEL,
        data="results/data/{target}",
        manifest="resources/attack/manifest.json",
    output:
        records=ensure(layout.SHARD, non_empty=True),
        constraints=layout.SHARD_CONSTRAINTS,
    log:
        layout.ATTACK_LOG,
    benchmark:
        layout.ATTACK_BENCHMARK
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
        summary=ensure(layout.SUMMARY, non_empty=True),
        records=ensure(layout.RECORDS, non_empty=True),
    log:
        layout.MERGE_LOG,
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("merge_attack"),
    shell:
        "python -m mvprepro merge-attack --spec {params.spec:q} --shards {input.shards} "
        "--constraints {input.constraints} --summary-out {output.summary} "
        "--records-out {output.records} > {log} 2>&1"
