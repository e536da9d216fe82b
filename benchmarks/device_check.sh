#!/usr/bin/env bash
# The one device check: everything that needs a GPU, in one run, results in one folder.
#
#   bash benchmarks/device_check.sh                 # on the GPU machine, from the repository root
#   QUICK=1 DEVICE=cpu bash benchmarks/device_check.sh   # a smoke run of the script itself on a CPU
#
# Needs a Python with torch. Installs the project's other dependencies from wheels in $WHEELS
# (default .device-wheels/, made here with `pip download -d .device-wheels zennit captum
# snakemake ...`) when that folder exists, else from the registry. Reads the converted I3D
# weights from $VIDEOXAI_CACHE (default resources/) and the UCF-101 sample clips from
# $VIDEOXAI_SHARED_DATA (default ../shared/data, or shared-data/ when carried in the checkout).
# Writes everything under benchmarks/results/device-<gpu name>/ and a summary.md there.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.device-wheels}
export VIDEOXAI_CACHE=${VIDEOXAI_CACHE:-$PWD/resources}
if [ -z "${VIDEOXAI_SHARED_DATA:-}" ]; then
  for candidate in ../shared/data shared-data; do
    [ -d "$candidate/ucf101_sample" ] && export VIDEOXAI_SHARED_DATA=$PWD/$candidate && break
  done
fi
started=$(date +%s)

name=$($PYTHON -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')" 2>/dev/null || echo unknown)
slug=$(echo "$name" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
OUT=benchmarks/results/device-$slug
mkdir -p "$OUT"
summary=$OUT/summary.md
log() { echo "$*" | tee -a "$summary"; }
: > "$summary"
log "# Device check on $name ($(date -u +%Y-%m-%dT%H:%MZ))"
log ""

# 1. Dependencies: what came from where is written down.
# The library itself is used from this checkout (no build step, so no build backend is needed offline).
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
if [ -d "$WHEELS" ]; then
  source_of_packages="wheels in $WHEELS (no network)"
  $PYTHON -m pip install --quiet --no-index --find-links "$WHEELS" zennit captum snakemake pytest pytest-timeout \
    safetensors h5py pandas seaborn jsonschema pyyaml tqdm av >>"$OUT/pip.log" 2>&1
else
  source_of_packages="the package registry"
  $PYTHON -m pip install --quiet -e ".[test]" >>"$OUT/pip.log" 2>&1
fi
versions=$($PYTHON - <<'PY' 2>&1
import importlib.metadata as metadata
print(", ".join(f"{name} {metadata.version(name)}" for name in ("torch", "zennit", "captum", "snakemake")))
PY
)
log "- packages from $source_of_packages: $versions"

step() {  # step NAME COMMAND...: run, time, record the exit status
  local label=$1; shift
  local began=$(date +%s)
  "$@" >"$OUT/$label.log" 2>&1
  local status=$?
  log "- $label: exit $status in $(( $(date +%s) - began )) s (log: $label.log)"
}

# 2. The tests that need CUDA (they skip elsewhere).
step cuda-tests $PYTHON -m pytest -q -k "cuda or CUDA" tests/test_explain.py tests/test_selective.py \
  tests/test_dtd_fast.py tests/test_explain_together.py

# 3. Throughput: clips/s per method at several batch sizes (I3D 16x224 and 64x224, C3D 16x112),
#    selective overhead, bf16 / TF32 error against fp32.
if [ "$QUICK" = 1 ]; then
  step explain-throughput $PYTHON benchmarks/explain_throughput.py --device "$DEVICE" --models c3d_w0.25 --repeats 1 --out-dir "$OUT"
else
  step explain-throughput $PYTHON benchmarks/explain_throughput.py --device "$DEVICE" --preset full --repeats 5 --out-dir "$OUT"
fi

# 4. Start-up of a job and the paper's four methods against captum + zennit.
step explain-stage $PYTHON benchmarks/explain_stage.py startup libraries --device "$DEVICE" \
  --repeats "$([ "$QUICK" = 1 ] && echo 1 || echo 5)" --clips "$([ "$QUICK" = 1 ] && echo 1 || echo 8)" \
  --size "$([ "$QUICK" = 1 ] && echo 112 || echo 224)"
cp benchmarks/results/"$DEVICE"-job-startup.* benchmarks/results/"$DEVICE"-explain-vs-libraries.* "$OUT"/ 2>/dev/null

# 4b. DTD's fast pass against zennit's hooks, and the four methods (alone and sharing one forward
#     pass) against captum + zennit called directly: I3D 16x224 and C3D 16x112, batch 1 and 8.
if [ "$QUICK" = 1 ]; then
  step dtd-fast $PYTHON benchmarks/dtd_fast.py --device "$DEVICE" --quick --out-dir "$OUT"
else
  step dtd-fast $PYTHON benchmarks/dtd_fast.py --device "$DEVICE" --repeats 5 --repeats-large 3 --profile --oracle --out-dir "$OUT"
fi

# 5. The explain stage of the 25 shared UCF-101 clips end to end (decode -> explain -> tables).
if [ -n "${VIDEOXAI_SHARED_DATA:-}" ]; then
  cat > "$OUT/ucf101_sample_device.yaml" <<YAML
results: $OUT/ucf101_sample
resources: $VIDEOXAI_CACHE
videos: {source: folder, root: $VIDEOXAI_SHARED_DATA/ucf101_sample$([ "$QUICK" = 1 ] && echo ", subset: {size: 2}")}
model: {name: i3d_kinetics400}
device: $DEVICE
clips: {length: 16, max_per_video: $([ "$QUICK" = 1 ] && echo 1 || echo 4)}
explain: {methods: $([ "$QUICK" = 1 ] && echo "[gradcam]" || echo "[dtd, gradcam, guided_backprop, guided_gradcam]"), batch_size: 16, videos_per_job: 32, threads: 4}
selective: {n: [2.0, 3.0, 4.0, 5.0]}
YAML
  step ucf101-sample-study $PYTHON -m snakemake --cores 8 --configfile "$OUT/ucf101_sample_device.yaml"
  cp "$OUT"/ucf101_sample/tables/table4.md "$OUT"/ 2>/dev/null
  grep -h "clip(s) of" "$OUT"/ucf101_sample/logs/explain/*.log > "$OUT/explain-batches.log" 2>/dev/null
else
  log "- ucf101-sample-study: skipped (no ../shared/data/ucf101_sample here)"
fi

# 6. Live explanation throughput and latency on the device.
if [ -n "${VIDEOXAI_SHARED_DATA:-}" ]; then
  step live $PYTHON benchmarks/live_throughput.py --device "$DEVICE" --seconds "$([ "$QUICK" = 1 ] && echo 5 || echo 20)" \
    --out-dir "$OUT"
fi

log ""
log "Total: $(( $(date +%s) - started )) s. Tables: $OUT/*.md"
