# Chapter 06: the Unix-domain socket programs share common/uds.c (a private
# directory for the socket file, bind/listen/connect, reading lines).  The
# programs that fork use lib/workers.h's fork_child_or_die().
CH06 := $(BUILD)/chapters/06-socketpair
$(CH06)/pass_fd $(CH06)/uds_server $(CH06)/uds_client: $(CH06)/common/uds.o
