"""Guards on the code itself: no remote code, no pickles from disk, no evaluation of text."""

from __future__ import annotations

import re

from helpers import REPO

SRC = REPO / "src" / "mvprepro"
FORBIDDEN = {
    r"trust_remote_code\s*=\s*True": "remote code must stay disabled",
    r"allow_pickle\s*=\s*True": "numpy arrays are loaded without pickle",
    r"weights_only\s*=\s*False": "torch.load must use weights_only=True",
    r"\bpickle\.loads?\(": "no unpickling",
    r"(?<![.\w])(?:eval|exec)\(": "config and dataset text are never evaluated",
    r"yaml\.load\(": "YAML is read with safe_load",
    r"use_safetensors\s*=\s*False|safe_serialization\s*=\s*False": "models are saved and loaded as safetensors",
}


def test_source_has_no_unsafe_calls():
    problems = []
    for file in SRC.rglob("*.py"):
        text = file.read_text()
        for pattern, why in FORBIDDEN.items():
            for m in re.finditer(pattern, text):
                line = text[: m.start()].count("\n") + 1
                problems.append(f"{file.relative_to(SRC)}:{line}: {m.group(0)} ({why})")
    assert not problems, "\n".join(problems)


def test_every_torch_load_is_weights_only():
    for file in SRC.rglob("*.py"):
        for call in re.findall(r"torch\.load\([^)]*\)", file.read_text()):
            assert "weights_only=True" in call, f"{file.name}: {call}"


def test_every_from_pretrained_disables_remote_code():
    for file in SRC.rglob("*.py"):
        for call in re.findall(r"from_pretrained\((?:[^()]|\([^()]*\))*\)", file.read_text()):
            assert "trust_remote_code=False" in call, f"{file.name}: {call}"


def test_the_one_unpickler_is_restricted_to_plain_data():
    """The POS tagger ships as a pickle; it is read by one unpickler whose find_class admits
    only set/frozenset, so no class or function in the file can run (tests/unit/test_package_resources.py
    shows it refusing one)."""
    users = [f.relative_to(SRC).as_posix() for f in SRC.rglob("*.py") if "Unpickler" in f.read_text()]
    assert users == ["download/nltk_packages.py"]
    text = (SRC / "download" / "nltk_packages.py").read_text()
    assert "def find_class(self, module: str, name: str)" in text and "raise pickle.UnpicklingError" in text
