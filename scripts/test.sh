#!/usr/bin/env bash
# Sets up (if needed) and runs the test suite, including an execution of every chapter
# at the smoke scale. Extra arguments go to pytest (e.g. -k stats, -m "not chapters").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
export XAIBOOK_SCALE=smoke
"$PY" -m pytest -q -ra "$@"
