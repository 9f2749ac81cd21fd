#!/usr/bin/env bash
# Scenario 1: the simulator answers at once; the maximum sustained rate of accepted pushes.
# COUNT (default 20000) one-segment MMS notifications, CONCURRENCY (default 64) in flight.
source "$(dirname "$0")/lib.sh"
build
start_sim --latency 0s
write_config
start_ppgd
run_bench "1 zero-latency" --count "${COUNT:-20000}" --concurrency "${CONCURRENCY:-64}" \
    --content "${CONTENT:-mms}" --drain 120s --max-duplicates 0 --quiet
