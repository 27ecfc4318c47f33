# Chapter 04: room's helpers live in door/: the semaphore at the door
# (door.c), the board that counts who is inside (board.c) and the
# PHP-compatible semaphore set for --key (php_set.c).
CH04 := $(BUILD)/chapters/04-semaphore-room
CH04_DOOR := $(patsubst %,$(CH04)/door/%.o,door board php_set)
$(CH04)/room: $(CH04_DOOR)
-include $(CH04_DOOR:.o=.d)
