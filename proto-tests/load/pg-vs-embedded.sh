#!/usr/bin/env bash
# One whole instance on each store backend, same session, same load: scenario 1 (the simulator
# answers at once) against `ppgd serve` with [store] backend = "embedded", then "postgres" on a
# throwaway PostgreSQL started here (lib.sh's pg_start: fsync=on, default synchronous_commit=on,
# loopback only; stopped and removed at exit). COUNT (default 20000) one-segment MMS
# notifications, CONCURRENCY (default 64) in flight, each run bounded by --drain and the bench's
# own timeouts.
# Prints one line per backend and the ratio postgres/embedded of accepted/s and segments/s.
source "$(dirname "$0")/lib.sh"
build

trap 'pg_stop; cleanup' EXIT

declare -A RESULT
round() {
    local name=$1
    start_sim --latency 0s
    write_config
    start_ppgd
    run_bench "$name" --count "${COUNT:-20000}" --concurrency "${CONCURRENCY:-64}" \
        --content "${CONTENT:-mms}" --drain 120s --max-duplicates 0 --quiet || true
    RESULT[$name]="$BENCH_LINE"
    stop_instance
}

STORE_EXTRA='backend = "embedded"' round embedded
pg_start
STORE_EXTRA="backend = \"postgres\"
url = \"$PG_URL\"" round postgres

field() { grep -o "$2=[0-9.]*" <<<"${RESULT[$1]}" | cut -d= -f2; }
for k in accepted_per_s segments_per_s; do
    e=$(field embedded $k) p=$(field postgres $k)
    [[ -n "$e" && -n "$p" ]] && awk -v e="$e" -v p="$p" -v k="$k" \
        'BEGIN { if (e > 0) printf "ratio postgres/embedded %s: %.0f%%\n", k, 100 * p / e }'
done
