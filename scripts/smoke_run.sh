#!/usr/bin/env bash
# Smoke test of `make run` on the embedded default (SQLite, filesystem broker), as a
# newcomer would start it: a fresh STATUSPAGE_VAR_DIR, no DATABASE_URL or REDIS_URL.
#
#   1. start `make run` in its own session, on a free port;
#   2. wait (bounded) until /health and then /ready answer 200; /ready needs the worker
#      and scheduler heartbeats, which beat sends on its schedule (CELERY_BEAT_SCHEDULE);
#   3. send SIGINT to make's process group, as a terminal Ctrl-C would;
#   4. check that the run said it stopped cleanly and that none of its processes remain.
#
# Every process of the run is found by its environment (STATUSPAGE_VAR_DIR is this run's
# own temporary folder), so other gunicorn or celery processes on the machine are ignored.
set -euo pipefail

cd "$(dirname "$0")/.."

READY_DEADLINE_S=${SMOKE_READY_DEADLINE_S:-90}
STOP_DEADLINE_S=${SMOKE_STOP_DEADLINE_S:-30}
VAR_DIR=$(mktemp -d -t statuspage-smoke.XXXXXX)
LOG=$VAR_DIR/run.log
MAKE_PID=""
PASSED=false

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
START_MS=$(now_ms)
elapsed() { awk -v ms=$(($(now_ms) - START_MS)) 'BEGIN { printf "%.1fs", ms / 1000 }'; }
say() { echo "smoke [$(elapsed)]: $*"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_pids() {
    local environ pid
    for environ in /proc/[0-9]*/environ; do
        pid=${environ#/proc/}
        pid=${pid%/environ}
        if grep -qxzF "STATUSPAGE_VAR_DIR=$VAR_DIR" "$environ" 2>/dev/null; then
            echo "$pid"
        fi
    done
}

show_pids() {
    local pids
    pids=$(run_pids | paste -sd, -)
    [ -n "$pids" ] && ps -o pid=,pgid=,args= -p "$pids" | cut -c1-150
    return 0
}

fail() {
    echo "smoke: FAIL after $(elapsed): $*" >&2
    echo "---- last 60 lines of the run's log ($LOG) ----" >&2
    tail -n 60 "$LOG" >&2 || true
    echo "---- end of log ----" >&2
    exit 1
}

cleanup() {
    local pids
    pids=$(run_pids)
    if [ -n "$pids" ]; then
        echo "smoke: killing leftover processes of this run: $(echo "$pids" | paste -sd' ' -)" >&2
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
    if $PASSED; then
        rm -rf "$VAR_DIR"
    else
        echo "smoke: the run's folder is kept for inspection: $VAR_DIR" >&2
    fi
}
trap cleanup EXIT

http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT$1" || true
}

start_run() {
    PORT=${SMOKE_PORT:-$(free_port)}
    say "starting make run on port $PORT (STATUSPAGE_VAR_DIR=$VAR_DIR)"
    # setsid: make leads its own process group and session, like a job in a terminal.
    env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u DEBUG -u PORT \
        STATUSPAGE_VAR_DIR="$VAR_DIR" PORT="$PORT" \
        setsid make run >"$LOG" 2>&1 </dev/null &
    MAKE_PID=$!
    local _
    for _ in $(seq 50); do
        [ "$(ps -o pgid= -p "$MAKE_PID" | tr -d ' ')" = "$MAKE_PID" ] && return 0
        sleep 0.1
    done
    fail "make (pid $MAKE_PID) did not become a process group leader"
}

wait_until_ready() {
    local deadline=$(($(now_ms) + READY_DEADLINE_S * 1000)) health="" ready=""
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if ! kill -0 "$MAKE_PID" 2>/dev/null; then
            local status=0
            wait "$MAKE_PID" || status=$?
            fail "make run exited by itself with status $status before /ready answered 200"
        fi
        health=$(http_code /health)
        if [ "$health" = 200 ]; then
            [ -n "${HEALTH_AT:-}" ] || { HEALTH_AT=$(elapsed); say "/health answered 200"; }
            ready=$(http_code /ready)
            if [ "$ready" = 200 ]; then
                say "/ready answered 200"
                return 0
            fi
        fi
        sleep 1
    done
    fail "no 200 from /health and /ready within ${READY_DEADLINE_S}s" \
        "(last: /health=$health /ready=${ready:-not asked}; /ready said:" \
        "$(curl -s --max-time 3 "http://127.0.0.1:$PORT/ready" || true))"
}

check_running() {
    say "/ready: $(curl -s --max-time 3 "http://127.0.0.1:$PORT/ready")"
    say "processes of this run:"
    local listing
    listing=$(show_pids)
    show_pids | sed 's/^/    /'
    # Quiet runs pass celery's global --quiet before the subcommand.
    for part in "gunicorn statuspage\.wsgi" "celery -A statuspage (--quiet )?worker" \
        "celery -A statuspage (--quiet )?beat" "-m statuspage\.core\.demo_target"; do
        grep -qE -- "$part" <<<"$listing" || fail "no '$part' process is running"
    done
    grep -qF "http://127.0.0.1:$PORT" "$LOG" || fail "the run did not print its URL"
    # The run prints the login once it has seen /ready answer 200 itself (polled every
    # second), so it may come a moment after this script saw it.
    local login_deadline=$(($(now_ms) + 15000))
    until grep -qE "Login +admin" "$LOG"; do
        [ "$(now_ms)" -lt "$login_deadline" ] || fail "the run did not print the admin login"
        sleep 0.5
    done
    # Quiet by default: no INFO lines from the parts; the login is the last thing printed.
    ! grep -qE "^(worker|beat|web) +\| .* INFO " "$LOG" || fail "the run printed INFO lines"
    [ -f "$VAR_DIR/local-checkout" ] || fail "the run did not mark the checkout"
}

stop_run() {
    say "sending SIGINT to make's process group ($MAKE_PID)"
    kill -INT -- "-$MAKE_PID"
    local deadline=$(($(now_ms) + STOP_DEADLINE_S * 1000))
    while kill -0 "$MAKE_PID" 2>/dev/null; do
        [ "$(now_ms)" -lt "$deadline" ] || fail "make run still running ${STOP_DEADLINE_S}s after SIGINT"
        sleep 0.2
    done
    local status=0
    wait "$MAKE_PID" || status=$?
    say "make exited with status $status"
    # make ends itself with the SIGINT it received (status 130) once its recipe has ended.
    case $status in
    0 | 130) ;;
    *) fail "make run exited with status $status after SIGINT (expected 0 or 130)" ;;
    esac
    grep -qF "stopped cleanly" "$LOG" || fail "the run did not report a clean stop"
    grep -E "^==> .*stopped cleanly" "$LOG" | sed 's/^/    /'
    sleep 0.5
    if [ -n "$(run_pids)" ]; then
        show_pids | sed 's/^/    /' >&2
        fail "processes of this run are still alive after make exited"
    fi
    say "no process of this run remains"
}

start_run
wait_until_ready
READY_AT=$(elapsed)
check_running
stop_run
PASSED=true
say "PASS: /health 200 after $HEALTH_AT, /ready 200 after $READY_AT, clean stop"
