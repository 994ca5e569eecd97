# Sourced by build-book.sh and test.sh: picks or creates the Python environment and
# installs the project into it. Sets $PY to the interpreter to use.
#   - an active virtual environment or conda environment is used as it is;
#   - on Colab (torch preinstalled) the notebook's own Python is used;
#   - otherwise a virtual environment is created in .venv at the project root.
# Usage: source scripts/setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="book,test"

if [ -n "${VIRTUAL_ENV:-}" ]; then
    PY="$VIRTUAL_ENV/bin/python"
elif [ -n "${CONDA_PREFIX:-}" ]; then
    PY="$CONDA_PREFIX/bin/python"
elif [ -n "${COLAB_RELEASE_TAG:-}" ] || [ -d /content ] && python3 -c "import google.colab" 2>/dev/null; then
    PY="$(command -v python3)"
else
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
        BASEPY="$(command -v python3.11 || command -v python3)"
        echo "[setup] creating a virtual environment in $ROOT/.venv with $BASEPY"
        "$BASEPY" -m venv "$ROOT/.venv"
    fi
    PY="$ROOT/.venv/bin/python"
fi
export PY

# torch first: on x86_64 Linux with Python 3.11 these exact releases install from the
# machine's local disk where it has them (and from PyPI elsewhere); other platforms take
# whatever pip resolves. An existing torch + torchvision pair (Colab, conda) is kept.
if ! "$PY" -c "import torch, torchvision" 2>/dev/null; then
    echo "[setup] installing torch and torchvision"
    if [ "$(uname -m)" = "x86_64" ] && "$PY" -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))"; then
        "$PY" -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
    else
        "$PY" -m pip install -q torch torchvision
    fi
fi

# The project itself (editable, so that data/published and the book travel with it).
# A stamp keyed on pyproject.toml and the extras skips the install when nothing changed.
STAMP_DIR="$("$PY" -c 'import sys; print(sys.prefix)')"
STAMP="$STAMP_DIR/.xaibook-installed"
WANT="$( (cat "$ROOT/pyproject.toml"; echo "$EXTRAS"; echo "$ROOT") | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "[setup] installing xaibook[$EXTRAS] (editable) and its dependencies"
    "$PY" -m pip install -q -e "$ROOT[$EXTRAS]"
    echo "$WANT" > "$STAMP"
fi
# The browser side: jsPsych (the study kit) and MathJax (the book, offline) from web/'s lockfile,
# and Debian's Chromium for the browser tests. As root, missing system packages come from apt-get.
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    NEED=""
    command -v npm >/dev/null 2>&1 || NEED="$NEED nodejs npm"
    [ -x /usr/bin/chromium ] || NEED="$NEED chromium"
    if [ -n "$NEED" ]; then
        echo "[setup] installing$NEED (apt-get)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $NEED >/dev/null; } \
            || echo "[setup] warning: apt-get could not install$NEED; browser tests will skip without Chromium"
    fi
fi
if command -v npm >/dev/null 2>&1; then
    LOCK_STAMP="$ROOT/web/node_modules/.xaibook-lock"
    WANT_LOCK="$(sha256sum "$ROOT/web/package-lock.json" | cut -c1-16)"
    if [ ! -f "$LOCK_STAMP" ] || [ "$(cat "$LOCK_STAMP")" != "$WANT_LOCK" ]; then
        echo "[setup] npm ci in web/ (jsPsych for the study kit, MathJax for the book)"
        npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error
        echo "$WANT_LOCK" > "$LOCK_STAMP"
    fi
else
    echo "[setup] warning: npm not found; install Node.js to export studies and serve MathJax offline"
fi
"$PY" -c "import xaibook; print('[setup] xaibook', xaibook.__version__, 'on', xaibook.config.device())"
