# Helpers for tests against real database servers, sourced after lib.sh
# with DRIVER set to postgresql, mysql or sqlite.  The servers are the
# throwaway ones tests/servers.sh starts: those $MPW_SERVERS names
# (build-aux/check starts one pair for the whole suite), or else the
# test's own, started now, as PostgreSQL's own make check does; where the
# server programs are not installed the test is skipped, and says why.
: "${DRIVER:?}"

if [ "$DRIVER" != sqlite ]; then
	if [ -z "${MPW_SERVERS:-}" ] || [ ! -f "$MPW_SERVERS/env" ]; then
		case $DRIVER in postgresql) private_servers pg ;; *) private_servers my ;; esac
	fi
	. "$MPW_SERVERS/env"
fi

# A table name of this test's own, so tests can share a server.
TBL=t_$$

# q SQL: run SQL with the driver's command-line client, rows tab-separated.
q() {
	case $DRIVER in
	postgresql) psql -X -q -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw -At -F "$(printf '\t')" -c "$1" ;;
	mysql) mariadb --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass mpw -N -B -e "$1" ;;
	sqlite) sqlite3 -separator "$(printf '\t')" "$T/test.db" "$1" ;;
	esac
}

# The [database] section that reaches the test server, plus any extra lines.
db_section() {
	echo "[database]"
	case $DRIVER in
	postgresql) printf 'driver = postgresql\nsocket = %s\nport = %s\nuser = mpw\ndbname = mpw\n' "$MPW_PG_SOCKET" "$MPW_PG_PORT" ;;
	mysql) printf 'driver = mysql\nsocket = %s\nuser = mpw\npassword_file = %s/pw\ndbname = mpw\n' "$MPW_MY_SOCKET" "$T" ;;
	sqlite) printf 'driver = sqlite\npath = %s/test.db\n' "$T" ;;
	esac
	for line in "$@"; do echo "$line"; done
}
echo mpwpass > "$T/pw"
chmod 600 "$T/pw"

# An INSERT that does nothing when the row is there: the idempotent kind.
insert_once() {	# insert_once ID VALUE
	case $DRIVER in
	postgresql) echo "INSERT INTO $TBL VALUES ($1, '$2') ON CONFLICT DO NOTHING" ;;
	mysql) echo "INSERT IGNORE INTO $TBL VALUES ($1, '$2')" ;;
	sqlite) echo "INSERT OR IGNORE INTO $TBL VALUES ($1, '$2')" ;;
	esac
}

# A statement that takes about SECONDS at the server.
sleep_sql() {
	case $DRIVER in
	postgresql) echo "SELECT pg_sleep($1)" ;;
	mysql) echo "SELECT SLEEP($1)" ;;
	sqlite) echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $(awk -v s="$1" 'BEGIN { print int(s * 3000000) }')) SELECT count(*) FROM c" ;;
	esac
}
