#!/usr/bin/env bash
# Entry point of the GPU check on a GPU machine (issue 6): runs benchmarks/gpu_check.py and keeps its log.
#   bash benchmarks/gpu_check.sh                 # defaults: 20,000 cells, GPU 20 epochs vs CPU 2 epochs
#   bash benchmarks/gpu_check.sh --epochs 10     # any gpu_check.py option
# Python packages missing on the machine may be carried as wheels in .whl/ (see gpu_check.py's docstring);
# they are installed to /tmp/site first. Results: $OUT (or benchmarks/out)/gpu_check.{json,log}.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
out=${OUT:-benchmarks/out}
mkdir -p "$out"
{ nvidia-smi -L || echo "nvidia-smi: not available"; } 2>&1 | tee "$out/gpu_check.log"
set -o pipefail
PYTHONUNBUFFERED=1 "$PY" benchmarks/gpu_check.py --out "$out/gpu_check.json" "$@" 2>&1 | tee -a "$out/gpu_check.log"
