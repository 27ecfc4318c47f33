#!/bin/sh
# pdf.sh TEX PDF - runs pdflatex on TEX, in TEX's directory, until the table
# of contents and the references settle, then moves the result to PDF.
#
# LaTeX needs a second run to print a table of contents it wrote in the
# first, and the contents can shift the pages the entries point to: it runs
# again while the .aux or .toc file changes (at most 4 runs; an incremental
# build whose pages did not move needs one).  On an error it prints the
# lines of the log that name it.  Lines that stick out of the page and
# characters the font lacks do not stop the build, but are listed.
set -eu

tex=$1
pdf=$2
case $pdf in /*) ;; *) pdf=$(pwd)/$pdf ;; esac
cd "$(dirname "$tex")"
name=$(basename "$tex" .tex)

state() { cat "$name.aux" "$name.toc" 2>/dev/null | cksum; }

pass=0
while :; do
    pass=$((pass + 1))
    before=$(state)
    if ! pdflatex -interaction=nonstopmode -halt-on-error "$name.tex" >"$name.stdout" 2>&1; then
        echo "book: pdflatex failed on $tex (run $pass); from $(dirname "$tex")/$name.log:" >&2
        grep -A 8 '^!' "$name.log" >&2 || tail -n 30 "$name.log" >&2
        exit 1
    fi
    [ "$(state)" = "$before" ] && break
    if [ $pass -ge 4 ]; then
        echo "book: warning: the references of $tex still changed after $pass runs" >&2
        break
    fi
done

overfull=$(grep -c '^Overfull \\hbox' "$name.log" || true)
if [ "$overfull" -gt 0 ]; then
    echo "book: warning: $overfull lines stick out of the page in $2 (from $name.log):" >&2
    grep -A 1 '^Overfull \\hbox' "$name.log" | grep -v -e '^--$' | sed -n '2~2p' | head -n 10 | sed 's/^/  /' >&2
fi
missing=$(grep 'Missing character' "$name.log" | sort -u || true)
if [ -n "$missing" ]; then
    echo "book: warning: characters the PDF fonts lack:" >&2
    echo "$missing" | sed 's/^/  /' >&2
fi
mv -f "$name.pdf" "$pdf"
pages=$(sed -n 's/^Output written on .*(\([0-9]*\) pages.*/\1/p' "$name.log")
echo "book: $2: $pages pages, $pass pdflatex run(s)"
