"""Reproduction pipeline for MVP: "Model-tuning Via Prompts Makes NLP Models Adversarially Robust".

The package holds everything the Snakemake rules run; each stage is one module and one
sub-command of the ``mvprepro`` CLI, so a stage can be rerun by hand outside the workflow.
"""

__version__ = "0.1.0"
