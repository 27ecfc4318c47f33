# ipclab - Linux inter-process communication, taught by small tested programs.
# `make help` lists the targets.  GNU make.
#
# Layout this file relies on (nothing is listed by hand):
#   chapters/NN-topic/*.c     one program each -> build/chapters/NN-topic/NAME
#   chapters/NN-topic/chapter.mk  optional: extra objects or targets of a chapter
#   lib/*.c                   the helper library -> build/lib/libipclab.a
#   tests/unit/test_*.c       one CUnit executable each -> build/tests/unit/test_*
#   tests/chapters/NN-topic.bats, tests/*.bats, tests/race/  run by scripts/run-tests.sh

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

# --- toolchain and flags ----------------------------------------------------
# Build outputs go under $(BUILD).  `make asan` uses $(BUILD)/asan, so the
# sanitizer build never mixes with the normal one.
BUILD    ?= build
CC       ?= cc
CFLAGS   ?= -O2 -g
SANITIZE ?=

# Feature-test macros, in this one place.
#   _XOPEN_SOURCE=700  POSIX.1-2008 (it implies _POSIX_C_SOURCE=200809L) plus
#                      the XSI option, where System V IPC (shmget, semop,
#                      msgsnd) and ftok live.  Every file is held to this.
#   _GNU_SOURCE        is NOT set here.  The few files that need a Linux
#                      extension define it right after their header comment,
#                      before any #include, next to a comment naming the
#                      extension (CPU affinity, semtimedop, strerrorname_np,
#                      ...), so the non-portable parts stay visible and small.
FEATURES := -D_XOPEN_SOURCE=700
WARNINGS := -Wall -Wextra -Werror
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer)

ALL_CFLAGS := -std=c11 $(FEATURES) $(WARNINGS) $(CFLAGS) $(SAN_FLAGS) -pthread -Ilib
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS) -pthread
LDLIBS   ?= -lrt

# Rebuild everything when the compiler or the flags change (CC=clang after a
# gcc build, say): every object depends on this stamp, rewritten only when
# its content differs.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LDLIBS)
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || echo '$(FLAGS_NOW)' > $(FLAGS_STAMP); })

# --- what there is to build ---------------------------------------------------
CHAPTERS        := $(sort $(patsubst %/,%,$(wildcard chapters/[0-9][0-9]-*/)))
PROGRAM_SOURCES := $(sort $(wildcard chapters/*/*.c))
PROGRAMS        := $(PROGRAM_SOURCES:%.c=$(BUILD)/%)
LIB_SOURCES     := $(sort $(wildcard lib/*.c))
LIB_OBJECTS     := $(LIB_SOURCES:%.c=$(BUILD)/%.o)
LIB             := $(BUILD)/lib/libipclab.a
UNIT_SOURCES    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_TESTS      := $(UNIT_SOURCES:%.c=$(BUILD)/%)
UNIT_SUPPORT    := $(BUILD)/tests/unit/unit.o

# The test runner and the bats helpers find programs through this.
export IPCLAB_BUILD := $(BUILD)

# --- rules -----------------------------------------------------------------------
##all: build the library and every chapter's programs (the default)
all: $(PROGRAMS)

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJECTS)
	@rm -f $@
	$(AR) rcs $@ $^

# Static pattern rules, so make never treats a program as an intermediate
# file and deletes it.  A chapter.mk may add object prerequisites to a
# program; every .o and .a prerequisite is linked.
$(PROGRAMS): $(BUILD)/%: $(BUILD)/%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

$(BUILD)/tests/unit/%.o: ALL_CFLAGS += -Itests/unit

$(UNIT_TESTS): $(BUILD)/%: $(BUILD)/%.o $(UNIT_SUPPORT) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) -lcunit $(LDLIBS)

-include $(wildcard chapters/*/chapter.mk)
-include $(wildcard book/book.mk)

# --- testing -------------------------------------------------------------------
##deps: install the Debian packages the tests need that are missing
deps:
	@scripts/deps.sh test

##test: install what is missing, build, then run unit tests, bats tests and race checks
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory test-binaries
	@scripts/run-tests.sh all

test-binaries: $(PROGRAMS) $(UNIT_TESTS)

##unit: run the CUnit tests of lib/ only
unit: test-binaries
	@scripts/run-tests.sh unit

##bats: run the bats tests of every program only
bats: test-binaries
	@scripts/run-tests.sh bats

##race: prove each race demo loses updates without its lock and never with it
race: test-binaries
	@scripts/run-tests.sh race

##asan: build with AddressSanitizer and UBSan into build/asan and run the whole test suite
asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANITIZE=address,undefined test

# --- tools ---------------------------------------------------------------------------
##compile_commands.json: write the compilation database editors and clang-tidy read
# Every C file that is compiled (programs, their chapter subfolders, lib/,
# the unit tests and their support files), each with the command make really
# runs for it: make's own dry run (-n -B) of every object, read by
# scripts/compile-commands.sh.
ALL_OBJECTS = $(sort $(PROGRAMS:=.o) $(LIB_OBJECTS) $(UNIT_TESTS:=.o) $(UNIT_SUPPORT) \
                     $(patsubst %.c,$(BUILD)/%.o,$(wildcard chapters/*/*/*.c tests/unit/*.c)))
compile_commands.json: $(FLAGS_STAMP) $(wildcard chapters/*/*.c chapters/*/*/*.c chapters/*/chapter.mk tests/unit/*.c) $(LIB_SOURCES)
	@$(MAKE) --no-print-directory -n -B $(ALL_OBJECTS) | scripts/compile-commands.sh > $(COMPILE_DB)
	@echo "wrote $(COMPILE_DB) ($$(grep -c '"file"' $(COMPILE_DB)) files)"

# Where it goes (a test writes it elsewhere).
COMPILE_DB ?= compile_commands.json

##clean-ipc: find and remove what ipclab programs killed by kill -9 left behind (DRY_RUN=1: only list)
clean-ipc:
	@scripts/clean-ipc.sh $(if $(DRY_RUN),--dry-run)

##clean: remove build/ and compile_commands.json
clean:
	rm -rf build compile_commands.json

##help: list the targets with what each does
help:
	@echo "ipclab make targets:"
	@sed -n 's/^##\([^:]*\): */  \1\t/p' $(MAKEFILE_LIST) | expand -t 26
	@echo "Variables: CC=clang to build with clang, BUILD=dir to build elsewhere."

.PHONY: all deps test test-binaries unit bats race asan clean clean-ipc help

-include $(LIB_OBJECTS:.o=.d) $(PROGRAMS:=.d) $(UNIT_TESTS:=.d) $(UNIT_SUPPORT:.o=.d)
