# Dataset protocol (splits, lowercasing, canonical columns) and tokenization per backbone.


rule prepare:
    input:
        raw=layout.DATASET_DOWNLOAD,
    output:
        directory(layout.output("prepare")),
    log:
        layout.log("prepare"),
    conda:
        "../../envs/data.yaml"
    params:
        spec=spec("prepare"),
    shell:
        "python -m mvprepro prepare --spec {params.spec:q} --raw {input.raw} --out {output} > {log} 2>&1"


rule tokenize:
    input:
        data=layout.PREPARED,
        backbone=backbone_dir,
    output:
        directory(layout.output("tokenize")),
    log:
        layout.log("tokenize"),
    conda:
        "../../envs/train.yaml"
    params:
        spec=spec("tokenize"),
    shell:
        "python -m mvprepro tokenize --spec {params.spec:q} --data {input.data} "
        "--backbone {input.backbone} --out {output} > {log} 2>&1"
