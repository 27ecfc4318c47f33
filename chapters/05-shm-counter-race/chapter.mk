# Chapter 05: shm_counter and lock_cost hold the same locks (locks/lock.c).
# shm_counter --key --lock sysv-sem joins PHP's sem_get set the way room
# --key does, with chapter 04's door/php_set.c.
CH05 := $(BUILD)/chapters/05-shm-counter-race
$(CH05)/shm_counter: $(CH05)/locks/lock.o $(BUILD)/chapters/04-semaphore-room/door/php_set.o
$(CH05)/lock_cost: $(CH05)/locks/lock.o
-include $(CH05)/locks/lock.d
