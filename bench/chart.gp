# Throughput against workers, from bench/run's scaling.tsv:
#   gnuplot -e "data='scaling.tsv'; out='throughput.png'" bench/chart.gp
set terminal pngcairo size 1500,520 font ",10"
set output out
set datafile separator "\t"
set multiplot layout 1,3 title "jobs per second against workers (clients), same run, 2-core machine"
set logscale x 2
set xtics ("1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "32" 32)
set xlabel "workers / clients"
set ylabel "jobs per second"
set yrange [0:*]
set grid
set key top left
do for [w in "select insert commands"] {
	set title (w eq "select" ? "SELECT lookups, PostgreSQL (mpworker pipelined)" : \
	           w eq "insert" ? "INSERT autocommit, PostgreSQL (durable commits)" : "commands (true, through sh -c)")
	plot for [s in (w eq "commands" ? "mpworker xargs" : "mpworker pgbench python")] \
		data using 2:(strcol(1) eq w.":".s ? $3 : NaN) with linespoints lw 2 pt 7 \
		title (s eq "python" ? "Python Pool" : s eq "xargs" ? "xargs -P" : s)
}
unset multiplot
