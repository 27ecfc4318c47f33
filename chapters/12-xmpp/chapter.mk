# chapters/12-xmpp/chapter.mk - included by the top Makefile.
#
# Every program here talks XMPP through libstrophe (libstrophe-dev) and
# shares common/xs.o (log in, run until, log out).  The server itself is
# ejabberd, started privately by xmpp-server.sh.

CH12_DIR := chapters/12-xmpp
CH12 := $(BUILD)/$(CH12_DIR)
CH12_COMMON := $(CH12)/common/xs.o
CH12_PROGRAMS := $(patsubst $(CH12_DIR)/%.c,$(CH12)/%,$(wildcard $(CH12_DIR)/*.c))

$(CH12_PROGRAMS): $(CH12_COMMON)
$(CH12)/xmpp_workq: $(CH12)/common/rtt.o
$(CH12_PROGRAMS): LDLIBS += -lstrophe
$(CH12_PROGRAMS:=.o) $(CH12_COMMON) $(CH12)/common/rtt.o: ALL_CFLAGS += -I$(CH12_DIR)

# The server script goes next to the programs, so `cd build/chapters/12-xmpp`
# finds it, and so do the book's runs (their PATH starts there).  Linking
# takes only .o and .a prerequisites: the script is not linked.
$(CH12)/xmpp-server.sh: $(CH12_DIR)/xmpp-server.sh
	@mkdir -p $(@D)
	cp $< $@
$(CH12_PROGRAMS): $(CH12)/xmpp-server.sh

-include $(CH12_COMMON:.o=.d) $(CH12)/common/rtt.d

# `make bench` gathers every chapter's benchmark (see chapter 07's chapter.mk).
##bench-12-xmpp: XMPP request/reply through a private ejabberd beside a Unix socket and ZeroMQ (ch. 12; part of bench)
bench: bench-12-xmpp

bench-12-xmpp: $(CH12)/xmpp_echo $(CH12)/xmpp_workq
	$(CH12_DIR)/bench.sh $(CH12)

.PHONY: bench bench-12-xmpp
