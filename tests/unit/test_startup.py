"""A job's start leaves out what transformers imports and no stage uses (mvprepro.startup)."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from mvprepro.startup import skip_unused_imports
{install}
from transformers import AutoModelForMaskedLM, AutoTokenizer
print("sklearn" in sys.modules)
from sklearn.linear_model import LogisticRegression  # the LPFT probe imports it itself
print(LogisticRegression().__class__.__name__)
"""


def _run(install: bool) -> list[str]:
    code = PROGRAM.format(install="skip_unused_imports()" if install else "")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_transformers_starts_without_scikit_learn_and_the_probe_still_has_it():
    assert _run(install=False) == ["True", "LogisticRegression"]  # what the hook removes
    assert _run(install=True) == ["False", "LogisticRegression"]
