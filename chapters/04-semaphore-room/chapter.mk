# Chapter 04: room's shared board and the PHP-compatible semaphore set
# (door/php_set.c, for --key) live in door/.
CH04 := $(BUILD)/chapters/04-semaphore-room
$(CH04)/room: $(CH04)/door/shared.o $(CH04)/door/php_set.o
-include $(CH04)/door/shared.d $(CH04)/door/php_set.d
