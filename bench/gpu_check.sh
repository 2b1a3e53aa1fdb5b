#!/usr/bin/env bash
# The WebGPU backend on a real GPU, in one run (meant to take under 10 minutes on an H200), in this order:
# - the vlp-tiny parity check with --backend webgpu (forward, losses, every gradient against the original);
# - the GEMM kernel tests on the GPU's own compiler (vec4 loads, double-buffered tiles, float16 operands, the
#   GELU epilogue, a Linear's two backward GEMMs in one dispatch, each against its reference twin:
#   matmul_test.ts, matmul_pair_test.ts, half_test.ts, gemm_table_test.ts);
# - the training step's kernel plan (bench/gpu_bench.ts --plan: dispatches and bytes per step);
# - where python3 has PyTorch with CUDA and the original's code is at hand (--vlp DIR or .gpu/vlp), the
#   original's training step and cuBLAS's GEMM on the same GPU (bench/gpu_anchor.py);
# - bench/gpu_bench.ts: its GEMM tile sweep first (every tile of GEMM_TILES on every product of a BERT-base
#   step; the fastest per shape becomes the tile table all that follows runs on, kept in the record as
#   gemmTable, which bench/gpu_bench.ts --tiles FILE reads back), then GEMM TFLOP/s at BERT-base shapes and
#   BERT-base training-step examples/s: fused and unfused, the backward GEMMs paired and apart, on the sweep's
#   and the default tile table, --fp16;
# - beam-5 and greedy caption decoding at batch 100 on the GPU (bench/decode_bench.ts --backend webgpu), with
#   the original decoder side by side on the same GPU (--anchor-device cuda) where the anchor can run.
# Meant for a machine with an NVIDIA GPU and its driver (Vulkan ICD); installs what is missing: the Vulkan
# loader, Deno and the npm packages, the fixture.
#
# Usage (from anywhere; it works in the repository root):
#   bench/gpu_check.sh --pack [--vlp DIR] [--max-mib N]
#       On a machine with network access: fill .gpu/ with what an offline GPU machine may lack: the Vulkan
#       loader package (.deb), the Deno binary and the npm packages the check imports (xz), the vlp-tiny
#       fixture (xz), and with --vlp the original's model code (DIR/pytorch_pretrained_bert). Fails (exit 1)
#       when .gpu/ and the working tree together exceed N MiB (default 64), a limit on what the copy to the
#       GPU machine may take.
#   bench/gpu_check.sh [--quick] [--allow-fallback] [--no-sweep] [--no-tests] [--no-decode] [--out DIR]
#                      [--vlp DIR] [--deadline S]
#       The check. Missing pieces come from .gpu/ when it is there, else from the network (apt-get, npm).
#       --quick runs the bench at tiny sizes; a software adapter (lavapipe) is refused unless --quick or
#       --allow-fallback is given. --no-sweep leaves out the bench's GEMM tile sweep, --no-tests the GEMM kernel
#       tests, --no-decode the decoding bench (sweep, anchor and decoding are left out with --quick).
#       --out DIR writes each stage's JSON line as the stage ends (parity.json, plan.json, anchor.json,
#       bench.json, decode.json), the log (check.log) and the sweep's record (gemm_tiles.json; without --out
#       .gpu/gemm_tiles.json; VLP_GEMM_TILES=that file or bench/gpu_bench.ts --tiles reuses it).
#       --deadline S: every stage runs under what is left of S seconds from the start, and is skipped when
#       less than 20 are left, so that the summary line always comes.
#
# Progress and logs go to stderr; stdout gets each stage's JSON line, and last ONE JSON line {"parity": ...,
# "gemm_tests": "pass" | "fail" | null, "plan": ..., "bench": ..., "decode": ..., "anchor": ..., "ratios": every
# ratio against the issue's targets and whether each is met (bench/gpu_ratios.ts; "train": our step over the
# original's), "seconds": the run's} (a stage that did not run or gave no JSON: null).
# Exit status: 0 when every stage that ran passed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACK=0 QUICK=0 FALLBACK=0 SWEEP=1 TESTS=1 DECODE=1 OUTDIR="" VLP="" DEADLINE=0 MAX_MIB=64
while [ $# -gt 0 ]; do
  case "$1" in
    --pack) PACK=1 ;;
    --quick) QUICK=1 ;;
    --allow-fallback) FALLBACK=1 ;;
    --sweep) SWEEP=1 ;;
    --no-sweep) SWEEP=0 ;;
    --no-tests) TESTS=0 ;;
    --no-decode) DECODE=0 ;;
    --out) OUTDIR="$2"; shift ;;
    --vlp) VLP="$2"; shift ;;
    --deadline) DEADLINE="$2"; shift
      [[ $DEADLINE =~ ^[0-9]+$ ]] || { echo "bench/gpu_check.sh: --deadline wants whole seconds, not '$DEADLINE'" >&2; exit 2; } ;;
    --max-mib) MAX_MIB="$2"; shift
      [[ $MAX_MIB =~ ^[0-9]+$ ]] || { echo "bench/gpu_check.sh: --max-mib wants whole MiB, not '$MAX_MIB'" >&2; exit 2; } ;;
    *)
      echo "usage: bench/gpu_check.sh --pack [--vlp DIR] [--max-mib N] | [--quick] [--allow-fallback] [--no-sweep] [--no-tests]" \
        "[--no-decode]" \
        "[--out DIR] [--vlp DIR] [--deadline S]" >&2
      exit 2 ;;
  esac
  shift
