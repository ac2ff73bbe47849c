"""The sets of names the config, the schema and the code share, each written once.

``tests/test_names.py`` checks that the schema's enums, the config checks and the code's
registries (model classes, attack builders, tasks) name exactly these. This module imports
nothing heavy: the workflow reads it while parsing the Snakefile.
"""

from __future__ import annotations

# methods.<name>.kind: a built-in name, or the import path of your own class. The built-in
# kinds are import paths too, resolved by the same function (mvprepro.train.models.kind_class).
BUILTIN_KINDS = {
    "mlp_ft": "mvprepro.train.models:SequenceClassifier",
    "projectcls": "mvprepro.train.models:ProjectionClassifier",
    "lpft": "mvprepro.train.models:LinearProbeClassifier",
    "lpft_sparse": "mvprepro.train.models:SparseLinearProbeClassifier",
    "clsprompt": "mvprepro.train.models:ClsPromptClassifier",
    "mvp": "mvprepro.train.models:PromptClassifier",
}
METHOD_KINDS = tuple(BUILTIN_KINDS)
# Built-in kinds that read label words through the LM head, so they have a verbalizer (their
# classes say so too: reads_label_words; a test checks both agree).
PROMPT_KINDS = ("mvp", "clsprompt")
# attacks.<name>.recipe: one builder each (mvprepro.attack.recipes.BUILDERS).
RECIPES = ("textfooler", "textbugger", "pwws", "deepwordbug", "bae", "homoglyph", "invisible", "reorder", "deletion")
# The imperceptible families (Boucher et al., 2022): each takes a perturbation budget.
IMPERCEPTIBLE_RECIPES = ("homoglyph", "invisible", "reorder", "deletion")
# Recipes built two ways: as the paper built them, or TextAttack's stock recipe.
RECIPE_VARIANTS = {"textfooler": ("paper", "stock"), "textbugger": ("paper", "stock")}
# datasets.<name>.task presets, the paper's protocols (mvprepro.data.tasks.PRESETS); any
# other task is declared inline in the config.
TASK_NAMES = ("sst2", "ag_news", "boolq")

# attacks.<name>.recipe: textattack:<name>, TextAttack's own recipes that this pipeline can
# give their resources: the TextAttack class, and the resources it loads (checked against
# attack_resources before any job runs; mvprepro.plan.validate).
TEXTATTACK_RECIPES = {
    "deepwordbug": ("textattack.attack_recipes:DeepWordBugGao2018", ("stopwords",)),
    "pruthi": ("textattack.attack_recipes:Pruthi2019", ("stopwords",)),
    "iga": ("textattack.attack_recipes:IGAWang2019", ("stopwords", "paragramcf")),
    "pwws": ("textattack.attack_recipes:PWWSRen2019", ("stopwords", "wordnet")),
    "textfooler": ("textattack.attack_recipes:TextFoolerJin2019", ("paragramcf", "pos_tagger", "use")),
}
# ... and why each other recipe of TextAttack's cannot run here (what it would fetch itself).
TEXTATTACK_UNSUPPORTED = {
    "alzantot": "its language-model constraint downloads the Google 1-billion-word LM",
    "faster-alzantot": "its language-model constraint downloads the Google 1-billion-word LM",
    "kuleshov": "its language-model constraint downloads GPT-2 from the Hugging Face hub",
    "bae": "it downloads bert-base-uncased from the Hugging Face hub; use recipe: bae (attack_resources.masked_lm)",
    "bert-attack": "it downloads bert-base-uncased from the Hugging Face hub",
    "clare": "it downloads distilroberta-base from the Hugging Face hub",
    "a2t": "it downloads a sentence-BERT model and DistilBERT from the Hugging Face hub",
    "checklist": "it downloads flair's named-entity tagger",
    "pso": "it downloads HowNet (OpenHowNet)",
    "leap": "it is not checked with this pipeline's resources",
    "textbugger": "its homoglyph swap reads a data file textattack 0.3.11 does not ship; use recipe: textbugger (variant: stock)",
    "bad-characters": "it reads the same missing homoglyph file and targets one class; use recipe: homoglyph, invisible, reorder or deletion",
    "hotflip": "it needs the model's gradients, which the attack's model wrapper does not provide",
    "input-reduction": "it reduces inputs while keeping the prediction: not an adversarial attack",
    "morpheus": "it attacks sequence-to-sequence models",
    "seq2sick": "it attacks sequence-to-sequence models",
}
