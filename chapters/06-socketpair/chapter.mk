# Chapter 06: the Unix-domain socket programs share common/uds.c (a private
# directory for the socket file, bind/listen/connect, reading lines); the
# programs that fork share common/child.c (fork and register the child with
# no gap for a signal).
CH06 := $(BUILD)/chapters/06-socketpair
$(CH06)/pass_fd $(CH06)/uds_server $(CH06)/uds_client: $(CH06)/common/uds.o
$(CH06)/pair_hello $(CH06)/pair_frames $(CH06)/pass_fd: $(CH06)/common/child.o
