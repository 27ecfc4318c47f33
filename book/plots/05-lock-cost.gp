# 05-lock-cost.gp - chapter 05: what each lock costs, relative to none.
# The .plot block in book/05-shm-counter-race.md writes "data": one line a
# lock, "name  median-ms  ratio-to-none", from runs made side by side.
# The filter sets the terminal (SVG or PDF) and the output file.
set termoption noenhanced   # "shm_counter" is a name, not a subscript
set style fill solid 0.7 border -1
set boxwidth 0.6
set logscale y
set yrange [0.5:*]
set ylabel 'median time, relative to --lock none (log scale)'
set xlabel 'shm_counter --lock KIND (2 processes x 10,000 increments, median of the runs)'
set grid ytics lc rgb '#dddddd'
set border 3
set xtics nomirror
set ytics nomirror
unset key
plot 'data' using 0:3:xtic(1) with boxes lc rgb '#4c72b0', \
     'data' using 0:($3 * 1.25):(sprintf('%.1fx (%.2f ms)', $3, $2)) with labels
