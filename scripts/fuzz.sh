#!/usr/bin/env bash
# Coverage-guided fuzzing of the engine: libFuzzer (through libfuzzer-sys) with
# SanitizerCoverage, on stable Rust. See docs/FUZZING.md.
#
#   scripts/fuzz.sh build                 build the targets (fuzz/target/fuzz)
#   scripts/fuzz.sh seed                  write fuzz/seeds/ from tests/fixtures/firmware
#   scripts/fuzz.sh smoke                 every target briefly (CI; FUZZ_SMOKE_SECONDS, 20)
#   scripts/fuzz.sh run TARGET [RUNS] [libFuzzer flags...]
#                                         fuzz one target (RUNS executions, default
#                                         10000000; -1 runs until stopped), corpus in
#                                         fuzz/corpus/TARGET, crashes in fuzz/artifacts/TARGET
#   scripts/fuzz.sh repro TARGET FILE...  run inputs once (a crash shows its backtrace)
#   scripts/fuzz.sh list                  the targets
#
# Targets: dhcp, tftp, responder, dhcp6, http_request, http_server (fuzz/fuzz_targets/, thin wrappers around
# pxelab_engine::fuzzing). A crashing input goes to fuzz/regressions/TARGET/ once fixed;
# `cargo test -p pxelab-engine --test fuzz_regressions` replays those and fuzz/seeds/.
#
# FUZZ_ASAN=1 builds with AddressSanitizer when a nightly toolchain is installed
# (rustup's `nightly`); without one it says so and builds without. The engine has no
# unsafe code, so the default (no sanitizer: panics, overflow and debug assertions are
# what the fuzzer catches) loses little.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(dhcp tftp responder dhcp6 http_request http_server)
HOST=$(rustc -vV | sed -n 's/^host: //p')
OUT=fuzz/target/fuzz
TOOLCHAIN=()
SANITIZER_FLAGS=""
if [ "${FUZZ_ASAN:-0}" = 1 ]; then
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    TOOLCHAIN=(+nightly)
    SANITIZER_FLAGS="-Zsanitizer=address"
    OUT=fuzz/target/fuzz-asan
  else
    echo "fuzz: FUZZ_ASAN=1 needs a nightly toolchain; building without a sanitizer" >&2
  fi
fi

# What cargo-fuzz passes with --sanitizer none: SanitizerCoverage for libFuzzer's
# guidance (8-bit counters, PC table, comparison tracing), `cfg(fuzzing)`, and the
# assertions on.
RUSTFLAGS_FUZZ="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions \
-Coverflow-checks $SANITIZER_FLAGS"

bin() { echo "$OUT/$HOST/release/$1"; }

need_target() {
  local t=$1
  for x in "${TARGETS[@]}"; do [ "$x" = "$t" ] && return 0; done
  echo "fuzz: unknown target '$t' (targets: ${TARGETS[*]})" >&2
  exit 2
}

build() {
  # --target keeps the flags off build scripts and proc macros (as cargo-fuzz does).
  RUSTFLAGS="$RUSTFLAGS_FUZZ" cargo "${TOOLCHAIN[@]}" build --release -q \
    --manifest-path fuzz/Cargo.toml -p pxelab-fuzz --bins \
    --target "$HOST" --target-dir "$OUT"
}

seed() {
  rm -rf fuzz/seeds
  cargo run --release -q --manifest-path fuzz/Cargo.toml -p pxelab-fuzz-seed \
    --target-dir fuzz/target/seed -- tests/fixtures/firmware fuzz/seeds
}

# run TARGET RUNS [flags...]: the corpus grows in fuzz/corpus/TARGET; the seeds and the
# regressions are read too.
run() {
  local t=$1 runs=$2
  shift 2
  need_target "$t"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/regressions/$t"
  local dict=()
  [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
  "$(bin "$t")" -runs="$runs" -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 \
    -max_len=4096 "${dict[@]}" "$@" \
    "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/regressions/$t"
}

case "${1:-}" in
  build) build ;;
  seed) seed ;;
  list) printf '%s\n' "${TARGETS[@]}" ;;
  run)
    [ $# -ge 2 ] || { echo "usage: $0 run TARGET [RUNS] [libFuzzer flags...]" >&2; exit 2; }
    t=$2
    runs=${3:-10000000}
    shift $(($# < 3 ? $# : 3))
    need_target "$t"
    build
    run "$t" "$runs" "$@"
    ;;
  repro)
    [ $# -ge 3 ] || { echo "usage: $0 repro TARGET FILE..." >&2; exit 2; }
    t=$2
    shift 2
    need_target "$t"
    build
    RUST_BACKTRACE=1 "$(bin "$t")" "$@"
    ;;
  smoke)
    secs=${FUZZ_SMOKE_SECONDS:-20}
    start=$(date +%s)
    build
    echo "fuzz smoke: built in $(($(date +%s) - start)) s"
    # A fresh corpus each time (CI); crashes land in fuzz/artifacts/TARGET.
    tmp=$(mktemp -d /tmp/pxelab-fuzz-smoke.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    for t in "${TARGETS[@]}"; do
      mkdir -p "$tmp/$t" "fuzz/artifacts/$t" "fuzz/regressions/$t"
      dict=()
      [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
      log="$tmp/$t.log"
      if ! "$(bin "$t")" -max_total_time="$secs" -artifact_prefix="fuzz/artifacts/$t/" \
        -print_final_stats=1 -max_len=4096 "${dict[@]}" \
        "$tmp/$t" "fuzz/seeds/$t" "fuzz/regressions/$t" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz smoke: target $t FAILED (input in fuzz/artifacts/$t/)" >&2
        exit 1
      fi
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
      cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
      echo "fuzz smoke: $t ok, ${runs:-?} executions in $secs s, $cov"
    done
    echo "fuzz smoke: all targets ok in $(($(date +%s) - start)) s"
    ;;
  *)
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
