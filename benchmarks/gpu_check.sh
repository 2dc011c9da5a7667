#!/usr/bin/env bash
# The GPU check of "Training that scales": the CUDA tests, one MNIST epoch on CUDA (hybrid and classical,
# images/s, and bf16), single-image predict p50 on CUDA, and a 2-process DDP run over gloo.
#
#   benchmarks/gpu_check.sh pack       here: wheels + an MNIST slice into .gpu_carry/ (git-ignored), size checked
#   benchmarks/gpu_check.sh run OUT    on the GPU machine (device tool, carry [".gpu_carry"]): JSON + logs into OUT
#   benchmarks/gpu_check.sh dry OUT    here, on the CPU with this checkout's venv and a tiny budget: tries the script
#
# The GPU machine is bare (Python 3.12, torch 2.11, no TorchQuantum, qiskit or grad-cam, no ../shared) and at
# most 64 MiB travel with the tracked tree (about 39 MB), so only what the check imports is carried:
# TorchQuantum and the parts of qiskit it imports at start-up as cp312 wheels, grad-cam, and 12,000 training
# + 2,000 test images of MNIST. IBM's cloud client (qiskit_ibm_runtime), which TorchQuantum imports for its
# IBM-hardware plugin and this project never calls, does not fit (its dependencies are over 5 MB); a one-class
# stand-in under .gpu_carry/standin answers the import and raises if ever used.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.gpu_carry
LIMIT_BYTES=$((64 * 1024 * 1024))
WHEELS=(torchquantum==0.1.8 torchpack==0.3.1 loguru==0.7.3 multimethod==2.1 toml==0.10.2 pathos==0.3.5 dill==0.4.1
        ppft==1.7.8 pox==0.3.7 multiprocess==0.70.19 qiskit==0.45.3 qiskit-terra==0.45.3 rustworkx==0.18.1 ply==3.11
        stevedore==5.10.0 qiskit-aer==0.13.3 ttach==0.0.3)
# qiskit-aer 0.12.2 (this machine's pin) has no cp312 wheel; 0.13.3 is the oldest that does and takes qiskit 0.45.

pack() {
    rm -rf "$CARRY" && mkdir -p "$CARRY/wheels" "$CARRY/data/mnist" "$CARRY/standin/qiskit_ibm_runtime"
    .venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$CARRY/wheels" "${WHEELS[@]}"
    .venv/bin/pip wheel -q --no-deps -w "$CARRY/wheels" grad-cam==1.5.7  # published as a source archive only
    .venv/bin/python - "$CARRY/data/mnist" <<'PY'
import gzip, sys
from pathlib import Path
src, dst = Path("../shared/data/mnist"), Path(sys.argv[1])
for name, n in (("train-images-idx3-ubyte", 12000), ("train-labels-idx1-ubyte", 12000),
                ("t10k-images-idx3-ubyte", 2000), ("t10k-labels-idx1-ubyte", 2000)):
    raw = gzip.open(src / f"{name}.gz").read()
    ndim = raw[3]
    header = bytearray(raw[:4 + 4 * ndim])
    header[4:8] = n.to_bytes(4, "big")
    item = 1
    for i in range(1, ndim):
        item *= int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big")
    (dst / f"{name}.gz").write_bytes(gzip.compress(bytes(header) + raw[4 + 4 * ndim: 4 + 4 * ndim + n * item]))
PY
    cat > "$CARRY/standin/qiskit_ibm_runtime/__init__.py" <<'PY'
"""Stand-in for IBM's cloud client on the GPU check machine only (benchmarks/gpu_check.sh)."""


class QiskitRuntimeService:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("qiskit_ibm_runtime is not installed on this machine (a stand-in for imports only)")
PY
    local tree carry total
    tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
    untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb | tail -1 | cut -f1)
    carry=$(du -sb "$CARRY" | cut -f1)
    total=$((tree + ${untracked:-0} + carry))
    echo "travels: tree $tree + untracked ${untracked:-0} + $CARRY $carry = $total bytes (limit $LIMIT_BYTES)"
    [ "$total" -le "$LIMIT_BYTES" ] || { echo "over the 64 MiB that may travel" >&2; exit 1; }
}

checks() {  # $1: OUT, $2: device, $3: python, then extra args for the measurements
    local out=$1 device=$2 py=$3
    shift 3
    mkdir -p "$out"
    set +e
    "$py" -m pytest -q -p no:cacheprovider tests/test_devices.py 2>&1 | tee "$out/cuda_tests.log"
    "$py" -m benchmarks.gpu_check --data-root "$CARRY/data/mnist" --device "$device" --out "$out/gpu_check.json" "$@" \
        2>&1 | tee "$out/gpu_check.log"
    set -e
    [ -f "$out/gpu_check.json" ]
}

case "${1:-}" in
    pack) pack ;;
    run)
        [ -n "${2:-}" ] || { echo "usage: $0 run OUT" >&2; exit 2; }
        [ -d "$CARRY/wheels" ] || { echo "$CARRY/wheels missing: run '$0 pack' first and carry $CARRY" >&2; exit 2; }
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            "$CARRY"/wheels/*.whl
        export PYTHONPATH="/tmp/site:$PWD/$CARRY/standin:$PWD" PYTHONUNBUFFERED=1
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$2/nvidia_smi.csv" || true
        checks "$2" cuda python3
        ;;
    dry)
        [ -n "${2:-}" ] || { echo "usage: $0 dry OUT" >&2; exit 2; }
        [ -d "$CARRY/data/mnist" ] || pack
        PYTHONPATH="$PWD" checks "$2" cpu .venv/bin/python --max-batches 2 --repeats 5
        ;;
    *) echo "usage: $0 pack | run OUT | dry OUT" >&2; exit 2 ;;
esac
