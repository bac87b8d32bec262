#!/usr/bin/env bash
# Runs every fuzz target (or those named) for FUZZ_SECONDS each and prints one line per
# target: the executions and the time it ran clean. A crash, a panic or an input slower
# than 10 s stops the run with libFuzzer's report and the input saved under
# fuzz/artifacts/<target>/, and this script exits non-zero.
#   FUZZ_SECONDS=60 [FUZZ_BUILD=--dev] fuzz/run.sh [target ...]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD:--O}"   # -O: optimised (make fuzz); --dev: quick to build (make test)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -s none "$build" >/dev/null
for t in "${targets[@]}"; do
    seeds="seeds/$t"
    [ -d "$seeds" ] || seeds="seeds/scan_file"   # the sniffer starts from every format
    mkdir -p "work/$t"
    log="work/$t.log"
    if ! cargo fuzz run -s none "$build" "$t" "work/$t" "$seeds" -- \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
            >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $t FAILED (input saved under fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    echo "fuzz: $t clean: ${runs:-?} executions in ${secs:-?} s (coverage ${cov:-?} edges)"
done
