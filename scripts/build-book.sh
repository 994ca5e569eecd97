#!/usr/bin/env bash
# Sets up (if needed) and builds the whole HTML book, executing every chapter.
# Scale: XAIBOOK_SCALE=default (the 2-core CPU build, the default), smoke, or paper (GPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
export XAIBOOK_SCALE="${XAIBOOK_SCALE:-default}"
# One output folder per scale, so that the notebook execution cache of one scale
# never serves another.
if [ "$XAIBOOK_SCALE" = "default" ]; then OUT="$ROOT"; else OUT="$ROOT/_build/scale-$XAIBOOK_SCALE"; fi
echo "[build] scale=$XAIBOOK_SCALE, output under $OUT/_build/html"
start=$(date +%s)
RESUME="[build] failed; rerun the same command (bash scripts/build-book.sh): it resumes from the artifact cache and recomputes only what is missing."
if ! "$(dirname "$PY")/jupyter-book" build "$ROOT" --path-output "$OUT" --keep-going -W -n; then
    echo "$RESUME" >&2
    exit 1
fi
# A failed cell leaves an execution report: treat it as a failed build.
if ls "$OUT/_build/html/reports/"*.err.log >/dev/null 2>&1 || ls "$OUT/_build/html/reports/"*.log >/dev/null 2>&1; then
    echo "[build] a chapter failed to execute; reports:" >&2
    ls "$OUT/_build/html/reports/" >&2
    echo "$RESUME" >&2
    exit 1
fi
# The whole reproduction ledger, next to the HTML.
"$PY" -c "import sys; from xaibook import ledger; df = ledger.gather(); df.to_csv(sys.argv[1], index=False); print(f'[build] ledger: {len(df)} claims, digest {ledger.digest(df)} -> {sys.argv[1]}')" "$OUT/_build/html/ledger.csv"
echo "[build] done in $(( $(date +%s) - start )) s"
echo "[build] open file://$OUT/_build/html/index.html"
