# 13-latency.gp - chapter 13: round-trip latency of every mechanism.
# The .plot block in book/13-ipc-benchmark.md writes "data": one line a
# mechanism, "name  median-same-CPU  p99-same-CPU  median-two-CPUs
# p99-two-CPUs", in ns, from ipc_bench --format tsv.  A box is the median;
# its whisker reaches the 99th percentile.
# The filter sets the terminal (SVG or PDF) and the output file.
set termoption noenhanced   # "shm-spin" is a name, not a subscript
set style fill solid 0.7 border -1
set boxwidth 0.38
set logscale y
set yrange [50:*]
set xrange [-0.6:*]
set format y '%.0s%c'       # 1k, 10k, 100k
set ylabel 'round trip, ns (log scale)'
set xtics rotate by 40 right nomirror scale 0
set ytics nomirror
set grid ytics lc rgb '#dddddd'
set border 3
set key outside top center horizontal
plot 'data' using ($0 - 0.2):2:xtic(1) with boxes lc rgb '#4c72b0' title 'both on one CPU (median)', \
     'data' using ($0 - 0.2):2:2:3 with yerrorbars lc rgb '#222222' pt -1 title 'whisker: p99', \
     'data' using ($0 + 0.2):4 with boxes lc rgb '#dd8452' title 'on two CPUs (median)', \
     'data' using ($0 + 0.2):4:4:5 with yerrorbars lc rgb '#222222' pt -1 notitle