done
log() { echo "[gpu_check] $*" >&2; }
die() { log "error: $*"; exit 1; }

# unpack an .xz file with xz, or Python's lzma when xz is absent
unxz_to() { # src dst
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
untar_xz() { # archive dir
  mkdir -p "$2"
  if command -v xz >/dev/null; then tar -xJf "$1" -C "$2"
  else python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi
}

# ---- --pack: gather what an offline machine needs --------------------------------------------------------
if [ "$PACK" = 1 ]; then
  [ -x node_modules/.bin/deno ] || npm install --no-audit --no-fund
  mkdir -p .gpu/debs
  log "Vulkan loader and GL dispatch packages"
  lists=$(mktemp -d)
  apt_amd64=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  mkdir -p "$lists/partial"
  apt-get "${apt_amd64[@]}" update -qq
  (cd .gpu/debs && apt-get "${apt_amd64[@]}" download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2)
  rm -rf "$lists"
  log "Deno binary (xz, takes a minute)"
  xz -T0 -9e -c "$(readlink -f node_modules/.bin/deno)" >.gpu/deno.xz.tmp && mv .gpu/deno.xz.tmp .gpu/deno.xz
  log "npm packages"
  # what the parity CLI, the benches and the GEMM tests import: the ONNX packages (onnxruntime-web and
  # onnx-proto with their dependencies), the browser driver, the tokenizer bench's package, type
  # declarations, and the builds Deno does not load (h5wasm's, zod's and exifr's other module formats and
  # sources, pngjs's browser bundle) stay behind to keep the pack, with the fixture and the tree, small
  left_out=(@deno deno @types .bin onnxruntime-web onnxruntime-common onnx-proto protobufjs @protobufjs long
    flatbuffers guid-typescript platform undici-types wabt @huggingface playwright-core h5wasm/dist/esm
    h5wasm/dist/iife h5wasm/test zod/src zod/v4 zod/v4-mini "zod/*.cjs" "zod/*.d.ts" "zod/*.d.cts"
    "zod/v3/*.cjs" "zod/v3/*.d.ts" "zod/v3/*.d.cts" pngjs/browser.js "exifr/dist/*legacy*" "exifr/dist/lite*"
    "exifr/dist/mini*" exifr/dist/full.esm.js exifr/dist/full.umd.cjs)
  tar -cJf .gpu/node_modules.tar.xz.tmp "${left_out[@]/#/--exclude=node_modules/}" node_modules &&
    mv .gpu/node_modules.tar.xz.tmp .gpu/node_modules.tar.xz
  log "vlp-tiny fixture (the files the parity check reads)"
  [ -d ../shared/fixtures/vlp-tiny ] || die "../shared/fixtures/vlp-tiny is missing"
  # (not the detector's outputs, which cli/parity.ts does not read)
  tar -cJf .gpu/vlp-tiny.tar.xz.tmp -C ../shared/fixtures --exclude=vlp-tiny/region_cls_prob.npy \
    --exclude=vlp-tiny/region_bbox.npy vlp-tiny && mv .gpu/vlp-tiny.tar.xz.tmp .gpu/vlp-tiny.tar.xz
  if [ -n "$VLP" ]; then
    [ -f "$VLP/pytorch_pretrained_bert/modeling.py" ] || die "--vlp $VLP holds no pytorch_pretrained_bert/modeling.py"
    log "the original's model code from $VLP"
    rm -rf .gpu/vlp && mkdir -p .gpu/vlp && cp -r "$VLP/pytorch_pretrained_bert" .gpu/vlp/
  fi
  size=$(du -sb .gpu | cut -f1)
  # with the working tree as git would copy it (tracked files, and untracked ones it does not ignore)
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 cat | wc -c)
  total=$((size + tree)) limit=$((MAX_MIB * 1048576))
  log ".gpu/ holds $((size / 1048576)) MiB: $(ls .gpu | tr '\n' ' '); with the tree $((total / 1024)) KiB," \
    "$(((limit - total) / 1024)) KiB under --max-mib $MAX_MIB"
  echo "{\"pack\":\".gpu\",\"bytes\":$size,\"tree_bytes\":$tree,\"total_bytes\":$total,\"max_bytes\":$limit}"
  [ "$total" -le "$limit" ] || die "the pack and the tree take $total bytes, more than --max-mib $MAX_MIB"
  exit 0
