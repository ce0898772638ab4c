#!/usr/bin/env bash
# run-split.sh — the split deployment on this machine, every part its own process.
#
# Starts DynamoDB Local and the SQS emulator (scripts/emulators.sh; stopped again at
# the end if this script started them), creates the state table and the queues
# (devapi create-resources), starts the WhatsApp simulator with two fake phones
# (Alice 15550001111, Bob 15550002222), the connector process (connector/cmd/connector,
# WAGATE_CREATE_RESOURCES=1 makes its key table) and devapi, which serves the HTTP API
# as API Gateway events to the Lambda handlers, the admin page, and runs the events
# function on the events queue. Prints the admin URL with a token and the commands to
# link and send with the simulator. Ctrl-C stops everything (each process group).
#
# Settings (environment):
#   WAGATE_ADDR          devapi's address (default 127.0.0.1:8080; 127.0.0.1:0 picks a port)
#   WAGATE_REAL_WA=1     connect to the real WhatsApp instead of the simulator
#   WAGATE_SPLIT_RIE=1   run the functions' real bootstraps under the AWS Lambda Runtime
#                        Interface Emulator (installed by `make lambda-rie`)
#   SPLIT_DIR            logs and connector data (default .cache/split)
#
# GET /v1/events does not exist in the split deployment (webhooks carry events):
# set a session's webhookURL to an https receiver to get them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/bin"
DIR="${SPLIT_DIR:-$ROOT/.cache/split}"
ADDR="${WAGATE_ADDR:-127.0.0.1:8080}"
ALICE=15550001111
BOB=15550002222
READY_SECONDS=90
STOP_SECONDS=30 # the connector's shutdown budget is 25 s

die() { echo "run-split: $*" >&2; exit 1; }
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

command -v curl >/dev/null || die "run-split needs curl"
export GOFLAGS=-buildvcs=false

echo "==> building connector, devapi and wasim into $BIN"
mkdir -p "$BIN"
(cd "$ROOT/connector" && go build -trimpath -o "$BIN/connector" ./cmd/connector) || die "build connector failed"
(cd "$ROOT/functions" && go build -trimpath -o "$BIN/devapi" ./cmd/devapi) || die "build devapi failed"
(cd "$ROOT/wasim" && go build -trimpath -o "$BIN/wasim" ./cmd/wasim) || die "build wasim failed"
RIE_ARGS=()
if [ "${WAGATE_SPLIT_RIE:-}" = 1 ]; then
	make -s -C "$ROOT" lambda-rie || die "installing the runtime interface emulator failed"
	for name in api-sessions api-qr api-messages api-diagnostics events-consumer; do
		(cd "$ROOT/functions" && CGO_ENABLED=0 go build -tags lambda.norpc -trimpath \
			-o "$BIN/lambda-dev/$name/bootstrap" "./cmd/$name") || die "build $name failed"
	done
	RIE_ARGS=(-rie "$ROOT/.cache/bin/aws-lambda-rie" -bootstraps "$BIN/lambda-dev")
fi

rm -rf "$DIR"
mkdir -p "$DIR"
chmod 700 "$DIR"

