#!/bin/bash
# SQL throughput: mpworker beside the tools a user would otherwise pick,
# on one throwaway server, in one run.  The same 20,000 INSERT statements
# go through each contender; contenders alternate over REPS rounds and the
# median is reported, with mpworker's ratio to each.
#
#   bench/sql.sh [postgresql|mysql|all]      (REPS=3 N=20000 WORKERS=4)
#
# DURABLE=1 (the default) runs the servers as users do, flushing the log
# at each commit; DURABLE=0 turns that off (fsync=off, a lazy InnoDB log
# flush), which leaves the servers' CPU as the limit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-all}
REPS=${REPS:-3}
N=${N:-20000}
WORKERS=${WORKERS:-4}
MPW_DURABLE=${DURABLE:-1}
export MPW_DURABLE
MPWORKER=${MPWORKER:-$top/_build/mpworker}
PY=/usr/bin/python3	# Debian's, which has psycopg2 and MySQLdb

[ -x "$MPWORKER" ] || { echo "build mpworker first (build-aux/demo or make), or set MPWORKER"; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/mpw-bench.XXXXXX")
SERVERS=$(mktemp -d "${TMPDIR:-/tmp}/mpw-bench-servers.XXXXXX")
trap '"$top/tests/servers.sh" stop "$SERVERS" >/dev/null 2>&1; rm -rf "$W"' EXIT
"$top/tests/servers.sh" start "$SERVERS" "$( [ "$which" = all ] && echo all || ([ "$which" = postgresql ] && echo pg || echo my))"
. "$SERVERS/env"
cd "$W"

pg() { psql -X -q -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw "$@"; }
my() { mariadb --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass mpw "$@"; }

seq 1 "$N" | awk '{ printf "INSERT INTO bench (k, v) VALUES (%d, '\''payload-%d'\'');\n", $1, $1 }' > stmts.sql
printf '\\set k random(1, %d)\nINSERT INTO bench (k, v) VALUES (:k, '\''payload-x'\'');\n' "$N" > pgbench.sql

mpw_ini() {	# mpw_ini DRIVER EXTRA...
	{
		printf '[pool]\nworkers = %s\n[jobs]\ntype = sql\nfile = %s/stmts.sql\n[database]\n' "$WORKERS" "$W"
		case $1 in
		postgresql) printf 'driver = postgresql\nsocket = %s\nport = %s\nuser = mpw\ndbname = mpw\n' "$MPW_PG_SOCKET" "$MPW_PG_PORT" ;;
		mysql) printf 'driver = mysql\nsocket = %s\nuser = mpw\npassword = mpwpass\ndbname = mpw\n' "$MPW_MY_SOCKET" ;;
		esac
		printf '[sql]\n'
		shift
		for l in "$@"; do echo "$l"; done
	} > mpw.ini
	chmod 600 mpw.ini
}

# timeit LABEL COMMAND...: wall seconds of one run, appended to results.
timeit() {
	local label=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>run.err || { echo "  $label failed:"; tail -5 run.err; return 1; }
	t1=$(date +%s.%N)
	echo "$label	$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >> results
}

reset_table() {
	case $1 in
	postgresql) pg -c "DROP TABLE IF EXISTS bench" -c "CREATE TABLE bench (id bigserial PRIMARY KEY, k int, v text)" ;;
	mysql) my -e "DROP TABLE IF EXISTS bench; CREATE TABLE bench (id bigint AUTO_INCREMENT PRIMARY KEY, k int, v text) ENGINE=InnoDB" ;;
	esac
}

# check_rows DRIVER: the run inserted exactly N rows.
check_rows() {
	local got
	case $1 in
	postgresql) got=$(pg -At -c "SELECT count(*) FROM bench") ;;
	mysql) got=$(my -N -e "SELECT count(*) FROM bench") ;;
	esac
	[ "$got" = "$N" ] || { echo "  expected $N rows, found $got"; return 1; }
}

run_driver() {
	local d=$1
	: > results
	for rep in $(seq 1 "$REPS"); do
		echo "  round $rep of $REPS"
		for c in mpw mpw_nopipe mpw_batch base_clients base_serial base_python; do
			reset_table "$d"
			case $d:$c in
			*:mpw) mpw_ini "$d"; timeit "mpworker -j$WORKERS autocommit" "$MPWORKER" -q -c mpw.ini ;;
			postgresql:mpw_nopipe) mpw_ini "$d" "pipeline = no"; timeit "mpworker -j$WORKERS autocommit, no pipeline" "$MPWORKER" -q -c mpw.ini ;;
			mysql:mpw_nopipe) continue ;;
			*:mpw_batch) mpw_ini "$d" "batch = 100"; timeit "mpworker -j$WORKERS batch = 100" "$MPWORKER" -q -c mpw.ini ;;
			postgresql:base_clients) timeit "pgbench -c$WORKERS (simple protocol)" \
				pgbench -n -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -c "$WORKERS" -j "$WORKERS" \
				-t $((N / WORKERS)) -M simple -f pgbench.sql mpw ;;
			mysql:base_clients) timeit "mariadb-slap --concurrency=$WORKERS" \
				mariadb-slap --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass --create-schema=mpw \
				--concurrency="$WORKERS" --iterations=1 --number-of-queries="$N" \
				--query="INSERT INTO bench (k, v) VALUES (1, 'payload-x')" ;;
			postgresql:base_serial) timeit "psql -f (one connection, serial)" pg -f stmts.sql ;;
			mysql:base_serial) timeit "mariadb < file (one connection, serial)" sh -c "mariadb --no-defaults -S '$MPW_MY_SOCKET' -u mpw -pmpwpass mpw < stmts.sql" ;;
			*:base_python) timeit "python Pool($WORKERS, initializer=connect)" "$PY" "$top/bench/pool.py" "$d" "$WORKERS" stmts.sql ;;
			esac
			check_rows "$d"
		done
	done
	report "$d"
}

# Medians per contender, statements per second, and mpworker's ratios.
report() {
	echo
	echo "$1: $N INSERT statements, $WORKERS workers/clients, median of $REPS (statements per second), durable commits: $( [ "$MPW_DURABLE" = 1 ] && echo yes || echo no)"
	gawk -F'\t' -v n="$N" '
		{ t[$1] = t[$1] " " $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
		END {
			for (i = 1; i <= k; i++) {
				m = split(substr(t[order[i]], 2), v, " ")
				asort(v)
				med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
				rate[i] = n / med
			}
			printf "| %-44s | %10s | %14s | %14s |\n", "contender", "stmts/s", "autocommit/it", "batch=100/it"
			printf "|%s|%s|%s|%s|\n", "----------------------------------------------", "------------", "----------------", "----------------"
			for (i = 1; i <= k; i++) {
				if (order[i] ~ /autocommit$/) a = rate[i]
				if (order[i] ~ /batch = 100/) b = rate[i]
			}
			for (i = 1; i <= k; i++)
				printf "| %-44s | %10.0f | %13.2fx | %13.2fx |\n", order[i], rate[i], a / rate[i], b / rate[i]
		}' results
}

echo "machine: $(nproc) cores, $(uname -r); $("$MPWORKER" --version); $(psql --version | head -1); $(mariadb --version | awk '{print $5}' | tr -d ,)"
case $which in
postgresql|mysql) run_driver "$which" ;;
all) echo "postgresql:"; run_driver postgresql; echo "mysql:"; run_driver mysql ;;
*) echo "usage: bench/sql.sh [postgresql|mysql|all]"; exit 2 ;;
esac
