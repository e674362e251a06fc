#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server and exports its address
# as TERRAIN_TEST_POSTGRES (a URL that pgx and psql both understand).
#
#   scripts/with-postgres.sh go test ./central/...
#   scripts/with-postgres.sh sh -c 'psql "$TERRAIN_TEST_POSTGRES" -c "select 1"'
#
# The server lives in a private temporary directory, listens on its unix
# socket only (no TCP port to collide with), runs with fsync off because its
# data is thrown away, and is stopped and deleted when the command ends.
# When TERRAIN_TEST_POSTGRES is already set, that server is used instead.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi

if [[ -n "${TERRAIN_TEST_POSTGRES:-}" ]]; then
	exec "$@"
fi

pg_bin=""
for dir in /usr/lib/postgresql/*/bin; do
	[[ -x "$dir/initdb" ]] || continue
	# The newest major version wins; sort -V keeps 9.x below 10+.
	if [[ -z "$pg_bin" ]] || [[ "$(printf '%s\n%s\n' "$pg_bin" "$dir" | sort -V | tail -n1)" == "$dir" ]]; then
		pg_bin="$dir"
	fi
done
if [[ -z "$pg_bin" ]]; then
	echo "with-postgres: no PostgreSQL server under /usr/lib/postgresql/*/bin (run: make deps)" >&2
	exit 1
fi

port=54329
pg_user=terrain-pg
db_role=terrain
db_name=terrain_test

caller_dir="$PWD"
base="$(mktemp -d "${TMPDIR:-/tmp}/terrain-pg.XXXXXX")"
data="$base/data"

# initdb and postgres refuse to run as root, so root hands the server to a
# dedicated unprivileged system user; root itself can still reach the socket.
as_server() { "$@"; }
if [[ $EUID -eq 0 ]]; then
	if ! id -u "$pg_user" >/dev/null 2>&1; then
		# Another run may create the user at the same moment: accept that.
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$pg_user" 2>/dev/null || id -u "$pg_user" >/dev/null
	fi
	chown "$pg_user:" "$base"
	as_server() { runuser -u "$pg_user" -- "$@"; }
fi

cleanup() {
	local status=$?
	if [[ -f "$data/postmaster.pid" ]]; then
		(cd "$base" && as_server "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$base"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Work from the private directory: the server user may not be allowed into
# the caller's working directory.
cd "$base"
if ! as_server "$pg_bin/initdb" -D "$data" -U "$db_role" -A trust -E UTF8 --locale=C --no-sync >"$base/initdb.log" 2>&1; then
	cat "$base/initdb.log" >&2
	echo "with-postgres: initdb failed" >&2
	exit 1
fi

cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$base'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 100
CONF

if ! as_server "$pg_bin/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 start >/dev/null; then
	cat "$base/server.log" >&2
	echo "with-postgres: server did not start" >&2
	exit 1
fi
as_server "$pg_bin/createdb" -h "$base" -p "$port" -U "$db_role" "$db_name"

export TERRAIN_TEST_POSTGRES="postgres://$db_role@/$db_name?host=$base&port=$port&sslmode=disable"
cd "$caller_dir"

# Not exec: the trap must still stop the server when the command ends.
"$@"
