#!/usr/bin/env bash
# Stop the private PostgreSQL / NATS servers that scripts/ensure-services.sh
# started under .data/. Servers it did not start (system services, other
# checkouts) are never touched.
#
#   scripts/stop-services.sh           stop them
#   scripts/stop-services.sh --clean   stop them, then delete .data/ (and the
#                                      /var/tmp cluster it may link to)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clean=""
case ${1:-} in
"") ;;
--clean) clean=1 ;;
*) die "usage: $0 [--clean]" ;;
esac

stop_postgres() {
	local pid bin ver=""
	if ! pid=$(pg_private_pid); then
		echo "postgres: no private server running"
		return 0
	fi
	[[ -f $PGDATA_DIR/PG_VERSION ]] && ver=$(<"$PGDATA_DIR/PG_VERSION")
	if bin=$(pg_bindir "$ver") &&
		as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null 2>&1; then
		echo "postgres: stopped private server (pid $pid)"
		return 0
	fi
	# pg_ctl unavailable or failed: SIGINT is postgres' "fast shutdown".
	kill -INT "$pid" 2>/dev/null || true
	wait_gone "$pid" 60 || die "postgres: private server (pid $pid) did not stop"
	echo "postgres: stopped private server (pid $pid)"
}

stop_nats() {
	local pid
	if ! pid=$(nats_private_pid); then
		rm -f "$NATS_PID"
		echo "nats: no private server running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 15; then
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || die "nats: private server (pid $pid) did not stop"
	fi
	rm -f "$NATS_PID"
	echo "nats: stopped private server (pid $pid)"
}

# wait_gone PID SECONDS
wait_gone() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}

if [[ -d $DATA_DIR ]]; then
	exec 9>"$DATA_DIR/.services.lock"
	if command -v flock >/dev/null 2>&1; then
		flock -w 300 9 || die "timed out waiting for $(rel "$DATA_DIR")/.services.lock"
	fi
fi

stop_postgres
stop_nats

if [[ -n $clean && -e $DATA_DIR ]]; then
	if [[ -L $PG_LINK ]]; then
		target=$(readlink -f "$PG_LINK")
		[[ $target == /var/tmp/kenduren-postgres-* ]] && rm -rf -- "$target"
	fi
	rm -rf -- "$DATA_DIR"
	echo "removed $(rel "$DATA_DIR")"
fi
