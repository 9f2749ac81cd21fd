#!/usr/bin/env bash
# Scenario 2: every submit_sm_resp comes after 20 ms; throughput comes from the SMPP window
# (2 sessions x 50 outstanding: at most 5000 submits/s through the SMSC).
source "$(dirname "$0")/lib.sh"
build
start_sim --latency 20ms
write_config
start_ppgd
run_bench "2 latency-20ms" --count "${COUNT:-10000}" --concurrency "${CONCURRENCY:-64}" \
    --content "${CONTENT:-mms}" --drain 120s --max-duplicates 0 --quiet
