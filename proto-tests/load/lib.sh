# Shared by the load scenarios: build, start `ppgd sim` and `ppgd serve` as separate processes on
# 127.0.0.1, run `ppgd bench`, print one summary line, clean up only what we started.
# Sourced, not run. (The binary override is LOAD_BIN, not PPGD_*: ppgd reads PPGD_* as config.)
# Every scenario is bounded: counts, durations and drains are finite.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PPGD="${LOAD_BIN:-$ROOT/target/dist/ppgd}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ppgd-load.XXXXXX")"
PAP_PORT="${PAP_PORT:-18080}"
METRICS_PORT="${METRICS_PORT:-19100}"
SIM_PORT="${SIM_PORT:-12775}"
USER_NAME=bench
USER_PASS=bench
PAP_URL="http://127.0.0.1:$PAP_PORT/wappush"
RECORD="$WORK/record.jsonl"
SIM_PID=""
PPGD_PID=""
# Optional CPU pinning (taskset lists, e.g. RIG_CPUS=0 PPG_CPUS=1): the rig (simulator and bench)
# on some cores, the gateway under test (ppgd, or Kannel's boxes in kannel.sh) on others, so the
# load generator does not take CPU from what it measures. Unset: everything shares every core.
RIG_CPUS="${RIG_CPUS:-}"
PPG_CPUS="${PPG_CPUS:-}"
# Command prefixes that start a process on those CPUs (empty: no pinning). A prefix, not a shell
# function, so that `$!` of a background start is the process itself. A tokio runtime started
# this way sizes its thread pool to the allowed CPUs.
RIG_ON=()
PPG_ON=()
[[ -n "$RIG_CPUS" ]] && RIG_ON=(taskset -c "$RIG_CPUS")
[[ -n "$PPG_CPUS" ]] && PPG_ON=(taskset -c "$PPG_CPUS")

build() {
    if [[ -z "${LOAD_BIN:-}" && "${SKIP_BUILD:-0}" != 1 ]]; then
        (cd "$ROOT" && cargo build --profile dist --quiet)
    fi
    [[ -x "$PPGD" ]] || { echo "no ppgd binary at $PPGD" >&2; exit 2; }
}

