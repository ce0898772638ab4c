#!/usr/bin/env bash
# demo.sh — wagate against the WhatsApp simulator, with two fake phones.
#
# Builds wasim and wagate (bin/), starts `wasim serve` on a free loopback port,
# creates two phones (Alice 15550001111, Bob 15550002222), starts wagate with
# WAGATE_WA_DIAL pointing at the simulator and its data in .cache/demo, prints the
# admin page URL and the commands to try, then follows wagate's log. Ctrl-C stops both.
#
# Settings (environment): WAGATE_ADDR (default 127.0.0.1:8080; 127.0.0.1:0 picks a
# free port), DEMO_DIR (default .cache/demo), DEMO_KEEP=1 keeps the previous demo's
# data (the simulator forgets its accounts on every start, so links do not carry over).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/bin"
DIR="${DEMO_DIR:-$ROOT/.cache/demo}"
ADDR="${WAGATE_ADDR:-127.0.0.1:8080}"
ALICE=15550001111
BOB=15550002222
READY_SECONDS=30

die() { echo "demo: $*" >&2; exit 1; }

command -v curl >/dev/null || die "the demo needs curl"
make -s -C "$ROOT" build >/dev/null || die "build failed (run: make build)"

if [ "${DEMO_KEEP:-}" != 1 ]; then rm -rf "$DIR"; fi
mkdir -p "$DIR"
chmod 700 "$DIR"

pids=()
stopping=
stop() {
	[ -z "$stopping" ] || return 0
	stopping=1
	echo
	echo "==> stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# wait_for FILE PATTERN PID: wait until FILE has a line matching PATTERN, or fail if
# PID exits or READY_SECONDS pass.
wait_for() {
	local file=$1 pattern=$2 pid=$3 i
	for ((i = 0; i < READY_SECONDS * 10; i++)); do
		if grep -qE "$pattern" "$file" 2>/dev/null; then return 0; fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

echo "==> starting the WhatsApp simulator"
"$BIN/wasim" serve --addr 127.0.0.1:0 --seed "wagate demo" >"$DIR/wasim.log" 2>&1 &
pids+=($!)
wait_for "$DIR/wasim.log" '"wasim_listening"' "${pids[0]}" || { cat "$DIR/wasim.log" >&2; die "the simulator did not start"; }
SIM_ADDR="$(sed -n 's/.*"msg":"wasim_listening".*"addr":"\([^"]*\)".*/\1/p' "$DIR/wasim.log" | head -1)"
[ -n "$SIM_ADDR" ] || die "could not read the simulator's address from $DIR/wasim.log"
SIM="http://$SIM_ADDR"

for phone in "$ALICE Alice" "$BOB Bob"; do
	set -- $phone
	curl -fsS -X POST "$SIM/_sim/phones" -H 'Content-Type: application/json' \
		-d "{\"phone\":\"$1\",\"name\":\"$2\"}" >/dev/null || die "could not create phone $2"
done

echo "==> starting wagate (data in $DIR/data)"
WAGATE_ADDR="$ADDR" WAGATE_DATA="$DIR/data" WAGATE_WA_DIAL="$SIM_ADDR" WAGATE_LOG_FORMAT=text \
	"$BIN/wagate" >"$DIR/wagate.out" 2>"$DIR/wagate.log" &
pids+=($!)
if ! wait_for "$DIR/wagate.out" '#token=' "${pids[1]}"; then
	cat "$DIR/wagate.log" >&2
	die "wagate did not start (port busy? try WAGATE_ADDR=127.0.0.1:0 make demo)"
fi
PAGE="$(grep -o 'http://[^ ]*#token=[^ ]*' "$DIR/wagate.out" | head -1)"
API="${PAGE%%/#token=*}"
TOKEN="${PAGE##*#token=}"

cat <<EOF

wagate demo is running against the WhatsApp simulator.

  Admin page:  $PAGE
               (Messenger Settings: create a session, click Connect, then scan
               the QR as Alice with step 3 below)

Try it from a shell (copy these first):

  export WAGATE=$API TOKEN=$TOKEN SIM=$SIM
  auth="Authorization: Bearer \$TOKEN"; json='Content-Type: application/json'

  1. create a session and connect it:
     curl -s -X PUT "\$WAGATE/v1/sessions/desk" -H "\$auth" -H "\$json" -d '{"displayName":"Front desk"}'
     curl -s -X POST "\$WAGATE/v1/sessions/desk/connect" -H "\$auth"

  2. read the QR code (status "qr"):
     curl -s "\$WAGATE/v1/sessions/desk/qr" -H "\$auth"

  3. scan it as Alice ($ALICE) — paste the code, or let sed pick it:
     curl -s -X POST "\$SIM/_sim/phones/$ALICE/scan" -d '{"qr":"<code from step 2>"}'
     QR=\$(curl -s "\$WAGATE/v1/sessions/desk/qr" -H "\$auth" | sed -n 's/.*"code":"\([^"]*\)".*/\1/p')
     curl -s -X POST "\$SIM/_sim/phones/$ALICE/scan" -d "{\"qr\":\"\$QR\"}"
     curl -s "\$WAGATE/v1/sessions/desk" -H "\$auth"          # status: connected

  4. send to Bob ($BOB), and list what Bob received:
     curl -s -X POST "\$WAGATE/v1/sessions/desk/messages" -H "\$auth" -H "\$json" -d '{"to":"$BOB","text":"hello Bob"}'
     curl -s "\$SIM/_sim/phones/$BOB/messages"

  5. Bob answers; read the inbox (or watch it live: curl -N "\$WAGATE/v1/events" -H "\$auth"):
     curl -s -X POST "\$SIM/_sim/phones/$BOB/messages" -d '{"to":"$ALICE","text":"hi from Bob"}'
     curl -s "\$WAGATE/v1/sessions/desk/messages?direction=in" -H "\$auth"

Logs: $DIR/wagate.log and $DIR/wasim.log. Following wagate's log; Ctrl-C stops the demo.

EOF

tail -n +1 -F "$DIR/wagate.log" &
pids+=($!)
# Stop when either server exits on its own.
wait -n "${pids[0]}" "${pids[1]}" || true
[ -z "$stopping" ] || exit 0
echo "demo: a server exited; see $DIR/wagate.log and $DIR/wasim.log" >&2
exit 1
