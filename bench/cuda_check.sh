#!/usr/bin/env bash
# The device check: the CUDA tests, a short CUDA training run (make train's config on the GPU),
# NTM speed on the GPU, then the default suite with the GPU visible. Results and logs in $OUT
# (default: a new temporary folder). Run from the repository root on a machine with a CUDA GPU
# and the project installed:
#     bash bench/cuda_check.sh
set -u
OUT=${OUT:-$(mktemp -d)}
export PYTHONUNBUFFERED=1
T0=$(date +%s); t() { echo "[t=$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/machine.txt"
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', \
lightning.__version__, torch.cuda.get_device_name(0))" | tee -a "$OUT/machine.txt"
t "1. CUDA tests"
timeout 170 python3 -m pytest tests/test_cuda.py -p no:cacheprovider -rA -q 2>&1 \
    | tee "$OUT/test_cuda.log" | tail -20
t "2. short CUDA training run: make train's config on the GPU"
timeout 150 python3 train.py fit --config configs/ntm_copy.yaml --trainer.accelerator gpu \
    --trainer.devices 1 --trainer.enable_progress_bar false \
    --trainer.logger.init_args.save_dir "$OUT/runs" > "$OUT/train_copy_gpu.log" 2>&1
echo "rc=$?"; tail -30 "$OUT/train_copy_gpu.log"
t "3. NTM speed on the GPU"
OMP_NUM_THREADS=1 timeout 110 python3 bench/ntm_speed.py --device cuda --modes eager compiled \
    --chunk 4 --seconds 5 --slots 128 4096 --fused --order read_then_write 2>&1 \
    | grep -v Warning | tee "$OUT/ntm_speed_cuda.log"
t "4. the default suite with the GPU visible (xdist if installed)"
workers=$(python3 -c "import xdist" 2>/dev/null && echo "-n $(( $(nproc) - 1 ))")
timeout 200 python3 -m pytest -p no:cacheprovider -q $workers --ignore=tests/test_wheel.py \
    -rfE --tb=line 2>&1 | tail -40 | tee "$OUT/suite.log"
t "done: $OUT"
