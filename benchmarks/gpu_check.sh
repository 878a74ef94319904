#!/usr/bin/env bash
# The prepared GPU check of issue 15: see benchmarks/README.md. Arguments go to gpu_check.py (--toy: CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import spikingjelly" 2>/dev/null; then
    # --no-deps: SpikingJelly's declared torchvision/torchaudio would replace the installed torch
    pip install --no-deps spikingjelly==2.0.0 "loguru>=0.7,<1" || echo "SpikingJelly 2.0.0 not installable: its rows are skipped"
fi
exec python benchmarks/gpu_check.py "$@"
