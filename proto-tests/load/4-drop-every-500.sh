#!/usr/bin/env bash
# Scenario 4: the simulator drops the connection after every 500 submit_sm on it. What was in
# flight on a dropped session (at most WINDOW) may be submitted twice: at-least-once. The
# allowance is one window per drop.
source "$(dirname "$0")/lib.sh"
build
start_sim --drop-after 500
write_config
start_ppgd
count=${COUNT:-10000}
# mix: 5/3 segments a push on average.
drops=$(( count * 5 / 3 / 500 + 2 ))
run_bench "4 drop-every-500" --count "$count" --concurrency "${CONCURRENCY:-64}" \
    --content "${CONTENT:-mix}" --drain 180s --max-duplicates $(( drops * ${WINDOW:-50} )) --quiet
