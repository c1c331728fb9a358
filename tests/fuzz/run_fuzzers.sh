#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + libFuzzer) and runs each for a bounded time.
# Usage: run_fuzzers.sh SOURCE_DIR BUILD_DIR [SECONDS]. Exit 77 (ctest: skipped) without clang
# or its fuzzer runtime (Debian: clang libclang-rt-14-dev, in scripts/install-deps.sh).
set -euo pipefail
src=$1
out=$2/fuzz
seconds=${3:-20}
cxx=""
for c in clang++ clang++-14 clang++-15 clang++-16; do
  if command -v "$c" >/dev/null; then cxx=$c; break; fi
done
if [ -z "$cxx" ]; then
  echo "SKIP: clang++ not found; install clang and libclang-rt-14-dev to run the fuzz targets"
  exit 77
fi
mkdir -p "$out"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  > "$probe/p.cpp"
if ! "$cxx" -fsanitize=fuzzer,address "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
  echo "SKIP: $cxx cannot link -fsanitize=fuzzer (install libclang-rt-14-dev): $(head -c 300 "$probe/err")"
  exit 77
fi
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$src" -Wall -Wextra -Werror)
common=("$src/runtime/assert.cpp" "$src/runtime/error.cpp" "$src/net/data/range_set.cpp")
build() {  # name sources...
  local name=$1; shift
  # Rebuild only when a source changed (make test runs this every time).
  local newest
  newest=$(ls -t "$@" "$src"/net/gridftp/*.hpp "$src"/net/data/*.hpp "$src"/runtime/*.hpp | head -1)
  if [ ! -x "$out/$name" ] || [ "$newest" -nt "$out/$name" ]; then
    echo "building $name with $cxx"
    "$cxx" "${flags[@]}" "$@" -o "$out/$name"
  fi
}
build command_fuzz "$src/tests/fuzz/command_fuzz.cpp" "$src/net/gridftp/command.cpp" \
  "$src/net/gridftp/paths.cpp" "$src/net/gridftp/url.cpp" "${common[@]}"
build block_fuzz "$src/tests/fuzz/block_fuzz.cpp" "$src/net/data/block.cpp" "${common[@]}"
status=0
for name in command_fuzz block_fuzz; do
  corpus="$out/corpus-$name"
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp "$src/tests/fuzz/seeds/${name%_fuzz}"/* "$corpus/"
  echo "running $name for ${seconds}s"
  if ! (cd "$out" && "./$name" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
          -rss_limit_mb=2048 -print_final_stats=1 "$corpus" >"$out/$name.log" 2>&1); then
    echo "FAIL: $name found a problem; see $out/$name.log (crash-* inputs in $out)"
    tail -40 "$out/$name.log"
    status=1
  else
    grep -E 'stat::number_of_executed_runs|Done' "$out/$name.log" | tail -2 || true
  fi
done
exit $status
