# The results tables: mean ± std over seeds per dataset x backbone x method, what each job
# cost, and what went in.


rule aggregate:
    input:
        clean=PLAN.files(PLAN.evaluations(others=False), "clean"),
        attacks=PLAN.files(PLAN.evaluations(others=False), "attacks"),
        ood_clean=PLAN.files(PLAN.evaluations(own=False), "clean"),
        ood_attacks=PLAN.files(PLAN.evaluations(own=False), "attacks"),
    output:
        csv=ensure(layout.output("aggregate", "csv"), non_empty=True),
        md=ensure(layout.output("aggregate", "md"), non_empty=True),
        tex=ensure(layout.output("aggregate", "tex"), non_empty=True),
        html=report(
            layout.output("aggregate", "html"),
            caption="../report/main_table.rst",
            category="1. Tables",
            labels={"table": "clean and robust accuracy"},
        ),
        runs=ensure(layout.output("aggregate", "runs"), non_empty=True),
    log:
        layout.log("aggregate"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("aggregate"),
    shell:
        "python -m mvprepro aggregate --spec {params.spec:q} --clean {input.clean} "
        "--attacks {input.attacks} --ood-clean {input.ood_clean} "
        "--ood-attacks {input.ood_attacks} --csv {output.csv} --md {output.md} "
        "--tex {output.tex} --html {output.html} --runs {output.runs} > {log} 2>&1"


rule costs:
    input:
        PLAN.benchmark_files(),
    output:
        layout.output("costs"),
    log:
        layout.log("costs"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("costs"),
    shell:
        "python -m mvprepro costs --spec {params.spec:q} --benchmarks {input} --out {output} > {log} 2>&1"


# What went in: every input's source, what it resolved to, its digest and size, and the
# version of the code (workflow/report/inputs.rst).
rule inputs:
    input:
        datasets=expand(layout.DATASET_DOWNLOAD, dataset=PLAN.all_datasets),
        backbones=expand(layout.BACKBONE_DOWNLOAD, backbone=BACKBONES),
        adapted=expand(
            layout.ADAPTED_BACKBONE,
            backbone=[b for b in BACKBONES if config["backbones"][b].get("adapt")],
        ),
        manifest=layout.ATTACK_MANIFEST,
    output:
        csv=layout.output("inputs", "csv"),
        md=layout.output("inputs", "md"),
        html=report(
            layout.output("inputs", "html"),
            caption="../report/inputs.rst",
            category="1. Tables",
            labels={"table": "inputs"},
        ),
    log:
        layout.log("inputs"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("inputs"),
    shell:
        "python -m mvprepro inputs --spec {params.spec:q} --datasets {input.datasets} "
        "--backbones {input.backbones} --adapted {input.adapted} --manifest {input.manifest} "
        "--csv {output.csv} --md {output.md} --html {output.html} > {log} 2>&1"
