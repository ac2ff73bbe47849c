"""Reproduce "Model-tuning Via Prompts Makes NLP Models Adversarially Robust" (MVP).

snakemake --cores all                                   # the paper's grid (config.yaml)
snakemake --cores 2 --configfile config/demo.yaml       # the offline demo
"""

from snakemake.utils import min_version

min_version("9.0")


# A --configfile on the command line replaces config.yaml instead of being merged into it:
# merging the demo into the paper's grid would mix their sources and backbones.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


# Every output of the final stages that this config calls for (mvprepro.plan.Plan.default_targets).
rule all:
    default_target: True
    input:
        PLAN.default_targets(),
