#!/bin/bash
# Rename throughput: 20,000 files whose new names are in PostgreSQL, behind
# a lookup that costs about 2 ms at the server (pg_sleep), standing in for
# a database across a network.  Contenders, in one run on one server:
#   - a serial Python script (list, look up, rename, one file at a time)
#   - multiprocessing.Pool(4, initializer=connect)
#   - GNU parallel -j4 running a per-file script (psql, then mv), on a
#     1,000-file sample: it starts psql once per file
#   - mpworker with 4 and with 16 workers
# Each starts from a fresh directory; the renamed count is checked.
#
#   bench/rename.sh            (N=20000 SAMPLE=1000 REPS=1)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000}
SAMPLE=${SAMPLE:-1000}
REPS=${REPS:-1}
MPWORKER=${MPWORKER:-$top/_build/mpworker}
PY=/usr/bin/python3

[ -x "$MPWORKER" ] || { echo "build mpworker first (build-aux/demo or make), or set MPWORKER"; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/mpw-bench.XXXXXX")
SERVERS=$(mktemp -d "${TMPDIR:-/tmp}/mpw-bench-servers.XXXXXX")
trap '"$top/tests/servers.sh" stop "$SERVERS" >/dev/null 2>&1; rm -rf "$W"' EXIT
MPW_DURABLE=1 "$top/tests/servers.sh" start "$SERVERS" pg
. "$SERVERS/env"
cd "$W"
pg() { psql -X -q -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw "$@"; }

# The mapping: every .dat and .csv file has a new name; .txt files are not renamed.
pg -c "CREATE TABLE renames (old_name text PRIMARY KEY, new_name text)"
seq 1 "$N" | awk '{ e = ($1 % 3 == 0) ? "csv" : "dat"; printf "f%d.%s\tg%d.%s\n", $1, e, $1, e }' > map.tsv
pg -c "\\copy renames FROM map.tsv"
pg -c "CREATE FUNCTION lookup_name(text) RETURNS text LANGUAGE sql AS
	\$\$ SELECT pg_sleep(0.002); SELECT new_name FROM renames WHERE old_name = \$1 \$\$"

make_dir() {	# make_dir COUNT: a fresh directory "in" with COUNT files, plus some .txt
	rm -rf in
	mkdir in
	"$PY" -c "
import sys
for i in range(1, int(sys.argv[1]) + 1):
    open('in/f%d.%s' % (i, 'csv' if i % 3 == 0 else 'dat'), 'w').close()
for i in range(1, 200):
    open('in/t%d.txt' % i, 'w').close()
" "$1"
}

cat > per-file.sh <<'SH'
#!/bin/sh
# What a user hands GNU parallel: look one file's new name up, rename it.
name=$(basename "$1")
new=$(psql -X -At -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw -c "SELECT lookup_name('$name')")
[ -n "$new" ] && mv -n "$1" "$(dirname "$1")/$new"
SH
chmod +x per-file.sh

mpw_ini() {	# mpw_ini WORKERS
	printf '[pool]\nworkers = %s\n[jobs]\ntype = rename\n[rename]\ndirectory = %s/in\nextensions = .dat .csv\nlookup = SELECT lookup_name($1)\n[database]\ndriver = postgresql\nsocket = %s\nport = %s\nuser = mpw\ndbname = mpw\n' \
		"$1" "$W" "$MPW_PG_SOCKET" "$MPW_PG_PORT" > mpw.ini
}

: > results
run() {	# run LABEL FILES COMMAND...
	local label=$1 files=$2 t0 t1 renamed
	shift 2
	make_dir "$files"
	echo "  $label ($files files)"
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>run.err || { echo "  $label failed:"; tail -5 run.err; exit 1; }
	t1=$(date +%s.%N)
	renamed=$(ls in | grep -c '^g')
	[ "$renamed" = "$files" ] || { echo "  $label renamed $renamed of $files"; exit 1; }
	echo "$label	$files	$t0	$t1" >> results
}

echo "machine: $(nproc) cores; $("$MPWORKER" --version); $(psql --version | head -1); lookup: 2 ms at the server"
for rep in $(seq 1 "$REPS"); do
	echo "round $rep of $REPS"
	run "serial Python script" "$N" "$PY" "$top/bench/rename.py" serial in
	run "Python Pool(4, initializer=connect)" "$N" "$PY" "$top/bench/rename.py" pool 4 in
	run "GNU parallel -j4 per-file script" "$SAMPLE" sh -c 'ls in/*.dat in/*.csv | parallel -j4 ./per-file.sh {}'
	mpw_ini 4
	run "mpworker -j4" "$N" "$MPWORKER" -q -c mpw.ini
	mpw_ini 16
	run "mpworker -j16" "$N" "$MPWORKER" -q -c mpw.ini
done

echo
echo "files renamed per second (median of $REPS), and ratios to the serial script"
gawk -F'\t' '
	{ r = $2 / ($4 - $3); v[$1] = v[$1] " " r; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
	END {
		for (i = 1; i <= k; i++) {
			m = split(substr(v[order[i]], 2), a, " "); asort(a)
			med[i] = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		}
		printf "| %-38s | %10s | %10s |\n", "contender", "files/s", "vs serial"
		printf "|%s|%s|%s|\n", "----------------------------------------", "------------", "------------"
		for (i = 1; i <= k; i++)
			printf "| %-38s | %10.0f | %9.2fx |\n", order[i], med[i], med[i] / med[1]
	}' results
