# Shared by bench/report.sh and the scaling workload (gawk -f median.awk -e ...).

# sorted(list, v): split a space-separated list of numbers into v, sorted; their count.
function sorted(list, v,    n) {
	n = split(list, v, " ")
	asort(v)
	return n
}

function median(list,    n, v) {
	n = sorted(list, v)
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
