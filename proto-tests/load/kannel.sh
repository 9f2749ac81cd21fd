#!/usr/bin/env bash
# Scenario 1 against Debian's Kannel PPG and against ppgd, same `ppgd bench`, same payloads,
# same `ppgd sim` (zero latency), one after the other in one run. Prints both rows and the ratio.
#
# Kannel: bearerbox (SMPP client to the simulator) + wapbox (the PPG: group ppg, ppg-url
# /wappush, one wap-push-user with Basic credentials, trusted-pi = false so they are checked).
# Kannel speaks PAP 1.0 and answers 1001 (accepted for processing) as soon as the push is handed
# to the bearerbox; it keeps nothing on disk (no store-file). ppgd answers 1001 only after the
# push is synced to its store.
source "$(dirname "$0")/lib.sh"
KANNEL_PPG_PORT="${KANNEL_PPG_PORT:-18081}"
KANNEL_ADMIN_PORT="${KANNEL_ADMIN_PORT:-23000}"
KANNEL_WAPBOX_PORT="${KANNEL_WAPBOX_PORT:-23002}"
KANNEL_SMSBOX_PORT="${KANNEL_SMSBOX_PORT:-23001}"
# The defaults are the figures BENCHMARKS.md reports last (10 s each, 64 in flight).
# DURATION (seconds): both PPGs are loaded for the same wall-clock time. A fixed count gave ppgd
# a run ten times shorter than Kannel's, which one pause of the VM could swing. COUNT caps each
# run (default 1,000,000). DURATION= (empty): COUNT pushes each instead (default 20,000), as the
# figures before the sixth session were measured.
DURATION="${DURATION-10}"
if [[ -n "$DURATION" ]]; then
    COUNT="${COUNT:-1000000}"
    LOAD=(--count "$COUNT" --duration "${DURATION}s")
else
    COUNT="${COUNT:-20000}"
    LOAD=(--count "$COUNT")
fi
CONCURRENCY="${CONCURRENCY:-64}"
BB_PID=""
WB_PID=""
kannel_cleanup() {
    [[ -n "$WB_PID" ]] && kill "$WB_PID" 2>/dev/null && wait "$WB_PID" 2>/dev/null
    [[ -n "$BB_PID" ]] && kill "$BB_PID" 2>/dev/null && wait "$BB_PID" 2>/dev/null
    cleanup
}
trap kannel_cleanup EXIT

