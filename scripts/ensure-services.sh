#!/usr/bin/env bash
# Make sure PostgreSQL and NATS (with JetStream) are reachable at
# KENDUREN_DATABASE_URL / KENDUREN_NATS_URL. Whatever is already listening is
# used as is; otherwise a private server is started under .data/ (installing
# the Debian package first when running as root). Idempotent: a second run
# finds the servers started by the first. Stop the private servers with
# scripts/stop-services.sh.
#
# --for-tests: also make sure the nats-server binary is installed even when a NATS
# server is already reachable, since some tests start private servers of their own
# (installed with apt-get when root; otherwise the exact command is printed and the
# script fails).
set -euo pipefail

FOR_TESTS=""
for arg in "$@"; do
	case $arg in
	--for-tests) FOR_TESTS=1 ;;
	*)
		printf 'usage: %s [--for-tests]\n' "$0" >&2
		exit 2
		;;
	esac
done

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATABASE_URL=${KENDUREN_DATABASE_URL:-$DEFAULT_DATABASE_URL}
NATS_URL=${KENDUREN_NATS_URL:-$DEFAULT_NATS_URL}

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=""

# apt_install SERVICE PACKAGE [WHY]: install PACKAGE when root on Debian/Ubuntu,
# otherwise print the command to run and fail. WHY says what is missing.
apt_install() {
	local svc=$1 pkg=$2 why=${3:-"not reachable and not installed"} log="$DATA_DIR/apt-$2.log"
	if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
		die "$svc: $why; install it with: sudo apt-get update && sudo apt-get install -y $pkg"
	fi
	echo "$svc: $why; running apt-get install -y $pkg (log: $(rel "$log"))"
	{
		if [[ -z $APT_UPDATED ]]; then
			apt-get update -q && APT_UPDATED=1
		fi
		apt-get install -y -q "$pkg"
	} </dev/null >"$log" 2>&1 9>&- || {
		tail -n 20 "$log" >&2
		die "$svc: apt-get install -y $pkg failed (see $(rel "$log"))"
	}
}

# ---------------------------------------------------------------- PostgreSQL

# pg_probe HOST PORT: 0 accepting connections, 1 starting up / rejecting,
# 2 nothing (usable) there.
pg_probe() {
	local rc=0
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h "$1" -p "$2" -U postgres -d postgres -t 3 >/dev/null 2>&1 || rc=$?
		case $rc in
		0) return 0 ;;
		1) return 1 ;;
		*) return 2 ;;
		esac
	fi
	tcp_open "$1" "$2" && return 0
	return 2
}

# pg_wait HOST PORT SECONDS: wait while the server reports "starting up".
pg_wait() {
	local i rc
	for ((i = 0; i < $3; i++)); do
		rc=0
		pg_probe "$1" "$2" || rc=$?
		[[ $rc -eq 1 ]] || return "$rc"
		sleep 1
	done
	return 1
}

psql_bin() {
	if command -v psql >/dev/null 2>&1; then
		command -v psql
	elif [[ -n ${PG_BIN:-} && -x $PG_BIN/psql ]]; then
		printf '%s' "$PG_BIN/psql"
	else
		return 1
	fi
}

# pg_provision ROLE_ATTRS: through the admin connection (user postgres,
# database postgres), create the URL's role and database when missing.
# Prints what it created.
pg_provision() {
	local attrs=$1 psql out
	psql=$(psql_bin) || return 1
	out=$(PGCONNECT_TIMEOUT=5 "$psql" -X -q -At -v ON_ERROR_STOP=1 \
		-h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres \
		-v u="$PG_USER" -v pw="$PG_PASS" -v d="$PG_DB" 2>&1 <<SQL
SELECT 'created role ' || :'u' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u');
SELECT CASE WHEN :'pw' = '' THEN format('CREATE ROLE %I LOGIN $attrs', :'u')
            ELSE format('CREATE ROLE %I LOGIN $attrs PASSWORD %L', :'u', :'pw') END
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SELECT 'created database ' || :'d' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'d');
SELECT format('CREATE DATABASE %I OWNER %I', :'d', :'u')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'d') \gexec
SQL
	) || {
		printf '%s\n' "$out" >&2
		return 1
	}
	printf '%s' "$out" | paste -sd, - | sed 's/,/, /g'
}

# Prepare $PG_DIR (owned by the postgres system user when root).
pg_prepare_dir() {
	mkdir -p "$DATA_DIR"
	[[ -e $PG_LINK ]] && return 0
	if ! is_root; then
		mkdir -m 700 "$PG_LINK"
		return 0
	fi
	id -u "$PG_OS_USER" >/dev/null 2>&1 ||
		die "postgres: system user '$PG_OS_USER' does not exist (it comes with the postgresql package)"
	if as_pg test -x "$DATA_DIR" 2>/dev/null; then
		mkdir -m 700 "$PG_LINK"
	else
		# The postgres user cannot traverse the path to the repository:
		# keep the cluster in /var/tmp and link it from .data/postgres.
		local real
		real="/var/tmp/kenduren-postgres-$(printf '%s' "$DATA_DIR" | cksum | cut -d' ' -f1)"
		if [[ ! -d $real ]]; then
			mkdir -m 700 "$real"
		elif [[ $(stat -c %U "$real") != "$PG_OS_USER" && $(stat -c %u "$real") != 0 ]]; then
			die "postgres: $real exists and is owned by someone else; remove it"
		fi
		ln -s "$real" "$PG_LINK"
	fi
	pg_resolve_dirs
	chown "$PG_OS_USER": "$PG_DIR"
}

