# Chapter 02: the private FIFO directory and the server protocol are shared.
CH02 := $(BUILD)/chapters/02-fifo
$(CH02)/fifo_server $(CH02)/fifo_client $(CH02)/fifo_rendezvous: $(CH02)/fifo/fifo.o
$(CH02)/fifo_lines: $(CH02)/fifo/fifo.o
