# chapters/10-daemon/chapter.mk - included by the top Makefile.
#
# The daemon's parts live in common/ (not programs).  libev is linked into
# this chapter's programs only; qclient reuses chapter 03's timed msgrcv.

CH10_DIR := chapters/10-daemon
CH10 := $(BUILD)/$(CH10_DIR)
CH10_COMMON := $(addprefix $(CH10)/common/,proto.o dlog.o pidfile.o daemonize.o serve.o receiver.o \
	channels.o setup.o config.o notify.o leftovers.o keyopt.o)
CH10_TIMED := $(BUILD)/chapters/03-message-queues/common/msg_timed.o

$(CH10)/qdaemon: $(CH10_COMMON)
$(CH10)/qdaemon: LDLIBS += -lev
$(CH10)/qclient: $(CH10)/common/proto.o $(CH10)/common/keyopt.o $(CH10_TIMED)
$(CH10)/notify_peer: $(CH10)/common/notify.o $(CH10)/common/keyopt.o
$(CH10)/qclient.o: ALL_CFLAGS += -Ichapters

$(CH10)/epoll_loop: $(CH10_COMMON)

-include $(CH10_COMMON:.o=.d)

# `make bench` gathers every chapter's benchmark (see chapter 07's chapter.mk).
bench: bench-10-daemon

bench-10-daemon: $(CH10)/qdaemon $(CH10)/qclient
	$(CH10_DIR)/bench.sh $(CH10)

.PHONY: bench bench-10-daemon
