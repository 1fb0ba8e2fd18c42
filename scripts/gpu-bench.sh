#!/usr/bin/env bash
# GPU benchmark for a bare machine (no network, no Node.js): pitlab's GPT train step on webgpu (Dawn
# over Vulkan) against PyTorch CUDA (fp32) on the same configs, in one run.
#
#   scripts/gpu-bench.sh build [OUT]     on a normal machine (Linux x64, node_modules installed, apt):
#                                        writes OUT (default dist/gpu-bench.tar.gz): bundled benchmark,
#                                        a copy of this Node binary, dawn.node, the torch reference, and
#                                        the Vulkan loader + GL dispatch .debs.
#   tar xzf gpu-bench.tar.gz && gpu-bench/run.sh [--configs "ref large"] [--iters N]
#                                        on the GPU machine (PyTorch with CUDA assumed installed).
#   scripts/gpu-bench.sh selftest        build, unpack into a temp dir and run the small config there
#                                        (lavapipe is enough: a check of the script, not a measurement).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

build() {
  local out="${1:-$ROOT/dist/gpu-bench.tar.gz}"
  local stage
  stage="$(mktemp -d)"
  local dir="$stage/gpu-bench"
  mkdir -p "$dir/debs"
  # The two native/optional tfjs backends stay out: the bundle only runs webgpu.
  "$ROOT/node_modules/.bin/esbuild" "$ROOT/scripts/gpu/bench.ts" --bundle --platform=node --format=cjs \
    --target=node20 --log-level=warning --outfile="$dir/bench.js" \
    --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-node --external:webgpu
  cp "$(command -v node)" "$dir/node"
  cp "$ROOT/node_modules/webgpu/dist/linux-x64/dawn.node" "$dir/dawn.node"
  cp "$ROOT/bench/torch_reference.py" "$ROOT/scripts/gpu/run.sh" "$ROOT/scripts/gpu/table.js" "$dir/"
  # The Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan ICD (libGLX_nvidia) links to.
  # -o APT::Sandbox::User=root: as root apt would otherwise try to download as _apt into our temp dir
  (cd "$dir/debs" && apt-get download -qq -o APT::Sandbox::User=root libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libgles2 libopengl0 >/dev/null)
  mkdir -p "$(dirname "$out")"
  tar -C "$stage" -czf "$out" gpu-bench
  rm -rf "$stage"
  echo "wrote $out ($(du -h "$out" | cut -f1))"
}

case "${1:-}" in
  build) build "${2:-}" ;;
  selftest)
    tmp="$(mktemp -d)"
    build "$tmp/gpu-bench.tar.gz"
    tar -C "$tmp" -xzf "$tmp/gpu-bench.tar.gz"
    "$tmp/gpu-bench/run.sh" --configs small --iters 3 --allow-software
    rm -rf "$tmp"
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
