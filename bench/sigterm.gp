# SPDX-License-Identifier: MIT
# sigterm.gp: figure 6, requests completed per 10 ms around SIGTERM, without and with lastcall.
#   gnuplot -e "data='DATAFILE'; out='PNG'; note='SUBTITLE'; gone0=MS; gone1=MS" bench/sigterm.gp
# data columns (bench/load.c): ms, completed and lost without lastcall, the same with it;
# gone0 and gone1: when each server was gone, in ms from SIGTERM.
set terminal pngcairo size 900,450 font ",10"
set output out
set title "build/examples/epoll, 100 clients, GET /delay/0-99 on a new connection each: SIGTERM at 0\n".note
set xlabel "ms from SIGTERM"
set ylabel "requests per 10 ms"
set xrange [-300:300]
set yrange [0:*]
set grid ytics
set key top right
set arrow from 0, graph 0 to 0, graph 1 nohead dashtype 2 linecolor rgb "#555555"
set label "SIGTERM" at 3, graph 0.96 textcolor rgb "#555555"
set arrow from gone0, graph 0 to gone0, graph 0.5 nohead dashtype 3 linecolor rgb "#c0392b"
set label sprintf("gone, without (%.0f ms)", gone0) at gone0 + 3, graph 0.52 textcolor rgb "#c0392b"
set arrow from gone1, graph 0 to gone1, graph 0.4 nohead dashtype 3 linecolor rgb "#2471a3"
set label sprintf("gone, with (%.0f ms)", gone1) at gone1 + 3, graph 0.42 textcolor rgb "#2471a3"
plot data using 1:2 with steps linewidth 2 linecolor rgb "#c0392b" title "completed, without lastcall", \
     data using 1:4 with steps linewidth 2 linecolor rgb "#2471a3" title "completed, with lastcall", \
     data using ($1+5):($3 > 0 ? $3 : 1/0) with impulses linewidth 6 linecolor rgb "#e67e22" title "lost (sent, no whole reply), without lastcall", \
     data using ($1+5):($5 > 0 ? $5 : 1/0) with impulses linewidth 6 linecolor rgb "#6c3483" title "lost, with lastcall"
