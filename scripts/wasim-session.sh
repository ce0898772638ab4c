#!/usr/bin/env bash
# wasim-session.sh — a scripted session against the WhatsApp simulator.
#
# Builds wasim and simclient, starts `wasim serve --strict` on a free loopback port,
# creates two fake phones with the control API, links simclient (an unmodified
# whatsmeow client) to the first phone by scanning its QR code, and checks the whole
# round trip with curl:
#
#   client → second phone (exact text in the phone's inbox),
#   second phone → client (the client prints the message),
#   delivered and read receipts from the second phone → client,
#   no strict-mode violations on the simulator.
#
# Every wait has a timeout; everything started here is stopped on exit. Prints a
# short transcript and PASS (exit 0) or FAIL (exit 1).
#
#   scripts/wasim-session.sh            # WASIM_SESSION_TIMEOUT=30 bounds each wait (seconds)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TIMEOUT="${WASIM_SESSION_TIMEOUT:-30}"
ALICE=15550001111 # the phone simclient links to
BOB=15550002222   # the phone simclient writes to
TEXT="hello Bob, it's simclient ✓ $RANDOM"
REPLY="hi Alice, got it ✓ $RANDOM"

WORK="$(mktemp -d)"
WASIM_PID=""
CLIENT_PID=""
START=$EPOCHREALTIME
RESULT=FAIL

# Steps go to fd 3, the script's stdout, also from inside command substitutions.
exec 3>&1
say() { printf '[%ss] %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$START" 'BEGIN { printf "%6.2f", a - b }')" "$*" >&3; }
fail() { say "FAIL: $*"; exit 1; }

stop() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}

finish() {
	local rc=$?
	stop "$CLIENT_PID"
	stop "$WASIM_PID"
	[ "$rc" -eq 0 ] && [ "$RESULT" = PASS ] || RESULT=FAIL
	echo "---- simclient output ----"
	sed -E 's/^(QR: .{24}).*/\1…/' "$WORK/client.out" 2>/dev/null || true
	if [ "$RESULT" = FAIL ]; then
		echo "---- simclient stderr (last 20 lines) ----"
		tail -n 20 "$WORK/client.err" 2>/dev/null || true
		echo "---- wasim log (last 20 lines) ----"
		tail -n 20 "$WORK/wasim.log" 2>/dev/null || true
	fi
	echo "--------------------------"
	echo "$RESULT"
	rm -rf "$WORK"
	[ "$RESULT" = PASS ] && exit 0 || exit 1
}
trap finish EXIT
trap 'exit 1' INT TERM

# wait_line FILE ERE: waits up to TIMEOUT seconds for a line matching ERE and prints it.
wait_line() {
	local file=$1 re=$2 deadline=$((SECONDS + TIMEOUT)) line
	while [ "$SECONDS" -lt "$deadline" ]; do
		if line="$(grep -m1 -E -- "$re" "$file" 2>/dev/null)"; then
			printf '%s\n' "$line"
			return 0
		fi
		if [ -n "$CLIENT_PID" ] && ! kill -0 "$CLIENT_PID" 2>/dev/null && [ "$file" = "$WORK/client.out" ]; then
			fail "simclient exited while waiting for /$re/"
		fi
		sleep 0.1
	done
	fail "no line matching /$re/ in $(basename "$file") within ${TIMEOUT}s"
}

# api METHOD PATH [JSON]: calls the control API; prints the body, fails on a non-2xx answer.
api() {
	local method=$1 path=$2 body=${3:-} out code
	out="$(curl -sS --max-time "$((TIMEOUT + 15))" -X "$method" -H 'Content-Type: application/json' \
		${body:+--data "$body"} -w '\n%{http_code}' "http://$ADDR$path")" || fail "curl $method $path failed"
	code="${out##*$'\n'}"
	out="${out%$'\n'*}"
	[ "${code:0:1}" = 2 ] || fail "$method $path answered $code: $out"
	printf '%s\n' "$out"
}

ere_escape() { printf '%s' "$1" | sed -e 's/[][\.*^$(){}?+|/]/\\&/g'; }

