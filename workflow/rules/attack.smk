# Adversarial evaluation: each model's attacked test examples (of its own dataset or of an
# evaluate_on target) split into shards, then merged.


rule attack:
    input:
        model=layout.MODEL,
        data=layout.TARGET_PREPARED,
        manifest=layout.ATTACK_MANIFEST,
    output:
        records=ensure(layout.output("attack", "out"), non_empty=True),
        constraints=layout.output("attack", "constraints_out"),
    log:
        layout.log("attack"),
    benchmark:
        layout.BENCHMARKS["attack"]
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
        summary=ensure(layout.output("merge_attack", "summary_out"), non_empty=True),
        records=ensure(layout.output("merge_attack", "records_out"), non_empty=True),
    log:
        layout.log("merge_attack"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("merge_attack"),
    shell:
        "python -m mvprepro merge-attack --spec {params.spec:q} --shards {input.shards} "
        "--constraints {input.constraints} --summary-out {output.summary} "
        "--records-out {output.records} > {log} 2>&1"