if ! command -v bearerbox >/dev/null && [[ ! -x /usr/sbin/bearerbox ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y kannel >"$WORK/apt.log" 2>&1
fi
export PATH="$PATH:/usr/sbin"
build
start_sim --latency 0s

cat >"$WORK/kannel.conf" <<CONF
group = core
admin-port = $KANNEL_ADMIN_PORT
admin-password = bench
admin-allow-ip = "127.0.0.1"
wapbox-port = $KANNEL_WAPBOX_PORT
smsbox-port = $KANNEL_SMSBOX_PORT
box-allow-ip = "127.0.0.1"
log-file = "$WORK/bearerbox.log"
log-level = 2

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = $SIM_PORT
transceiver-mode = true
smsc-username = wapgw
smsc-password = secret
system-type = ""
source-addr-ton = 0
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1
max-pending-submits = ${WINDOW:-50}

# Bearerbox wants an smsbox port (and group) once an SMSC is configured; no smsbox is started.
group = smsbox
bearerbox-host = 127.0.0.1

group = wapbox
bearerbox-host = 127.0.0.1
log-file = "$WORK/wapbox.log"
log-level = 2
smart-errors = false
concatenation = true
max-messages = 10

group = ppg
ppg-url = /wappush
ppg-port = $KANNEL_PPG_PORT
concurrent-pushes = 1000
users = 16
trusted-pi = false
ppg-allow-ip = "127.0.0.1"
global-sender = 12345
service-name = ppg

group = wap-push-user
wap-push-user = bench
ppg-username = $USER_NAME
ppg-password = $USER_PASS
allow-ip = "127.0.0.1"
CONF

"${PPG_ON[@]}" bearerbox "$WORK/kannel.conf" >"$WORK/bearerbox.out" 2>&1 &
BB_PID=$!
wait_until 30 "bearerbox" curl -s -o /dev/null "http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt"
"${PPG_ON[@]}" wapbox "$WORK/kannel.conf" >"$WORK/wapbox.out" 2>&1 &
WB_PID=$!
wait_until 30 "Kannel's PPG port" curl -s -o /dev/null "http://127.0.0.1:$KANNEL_PPG_PORT/"
wait_until 30 "Kannel's SMPP bind" bash -c "grep -qs 'binds=[1-9]' '$WORK/sim.log' || curl -s 'http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt?password=bench' | grep -q 'online'"

# A few pushes first (warm up, and fail early if the config is wrong).
PAP_URL="http://127.0.0.1:$KANNEL_PPG_PORT/wappush" run_bench "kannel warm-up" --count 20 \
    --concurrency 1 --pap-version 1.0 --drain 30s >/dev/null || { cat "$WORK/bench.out" "$WORK/bench.err"; tail -20 "$WORK"/wapbox.log; exit 1; }
k_status=0
# CPU time the PPG spends on the measured run (bearerbox + wapbox; ppgd below): on a machine where
# bench, simulator and PPG share two cores this is the like-for-like cost per push.
k_cpu0=$(cpu_ms "$BB_PID" "$WB_PID")
children_cpu_ms
k_rig0=$(( $(cpu_ms "$SIM_PID") + CHILDREN_MS ))
PAP_URL="http://127.0.0.1:$KANNEL_PPG_PORT/wappush" BENCH_OUT_COPY="$WORK/kannel.out" \
    run_bench "kannel" "${LOAD[@]}" --concurrency "$CONCURRENCY" --content "${CONTENT:-mms}" \
    --pap-version 1.0 --drain 120s --quiet || k_status=$?
kannel_line=$BENCH_LINE
k_cpu=$(( $(cpu_ms "$BB_PID" "$WB_PID") - k_cpu0 ))
children_cpu_ms
k_rig=$(( $(cpu_ms "$SIM_PID") + CHILDREN_MS - k_rig0 ))
kill "$WB_PID" "$BB_PID" 2>/dev/null || true
wait "$WB_PID" "$BB_PID" 2>/dev/null || true
WB_PID=""
BB_PID=""

write_config
start_ppgd
p_status=0
p_cpu0=$(cpu_ms "$PPGD_PID")
children_cpu_ms
p_rig0=$(( $(cpu_ms "$SIM_PID") + CHILDREN_MS ))
BENCH_OUT_COPY="$WORK/ppgd.out" run_bench "ppgd" "${LOAD[@]}" --concurrency "$CONCURRENCY" \
    --content "${CONTENT:-mms}" --pap-version 1.0 --drain 120s --quiet || p_status=$?
ppgd_line=$BENCH_LINE
p_cpu=$(( $(cpu_ms "$PPGD_PID") - p_cpu0 ))
children_cpu_ms
p_rig=$(( $(cpu_ms "$SIM_PID") + CHILDREN_MS - p_rig0 ))

field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
k_rate=$(field accepted_per_s "$kannel_line")
p_rate=$(field accepted_per_s "$ppgd_line")
k_p99=$(field p99_ms "$kannel_line")
p_p99=$(field p99_ms "$ppgd_line")
ratio=$(awk -v p="$p_rate" -v k="$k_rate" 'BEGIN { if (k > 0) printf "%.1f", p / k; else print "inf" }')
# CPU per accepted push (µs), accepting and delivering included (the bench drains before it
# returns).
k_n=$(field accepted "$kannel_line")
p_n=$(field accepted "$ppgd_line")
k_n=${k_n:-0}
p_n=${p_n:-0}
((k_n > 0)) || k_n=1
((p_n > 0)) || p_n=1
k_cpu_us=$(( k_cpu * 1000 / k_n ))
p_cpu_us=$(( p_cpu * 1000 / p_n ))
# The rig (bench + simulator) shares the same two cores: its CPU per push bounds what any PPG
# can reach here (2 cores / (PPG + rig) per push).
k_rig_us=$(( k_rig * 1000 / k_n ))
p_rig_us=$(( p_rig * 1000 / p_n ))
echo "against-kannel: ppgd/kannel accepted/s = $p_rate/$k_rate = ${ratio}x, p99 ppgd ${p_p99} ms vs kannel ${k_p99} ms, cpu_us_per_push ppgd ${p_cpu_us} vs kannel ${k_cpu_us} (bench+sim ${p_rig_us} / ${k_rig_us}), load=$(loadavg | tr ' ' ',')"
exit $(( p_status != 0 ))
