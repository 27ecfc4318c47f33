# 05-lock-cost.gp - chapter 05: what each lock costs per increment.
# The .plot block in book/05-shm-counter-race.md writes "data": one line a
# lock, "name  ns-alone  ns-two-workers", the time per increment measured
# inside a worker by chapters/05-shm-counter-race/lock_cost, medians of the rounds.
# The filter sets the terminal (SVG or PDF) and the output file.
set termoption noenhanced   # "shm_counter" is a name, not a subscript
set style fill solid 0.7 border -1
set boxwidth 0.38
set logscale y
set yrange [0.5:*]
set xrange [-0.6:*]
set ylabel 'nanoseconds per increment (log scale)'
set xlabel 'lock (lock_cost: the time inside a worker, median of 5 rounds)'
set grid ytics lc rgb '#dddddd'
set border 3
set xtics nomirror
set ytics nomirror
set key top left
plot 'data' using ($0 - 0.2):2:xtic(1) with boxes lc rgb '#4c72b0' title 'one worker, alone', \
     'data' using ($0 + 0.2):3 with boxes lc rgb '#dd8452' title 'two workers, contending', \
     'data' using ($0 - 0.2):($2 * 1.3):(sprintf('%.0f', $2)) with labels notitle, \
     'data' using ($0 + 0.2):($3 * 1.3):(sprintf('%.0f', $3)) with labels notitle
