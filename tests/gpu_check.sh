#!/usr/bin/env bash
# GPU check: every `gpu`-marked test, then the rnn benchmark on CUDA. Budget: under 5 minutes.
# Usage (from anywhere, in the project's environment): tests/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device visible to torch; nothing to check" >&2
    exit 1
fi
python -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name(0))"

echo "== pytest -m gpu"
timeout 200 python -m pytest -m gpu -q -p no:cacheprovider tests

echo "== python -m engine bench rnn --device cuda"
timeout 90 python -m engine bench rnn --device cuda --repeats 10 --warmup 3
