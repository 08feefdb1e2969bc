#!/bin/bash
# Write the report of a bench/run from its output directory, as Markdown
# on stdout: machine and versions, one table per workload (medians,
# mpworker's ratio to each contender), the scaling table, and the
# targets, each marked met or missed.
#
#   bench/report.sh OUTDIR [CHART]
set -euo pipefail
out=${1:?usage: report.sh OUTDIR [CHART]}
chart=${2:-}

cat <<EOF
# mpworker benchmark report

Written by \`bench/run\` on $(date -u -r "$out/results.tsv" '+%Y-%m-%d %H:%M UTC'). Every contender ran in the same run on
the same throwaway servers, contenders alternating, and each figure is the
median of the rounds it ran (the *runs* column). *mpworker vs it* is how
many times better mpworker did: its rate over the contender's, or the
contender's memory or time over mpworker's. Commits are durable (fsync on,
a log flush per commit), as users run their servers.

## Machine and versions

$(sed 's/^/- /' "$out/machine.txt")

EOF

gawk -F'\t' -v chart="$chart" -f "$(dirname "$0")/median.awk" -e '
function commas(x,    s) {
	s = sprintf("%d", x + 0.5)
	while (s ~ /[0-9][0-9][0-9][0-9]/)
		sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
	return s
}
function ratio(x) {
	return sprintf(x < 10 ? "%.3fx" : "%.0fx", x)
}
function fmt(x, unit) {
	return unit == "ms" ? sprintf("%.1f", x) : commas(x)
}
function title(s) {
	if (s == "insert-postgresql") return "1. INSERT, autocommit: PostgreSQL"
	if (s == "insert-mysql") return "1. INSERT, autocommit: MariaDB"
	if (s == "select-postgresql") return "2. SELECT lookups by key: PostgreSQL"
	if (s == "select-mysql") return "2. SELECT lookups by key: MariaDB"
	if (s == "batch-postgresql") return "3. INSERT, 100 per transaction: PostgreSQL"
	if (s == "batch-mysql") return "3. INSERT, 100 per transaction: MariaDB"
	if (s == "rename") return "4. Rename files, a 2 ms lookup each (PostgreSQL)"
	if (s == "commands") return "5. Command jobs: `true`, through sh -c"
	if (s == "scale-parent") return "6. Scale: peak resident memory of the parent (VmHWM)"
	if (s == "scale-child") return "6. Scale: peak resident memory of the largest child (a worker; for xargs and parallel, a shell)"
	if (s == "scale-tree") return "6. Scale: /usr/bin/time -v, maximum resident set size of the whole run"
	if (s == "startup") return "7. Start-up and replacement (PostgreSQL connections, init hook)"
	if (s ~ /^queue-sql-b/) return "Queue: 100,000 no-op SQL jobs drained by 1-3 hosts, claims and transactions of " substr(s, 12)
	if (s == "queue-noop") return "Queue: no-op jobs beside graphile-worker (PostgreSQL, concurrency 4)"
	if (s == "queue-cmd") return "Queue: 10 ms commands drained by 1-3 hosts"
	if (s == "queue-rescue") return "Queue: kill -9 of one of 3 hosts: its jobs back in work"
	return s
}
ARGIND == 1 {	# results.tsv: section, contender, value, unit
	key = $1 SUBSEP $2
	if (!($1 in seen_s)) { seen_s[$1] = 1; sections[++ns] = $1 }
	if (!(key in seen_c)) { seen_c[key] = 1; cont[$1, ++nc[$1]] = $2 }
	vals[key] = vals[key] " " $3
	runs[key]++
	unit[key] = $4
	if (!($1 in ref) && $2 ~ /^mpworker/) ref[$1] = $2
	next
}
ARGIND == 2 {	# targets: description, section, contender, op, section2 or limit, contender2, factor
	if ($0 ~ /^#/ || NF < 4) next
	tgt[++nt] = $0
	next
}
ARGIND == 3 {	# scaling.tsv: series, workers, rate
	split($1, p, ":")
	if (!(p[1] in seen_w)) { seen_w[p[1]] = 1; sw[++nw] = p[1] }
	if (!($1 in seen_series)) { seen_series[$1] = 1; series[++nser] = $1 }
	if (!($2 in seen_n)) { seen_n[$2] = 1; ns_[++nn] = $2 }
	point[$1, $2] = $3
	next
}
END {
	for (i = 1; i <= ns; i++) {
		s = sections[i]
		for (j = 1; j <= nc[s]; j++) med[s, cont[s, j]] = median(vals[s SUBSEP cont[s, j]])
	}
	for (i = 1; i <= ns; i++) {
		s = sections[i]
		print "## " title(s) "\n"
		print "| contender | median | unit | runs | mpworker vs it |"
		print "|---|---:|---|---:|---:|"
		r = (s in ref) ? med[s, ref[s]] : 0
		for (j = 1; j <= nc[s]; j++) {
			c = cont[s, j]; k = s SUBSEP c; m = med[s, c]
			if (c == ref[s] || r == 0 || m == 0) vs = (c == ref[s] ? "(reference)" : "")
			else if (unit[k] == "jobs/s") vs = ratio(r / m)
			else vs = ratio(m / r)
			if (s == "startup") { nv = sorted(vals[k], v); vs = sprintf("min %.1f, max %.1f", v[1], v[nv]) }
			printf "| %s | %s | %s | %d | %s |\n", c, fmt(m, unit[k]), unit[k], runs[k], vs
		}
		print ""
	}
	if (nser > 0) {
		print "## Throughput against workers\n"
		if (chart != "") print "![throughput against workers](" chart ")\n"
		printf "| series |"; for (j = 1; j <= nn; j++) printf " %s |", ns_[j]; print ""
		printf "|---|"; for (j = 1; j <= nn; j++) printf "---:|"; print ""
		for (i = 1; i <= nser; i++) {
			printf "| %s |", series[i]
			for (j = 1; j <= nn; j++) printf " %s |", ((series[i], ns_[j]) in point) ? commas(point[series[i], ns_[j]]) : ""
			print ""
		}
		print "\njobs per second, the median of the rounds at each point (SELECT and INSERT: 10,000 statements; commands: 3,000).\n"
	}
	if (nt > 0) {
		print "## Targets\n"
		print "| target | measured | |"
		print "|---|---:|---|"
		for (i = 1; i <= nt; i++) {
			split(tgt[i], t, "\t")
			a = med[t[2], t[3]]
			if (t[4] == "ratio") {
				b = med[t[5], t[6]]
				if (a == "" || b == "" || b == 0) { printf "| %s | not measured | |\n", t[1]; continue }
				printf "| %s | %s | %s |\n", t[1], ratio(a / b), (a / b >= t[7]) ? "met" : "**missed**"
			} else {
				if (a == "") { printf "| %s | not measured | |\n", t[1]; continue }
				u = unit[t[2] SUBSEP t[3]]
				printf "| %s | %s %s | %s |\n", t[1], fmt(a, u), u, (a < t[5]) ? "met" : "**missed**"
			}
		}
		print ""
	}
}
' "$out/results.tsv" "$(dirname "$0")/targets.tsv" "$( [ -s "$out/scaling.tsv" ] && echo "$out/scaling.tsv" || echo /dev/null)"
