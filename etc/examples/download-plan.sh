#!/bin/sh
# download-plan.sh CHUNKS URL...: the job lines of download.ini that fetch
# each URL in CHUNKS byte ranges, one line per range:
#   NAME PART FIRST-LAST URL LENGTH
# The server must answer ranges (206); the jobs check each chunk's length.
set -eu
n=$1
shift
for url; do
	size=$(curl -sfSI "$url" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }')
	[ -n "$size" ] || { echo "$url: the server gives no Content-Length" >&2; exit 1; }
	name=$(basename "$url")
	step=$(((size + n - 1) / n))
	i=0
	while [ $((i * step)) -lt "$size" ]; do
		first=$((i * step))
		last=$((first + step - 1))
		[ "$last" -lt "$size" ] || last=$((size - 1))
		printf '%s %03d %d-%d %s %d\n' "$name" "$i" "$first" "$last" "$url" $((last - first + 1))
		i=$((i + 1))
	done
done
