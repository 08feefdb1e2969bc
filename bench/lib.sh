# Helpers for bench/run and its workloads (bench/workloads/*.sh).
#
# Every measurement is one line of $OUT/results.tsv:
#   SECTION <tab> CONTENDER <tab> VALUE <tab> UNIT
# UNIT is jobs/s (higher is better), or kB or ms (lower is better).  A
# contender measured in several rounds has several lines; the report takes
# the median.  The first contender of a section whose name starts with
# "mpworker" is the one the others are compared with.

# say TEXT: a progress line, with the time since bench/run began.
say() {
	local t=$((${EPOCHSECONDS} - BENCH_T0))
	printf '[%2d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"
}

# record SECTION CONTENDER VALUE UNIT
record() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT/results.tsv"
}

# measure JOBS COMMAND...: run the command (stdout to $W/out, stderr to
# $W/err) and print JOBS per second of wall time; 1 if it failed.
measure() {
	local jobs=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	"$@" >"$W/out" 2>"$W/err" || return 1
	t1=$EPOCHREALTIME
	awk -v n="$jobs" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}

# rate SECTION CONTENDER JOBS COMMAND...: measure, and record the rate.  A
# failing contender is reported and not recorded; the run goes on.
rate() {
	local section=$1 label=$2 r
	shift 2
	if ! r=$(measure "$@"); then
		say "  $label FAILED:"
		tail -n 5 "$W/err" | sed 's/^/      /'
		return 1
	fi
	record "$section" "$label" "$r" jobs/s
	say "  $label: ${r%.*} jobs/s"
}

# expect WHAT GOT WANT: a contender's result is checked, so a fast wrong
# answer cannot win.  A mismatch is reported and the last record dropped.
expect() {
	if [ "$2" != "$3" ]; then
		say "  CHECK FAILED: $1: got '$2', want '$3'; measurement dropped"
		sed -i '$ d' "$OUT/results.tsv"
		return 1
	fi
}

pg() { psql -X -q -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw "$@"; }
my() { mariadb --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass mpw "$@"; }

# sqlc DRIVER SQL: one statement through the driver's command-line client, rows unadorned.
sqlc() {
	case $1 in
	postgresql) pg -At -c "$2" ;;
	mysql) my -N -e "$2" ;;
	esac
}

# The client a user would pipe a file of statements into, serially.
serial_client() {	# serial_client DRIVER FILE
	case $1 in
	postgresql) pg -f "$2" ;;
	mysql) my < "$2" ;;
	esac
}

# What GNU parallel runs per statement: the driver's client, once each.
per_statement_client() {	# per_statement_client DRIVER (reads statements on stdin)
	case $1 in
	postgresql) parallel -j "$WORKERS" psql -X -q -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw -c {} ;;
	mysql) parallel -j "$WORKERS" mariadb --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass mpw -e {} ;;
	esac
}

# statements insert|select COUNT: the SQL workloads' statements, one per line.
statements() {
	case $1 in
	insert) seq 1 "$2" | awk '{ printf "INSERT INTO bench (k, v) VALUES (%d, '\''payload-%d'\'');\n", $1, $1 }' ;;
	select) seq 1 "$2" | awk '{ printf "SELECT v FROM lookup WHERE k = %d;\n", $1 }' ;;
	esac
}

# pgbench_script insert|select KEYS [PER-TRANSACTION]: the same statement
# with a random key, as a pgbench script; with PER-TRANSACTION, that many
# of it between BEGIN and COMMIT.
pgbench_script() {
	local stmt
	case $1 in
	insert) stmt="INSERT INTO bench (k, v) VALUES (:k, 'payload-x');" ;;
	select) stmt="SELECT v FROM lookup WHERE k = :k;" ;;
	esac
	printf '\\set k random(1, %d)\n' "$2"
	if [ -n "${3:-}" ]; then
		echo "BEGIN;"
		for _ in $(seq 1 "$3"); do echo "$stmt"; done
		echo "COMMIT;"
	else
		echo "$stmt"
	fi
}

# pgbench_run CLIENTS TRANSACTIONS-EACH SCRIPT [-M MODE]: pgbench, simple protocol unless told.
pgbench_run() {
	pgbench -n -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -c "$1" -j "$1" -t "$2" -M "${5:-simple}" -f "$3" mpw
}

# slap QUERY COUNT: mariadb-slap running QUERY COUNT times on WORKERS connections.
slap() {
	mariadb-slap --no-defaults -S "$MPW_MY_SOCKET" -u mpw -pmpwpass --create-schema=mpw \
		--concurrency="$WORKERS" --iterations=1 --number-of-queries="$2" --query="$1"
}

client_name() {
	case $1 in postgresql) echo psql ;; mysql) echo mariadb ;; esac
}

# db_section DRIVER: the [database] section that reaches the bench's servers.
db_section() {
	printf '[database]\n'
	case $1 in
	postgresql)
		# A socket directory, or (the latency workload) an address over TCP.
		case $MPW_PG_SOCKET in
		/*) printf 'driver = postgresql\nsocket = %s\nport = %s\nuser = mpw\ndbname = mpw\n' "$MPW_PG_SOCKET" "$MPW_PG_PORT" ;;
		*) printf 'driver = postgresql\nhost = %s\nport = %s\nuser = mpw\npassword = mpwpass\ndbname = mpw\n' "$MPW_PG_SOCKET" "$MPW_PG_PORT" ;;
		esac ;;
	mysql) printf 'driver = mysql\nsocket = %s\nuser = mpw\npassword = mpwpass\ndbname = mpw\n' "$MPW_MY_SOCKET" ;;
	sqlite) printf 'driver = sqlite\npath = %s/bench.db\ncreate = yes\n' "$W" ;;
	esac
}

# mpw_ini FILE WORKERS DRIVER JOBFILE [SQL-SECTION-LINES...]: a config for SQL jobs.
mpw_ini() {
	local f=$1 n=$2 d=$3 jobs=$4
	shift 4
	{
		printf '[pool]\nworkers = %s\n[jobs]\ntype = sql\nfile = %s\n' "$n" "$jobs"
		db_section "$d"
		printf '[sql]\n'
		for l in "$@"; do echo "$l"; done
	} > "$f"
	chmod 600 "$f"
}

mpw() { "$MPWORKER" -q "$@"; }

# Drivers the workloads run on; bench/run sets DRIVERS from what is asked.
drivers() { echo "${DRIVERS:-postgresql mysql}"; }
