#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time each.
#   tests/fuzz/run.sh BUILD_DIR SECONDS
# Exits non-zero on the first crash, printing the reproducer's path.
set -euo pipefail
build=$1
seconds=$2
found=0
for target in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$target" ] || continue
	found=$((found + 1))
	name=$(basename "$target")
	corpus="$build/corpus/$name"
	mkdir -p "$corpus"
	echo "fuzz $name for ${seconds}s"
	"$target" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$build/$name-" "$corpus" 2>&1 | tail -4
done
echo "$found fuzz targets ran"
