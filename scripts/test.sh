#!/usr/bin/env bash
# One command for the tests: install, then run unit and workflow tests.
# Pass -m "not workflow" to skip the end-to-end workflow tests (about 8 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
.venv/bin/python -m pytest -q "$@"
