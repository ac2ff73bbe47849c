# Dataset protocol (splits, lowercasing, canonical columns) and tokenization per backbone.


rule prepare:
    input:
        raw="resources/datasets/{dataset}",
    output:
        directory("results/data/{dataset}"),
    log:
        "logs/prepare/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    params:
        spec=spec("prepare"),
    shell:
        "python -m mvprepro prepare --spec {params.spec:q} --raw {input.raw} --out {output} > {log} 2>&1"


rule tokenize:
    input:
        data="results/data/{dataset}",
        backbone=backbone_dir,
    output:
        directory("results/tokenized/{dataset}/{backbone}"),
    log:
        "logs/tokenize/{dataset}/{backbone}.log",
    conda:
        "../../envs/train.yaml"
    params:
        spec=spec("tokenize"),
    shell:
        "python -m mvprepro tokenize --spec {params.spec:q} --data {input.data} "
        "--backbone {input.backbone} --out {output} > {log} 2>&1"
