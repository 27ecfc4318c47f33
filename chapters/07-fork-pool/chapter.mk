# chapters/07-fork-pool/chapter.mk - included by the top Makefile.
#
# The process pool (pool*.c, split by concern: see pool_impl.h) and its
# thread twin (tpool.c) live in pool/, a subfolder: they are not programs.
# The demo, the bench and the CUnit tests link them.

POOL07_DIR := chapters/07-fork-pool
POOL07_OBJ := $(patsubst %,$(BUILD)/$(POOL07_DIR)/pool/%.o,pool pool_worker pool_io pool_child \
                pool_sigchld pool_jobs)
TPOOL07_OBJ := $(BUILD)/$(POOL07_DIR)/pool/tpool.o $(BUILD)/$(POOL07_DIR)/pool/tpool_thread.o

$(BUILD)/$(POOL07_DIR)/pool_demo: $(POOL07_OBJ) $(TPOOL07_OBJ)
BENCH07_OBJ := $(BUILD)/$(POOL07_DIR)/bench/refs.o
$(BUILD)/$(POOL07_DIR)/pool_bench: $(POOL07_OBJ) $(TPOOL07_OBJ) $(BENCH07_OBJ)
$(BUILD)/$(POOL07_DIR)/pool_demo.o $(BUILD)/$(POOL07_DIR)/pool_bench.o: ALL_CFLAGS += -I$(POOL07_DIR)/pool
$(BUILD)/$(POOL07_DIR)/pool_bench.o: ALL_CFLAGS += -I$(POOL07_DIR)/bench

POOLTEST07_OBJ := $(BUILD)/tests/unit/pool_test_jobs.o
$(BUILD)/tests/unit/test_pool: $(POOLTEST07_OBJ) $(POOL07_OBJ)
$(BUILD)/tests/unit/test_pool_life: $(POOLTEST07_OBJ) $(POOL07_OBJ)
$(BUILD)/tests/unit/test_pool_batch: $(POOLTEST07_OBJ) $(TPOOL07_OBJ) $(POOL07_OBJ)
$(BUILD)/tests/unit/test_tpool: $(BUILD)/tests/unit/tpool_test_jobs.o $(POOLTEST07_OBJ) $(TPOOL07_OBJ) \
    $(POOL07_OBJ)
$(BUILD)/tests/unit/test_pool.o $(BUILD)/tests/unit/test_pool_life.o $(POOLTEST07_OBJ) \
$(BUILD)/tests/unit/test_pool_batch.o $(BUILD)/tests/unit/test_tpool.o \
$(BUILD)/tests/unit/tpool_test_jobs.o: \
    ALL_CFLAGS += -I$(POOL07_DIR)/pool

# Header dependencies of the pool objects (the top Makefile includes only
# those of programs, lib/ and tests).
-include $(POOL07_OBJ:.o=.d) $(TPOOL07_OBJ:.o=.d) $(BENCH07_OBJ:.o=.d) $(POOLTEST07_OBJ:.o=.d) \
    $(BUILD)/tests/unit/tpool_test_jobs.d

# `make bench` may gather several chapters' benchmarks: each adds itself as
# a prerequisite, so no chapter's rule overrides another's.
##bench: measure jobs/second: fork-per-job, prefork and thread pools, xargs -P, Python (ch. 07)
bench: bench-07-fork-pool

bench-07-fork-pool: $(BUILD)/$(POOL07_DIR)/pool_bench
	$(BUILD)/$(POOL07_DIR)/pool_bench

.PHONY: bench bench-07-fork-pool
