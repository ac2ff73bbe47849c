# Dataset protocol (splits, lowercasing, canonical columns) and tokenization per backbone.


rule prepare:
    input:
        "resources/datasets/{dataset}",
    output:
        directory("results/data/{dataset}"),
    log:
        "logs/prepare/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    params:
        spec=lambda w: as_json(cfg.prepare_spec(config, w.dataset)),
    shell:
        "python -m mvprepro prepare --raw {input} --spec {params.spec:q} --out {output} > {log} 2>&1"


rule tokenize:
    input:
        data="results/data/{dataset}",
        backbone="resources/backbones/{backbone}",
    output:
        directory("results/tokenized/{dataset}/{backbone}"),
    log:
        "logs/tokenize/{dataset}/{backbone}.log",
    conda:
        "../../envs/train.yaml"
    params:
        spec=lambda w: as_json(cfg.tokenize_spec(config, w.dataset, w.backbone)),
    shell:
        "python -m mvprepro tokenize --data {input.data} --backbone {input.backbone} "
        "--spec {params.spec:q} --out {output} > {log} 2>&1"
