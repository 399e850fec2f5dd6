#!/usr/bin/env bash
# Build the HTML report of a finished benchmark and take the README's screenshot of it (docs/report.png),
# checking on the way that headless Chromium renders every figure of the report (exit 1 if one does not).
#
#   benchmarks/screenshot_report.sh                      # the demo: results/report.html -> docs/report.png
#   benchmarks/screenshot_report.sh --configfile my.yaml # the same Snakemake arguments as the run itself
#
# Environment: REPORT (report path, default results/report.html), OUT (screenshot, default docs/report.png),
# SHOW (figure file name to open, default batch_vs_bio.png), PYTHON (default .venv/bin/python).
# Needs Chromium (Debian: apt-get install chromium). Does not run any benchmark.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
REPORT="$(realpath -m "${REPORT:-results/report.html}")"
OUT="$(realpath -m "${OUT:-$ROOT/docs/report.png}")"
"$PY" -m snakemake --snakefile "$ROOT/Snakefile" --report "$REPORT" "$@"
PYTHONPATH="$ROOT/workflow${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$ROOT/tests/report_check.py" "$REPORT" \
    --screenshot "$OUT" --show "${SHOW:-batch_vs_bio.png}"