say "build wasim and simclient"
(cd "$ROOT/wasim" && GOFLAGS=-buildvcs=false go build -o "$WORK/wasim" ./cmd/wasim &&
	GOFLAGS=-buildvcs=false go build -o "$WORK/simclient" ./cmd/simclient) || fail "build failed"

# Port 0: the kernel picks a free port and wasim logs the address it bound.
"$WORK/wasim" serve --addr 127.0.0.1:0 --strict >"$WORK/wasim.log" 2>&1 &
WASIM_PID=$!
ADDR="$(wait_line "$WORK/wasim.log" '"msg":"wasim_listening"' | jq -r .addr)"
[ -n "$ADDR" ] && [ "$ADDR" != null ] || fail "wasim did not report its address"
say "wasim serve listening on $ADDR (pid $WASIM_PID)"
api GET /_sim/health >/dev/null

api POST /_sim/phones "$(jq -nc --arg p "$ALICE" '{phone:$p,name:"Alice"}')" >/dev/null
api POST /_sim/phones "$(jq -nc --arg p "$BOB" '{phone:$p,name:"Bob"}')" >/dev/null
say "created phones Alice ($ALICE) and Bob ($BOB)"

"$WORK/simclient" -sim "$ADDR" -to "$BOB" -text "$TEXT" -wait "$((4 * TIMEOUT))s" \
	>"$WORK/client.out" 2>"$WORK/client.err" &
CLIENT_PID=$!
QR="$(wait_line "$WORK/client.out" '^QR: 2@' | sed 's/^QR: //')"
say "simclient shows QR ${QR:0:20}…"

DEVICE="$(api POST "/_sim/phones/$ALICE/scan" "$(jq -nc --arg qr "$QR" '{qr:$qr}')" | jq -r .jid)"
say "Alice scanned it: device $DEVICE"
wait_line "$WORK/client.out" "^CONNECTED jid=$(ere_escape "$DEVICE")\$" >/dev/null
say "simclient connected as $DEVICE"

MSG_ID="$(wait_line "$WORK/client.out" '^SENT id=' | sed -E 's/^SENT id=([^ ]+).*/\1/')"
say "simclient sent $MSG_ID to Bob"
deadline=$((SECONDS + TIMEOUT))
until got="$(api GET "/_sim/phones/$BOB/messages" | jq -r --arg id "$MSG_ID" '.messages[] | select(.id == $id) | .text')" &&
	[ -n "$got" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "Bob's phone never received $MSG_ID"
	sleep 0.1
done
[ "$got" = "$TEXT" ] || fail "Bob's phone got text '$got', want '$TEXT'"
say "Bob's phone has the exact text: $got"

REPLY_ID="$(api POST "/_sim/phones/$BOB/messages" "$(jq -nc --arg to "$ALICE" --arg t "$REPLY" '{to:$to,text:$t}')" | jq -r .id)"
say "Bob replied $REPLY_ID"
want="RECV from=$BOB@s.whatsapp.net id=$REPLY_ID text=\"$REPLY\""
wait_line "$WORK/client.out" "^$(ere_escape "$want")\$" >/dev/null
say "simclient received: $want"

for kind in delivered read; do
	api POST "/_sim/phones/$BOB/receipts" "$(jq -nc --arg id "$MSG_ID" --arg k "$kind" '{messageId:$id,type:$k}')" >/dev/null
	wait_line "$WORK/client.out" "^RECEIPT id=$MSG_ID type=$kind from=$BOB@" >/dev/null
	say "simclient got the $kind receipt for $MSG_ID"
done

connected="$(api GET /_sim/devices | jq -r --arg j "$DEVICE" '.devices[] | select(.jid == $j) | .connected')"
[ "$connected" = true ] || fail "/_sim/devices says $DEVICE connected=$connected"
violations="$(api GET /_sim/violations | jq '.violations | length')"
[ "$violations" = 0 ] || fail "wasim recorded $violations strict-mode violation(s): $(api GET /_sim/violations)"
say "device listed as connected; no strict-mode violations"

stop "$CLIENT_PID"
CLIENT_PID=""
grep -q '^EXIT reason=signal' "$WORK/client.out" || fail "simclient did not exit cleanly"
say "simclient stopped cleanly"
RESULT=PASS
