"""What kind of language model a backbone is, from its config alone.

Kept apart from :mod:`mvprepro.train.models` so that the download and prompt-check stages
can ask it without importing (and without their code digests depending on) the models.
"""

from __future__ import annotations

from typing import Any


def is_masked_lm(config: Any) -> bool:
    """Masked LMs (RoBERTa, BERT) read prompts at the mask; others (GPT-2) are causal."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    return config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES
