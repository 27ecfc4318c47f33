# chapters/14-php-originals/chapter.mk - included by the top Makefile.
#
# This chapter has no C program of its own: it runs the PHP scripts of
# php/ against programs of chapters 01-06.  So that the book's examples
# (which find programs on PATH, in this chapter's build directory) and a
# reader find them all in one place, the build links those programs here
# and installs the PHP scripts, executable, beside them.

CH14_DIR := chapters/14-php-originals
CH14 := $(BUILD)/$(CH14_DIR)
CH14_PEERS := 01-signals/send_signal 02-fifo/fifo_lines 03-message-queues/msg_send \
              03-message-queues/msg_recv 04-semaphore-room/room \
              05-shm-counter-race/shm_counter 06-socketpair/fd_worker
CH14_LINKS := $(addprefix $(CH14)/,$(notdir $(CH14_PEERS)))
CH14_SCRIPTS := $(patsubst $(CH14_DIR)/php/%,$(CH14)/%,$(wildcard $(CH14_DIR)/php/*.php))

$(foreach p,$(CH14_PEERS),$(eval $(CH14)/$(notdir $p): $(BUILD)/chapters/$p ; \
    @mkdir -p $$(@D) && ln -sf $$(abspath $$<) $$@))

$(CH14)/%.php: $(CH14_DIR)/php/%.php
	@mkdir -p $(@D)
	install -m 755 $< $@

all test-binaries: $(CH14_LINKS) $(CH14_SCRIPTS)
# The book's part of this chapter runs them (book.mk makes it depend only
# on the chapter's own programs).
$(BUILD)/book/parts/14-php-originals.json: $(CH14_LINKS) $(CH14_SCRIPTS)
