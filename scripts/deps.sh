#!/bin/sh
# deps.sh [test|book|all] - install the Debian packages ipclab needs that are
# missing.  Silent, and fast (one dpkg-query), when everything is there.
#
#   test  building and testing: compilers, CUnit, bats and its helpers
#   book  the above, plus what `make book` needs (pandoc, graphviz, TeX Live)
#
# Runs apt-get as root, or through sudo when that works without a password;
# otherwise prints the exact command to run and fails.
set -eu

# Kept one package a line, so a diff shows what changed and why.
TEST_PACKAGES="
make
gcc
clang
libc6-dev
libcunit1-dev
bats
bats-support
bats-assert
procps
util-linux
pandoc
graphviz
libev-dev
php8.2-cli
libzmq3-dev
libnng-dev
php8.2-zmq
libstrophe-dev
iproute2
ejabberd
"
# libev-dev: chapter 10's event loop (qdaemon).
# php8.2-cli: the PHP test peers of chapters 09 (shmop, sysvshm) and 10
# (sysvmsg); those extensions come with it, in php8.2-common.
# libzmq3-dev, libnng-dev: chapter 11 (ZeroMQ, and nng's REQ/REP twin) and
# chapter 13's benchmark; php8.2-zmq: chapter 11's PHP client.
# libstrophe-dev: chapter 12's XMPP clients.
# iproute2: ip, which chapter 11's tests use to make network namespaces
# joined by veth pairs (several hosts on one machine, as root).
# ejabberd: chapter 12's broker.  Its tests start a private instance
# (chapters/12-xmpp/xmpp-server.sh); Debian's postinst would start the
# system-wide service too, listening on every interface on 5222, 5269,
# 5280..., so it is installed with service start-up refused (below).
# procps: ps, used by the leak guard; util-linux: ipcs, taskset.
# pandoc, graphviz: tests/book.bats builds a small HTML book (no TeX).

BOOK_PACKAGES="
pandoc
graphviz
gnuplot-nox
texlive-latex-recommended
lmodern
epubcheck
valgrind
"
# pdflatex with lmodern needs nothing from texlive-latex-extra (~155 MB
# with texlive-pictures) or texlive-fonts-recommended: book/latex-header.tex
# does without fvextra, framed and upquote.  epubcheck (with Java) checks
# every EPUB the book writes.  valgrind: chapter 08 runs helgrind and DRD
# on the thread demo while the book is built.

case ${1:-test} in
    test) wanted=$TEST_PACKAGES ;;
    book|all) wanted="$TEST_PACKAGES $BOOK_PACKAGES" ;;
    *) echo "usage: $0 [test|book|all]" >&2; exit 2 ;;
esac

# One dpkg-query for all of them: "ii pkg" for each installed package.
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $wanted 2>/dev/null |
            awk '$1 == "ii" { print $2 }') || true
missing=
for pkg in $wanted; do
    case " $(echo $installed) " in
        *" $pkg "*) ;;
        *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0

command="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
    run=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=sudo
else
    echo "ipclab needs these Debian packages:$missing" >&2
    echo "Install them as root, then run make again:" >&2
    echo "  apt-get update && $command" >&2
    exit 1
fi

echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq
# A package's postinst starts its service through invoke-rc.d, which asks
# /usr/sbin/policy-rc.d first: exit status 101 means "not allowed".  Only
# when no such file exists (a machine's own policy is left alone), and
# removed afterwards, whatever happens.
# Its maintainer scripts may also run ejabberdctl, whose Erlang starts the
# epmd daemon: stopped afterwards unless one ran before.
policy=/usr/sbin/policy-rc.d
made_policy=
epmd_before=$(pgrep -x epmd || true)
case " $missing " in
    *" ejabberd "*)
        if [ ! -e $policy ]; then
            $run sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
            made_policy=1
            trap '$run rm -f $policy' EXIT
        fi ;;
esac
# shellcheck disable=SC2086
$run apt-get install -y -qq --no-install-recommends $missing
if [ -n "$made_policy" ]; then
    $run rm -f $policy
    trap - EXIT
fi
# On a machine run by systemd the postinst also enabled the service for
# the next boot: ipclab never wants it, so it is disabled.
case " $missing " in
    *" ejabberd "*) [ ! -d /run/systemd/system ] || $run systemctl disable --now ejabberd >/dev/null 2>&1 || true ;;
esac
if [ -z "$epmd_before" ] && pgrep -x epmd >/dev/null; then
    $run epmd -kill >/dev/null 2>&1 || true
fi
