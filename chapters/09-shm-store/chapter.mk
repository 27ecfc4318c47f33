# chapters/09-shm-store/chapter.mk - included by the top Makefile.
#
# The store (store/) and the ring buffer (ring/) are not programs: the
# programs that use them link their objects.

CH09_DIR := chapters/09-shm-store
CH09_STORE := $(BUILD)/$(CH09_DIR)/store/store.o $(BUILD)/$(CH09_DIR)/store/segment.o
CH09_RING := $(BUILD)/$(CH09_DIR)/ring/ring.o

$(BUILD)/$(CH09_DIR)/shm_store: $(CH09_STORE)
$(BUILD)/$(CH09_DIR)/store_race: $(CH09_STORE)
$(BUILD)/$(CH09_DIR)/shm_file: $(CH09_RING)
$(BUILD)/$(CH09_DIR)/shm_bench: $(CH09_RING)
$(BUILD)/$(CH09_DIR)/shm_store.o $(BUILD)/$(CH09_DIR)/store_race.o $(CH09_STORE): ALL_CFLAGS += -I$(CH09_DIR)/store
$(BUILD)/$(CH09_DIR)/shm_file.o $(BUILD)/$(CH09_DIR)/shm_bench.o $(CH09_RING): ALL_CFLAGS += -I$(CH09_DIR)/ring

-include $(CH09_STORE:.o=.d) $(CH09_RING:.o=.d)

##bench-09-shm-store: throughput of a shared-memory ring vs a pipe, a socketpair and memcpy (ch. 09; part of bench)
bench: bench-09-shm-store

bench-09-shm-store: $(BUILD)/$(CH09_DIR)/shm_bench
	$(BUILD)/$(CH09_DIR)/shm_bench

.PHONY: bench bench-09-shm-store
