"""The planner: from a validated config to every job, its spec and its files.

- :mod:`.readers`: what each config key means (tasks, prompts, sources, sweep variants),
  below both of the others;
- :mod:`.validate`: checks a JSON schema cannot express, each naming the key and the fix;
- :mod:`.plan`: :class:`Plan`, the spec of every job (its settings and the digest of what
  it was built from) and the runs, evaluations and targets of the config;
- :mod:`.layout`: where every job's files live, written once;
- :mod:`.version`: the version of the code the results are made with.
"""

from .plan import Plan
from .readers import ConfigError, comparison_pairs, prompts_for
from .validate import check, check_duplicate_keys

__all__ = ["ConfigError", "Plan", "check", "check_duplicate_keys", "comparison_pairs", "prompts_for"]
