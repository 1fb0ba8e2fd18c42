#!/usr/bin/env bash
# Runs on the GPU machine from the unpacked bundle (see scripts/gpu-bench.sh): installs the Vulkan
# loader from the bundled .debs into a private prefix when the system has none, points Vulkan at
# NVIDIA's driver, then runs pitlab on webgpu and PyTorch CUDA on each config and prints a table.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CONFIGS="ref large"
ITERS=20
SOFTWARE_OK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) CONFIGS="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --allow-software) SOFTWARE_OK=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export PITLAB_DAWN_NODE="$HERE/dawn.node"
# PITLAB_BUNDLED_LOADER=1 takes the bundled loader even when the system has one (to test this path).
if [ "${PITLAB_BUNDLED_LOADER:-0}" = 1 ] || ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  # dpkg -x into a prefix, never over /: the machine's own packages stay untouched.
  prefix="$HERE/prefix"
  for deb in "$HERE"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
  export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "Vulkan loader: bundled ($prefix)" >&2
else
  echo "Vulkan loader: system" >&2
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
  done
  # Containers often mount the driver's libraries without its ICD manifest: write one.
  if [ -z "${VK_DRIVER_FILES:-}" ] && ldconfig -p | grep -q 'libGLX_nvidia.so.0'; then
    echo '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}' \
      >"$HERE/nvidia_icd.json"
    export VK_DRIVER_FILES="$HERE/nvidia_icd.json"
  fi
  echo "Vulkan driver: ${VK_DRIVER_FILES:-default search (no NVIDIA ICD found)}" >&2
fi

declare -A ARGS=(
  [ref]="--vocab 256 --block 64 --layers 4 --heads 4 --embd 128 --batch 16"
  [large]="--vocab 256 --block 256 --layers 8 --heads 8 --embd 512 --batch 32"
  [small]="--vocab 64 --block 16 --layers 2 --heads 2 --embd 32 --batch 4"
)
results="$HERE/results.jsonl"
: >"$results"
for cfg in $CONFIGS; do
  echo "webgpu, $cfg ..." >&2
  if out="$("$HERE/node" "$HERE/bench.js" --config "$cfg" --iters "$ITERS" 2>"$HERE/webgpu-$cfg.err")"; then
    echo "$out" | tail -1 >>"$results"
  else
    echo "{\"error\":\"webgpu $cfg failed\",\"stderr\":$(tail -c 800 "$HERE/webgpu-$cfg.err" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))' 2>/dev/null || echo '""')}" >>"$results"
  fi
  echo "pytorch cuda, $cfg ..." >&2
  # shellcheck disable=SC2086
  if out="$(python3 "$HERE/torch_reference.py" --device cuda --skip-sample --iters "$ITERS" ${ARGS[$cfg]} 2>"$HERE/torch-$cfg.err")"; then
    echo "$out" | tail -1 | sed "s/^{/{\"config\":\"$cfg\",/" >>"$results"
  else
    echo "{\"error\":\"pytorch cuda $cfg failed: $(tail -1 "$HERE/torch-$cfg.err" | tr -d '"\\')\"}" >>"$results"
  fi
done
SOFTWARE_OK="$SOFTWARE_OK" "$HERE/node" "$HERE/table.js" "$results"
