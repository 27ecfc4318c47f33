# Chapter 08: the ThreadSanitizer check of the thread counter.
#
# `make tsan` builds thread_counter (and the library) with -fsanitize=thread
# into their own directory, $(BUILD)/tsan, so the instrumented objects never
# mix with the normal ones, then runs it under every lock: the unlocked run
# must be reported as a data race, the locked runs must be clean.
# tests/chapters/08-pthreads.bats runs it as part of `make test`.

TSAN_THREAD_PROGRAMS := chapters/08-pthreads/thread_counter

##tsan: build the thread demo with TSan; the unlocked run must be reported, no locked one
tsan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan SANITIZE=thread \
	    $(TSAN_THREAD_PROGRAMS:%=$(BUILD)/tsan/%)
	@chapters/08-pthreads/tsan-check.sh $(BUILD)/tsan/chapters/08-pthreads/thread_counter

.PHONY: tsan
