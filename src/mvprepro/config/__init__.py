"""The workflow's config: validation (:mod:`.validate`) and per-job specs (:mod:`.specs`)."""

from .specs import Plan
from .validate import ConfigError, check, check_duplicate_keys, comparison_pairs, prompts_for

__all__ = ["ConfigError", "Plan", "check", "check_duplicate_keys", "comparison_pairs", "prompts_for"]
