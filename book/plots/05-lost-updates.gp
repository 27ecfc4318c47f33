# 05-lost-updates.gp - chapter 05: updates the unlocked counter lost, run by
# run.  The .plot block in book/05-shm-counter-race.md writes "data": one
# line a trial, "trial  plain%  window%", each the share of updates lost.
# The filter sets the terminal (SVG or PDF) and the output file.
set termoption noenhanced   # "shm_counter" is a name, not a subscript
stats 'data' using ($2 > 0) name 'plain' nooutput
stats 'data' using ($3 > 0) name 'window' nooutput
set key below left Left reverse
set xlabel 'trial (one run of shm_counter --lock none, 2 processes x 100,000 increments)'
set ylabel 'updates lost (% of 200,000)'
set yrange [-3:103]
set xrange [0:plain_records + 1]
set ytics 0, 25, 100
set grid ytics lc rgb '#dddddd'
set border 3
set xtics nomirror
set ytics nomirror
plot 'data' using 1:3 with points pt 5 ps 0.5 lc rgb '#1f77b4' \
         title sprintf('pinned, a yield every 100 (--pin --window 100): lost in %d of %d runs', window_sum, window_records), \
     'data' using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' \
         title sprintf('plain loop (not pinned, no window): lost in %d of %d runs', plain_sum, plain_records)
