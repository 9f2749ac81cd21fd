#!/usr/bin/env bash
# Where one PostgreSQL-backed instance spends the database's time: scenario 1 (`ppgd serve`
# against `ppgd sim --latency 0s`, COUNT (default 20000) one-segment MMS notifications,
# CONCURRENCY (default 64) in flight) on a throwaway PostgreSQL (lib.sh's pg_start) with
# pg_stat_statements loaded. Prints the bench line, then per push: the server's CPU (every
# server process, utime + stime from /proc, server start included) and ppgd's; each statement's
# calls, rows per call, execution time and WAL records; the heap-only (HOT) share of the updates
# per table; the WAL per push (all of it: commits, the statements, autovacuum). Bounded by the bench's --drain and timeouts.
source "$(dirname "$0")/lib.sh"
build
trap 'pg_stop; cleanup' EXIT

pg_start shared_preload_libraries=pg_stat_statements pg_stat_statements.track=all
pg_psql -c "CREATE EXTENSION pg_stat_statements"
start_sim --latency 0s
STORE_EXTRA="backend = \"postgres\"
url = \"$PG_URL\"" write_config
start_ppgd
N="${COUNT:-20000}"
run_bench postgres --count "$N" --concurrency "${CONCURRENCY:-64}" --content "${CONTENT:-mms}" \
    --drain 120s --max-duplicates 0 --quiet || true

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
server=0
postmaster=$(head -1 "$PG_DIR/data/postmaster.pid")
for pid in "$postmaster" $(pgrep -P "$postmaster" || true); do
    server=$((server + $(ticks "$pid")))
done
awk -v s="$server" -v p="$(ticks "$PPGD_PID")" -v hz="$hz" -v n="$N" \
    'BEGIN { printf "cpu per push: server %.0f us, ppgd %.0f us\n", s * 1e6 / hz / n, p * 1e6 / hz / n }'
# The cumulative statistics of a backend reach the views when it exits (or after seconds idle):
# ppgd stops first (its CPU was read above).
stop_instance
sleep 1
pg_psql -c "SELECT calls, round(rows::numeric / calls, 1) AS rows_per_call,
        round((total_exec_time * 1000 / $N)::numeric, 1) AS exec_us_per_push,
        round((wal_records::numeric / $N), 2) AS wal_records_per_push,
        left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS statement
    FROM pg_stat_statements
    WHERE calls > 10 AND query !~* '^(BEGIN|COMMIT|SET|SELECT pg_notify)'
    ORDER BY total_exec_time DESC LIMIT 12"
pg_psql -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd,
        round(100.0 * n_tup_hot_upd / NULLIF(n_tup_upd, 0)) AS hot_pct
    FROM pg_stat_user_tables WHERE n_tup_ins > 0 ORDER BY relname"
pg_psql -c "SELECT round(wal_records::numeric / $N, 1) AS wal_records_per_push,
        round(wal_bytes::numeric / $N) AS wal_bytes_per_push, wal_sync FROM pg_stat_wal"