pg_write_conf() {
	local listen=$PG_HOST
	[[ $listen == 0.0.0.0 ]] && listen='*'
	as_pg tee "$PGDATA_DIR/kenduren.conf" >/dev/null <<CONF
# Written by scripts/ensure-services.sh on every start; edit the script instead.
listen_addresses = '$listen'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 300
# Throwaway development/test instance: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

pg_start_private() {
	local ver="" rc
	if ! PG_BIN=$(pg_bindir); then
		apt_install postgres postgresql
		# The package may have started its own cluster on this very port.
		rc=0
		pg_wait "$PG_HOST" "$PG_PORT" 10 || rc=$?
		if [[ $rc -eq 0 ]]; then
			echo "postgres: installed; the packaged cluster now answers at $PG_HOST:$PG_PORT"
			pg_after_found
			return 0
		fi
		PG_BIN=$(pg_bindir) || die "postgres: installed postgresql but found no initdb/pg_ctl"
	fi
	pg_prepare_dir
	if [[ -f $PGDATA_DIR/PG_VERSION ]]; then
		ver=$(<"$PGDATA_DIR/PG_VERSION")
		PG_BIN=$(pg_bindir "$ver") || die "postgres: no binaries for PostgreSQL $ver (used by $(rel "$PGDATA_DIR"))"
	fi

	local pid
	if pid=$(pg_private_pid); then
		die "postgres: private server (pid $pid, $(rel "$PG_DIR")) is running but not answering at $PG_HOST:$PG_PORT; run scripts/stop-services.sh (or check $(rel "$PG_LOG"))"
	fi

	local what="started"
	if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
		rm -rf "$PGDATA_DIR"
		as_pg mkdir -m 700 "$PGDATA_DIR"
		as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C \
			>"$PG_DIR/initdb.log" 2>&1 || {
			tail -n 20 "$PG_DIR/initdb.log" >&2
			die "postgres: initdb failed (see $(rel "$PG_DIR")/initdb.log)"
		}
		echo "include_if_exists = 'kenduren.conf'" | as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
		what="initialised and started"
	fi
	pg_write_conf
	as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start >/dev/null 2>&1 || {
		tail -n 20 "$PG_LOG" >&2 || true
		die "postgres: could not start the private server (see $(rel "$PG_LOG"))"
	}
	rc=0
	pg_wait "$PG_HOST" "$PG_PORT" 30 || rc=$?
	[[ $rc -eq 0 ]] || die "postgres: private server started but does not answer at $PG_HOST:$PG_PORT (see $(rel "$PG_LOG"))"

	local created
	created=$(pg_provision SUPERUSER) || die "postgres: could not create role/database in the private server"
	pid=$(pg_private_pid) || pid="?"
	echo "postgres: $what private PostgreSQL $(<"$PGDATA_DIR/PG_VERSION") at $PG_HOST:$PG_PORT (pid $pid, data $(rel "$PG_DIR"), log $(rel "$PG_LOG"))${created:+; $created}"
}

# A server answers. Make sure the URL's database exists (best effort).
pg_after_found() {
	local psql created
	psql=$(psql_bin) || return 0
	if PGCONNECT_TIMEOUT=5 "$psql" -X -q -At -d "$DATABASE_URL" -c 'select 1' >/dev/null 2>&1; then
		return 0
	fi
	if created=$(pg_provision CREATEDB 2>/dev/null) && [[ -n $created ]]; then
		echo "postgres: $created"
	else
		echo "postgres: warning: cannot connect to $PG_DB as $PG_USER and could not create it via user postgres" >&2
	fi
}

ensure_postgres() {
	parse_url "$DATABASE_URL" 5432
	PG_HOST=$URL_HOST PG_PORT=$URL_PORT
	PG_USER=${URL_USER:-postgres} PG_PASS=$URL_PASS
	PG_DB=${URL_PATH:-$PG_USER}

	local rc=0 pid
	pg_wait "$PG_HOST" "$PG_PORT" 30 || rc=$?
	if [[ $rc -eq 0 ]]; then
		if pid=$(pg_private_pid); then
			echo "postgres: found private PostgreSQL at $PG_HOST:$PG_PORT (pid $pid, $(rel "$PG_DIR"))"
		else
			echo "postgres: found at $PG_HOST:$PG_PORT"
		fi
		pg_after_found
		return 0
	fi
	[[ $rc -eq 1 ]] && die "postgres: server at $PG_HOST:$PG_PORT keeps rejecting connections"
	is_local_host "$PG_HOST" ||
		die "postgres: nothing answers at $PG_HOST:$PG_PORT, and that is not a local address (not starting a private server)"
	pg_start_private
}

# ---------------------------------------------------------------------- NATS

# nats_info HOST PORT: print the server's INFO line. Fails with 2 when
# nothing listens, 3 when something listens but does not speak NATS.
nats_info() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 4 bash -c '
		{ exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || exit 2
		IFS= read -r -t 3 line <&3 || exit 3
		exec 3>&-
		[[ $line == INFO* ]] || exit 3
		printf "%s\n" "$line" | tr -d "\r"
	' _ "$1" "$2" 2>/dev/null
}

# Describe JetStream from an INFO line.
nats_js() {
	case $1 in
	*'"jetstream":true'*) echo "JetStream enabled" ;;
	*'"jetstream":false'*) echo "JetStream DISABLED" ;;
	*) echo "JetStream not advertised in INFO; the client checks it later" ;;
	esac
}

