# chapters/11-zeromq/chapter.mk - included by the top Makefile.
#
# The shared ZeroMQ plumbing lives in common/ (not programs).  libzmq and
# libnng are linked into this chapter's programs only.

CH11_DIR := chapters/11-zeromq
CH11 := $(BUILD)/$(CH11_DIR)
CH11_ZH := $(CH11)/common/zh.o
CH11_HELLO := $(CH11)/common/hello.o
CH11_ZMQ_PROGRAMS := $(patsubst $(CH11_DIR)/%.c,$(CH11)/%,$(wildcard $(CH11_DIR)/zmq_*.c))
CH11_STATS := $(CH11)/common/stats.o
CH11_POOL := $(CH11)/common/zpool_job.o $(CH11)/common/zpool_child.o $(CH11)/common/zpool_dispatch.o
CH11_OBJECTS := $(CH11_ZH) $(CH11_HELLO) $(CH11_STATS) $(CH11_POOL)

$(CH11_ZMQ_PROGRAMS): $(CH11_ZH)
$(CH11_ZMQ_PROGRAMS): LDLIBS += -lzmq
$(CH11)/zmq_hello_server $(CH11)/zmq_hello_client: $(CH11_HELLO)
$(CH11)/zmq_roundtrip $(CH11)/raw_roundtrip: $(CH11_STATS)
$(CH11)/raw_roundtrip.o: ALL_CFLAGS += -I$(CH11_DIR)/common
$(CH11)/nng_hello: LDLIBS += -lnng
$(CH11)/zmq_pool: $(CH11_POOL) $(CH11_STATS)
$(CH11)/zmq_pool_worker: $(CH11)/common/zpool_job.o $(CH11)/common/zpool_child.o
$(CH11_ZMQ_PROGRAMS:=.o) $(CH11_OBJECTS): ALL_CFLAGS += -I$(CH11_DIR)/common

-include $(CH11_OBJECTS:.o=.d)

##bench-11-zeromq: ZeroMQ round trips vs bare sockets, the distributed pool vs chapter 07's (ch. 11; part of bench)
bench: bench-11-zeromq

bench-11-zeromq: $(CH11)/zmq_roundtrip $(CH11)/raw_roundtrip $(CH11)/zmq_pool $(CH11)/zmq_pool_worker \
                 $(BUILD)/chapters/07-fork-pool/pool_bench
	$(CH11_DIR)/bench.sh $(CH11) $(BUILD)/chapters/07-fork-pool

.PHONY: bench bench-11-zeromq