fi

# ---- the check -------------------------------------------------------------------------------------------
export NO_COLOR=1 XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" VLP_REQUIRE_GPU=1
[ -n "$OUTDIR" ] && mkdir -p "$OUTDIR"

# 1. the Vulkan loader, and the GL dispatch libraries NVIDIA's Vulkan driver (libGLX_nvidia) links against: the
#    GPU driver brings the ICD, not always these
export PATH="$PATH:/usr/sbin:/sbin"
# (no grep -q: under pipefail its early exit would fail the pipeline by SIGPIPE)
have_loader() {
  local libs
  libs=$(ldconfig -p 2>/dev/null)
  grep 'libvulkan\.so\.1' <<<"$libs" >/dev/null && grep 'libGLdispatch\.so\.0' <<<"$libs" >/dev/null
}
if ! have_loader; then
  if ls .gpu/debs/*.deb >/dev/null 2>&1; then
    log "installing the Vulkan loader from .gpu/debs"
    for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  elif command -v apt-get >/dev/null; then
    log "installing the Vulkan loader with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 libglvnd0 libglx0 \
      libegl1 libgl1 libopengl0 libgles2 >/dev/null
  fi
  have_loader || die "no Vulkan loader (libvulkan.so.1); run --pack where there is network"
fi
# 2. the NVIDIA Vulkan driver manifest, where the loader does not find it by itself
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; log "Vulkan driver manifest: $f"; break; fi
  done
fi
command -v nvidia-smi >/dev/null && log "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"

# 3. Deno and the npm packages
DENO=""
if [ -x node_modules/.bin/deno ] && node_modules/.bin/deno --version >/dev/null 2>&1; then
  DENO=node_modules/.bin/deno
elif [ -f .gpu/deno.xz ]; then
  mkdir -p .gpu/bin
  [ -x .gpu/bin/deno ] || { unxz_to .gpu/deno.xz .gpu/bin/deno.tmp && chmod +x .gpu/bin/deno.tmp && mv .gpu/bin/deno.tmp .gpu/bin/deno; }
  DENO=.gpu/bin/deno
elif command -v deno >/dev/null; then
  DENO=$(command -v deno)
else
  log "installing Deno and the npm packages with npm"
  npm install --no-audit --no-fund >&2
  DENO=node_modules/.bin/deno
fi
if [ ! -d node_modules/zod ]; then
  if [ -f .gpu/node_modules.tar.xz ]; then untar_xz .gpu/node_modules.tar.xz .
  else npm install --no-audit --no-fund >&2; fi
fi
log "deno: $($DENO --version | head -1)"

# 4. the fixture
if [ -d ../shared/fixtures/vlp-tiny ]; then FIXTURE=../shared/fixtures/vlp-tiny
elif [ -d .gpu/vlp-tiny ]; then FIXTURE=.gpu/vlp-tiny
elif [ -f .gpu/vlp-tiny.tar.xz ]; then untar_xz .gpu/vlp-tiny.tar.xz .gpu && FIXTURE=.gpu/vlp-tiny
else die "the vlp-tiny fixture is missing (../shared/fixtures/vlp-tiny or .gpu/vlp-tiny.tar.xz)"; fi

# 5. the adapter: a software one says nothing about a GPU
adapter=$($DENO eval 'const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
console.log(JSON.stringify(a ? { name: a.info.description || a.info.vendor, fallback: a.info.isFallbackAdapter ?? false } : null));')
log "WebGPU adapter: $adapter"
[ "$adapter" = "null" ] && die "no WebGPU adapter (Vulkan driver not found by the loader?)"
if [[ $adapter == *'"fallback":true'* ]] && [ "$QUICK" = 0 ] && [ "$FALLBACK" = 0 ]; then
  die "the adapter is a software fallback; pass --quick or --allow-fallback to run anyway"
fi

# 6. the stages, each under what is left of --deadline, each one's JSON line written to --out as it ends
[ -z "$VLP" ] && [ -d .gpu/vlp ] && VLP=.gpu/vlp
ANCHOR_OK=0
if [ -n "$VLP" ] && [ "$QUICK" = 0 ] &&
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  ANCHOR_OK=1
fi
left() { # seconds left before --deadline (a large number without one)
  if [ "$DEADLINE" = 0 ]; then echo 1000000; else echo $((DEADLINE - SECONDS)); fi
}
run_json() { # name command...: run it under the time left (stderr also into --out's check.log), print its
  #           last stdout line and write it to --out's NAME.json; 124 when the deadline cut it off
  local name=$1 out rc=0 t
  shift
  t=$(left)
  if [ "$t" -lt 20 ]; then log "$name: skipped, ${t} s left before --deadline"; echo null; return 124; fi
  if [ -n "$OUTDIR" ]; then out=$(timeout -k 5 "$t" "$@" 2> >(tee -a "$OUTDIR/check.log" >&2)) || rc=$?
  else out=$(timeout -k 5 "$t" "$@") || rc=$?; fi
  out=$(printf '%s\n' "$out" | tail -1)
  case "$out" in \{*) ;; *) out=null ;; esac
  [ "$rc" = 124 ] && log "$name: cut off by --deadline"
  [ -n "$OUTDIR" ] && printf '%s\n' "$out" >"$OUTDIR/$name.json"
  printf '%s\n' "$out"
  return "$rc"
}
status=0
log "parity on $FIXTURE with --backend webgpu"
parity=$(run_json parity "$DENO" run -A cli/parity.ts --fixture "$FIXTURE" --backend webgpu) || status=1
echo "$parity"
gemm_tests=null
if [ "$TESTS" = 1 ] && [ "$(left)" -ge 20 ]; then
  log "the GEMM kernel tests on this adapter (matmul_test.ts, matmul_pair_test.ts, half_test.ts, gemm_table_test.ts)"
  gemm_tests=pass
  tlog=/dev/null
  [ -n "$OUTDIR" ] && tlog="$OUTDIR/check.log"
  # (--no-check: CI type-checks; the pack carries no type packages)
  VLP_REQUIRE_GPU=1 timeout -k 5 "$(left)" "$DENO" test -A --no-check model/backends/webgpu/matmul_test.ts \
    model/backends/webgpu/matmul_pair_test.ts model/backends/webgpu/half_test.ts \
    model/backends/webgpu/gemm_table_test.ts 2>&1 | tee -a "$tlog" |
    tail -3 >&2 || { gemm_tests=fail; status=1; }
fi
bench_flags=()
[ "$QUICK" = 1 ] && bench_flags+=(--quick)
[ "$FALLBACK" = 1 ] && bench_flags+=(--allow-fallback)
log "bench/gpu_bench.ts --plan ${bench_flags[*]:-}: the step's kernel plan"
plan=$(run_json plan "$DENO" run -A bench/gpu_bench.ts --plan "${bench_flags[@]}") || status=1
echo "$plan"
# the original's step before ours: the ratio is the headline, and our bench is the longest stage
anchor=null
if [ "$ANCHOR_OK" = 1 ]; then
  log "bench/gpu_anchor.py: the original's training step on the same GPU"
  anchor=$(run_json anchor python3 bench/gpu_anchor.py --vlp "$VLP") || anchor=null
  echo "$anchor"
else
  log "no anchor (needs --vlp DIR or .gpu/vlp, and python3 with torch on a CUDA GPU)"
fi
[ "$SWEEP" = 1 ] && [ "$QUICK" = 0 ] && bench_flags+=(--sweep)
log "bench/gpu_bench.ts ${bench_flags[*]:-}"
bench=$(run_json bench "$DENO" run -A bench/gpu_bench.ts "${bench_flags[@]}") || status=1
echo "$bench"
# the sweep's tile table for what runs after it (the backend reads the record VLP_GEMM_TILES names)
if [[ $bench == *'"gemmSweep"'* ]]; then
  tiles_file="${OUTDIR:-.gpu}/gemm_tiles.json"
  mkdir -p "$(dirname "$tiles_file")"
  printf '%s\n' "$bench" >"$tiles_file"
  export VLP_GEMM_TILES="$tiles_file"
  log "GEMM tile table of the sweep in $tiles_file (VLP_GEMM_TILES)"
fi
decode=null
if [ "$DECODE" = 1 ] && [ "$QUICK" = 0 ]; then
  decode_flags=(--backend webgpu --images 100 --rounds 1)
  # the original decoder side by side on the same GPU, where the anchor can run
  [ "$ANCHOR_OK" = 1 ] && decode_flags+=(--vlp "$VLP" --python python3 --anchor-device cuda)
  log "bench/decode_bench.ts ${decode_flags[*]} (greedy and beam 5, as decode_img2txt.py)"
  decode=$(run_json decode "$DENO" run -A bench/decode_bench.ts "${decode_flags[@]}") || status=1
  echo "$decode"
fi
# the ratios against the issue's targets (bench/gpu_ratios.ts), from the stages' lines
ratios=$(printf '%s\n%s\n%s\n%s\n' "$plan" "$bench" "$anchor" "$decode" | "$DENO" eval --quiet '
import { gpuRatiosOfLines } from "./bench/gpu_ratios.ts";
console.log(JSON.stringify(gpuRatiosOfLines(await new Response(Deno.stdin.readable).text())));') || ratios=null
[ -n "$ratios" ] || ratios=null
log "ratios against the targets: $ratios"
[ "$gemm_tests" = null ] || gemm_tests="\"$gemm_tests\""
echo "{\"parity\":$parity,\"gemm_tests\":$gemm_tests,\"plan\":$plan,\"bench\":$bench,\"decode\":$decode,\"anchor\":$anchor,\"ratios\":$ratios,\"seconds\":$SECONDS}"
[ "$status" = 0 ] || log "FAILED (see the lines above)"
exit "$status"
