#!/usr/bin/env bash
# Scenario 3: 30% of submit_sm answered ESME_RTHROTTLED at random; ppgd pauses and resubmits.
# A mix of 1- and 3-segment contents, so throttled segments of a concatenated message are retried.
source "$(dirname "$0")/lib.sh"
build
start_sim --throttle-ratio 0.3 --seed 7
write_config
start_ppgd
run_bench "3 throttled-30%" --count "${COUNT:-5000}" --concurrency "${CONCURRENCY:-64}" \
    --content "${CONTENT:-mix}" --drain 180s --max-duplicates 0 --quiet
