#!/usr/bin/env bash
# Scenario 5: the SMSC goes down for DOWN (30s) in the middle of a DURATION (90s) run at RATE
# pushes/s: the simulator drops every connection and refuses binds (SIGUSR1 with
# --pause-on-signal). Pushes keep being accepted into the store and go out when it is back.
source "$(dirname "$0")/lib.sh"
build
start_sim --pause-on-signal "${DOWN:-30}s"
write_config
start_ppgd
duration=${DURATION:-90}
run_bench "5 smsc-down-${DOWN:-30}s" --duration "${duration}s" --rate "${RATE:-500}" \
    --concurrency "${CONCURRENCY:-64}" --content "${CONTENT:-mms}" --drain 180s \
    --max-duplicates $(( ${SESSIONS:-2} * ${WINDOW:-50} )) --quiet &
bench=$!
sleep $(( (duration - ${DOWN:-30}) / 2 ))
kill -USR1 "$SIM_PID"
wait "$bench"
