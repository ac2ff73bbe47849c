"""Guards on the code itself: no remote code, no pickles from disk, no evaluation of text."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mvprepro"
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
