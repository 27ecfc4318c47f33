# 13-throughput.gp - chapter 13: one-way throughput by message size, log-log.
# The .plot block in book/13-ipc-benchmark.md writes "data": a header line
# "size memcpy NAME...", then one line a message size with the MB/s of
# memcpy (the floor) and of each mechanism, from ipc_bench --format tsv.
# The filter sets the terminal (SVG or PDF) and the output file.
set termoption noenhanced
set logscale xy
set format x '%.0b%B'       # 8, 64, 512, 4Ki ... 1Mi
set format y '%.0s%c'
set xtics (8, 64, 512, 4096, 32768, 262144, 1048576) nomirror
set xrange [5:1.7e6]
set ytics nomirror
set xlabel 'message size, bytes (log scale)'
set ylabel 'MB/s, one way, two CPUs (log scale)'
set grid xtics ytics lc rgb '#dddddd'
set border 3
set key outside right center
set key autotitle columnheader
plot 'data' using 1:2 with lines lw 4 lc rgb '#bbbbbb', \
     for [i=3:*] 'data' using 1:i with linespoints lw 1.5 pt (i - 2) ps 0.8