pids=()
started_emulators=
stopping=
# stop ends every process group this script started (SIGTERM, then SIGKILL after
# STOP_SECONDS), then the emulators if this script started them.
stop() {
	[ -z "$stopping" ] || return 0
	stopping=1
	echo
	echo "==> stopping"
	local pid i
	for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < STOP_SECONDS * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	if [ -n "$started_emulators" ]; then "$ROOT/scripts/emulators.sh" stop || true; fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# start NAME LOG CMD...: run CMD in its own process group (setsid), output to LOG.
start() {
	local name=$1 log=$2
	shift 2
	setsid "$@" </dev/null >"$log" 2>&1 &
	pids+=($!)
	echo "    $name: pid $! (log $log)"
}

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

echo "==> AWS emulators"
if ! "$ROOT/scripts/emulators.sh" status >/dev/null 2>&1; then
	"$ROOT/scripts/emulators.sh" start || die "the emulators did not start"
	started_emulators=1
fi
source <("$ROOT/scripts/emulators.sh" env)

echo "==> state table and queues"
resources="$("$BIN/devapi" create-resources -table wagate-state -prefix wagate)" || die "creating the resources failed"
while IFS='=' read -r name value; do export "$name=$value"; done <<<"$resources"
KEY_TABLE=wagate-keys

SIM=
DIAL=()
if [ "${WAGATE_REAL_WA:-}" != 1 ]; then
	echo "==> WhatsApp simulator"
	start wasim "$DIR/wasim.log" "$BIN/wasim" serve --addr 127.0.0.1:0 --seed "wagate run-split"
	wait_for "$DIR/wasim.log" '"wasim_listening"' "${pids[-1]}" || { cat "$DIR/wasim.log" >&2; die "the simulator did not start"; }
	SIM_ADDR="$(sed -n 's/.*"msg":"wasim_listening".*"addr":"\([^"]*\)".*/\1/p' "$DIR/wasim.log" | head -1)"
	[ -n "$SIM_ADDR" ] || die "could not read the simulator's address from $DIR/wasim.log"
	SIM="http://$SIM_ADDR"
	for phone in "$ALICE Alice" "$BOB Bob"; do
		set -- $phone
		curl -fsS -X POST "$SIM/_sim/phones" -H 'Content-Type: application/json' \
			-d "{\"phone\":\"$1\",\"name\":\"$2\"}" >/dev/null || die "could not create phone $2"
	done
	DIAL=("WAGATE_WA_DIAL=$SIM_ADDR")
fi

echo "==> connector"
start connector "$DIR/connector.log" env "${DIAL[@]}" \
	WAGATE_STORE="dynamodb:$KEY_TABLE" WAGATE_CREATE_RESOURCES=1 \
	WAGATE_DATA="$DIR/connector" WAGATE_HEALTH_ADDR=127.0.0.1:0 WAGATE_LOG_FORMAT=json \
	WAGATE_CONNECTOR_ID="run-split-$(hostname)" "$BIN/connector"
wait_for "$DIR/connector.log" '"connector_ready"' "${pids[-1]}" || { tail -n 30 "$DIR/connector.log" >&2; die "the connector did not start"; }

echo "==> devapi (API Gateway and Lambda stand-in)"
TOKEN="$(random_hex 24)"
start devapi "$DIR/devapi.log" env WAGATE_ADDR="$ADDR" WAGATE_TOKENS="$TOKEN=default" \
	WAGATE_WEBHOOK_SECRET="${WAGATE_WEBHOOK_SECRET:-$(random_hex 24)}" WAGATE_WEBHOOK_ALLOW_PRIVATE=1 \
	"$BIN/devapi" -template "$ROOT/template.yaml" "${RIE_ARGS[@]}"
if ! wait_for "$DIR/devapi.log" '"devapi_listening"' "${pids[-1]}"; then
	tail -n 30 "$DIR/devapi.log" >&2
	die "devapi did not start (port busy? try WAGATE_ADDR=127.0.0.1:0 make run-split)"
fi
API="$(sed -n 's/.*"msg":"devapi_listening".*"url":"\([^"]*\)".*/\1/p' "$DIR/devapi.log" | head -1)"

cat <<EOF

wagate split deployment is running: connector process, Lambda handlers behind devapi,
DynamoDB Local and the SQS emulator$([ -n "$SIM" ] && echo ", the WhatsApp simulator").

  Admin page:  $API/#token=$TOKEN
               (create a session, Connect, then scan the QR$([ -n "$SIM" ] && echo " as Alice with step 3 below" || echo " with WhatsApp on your phone: Linked devices"))

Try it from a shell (copy these first):

  export WAGATE=$API TOKEN=$TOKEN SIM=$SIM
  auth="Authorization: Bearer \$TOKEN"; json='Content-Type: application/json'

  1. create a session and connect it:
     curl -s -X PUT "\$WAGATE/v1/sessions/desk" -H "\$auth" -H "\$json" -d '{"displayName":"Front desk"}'
     curl -s -X POST "\$WAGATE/v1/sessions/desk/connect" -H "\$auth"

  2. read the QR code (status "qr"):
     curl -s "\$WAGATE/v1/sessions/desk/qr" -H "\$auth"
EOF
if [ -n "$SIM" ]; then
	cat <<EOF

  3. scan it as Alice ($ALICE):
     QR=\$(curl -s "\$WAGATE/v1/sessions/desk/qr" -H "\$auth" | sed -n 's/.*"code":"\([^"]*\)".*/\1/p')
     curl -s -X POST "\$SIM/_sim/phones/$ALICE/scan" -d "{\"qr\":\"\$QR\"}"
     curl -s "\$WAGATE/v1/sessions/desk" -H "\$auth"          # status: connected

  4. send to Bob ($BOB), and list what Bob received:
     curl -s -X POST "\$WAGATE/v1/sessions/desk/messages" -H "\$auth" -H "\$json" -d '{"to":"$BOB","text":"hello Bob"}'
     curl -s "\$SIM/_sim/phones/$BOB/messages"

  5. Bob answers; read the inbox:
     curl -s -X POST "\$SIM/_sim/phones/$BOB/messages" -d '{"to":"$ALICE","text":"hi from Bob"}'
     curl -s "\$WAGATE/v1/sessions/desk/messages?direction=in" -H "\$auth"
EOF
fi
cat <<EOF

Events go to each session's webhookURL (https); there is no /v1/events stream here.
Logs: $DIR/{connector,devapi$([ -n "$SIM" ] && echo ",wasim")}.log. Ctrl-C stops everything.

EOF

# Stop when any process exits on its own.
wait -n "${pids[@]}" || true
[ -z "$stopping" ] || exit 0
echo "run-split: a process exited; see the logs in $DIR" >&2
exit 1
