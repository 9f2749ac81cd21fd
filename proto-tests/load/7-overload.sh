#!/usr/bin/env bash
# Scenario 7: overload. The SMSC takes SMSC_RATE submit_sm/s (past 1.2x that: ESME_RTHROTTLED)
# and ppgd is configured with that rate for the SMSC (`rate` in [[smsc]], as an operator would);
# the PI offers 3x that for DURATION (300s). SMSC_RATE_IN_PPGD=0 leaves ppgd's rate out, so that only
# the SMSC's ESME_RTHROTTLED holds it back. The queue fills to QUEUE_LIMIT, past which ppgd answers
# 4001 / HTTP 503 instead of growing; its RSS, sampled every 5 s from /proc, must stay flat
# (second-half peak at most 25% + 8 MB above the first-half peak), and every push it accepted
# must arrive.
source "$(dirname "$0")/lib.sh"
build
smsc_rate=${SMSC_RATE:-300}
duration=${DURATION:-300}
start_sim --throttle-rate $(( smsc_rate * 6 / 5 ))
ppgd_rate=${SMSC_RATE_IN_PPGD:-$smsc_rate}
if (( ppgd_rate > 0 )); then export SMSC_RATE_LIMIT=$ppgd_rate; fi
QUEUE_LIMIT=${QUEUE_LIMIT:-5000} write_config
start_ppgd
: >"$WORK/rss"
(
    while kill -0 "$PPGD_PID" 2>/dev/null; do
        echo "$SECONDS $(rss_kb "$PPGD_PID")" >>"$WORK/rss"
        sleep 5
    done
) &
sampler=$!
status=0
run_bench "7 overload-3x" --duration "${duration}s" --rate $(( 3 * smsc_rate )) \
    --concurrency "${CONCURRENCY:-64}" --content mms \
    --drain $(( ${QUEUE_LIMIT:-5000} / smsc_rate * 2 + 60 ))s --quiet >"$WORK/line" || status=$?
kill "$sampler" 2>/dev/null || true
# Samples taken while the load ran (the drain afterwards is not part of "flat").
read -r first_peak second_peak < <(awk -v d="$duration" '
    NR == 1 { t0 = $1 }
    { t = $1 - t0 }
    t <= d / 2 && $2 > a { a = $2 }
    t > d / 2 && t <= d && $2 > b { b = $2 }
    END { print a + 0, b + 0 }' "$WORK/rss")
flat=yes
if (( second_peak > first_peak * 5 / 4 + 8192 )); then flat=no; status=1; fi
rejected=$(grep -o 'rejected_4001=[0-9]*' "$WORK/line" | cut -d= -f2)
if (( ${rejected:-0} == 0 )); then status=1; fi
echo "$(cat "$WORK/line") rss_kb_first_half=$first_peak rss_kb_second_half=$second_peak flat=$flat"
exit $status