nats_start_private() {
	local bin pid info i rc
	if ! bin=$(nats_bin); then
		apt_install nats nats-server
		if info=$(nats_info "$NATS_HOST" "$NATS_PORT"); then
			echo "nats: installed; the packaged server now answers at $NATS_HOST:$NATS_PORT ($(nats_js "$info"))"
			return 0
		fi
		bin=$(nats_bin) || die "nats: installed nats-server but cannot find the binary"
	fi
	if pid=$(nats_private_pid); then
		die "nats: private server (pid $pid, $(rel "$NATS_DIR")) is running but not answering at $NATS_HOST:$NATS_PORT; run scripts/stop-services.sh (or check $(rel "$NATS_LOG"))"
	fi
	mkdir -p "$NATS_DIR"
	rm -f "$NATS_PID"
	local cmd=("$bin" -js -sd "$NATS_DIR" -a "$NATS_HOST" -p "$NATS_PORT" -l "$NATS_LOG" -P "$NATS_PID")
	# Detach into its own session so it outlives make / the CI step.
	if setsid --help 2>&1 | grep -q -- '--fork'; then
		setsid -f "${cmd[@]}" </dev/null >>"$NATS_LOG" 2>&1 9>&-
	else
		setsid "${cmd[@]}" </dev/null >>"$NATS_LOG" 2>&1 9>&- &
		disown || true
	fi
	for ((i = 0; i < 150; i++)); do
		rc=0
		info=$(nats_info "$NATS_HOST" "$NATS_PORT") || rc=$?
		if [[ $rc -eq 0 ]] && pid=$(nats_private_pid); then
			echo "nats: started private nats-server at $NATS_HOST:$NATS_PORT (pid $pid, $(nats_js "$info"), store $(rel "$NATS_DIR"), log $(rel "$NATS_LOG"))"
			return 0
		fi
		if ((i > 10)) && ! nats_private_pid >/dev/null; then
			break # exited
		fi
		sleep 0.2
	done
	tail -n 20 "$NATS_LOG" >&2 || true
	die "nats: could not start a private nats-server at $NATS_HOST:$NATS_PORT (see $(rel "$NATS_LOG"))"
}

ensure_nats() {
	parse_url "$NATS_URL" 4222
	NATS_HOST=$URL_HOST NATS_PORT=$URL_PORT

	local info rc=0 pid where="" js=""
	info=$(nats_info "$NATS_HOST" "$NATS_PORT") || rc=$?
	case $rc in
	0)
		if pid=$(nats_private_pid); then
			where="private nats-server "
			js="pid $pid, $(rel "$NATS_DIR"), "
		fi
		case $info in
		*'"jetstream":false'*)
			die "nats: found ${where}at $NATS_HOST:$NATS_PORT but JetStream is disabled; restart it with -js" ;;
		esac
		echo "nats: found ${where}at $NATS_HOST:$NATS_PORT (${js}$(nats_js "$info"))"
		return 0
		;;
	3) die "nats: something listens on $NATS_HOST:$NATS_PORT but does not speak NATS (no INFO line)" ;;
	esac
	is_local_host "$NATS_HOST" ||
		die "nats: nothing answers at $NATS_HOST:$NATS_PORT, and that is not a local address (not starting a private server)"
	nats_start_private
}

# ---------------------------------------------------------------------- main

mkdir -p "$DATA_DIR"
# Serialise concurrent runs (e.g. two `make test` at once).
exec 9>"$DATA_DIR/.services.lock"
if command -v flock >/dev/null 2>&1; then
	flock -w 300 9 || die "timed out waiting for $(rel "$DATA_DIR")/.services.lock"
fi

# The tests start private nats-servers (the shipped permissions are checked on one):
# they need the binary even when a NATS server is already reachable.
ensure_nats_binary() {
	local bin
	if bin=$(nats_bin); then
		echo "nats: nats-server for the tests' private servers: $bin"
		return 0
	fi
	apt_install nats nats-server "the tests need the nats-server binary (they start private servers) and it is not installed"
	bin=$(nats_bin) || die "nats: installed nats-server but cannot find the binary"
	echo "nats: nats-server for the tests' private servers: $bin"
}

ensure_postgres
ensure_nats
[[ -z $FOR_TESTS ]] || ensure_nats_binary
