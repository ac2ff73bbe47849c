# What a reader looks at: paired comparisons, ours beside the published numbers, figures and
# adversarial examples. Everything here reads finished per-run files (or runs.csv), so it
# reruns in seconds and never retrains or reattacks. `snakemake --report` gathers the
# outputs marked report() into one self-contained HTML file.


rule compare:
    input:
        unpack(published_input),
        runs=layout.output("aggregate", "runs"),
    output:
        comparisons_csv=layout.output("compare", "comparisons_csv"),
        comparisons_md=layout.output("compare", "comparisons_md"),
        comparisons_html=report(
            layout.output("compare", "comparisons_html"),
            caption="../report/comparisons.rst",
            category="1. Tables",
            labels={"table": "headline comparisons"},
        ),
        published_csv=layout.output("compare", "published_csv"),
        published_md=layout.output("compare", "published_md"),
        published_html=report(
            layout.output("compare", "published_html"),
            caption="../report/published.rst",
            category="1. Tables",
            labels={"table": "ours vs published"},
        ),
    log:
        layout.log("compare"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("compare"),
        published=optional_input_flag("published", "--published"),
    shell:
        "python -m mvprepro compare --spec {params.spec:q} --runs {input.runs} {params.published} "
        "--comparisons-csv {output.comparisons_csv} --comparisons-md {output.comparisons_md} "
        "--comparisons-html {output.comparisons_html} --published-csv {output.published_csv} "
        "--published-md {output.published_md} --published-html {output.published_html} "
        "> {log} 2>&1"


rule plots:
    input:
        runs=layout.output("aggregate", "runs"),
    output:
        accuracy=report(
            layout.output("plots", "accuracy"),
            caption="../report/accuracy.rst",
            category="2. Plots",
            labels={"figure": "clean vs robust accuracy"},
        ),
        success=report(
            layout.output("plots", "success"),
            caption="../report/attack_success.rst",
            category="2. Plots",
            labels={"figure": "attack success vs words perturbed"},
        ),
    log:
        layout.log("plots"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("plots"),
    shell:
        "python -m mvprepro plots --spec {params.spec:q} --runs {input.runs} "
        "--accuracy {output.accuracy} --success {output.success} > {log} 2>&1"


rule effective_robustness:
    input:
        runs=layout.output("aggregate", "runs"),
    output:
        figure=report(
            layout.output("effective_robustness", "figure"),
            caption="../report/effective_robustness.rst",
            category="2. Plots",
            labels={"figure": "in- vs out-of-distribution accuracy"},
        ),
        table=layout.output("effective_robustness", "table"),
    log:
        layout.log("effective_robustness"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("effective_robustness"),
    shell:
        "python -m mvprepro effective-robustness --spec {params.spec:q} --runs {input.runs} "
        "--figure {output.figure} --table {output.table} > {log} 2>&1"


rule training_curves:
    input:
        metrics=lambda w: PLAN.files(PLAN.dataset_runs(w.dataset), "metrics"),
    output:
        report(
            layout.output("training_curves"),
            caption="../report/curves.rst",
            category="3. Training curves",
            labels={"dataset": "{dataset}"},
        ),
    log:
        layout.log("training_curves"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("training_curves"),
    shell:
        "python -m mvprepro training-curves --spec {params.spec:q} --metrics {input.metrics} "
        "--out {output} > {log} 2>&1"


rule adversarial_examples:
    input:
        records=lambda w: PLAN.files(PLAN.dataset_evaluations(w.dataset), "records"),
    output:
        report(
            layout.output("adversarial_examples"),
            caption="../report/examples.rst",
            category="4. Adversarial examples",
            labels={"dataset": "{dataset}"},
        ),
    log:
        layout.log("adversarial_examples"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("adversarial_examples"),
    shell:
        "python -m mvprepro adversarial-examples --spec {params.spec:q} --records {input.records} "
        "--out {output} > {log} 2>&1"


# Clean and robust accuracy against training-set size (configs with train_sizes).
rule sample_efficiency:
    input:
        runs=layout.output("aggregate", "runs"),
        metrics=lambda w: PLAN.files(PLAN.dataset_runs(w.dataset), "metrics"),
    output:
        figure=report(
            layout.output("sample_efficiency", "figure"),
            caption="../report/sample_efficiency.rst",
            category="2. Plots",
            labels={"figure": "sample efficiency", "dataset": "{dataset}"},
        ),
        csv=layout.output("sample_efficiency", "csv"),
        md=layout.output("sample_efficiency", "md"),
        html=report(
            layout.output("sample_efficiency", "html"),
            caption="../report/sample_efficiency_table.rst",
            category="1. Tables",
            labels={
                "table": "smallest training set per accuracy",
                "dataset": "{dataset}",
            },
        ),
    log:
        layout.log("sample_efficiency"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("sample_efficiency"),
    shell:
        "python -m mvprepro sample-efficiency --spec {params.spec:q} --runs {input.runs} "
        "--metrics {input.metrics} --figure {output.figure} --csv {output.csv} "
        "--md {output.md} --html {output.html} > {log} 2>&1"


# Accuracy against the adversarial-training budget (configs with adv_sweep).
rule adv_sweep:
    input:
        metrics=lambda w: PLAN.files(PLAN.sweep_points(), "metrics"),
        clean=lambda w: PLAN.files(PLAN.sweep_points(), "clean"),
        attacks=lambda w: PLAN.files(
            PLAN.sweep_points(), "attacks", attacks=PLAN.sweep_attacks()
        ),
    output:
        figure=report(
            layout.output("adv_sweep", "figure"),
            caption="../report/adv_sweep.rst",
            category="2. Plots",
            labels={"figure": "accuracy vs adversarial budget"},
        ),
        csv=layout.output("adv_sweep", "csv"),
        md=layout.output("adv_sweep", "md"),
    log:
        layout.log("adv_sweep"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("adv_sweep"),
    shell:
        "python -m mvprepro adv-sweep --spec {params.spec:q} --metrics {input.metrics} "
        "--clean {input.clean} --attacks {input.attacks} --figure {output.figure} "
        "--csv {output.csv} --md {output.md} > {log} 2>&1"


# Robust accuracy against the attack's query budget (attacks whose query_budget is a list).
rule query_budget:
    input:
        clean=lambda w: PLAN.files(PLAN.evaluations(others=False), "clean"),
        attacks=lambda w: PLAN.files(
            PLAN.evaluations(others=False), "attacks", attacks=PLAN.budget_attacks()
        ),
    output:
        figure=report(
            layout.output("query_budget", "figure"),
            caption="../report/query_budget.rst",
            category="2. Plots",
            labels={"figure": "robust accuracy vs query budget"},
        ),
        csv=layout.output("query_budget", "csv"),
        md=layout.output("query_budget", "md"),
    log:
        layout.log("query_budget"),
    conda:
        "../../envs/aggregate.yaml"
    params:
        spec=spec("query_budget"),
    shell:
        "python -m mvprepro query-budget --spec {params.spec:q} --clean {input.clean} "
        "--attacks {input.attacks} --figure {output.figure} --csv {output.csv} "
        "--md {output.md} > {log} 2>&1"
