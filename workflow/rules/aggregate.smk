# The results table: mean ± std over seeds per dataset x backbone x method.


rule aggregate:
    input:
        clean=PLAN.files(PLAN.evaluations(others=False), "clean"),
        attacks=PLAN.files(PLAN.evaluations(others=False), "attacks"),
        ood_clean=PLAN.files(PLAN.evaluations(own=False), "clean"),
        ood_attacks=PLAN.files(PLAN.evaluations(own=False), "attacks"),
    output:
        csv=ensure("results/tables/main.csv", non_empty=True),
        md=ensure("results/tables/main.md", non_empty=True),
        tex=ensure("results/tables/main.tex", non_empty=True),
        html=report(
            "results/tables/main.html",
            caption="../report/main_table.rst",
            category="1. Tables",
            labels={"table": "clean and robust accuracy"},
        ),
        runs=ensure("results/tables/runs.csv", non_empty=True),
    log:
        "logs/aggregate.log",
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
        "results/tables/costs.csv",
    log:
        "logs/costs.log",
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
        datasets=expand("resources/datasets/{dataset}", dataset=PLAN.all_datasets),
        backbones=expand("resources/backbones/{backbone}", backbone=BACKBONES),
        adapted=[
            f"resources/adapted/{b}"
            for b in BACKBONES
            if config["backbones"][b].get("adapt")
        ],
        manifest="resources/attack/manifest.json",
    output:
        csv="results/tables/inputs.csv",
        md="results/tables/inputs.md",
        html=report(
            "results/tables/inputs.html",
            caption="../report/inputs.rst",
            category="1. Tables",
            labels={"table": "inputs"},
        ),
    log:
        "logs/inputs.log",
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=lambda w: PLAN.as_params(PLAN.inputs(CODE_VERSION)),
    shell:
        "python -m mvprepro inputs --spec {params.spec:q} --datasets {input.datasets} "
        "--backbones {input.backbones} --adapted {input.adapted} --manifest {input.manifest} "
        "--csv {output.csv} --md {output.md} --html {output.html} > {log} 2>&1"
