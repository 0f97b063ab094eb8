#!/usr/bin/env bash
# The trainer on a GPU: a fresh virtual environment with the CUDA build of JAX, the trainer's
# tests and benchmarks/trainer_throughput.py on the GPU, numbers printed.
#
# Usage (on a machine with an NVIDIA GPU and driver):
#   bash benchmarks/gpu_check.sh                 # CUDA 12 wheels, JAX version of this machine's
#   CUDA=cuda13 JAX_VERSION=0.10.2 bash benchmarks/gpu_check.sh
#   VENV=/tmp/gpu-venv KEEP_VENV=1 bash benchmarks/gpu_check.sh
#
# Environment: PYTHON (default python3), VENV (default: a new temporary directory), CUDA
# (cuda12 or cuda13, the jax extra), JAX_VERSION (default: the jax installed for PYTHON, else
# the newest), KEEP_VENV=1 (keep the environment). The PyTorch columns of (b)/(c) are skipped:
# the benchmark's PyTorch side runs on the CPU, which is no comparison for a GPU.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
CUDA=${CUDA:-cuda12}
if [[ -z "${VENV:-}" ]]; then
    VENV=$(mktemp -d -t cnn-design-gpu-XXXXXX)/venv
fi
cleanup() {
    if [[ "${KEEP_VENV:-0}" != 1 ]]; then rm -rf "$VENV"; fi
}
trap cleanup EXIT

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_check: nvidia-smi not found: this machine has no NVIDIA driver" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

JAX_VERSION=${JAX_VERSION:-$("$PYTHON" -c 'import jax; print(jax.__version__)' 2>/dev/null || true)}
JAX_SPEC="jax[$CUDA]${JAX_VERSION:+==$JAX_VERSION}"

echo "== fresh environment in $VENV ($JAX_SPEC)"
"$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
# the package first (it pulls the CPU jaxlib), then the CUDA build of the same JAX version
"$PY" -m pip install -q -e "$ROOT[dev]"
"$PY" -m pip install -q "$JAX_SPEC"

cd "$ROOT"
export PYTHONPATH="$ROOT"
# several processes may share the GPU; JAX would otherwise reserve 75% of it in each
export XLA_PYTHON_CLIENT_PREALLOCATE=false
# a fresh persistent program store, so the numbers are cold
CNN_DESIGN_JAX_CACHE=$(mktemp -d -t cnn-design-gpu-cache-XXXXXX)
export CNN_DESIGN_JAX_CACHE

echo "== JAX devices"
"$PY" - <<'PY'
import jax
print(jax.__version__, jax.default_backend(), jax.devices())
if jax.default_backend() != "gpu":
    raise SystemExit("gpu_check: JAX does not see a GPU (backend %r)" % jax.default_backend())
PY

echo "== trainer tests on the GPU"
"$PY" -m pytest -q -x -p no:cacheprovider tests/train tests/test_training_evaluator.py

echo "== benchmarks/trainer_throughput.py on the GPU"
"$PY" benchmarks/trainer_throughput.py --skip-torch
rm -rf "$CNN_DESIGN_JAX_CACHE"
