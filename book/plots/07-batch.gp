# 07-batch.gp - chapter 07: the cost of a trivial job by batch size.
# The .plot block in book/07-fork-pool.md writes "data": one line a batch
# size, "batch  prefork-us  floor-us  python-us" (python 0: not installed),
# each the microseconds per job of one pool_bench run at that --batch.
# The filter sets the terminal (SVG or PDF) and the output file.
set termoption noenhanced   # "pool_bench" is a name, not a subscript
set logscale x 2
set logscale y 10
set format y '%g'
set xrange [0.8:40]
set xtics (1, 2, 4, 8, 16, 32)
set xlabel 'jobs in one frame (prefork), one chunk (Python): pool_bench --batch N'
set ylabel 'microseconds per job (log scale)'
set grid ytics lc rgb '#dddddd'
set border 3
set xtics nomirror
set ytics nomirror
set key top right
plot 'data' using 1:($4 > 0 ? $4 : 1/0) with linespoints lw 2 pt 7 lc rgb '#dd8452' \
         title 'Python multiprocessing.Pool, chunksize N', \
     'data' using 1:2 with linespoints lw 2 pt 5 lc rgb '#4c72b0' title 'prefork pool, batch N', \
     'data' using 1:($3 * 3) with lines dt 2 lc rgb '#55a868' title '3 x the floor', \
     'data' using 1:3 with linespoints lw 2 pt 9 lc rgb '#55a868' \
         title "floor: the parent's send() + recv() of one batch"
