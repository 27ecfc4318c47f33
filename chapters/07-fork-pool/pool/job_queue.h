/* job_queue.h - the first-in first-out queue both pools keep their jobs
 * in, written once.  Internal: pool_impl.h and tpool_impl.h include it;
 * it is part of neither API.
 *
 * The two pools' jobs are different types (struct job, struct tjob), each
 * linked through its own `next` and known by its `id`.  For one queue
 * type and its job type, JOB_QUEUE(prefix, queue type, job type) defines
 *   prefix_push(q, job)    adds job at the tail;
 *   prefix_pop(q)          takes the head off, or returns NULL;
 *   prefix_remove(q, id)   takes the job with that id out, or returns NULL.
 * The queue type has `head`, `tail` and a count `n`.  A macro rather than
 * void pointers, so that the compiler still checks every call's types. */
#ifndef IPCLAB_JOB_QUEUE_H
#define IPCLAB_JOB_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define JOB_QUEUE(prefix, queue_type, job_type)                                   \
    __attribute__((unused)) static inline void prefix##_push(queue_type *q,       \
                                                            job_type *job)       \
    {                                                                             \
        job->next = NULL;                                                         \
        if (q->tail != NULL)                                                      \
            q->tail->next = job;                                                  \
        else                                                                      \
            q->head = job;                                                        \
        q->tail = job;                                                            \
        q->n++;                                                                   \
    }                                                                             \
                                                                                  \
    __attribute__((unused)) static inline job_type *prefix##_pop(queue_type *q)   \
    {                                                                             \
        job_type *job = q->head;                                                  \
                                                                                  \
        if (job != NULL) {                                                        \
            q->head = job->next;                                                  \
            if (q->head == NULL)                                                  \
                q->tail = NULL;                                                   \
            q->n--;                                                               \
            job->next = NULL;                                                     \
        }                                                                         \
        return job;                                                               \
    }                                                                             \
                                                                                  \
    __attribute__((unused)) static inline job_type *prefix##_remove(queue_type *q, \
                                                                   uint64_t id)   \
    {                                                                             \
        job_type **link = &q->head, *prev = NULL;                                 \
                                                                                  \
        for (; *link != NULL; prev = *link, link = &(*link)->next) {              \
            job_type *job = *link;                                                \
            if (job->id != id)                                                    \
                continue;                                                         \
            *link = job->next;                                                    \
            if (q->tail == job)                                                   \
                q->tail = prev;                                                   \
            q->n--;                                                               \
            job->next = NULL;                                                     \
            return job;                                                           \
        }                                                                         \
        return NULL;                                                              \
    }

#endif
