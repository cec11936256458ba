# shellcheck shell=bash disable=SC2034
# (SC2034: variables here are used by the scripts that source this file.)
# Shared helpers for scripts/ensure-services.sh and scripts/stop-services.sh.
# Sourced, not executed.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="$ROOT_DIR/.data"

# Private PostgreSQL: $PG_DIR holds data/ (PGDATA), postgres.log and initdb.log.
# It is owned by the postgres system user when we run as root. .data/postgres may be
# a symlink into /var/tmp when the postgres user cannot reach the repository
# (e.g. a clone under /root, which is mode 700).
PG_LINK="$DATA_DIR/postgres"

# Set PG_DIR/PGDATA_DIR/PG_LOG, following the /var/tmp symlink if there is
# one (the postgres user must only ever see real paths it can reach).
pg_resolve_dirs() {
	PG_DIR=$PG_LINK
	[[ -L $PG_LINK ]] && PG_DIR=$(readlink -f "$PG_LINK")
	PGDATA_DIR="$PG_DIR/data"
	PG_LOG="$PG_DIR/postgres.log"
}
pg_resolve_dirs

# Private NATS: JetStream store under $NATS_DIR/jetstream, plus pid and log.
NATS_DIR="$DATA_DIR/nats"
NATS_PID="$NATS_DIR/nats-server.pid"
NATS_LOG="$NATS_DIR/nats-server.log"

DEFAULT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
DEFAULT_NATS_URL="nats://127.0.0.1:4222"

# The system user that owns and runs a private postgres when we are root.
PG_OS_USER="${KENDUREN_PG_OS_USER:-postgres}"

die() {
	printf '%s\n' "$*" >&2
	exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Display a path relative to the repository root when it is inside it.
rel() {
	local p=$1
	if [[ $p == "$ROOT_DIR"/* ]]; then
		printf '%s' "${p#"$ROOT_DIR"/}"
	else
		printf '%s' "$p"
	fi
}

urldecode() {
	local s=${1//+/ }
	printf '%b' "${s//%/\\x}"
}

# parse_url URL DEFAULT_PORT
# Sets URL_SCHEME URL_USER URL_PASS URL_HOST URL_PORT URL_PATH (decoded, no
# leading slash). Only the first of a comma-separated server list is used.
parse_url() {
	local url=${1%%,*} default_port=$2 rest authority hostport userinfo=""
	[[ $url == *://* ]] || die "not a URL: $1"
	URL_SCHEME=${url%%://*}
	rest=${url#*://}
	rest=${rest%%\?*}
	rest=${rest%%#*}
	authority=${rest%%/*}
	URL_PATH=""
	[[ $rest == */* ]] && URL_PATH=$(urldecode "${rest#*/}")
	if [[ $authority == *@* ]]; then
		userinfo=${authority%@*}
		hostport=${authority##*@}
	else
		hostport=$authority
	fi
	URL_USER=""
	URL_PASS=""
	if [[ -n $userinfo ]]; then
		URL_USER=$(urldecode "${userinfo%%:*}")
		[[ $userinfo == *:* ]] && URL_PASS=$(urldecode "${userinfo#*:}")
	fi
	URL_PORT=""
	if [[ $hostport == \[* ]]; then # [v6]:port
		URL_HOST=${hostport%%]*}
		URL_HOST=${URL_HOST#[}
		[[ $hostport == *]:* ]] && URL_PORT=${hostport##*]:}
	else
		URL_HOST=${hostport%%:*}
		[[ $hostport == *:* ]] && URL_PORT=${hostport#*:}
	fi
	[[ -n $URL_HOST ]] || URL_HOST=127.0.0.1
	[[ -n $URL_PORT ]] || URL_PORT=$default_port
	[[ $URL_PORT =~ ^[0-9]+$ ]] || die "bad port in URL: $1"
}

# Only loopback addresses may get a private server.
is_local_host() {
	case $1 in
	localhost | 127.* | ::1 | 0.0.0.0) return 0 ;;
	*) return 1 ;;
	esac
}

# tcp_open HOST PORT: can we open a TCP connection (3s timeout)?
tcp_open() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Run a command as the postgres system user when root, else as ourselves.
# Runs from / so an unreadable cwd (e.g. under /root) does not matter, and
# with fd 9 (the services lock) closed so daemons do not inherit it.
as_pg() {
	if is_root; then
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u "$PG_OS_USER" -- "$@" 9>&-)
		else
			local q
			q=$(printf '%q ' "$@")
			(cd / && su -s /bin/sh "$PG_OS_USER" -c "$q" 9>&-)
		fi
	else
		(cd / && "$@" 9>&-)
	fi
}

# pg_bindir [MAJOR]: directory holding initdb/pg_ctl/postgres/psql.
pg_bindir() {
	local want=${1:-} d
	if [[ -n $want && -x /usr/lib/postgresql/$want/bin/pg_ctl ]]; then
		printf '%s' "/usr/lib/postgresql/$want/bin"
		return 0
	fi
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	# Newest version first.
	while IFS= read -r d; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			printf '%s' "$d"
			return 0
		fi
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4,4 -V -r)
	return 1
}

nats_bin() {
	if command -v nats-server >/dev/null 2>&1; then
		command -v nats-server
	elif [[ -x /usr/sbin/nats-server ]]; then
		printf '%s' /usr/sbin/nats-server
	else
		return 1
	fi
}

# pid_alive PIDFILE NAME DIR: prints the pid when the pid file names a live
# process whose command name is NAME and whose command line mentions DIR (so
# a recycled pid, e.g. the system postmaster after a reboot, is not taken for
# ours).
pid_alive() {
	local pidfile=$1 name=$2 dir=$3 pid comm cmdline
	[[ -f $pidfile ]] || return 1
	pid=""
	# (nats-server writes its pid file without a trailing newline)
	read -r pid <"$pidfile" 2>/dev/null || [[ -n $pid ]] || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/comm ]] || return 1
	read -r comm <"/proc/$pid/comm" || return 1
	[[ $comm == "$name" ]] || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$dir"* || $cmdline == *"$(readlink -f "$dir")"* ]] || return 1
	printf '%s' "$pid"
}

# Pid of the private postmaster, if running.
pg_private_pid() {
	[[ -e $PG_DIR ]] || return 1
	pid_alive "$PGDATA_DIR/postmaster.pid" postgres "$PGDATA_DIR" 2>/dev/null
}

# Pid of the private nats-server, if running.
nats_private_pid() {
	pid_alive "$NATS_PID" nats-server "$NATS_DIR"
}
