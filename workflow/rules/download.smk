# The only rules that may touch the network. They run on the submitting host (localrule),
# so compute nodes need no internet; each also takes a local path or an offline builder.


rule download_dataset:
    output:
        directory("resources/datasets/{dataset}"),
    log:
        "logs/download_dataset/{dataset}.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        source=lambda w: as_json(config["datasets"][w.dataset]["source"]),
    shell:
        "python -m mvprepro download-dataset --name {wildcards.dataset} --source {params.source:q} "
        "--out {output} > {log} 2>&1"


rule download_backbone:
    input:
        backbone_corpus,
    output:
        directory("resources/backbones/{backbone}"),
    log:
        "logs/download_backbone/{backbone}.log",
    localrule: True
    conda:
        "../../envs/train.yaml"
    params:
        source=lambda w: as_json(config["backbones"][w.backbone]["source"]),
    shell:
        "python -m mvprepro download-backbone --name {wildcards.backbone} --source {params.source:q} "
        "--corpus {input} --out {output} > {log} 2>&1"


rule download_attack_resources:
    output:
        manifest="resources/attack/manifest.json",
    log:
        "logs/download_attack_resources.log",
    localrule: True
    conda:
        "../../envs/attack.yaml"
    params:
        spec=lambda w: as_json(config["attack_resources"]),
    shell:
        "python -m mvprepro download-attack-resources --spec {params.spec:q} --out resources/attack > {log} 2>&1"
