"""Adversarial evaluation with TextAttack: recipes, the model wrapper, the runner.

Import order matters: :func:`mvprepro.attack_resources.activate` must point TextAttack and NLTK at the
local resources folder before ``textattack`` is first imported, or the import tries to
download NLTK data.
"""
