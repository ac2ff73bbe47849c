"""The sets of names the config, the schema and the code share, each written once.

``tests/test_names.py`` checks that the schema's enums, the config checks and the code's
registries (model classes, attack builders, tasks) name exactly these. This module imports
nothing heavy: the workflow reads it while parsing the Snakefile.
"""

from __future__ import annotations

# methods.<name>.kind: one model class each (mvprepro.train.models.MODEL_CLASSES).
METHOD_KINDS = ("mlp_ft", "projectcls", "lpft", "lpft_sparse", "clsprompt", "mvp")
# Kinds that read label words through the LM head, so they have a verbalizer.
PROMPT_KINDS = ("mvp", "clsprompt")
# attacks.<name>.recipe: one builder each (mvprepro.attack.recipes.BUILDERS).
RECIPES = ("textfooler", "textbugger", "pwws", "deepwordbug", "bae")
# Recipes built two ways: as the paper built them, or TextAttack's stock recipe.
RECIPE_VARIANTS = {"textfooler": ("paper", "stock"), "textbugger": ("paper", "stock")}
# datasets.<name>.task presets, the paper's protocols (mvprepro.data.tasks.PRESETS); any
# other task is declared inline in the config.
TASK_NAMES = ("sst2", "ag_news", "boolq")
