# Chapter 01: the worker loop is shared by signal_worker and supervisor.
CH01 := $(BUILD)/chapters/01-signals
$(CH01)/signal_worker $(CH01)/supervisor: $(CH01)/worker/worker.o
