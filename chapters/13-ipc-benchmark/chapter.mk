# chapters/13-ipc-benchmark/chapter.mk - included by the top Makefile.
#
# ipc_bench is one program split by concern into bench/ (not programs):
# the harness and the phases, one file per family of mechanisms, the
# floor, the report.  Only it links ZeroMQ.

CH13_DIR := chapters/13-ipc-benchmark
CH13_OBJ := $(patsubst %,$(BUILD)/$(CH13_DIR)/bench/%.o,harness phases floor report \
              mech_fd mech_queue mech_shm mech_wake mech_zmq)

$(BUILD)/$(CH13_DIR)/ipc_bench: $(CH13_OBJ)
$(BUILD)/$(CH13_DIR)/ipc_bench: LDLIBS += -lzmq
$(BUILD)/$(CH13_DIR)/ipc_bench.o $(CH13_OBJ): ALL_CFLAGS += -I$(CH13_DIR)/bench

-include $(CH13_OBJ:.o=.d)

##bench-13-ipc-benchmark: latency and throughput of every IPC mechanism against the machine's floor (ch. 13; part of bench)
bench: bench-13-ipc-benchmark

bench-13-ipc-benchmark: $(BUILD)/$(CH13_DIR)/ipc_bench
	$(BUILD)/$(CH13_DIR)/ipc_bench

.PHONY: bench bench-13-ipc-benchmark
