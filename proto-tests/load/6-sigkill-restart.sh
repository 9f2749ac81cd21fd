#!/usr/bin/env bash
# Scenario 6: ppgd is killed with SIGKILL in the middle of a DURATION (60s) run at RATE pushes/s
# and started again on the same store. Requests during the outage fail (not accepted); every push
# answered 1001 before or after must reach the SMSC. What was in flight at the kill may come
# twice (at most one window per session).
source "$(dirname "$0")/lib.sh"
build
start_sim
write_config
start_ppgd
duration=${DURATION:-60}
run_bench "6 sigkill-restart" --duration "${duration}s" --rate "${RATE:-1000}" \
    --concurrency "${CONCURRENCY:-64}" --content "${CONTENT:-mix}" --timeout 5s --drain 180s \
    --max-duplicates $(( ${SESSIONS:-2} * ${WINDOW:-50} )) --quiet &
bench=$!
sleep $(( duration / 3 ))
kill -KILL "$PPGD_PID"
wait "$PPGD_PID" 2>/dev/null || true
PPGD_PID=""
start_ppgd
wait "$bench"
