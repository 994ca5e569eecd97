#!/usr/bin/env bash
# The whole book from a fresh clone and an empty cache while a second process keeps one core busy
# (issue 11): clones this repository's HEAD into a temporary folder, starts `yes > /dev/null`,
# runs the README's build command there, stops `yes` by its own PID and prints the wall time.
#
#     bash benchmarks/busy_build.sh            # XAIBOOK_SCALE=default unless set
#
# The clone, its .venv, its cache and build.log stay in the printed folder for inspection.
set -u
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
D="$(mktemp -d "${TMPDIR:-/tmp}/busy-build.XXXX")"
git clone -q "$SRC" "$D/book"
cd "$D/book"
echo "[busy] $(git log --oneline -1) in $D, scale ${XAIBOOK_SCALE:-default}"
yes > /dev/null &
YES=$!
trap 'kill "$YES" 2>/dev/null' EXIT
export XAIBOOK_CACHE="$D/cache"
start=$(date +%s)
bash scripts/build-book.sh > "$D/build.log" 2>&1
rc=$?
seconds=$(( $(date +%s) - start ))
kill "$YES" 2>/dev/null
wait "$YES" 2>/dev/null
echo "[busy] build exit $rc after $seconds s ($(( seconds / 60 )) min) with one core kept busy by yes (pid $YES, stopped)"
grep -E "Executing|Executed|execution time|\[build\]" "$D/build.log" | tail -20
exit $rc
