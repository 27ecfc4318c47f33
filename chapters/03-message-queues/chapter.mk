# Chapter 03: the programs that wait on a System V queue share the timed
# msgsnd/msgrcv of common/msg_timed.c.
CH03 := $(BUILD)/chapters/03-message-queues
$(CH03)/msg_full $(CH03)/msg_children $(CH03)/msg_send $(CH03)/msg_recv: $(CH03)/common/msg_timed.o