cleanup() {
    [[ -n "$PPGD_PID" ]] && kill "$PPGD_PID" 2>/dev/null && wait "$PPGD_PID" 2>/dev/null
    [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
    if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
    return 0
}
trap cleanup EXIT

# start_sim [ppgd sim flags...]
start_sim() {
    "${RIG_ON[@]}" "$PPGD" sim --listen "127.0.0.1:$SIM_PORT" --record "$RECORD" --report-every 10s "$@" \
        >"$WORK/sim.log" 2>&1 &
    SIM_PID=$!
    wait_until 10 "the simulator" grep -qs "listening" "$WORK/sim.log"
}

# write_config — sessions/window as in config/demo.toml. STORE_EXTRA: TOML lines added to [store]
# (e.g. backend = "postgres" and its url; see pg-vs-embedded.sh).
write_config() {
    cat >"$WORK/ppgd.toml" <<TOML
[pap]
listen = "127.0.0.1:$PAP_PORT"
[[pap.pi]]
name = "bench"
username = "$USER_NAME"
password = "$USER_PASS"
allow_ips = ["127.0.0.0/8"]
[store]
path = "$WORK/store"
queue_limit = ${QUEUE_LIMIT:-1000000}
${STORE_EXTRA:-}
[[smsc]]
name = "sim"
host = "127.0.0.1"
port = $SIM_PORT
system_id = "wapgw"
password = "secret"
sessions = ${SESSIONS:-2}
window = ${WINDOW:-50}
${SMSC_RATE_LIMIT:+rate = $SMSC_RATE_LIMIT.0}
reconnect_min = "100ms"
reconnect_max = "2s"
[dispatch]
retry_min = "1s"
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[log]
level = "warn"
TOML
}

start_ppgd() {
    "${PPG_ON[@]}" "$PPGD" serve --config "$WORK/ppgd.toml" >>"$WORK/ppgd.log" 2>&1 &
    PPGD_PID=$!
    wait_until 30 "ppgd ready" curl -sf "http://127.0.0.1:$METRICS_PORT/readyz" -o /dev/null
}

# wait_until SECONDS WHAT command...
wait_until() {
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@"; do
        if ((SECONDS >= end)); then
            echo "timed out waiting for $what" >&2
            tail -n 20 "$WORK"/*.log >&2 || true
            exit 2
        fi
        sleep 0.2
    done
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# cpu_ms PID...: user+system CPU time (ms) the processes have used so far (their own, not children).
cpu_ms() {
    local total=0 pid ticks
    local hz
    hz=$(getconf CLK_TCK)
    for pid in "$@"; do
        ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ticks))
    done
    echo $((total * 1000 / hz))
}

# children_cpu_ms: user+system CPU time (ms) of this shell's finished children (`times`, 2nd
# line), e.g. around a `ppgd bench` run. `times` must run in this shell, not in a `$(...)`
# subshell (whose children are its own): call it as `children_cpu_ms; x=$CHILDREN_MS`.
children_cpu_ms() {
    times >"$WORK/times"
    CHILDREN_MS=$(sed -n 2p "$WORK/times" | awk '{
        n = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); n += a[1] * 60 + a[2] }
        printf "%d\n", n * 1000 }')
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# run_bench NAME [ppgd bench flags...]: prints "NAME: <bench line> load=..." and returns bench's status.
run_bench() {
    local name=$1
    shift
    local status=0
    # The rig's CPU over this run: the bench (a child of this shell: `times`) and the simulator.
    local bench0 sim0=0
    children_cpu_ms
    bench0=$CHILDREN_MS
    [[ -n "$SIM_PID" ]] && sim0=$(cpu_ms "$SIM_PID")
    "${RIG_ON[@]}" "$PPGD" bench --url "$PAP_URL" --username "$USER_NAME" --password "$USER_PASS" \
        --sim-record "$RECORD" "$@" >"$WORK/bench.out" 2>"$WORK/bench.err" || status=$?
    children_cpu_ms
    local bench_ms=$((CHILDREN_MS - bench0)) sim_ms=0
    [[ -n "$SIM_PID" && -d "/proc/$SIM_PID" ]] && sim_ms=$(( $(cpu_ms "$SIM_PID") - sim0 ))
    BENCH_LINE="$(grep '^bench: ' "$WORK/bench.out" | sed 's/^bench: //')"
    # ppgd's CPU (user + system since it started) per accepted push, when this script runs it
    # and it is still the process that took the pushes (not after a restart, as in scenario 6).
    local accepted
    accepted=$(grep -o 'accepted=[0-9]*' <<<"$BENCH_LINE" | cut -d= -f2)
    if [[ -n "$PPGD_PID" && -d "/proc/$PPGD_PID" && -n "$BENCH_LINE" && "${accepted:-0}" -gt 0 ]]; then
        BENCH_LINE+=" ppgd_cpu_us_per_push=$(awk -v ms="$(cpu_ms "$PPGD_PID")" -v n="$accepted" \
            'BEGIN { printf "%.1f", ms * 1000 / n }')"
    fi
    # The rig's CPU per accepted push (bench: sends and the record check; sim: over the same time).
    if [[ -n "$BENCH_LINE" && "${accepted:-0}" -gt 0 ]]; then
        BENCH_LINE+=" $(awk -v b="$bench_ms" -v s="$sim_ms" -v n="$accepted" \
            'BEGIN { printf "bench_cpu_us_per_push=%.1f sim_cpu_us_per_push=%.1f", b * 1000 / n, s * 1000 / n }')"
    fi
    if [[ -z "$BENCH_LINE" ]]; then
        echo "$name: FAIL (no summary) $(tail -3 "$WORK/bench.err" | tr '\n' ' ')"
        return 1
    fi
    if ((status == 0)); then
        echo "$name: PASS $BENCH_LINE ${EXTRA:-}load=$(loadavg | tr ' ' ',')"
    else
        echo "$name: FAIL $BENCH_LINE ${EXTRA:-}load=$(loadavg | tr ' ' ',') ($(tail -1 "$WORK/bench.err"))"
    fi
    cp "$WORK/bench.out" "${BENCH_OUT_COPY:-/dev/null}" 2>/dev/null || true
    return $status
}

# stop_instance: ends the ppgd and simulator of one round (only the ones this script started),
# for scripts that run several rounds.
stop_instance() {
    [[ -n "$PPGD_PID" ]] && kill "$PPGD_PID" 2>/dev/null && wait "$PPGD_PID" 2>/dev/null
    [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
    PPGD_PID="" SIM_PID=""
    rm -f "$RECORD"
    return 0
}

# A throwaway PostgreSQL server for the store's load runs (pg-vs-embedded.sh, pg-profile.sh):
# Debian's newest /usr/lib/postgresql/*/bin, fsync=on, default synchronous_commit=on, loopback
# only, on PG_PORT (default 15432), as the `postgres` user when run as root (the server refuses
# root). pg_start [postgres -c options...]; pg_stop is safe to call twice; pg_psql runs psql.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
PG_PORT="${PG_PORT:-15432}"
PG_DIR="$WORK/pg"
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
    [[ -x "$PG_BIN/initdb" ]] || { echo "no PostgreSQL server under /usr/lib/postgresql/*/bin" >&2; exit 2; }
    mkdir -p "$PG_DIR"
    if [[ $(id -u) == 0 ]]; then chown postgres: "$PG_DIR" && chmod 755 "$WORK"; fi
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1
    local opts="-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=on -c max_connections=200 -c shared_buffers=64MB"
    local o
    for o in "$@"; do opts+=" -c $o"; done
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/server.log" -o "$opts" start >/dev/null
}
pg_stop() {
    [[ -d "$PG_DIR/data" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1
    return 0
}
pg_psql() { as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -X -q "$@"; }
