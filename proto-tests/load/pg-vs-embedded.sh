#!/usr/bin/env bash
# One whole instance on each store backend, same session, same load: scenario 1 (the simulator
# answers at once) against `ppgd serve` with [store] backend = "embedded", then "postgres" on a
# throwaway PostgreSQL started here (Debian's newest /usr/lib/postgresql/*/bin, fsync=on, default
# synchronous_commit=on, loopback only, as the `postgres` user when run as root; stopped and
# removed at exit). COUNT (default 20000) one-segment MMS notifications, CONCURRENCY (default
# 64) in flight, each run bounded by --drain and the bench's own timeouts.
# Prints one line per backend and the ratio postgres/embedded of accepted/s and segments/s.
source "$(dirname "$0")/lib.sh"
build

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$PG_BIN/initdb" ]] || { echo "no PostgreSQL server under /usr/lib/postgresql/*/bin" >&2; exit 2; }
PG_PORT="${PG_PORT:-15432}"
PG_DIR="$WORK/pg"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_pg() {
    mkdir -p "$PG_DIR"
    [[ $(id -u) == 0 ]] && chown postgres: "$PG_DIR" && chmod 755 "$WORK"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/server.log" \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=on -c max_connections=200 -c shared_buffers=64MB" \
        start >/dev/null
}
stop_pg() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true; }
trap 'stop_pg; cleanup' EXIT

# stop_instance: ends the ppgd and simulator of one round (only the ones this script started).
stop_instance() {
    [[ -n "$PPGD_PID" ]] && kill "$PPGD_PID" 2>/dev/null && wait "$PPGD_PID" 2>/dev/null
    [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
    PPGD_PID="" SIM_PID=""
    rm -f "$RECORD"
    return 0
}

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
start_pg
STORE_EXTRA="backend = \"postgres\"
url = \"postgres://postgres@127.0.0.1:$PG_PORT/postgres\"" round postgres

field() { grep -o "$2=[0-9.]*" <<<"${RESULT[$1]}" | cut -d= -f2; }
for k in accepted_per_s segments_per_s; do
    e=$(field embedded $k) p=$(field postgres $k)
    [[ -n "$e" && -n "$p" ]] && awk -v e="$e" -v p="$p" -v k="$k" \
        'BEGIN { if (e > 0) printf "ratio postgres/embedded %s: %.0f%%\n", k, 100 * p / e }'
done
