# The only rules that may touch the network. They run on the submitting host (localrule),
# so compute nodes need no internet; each also takes a local path or an offline builder.
# A local source (`path:`) is an input, so editing the file reruns what was built from it.


rule download_dataset:
    input:
        unpack(local_source("datasets")),
    output:
        directory(layout.output("download_dataset")),
    log:
        layout.log("download_dataset"),
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        spec=spec("download_dataset"),
        local=optional_input_flag("local", "--local"),
    shell:
        "python -m mvprepro download-dataset --spec {params.spec:q} {params.local} "
        "--out {output} > {log} 2>&1"


rule download_backbone:
    input:
        unpack(local_source("backbones")),
        corpus=backbone_corpus,
    output:
        directory(layout.output("download_backbone")),
    log:
        layout.log("download_backbone"),
    localrule: True
    conda:
        "../../envs/train.yaml"
    params:
        spec=spec("download_backbone"),
        local=optional_input_flag("local", "--local"),
    shell:
        "python -m mvprepro download-backbone --spec {params.spec:q} {params.local} "
        "--corpus {input.corpus} --out {output} > {log} 2>&1"


rule download_attack_resources:
    input:
        unpack(attack_resource_locals),
    output:
        manifest=layout.output("download_attack_resources"),
    log:
        layout.log("download_attack_resources"),
    localrule: True
    conda:
        "../../envs/attack.yaml"
    params:
        spec=spec("download_attack_resources"),
        local=local_args,
    shell:
        "python -m mvprepro download-attack-resources --spec {params.spec:q} "
        "--local {params.local} --manifest {output.manifest} > {log} 2>&1"
