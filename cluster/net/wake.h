/*
 * flockerfs — waking an event loop from another thread, where libevent's own
 * thread support is not turned on: a non-blocking pipe whose read end is an
 * event of the loop.  flocker-control's workers hand their finished jobs back
 * to its loop so; the metrics listener's thread is told to stop so.
 */
#ifndef FLOCKER_WAKE_H
#define FLOCKER_WAKE_H

#include <stdbool.h>

#include <event2/event.h>

struct fl_wake {
	struct event *ev; /* NULL until fl_wake_open succeeds */
	int fd[2];
};

/*
 * The pipe, and its read end as an event of base that calls cb(fd, EV_READ,
 * arg); persist: the event stays after it ran.  0, or a negative errno (w
 * then holds nothing).
 */
int fl_wake_open(struct fl_wake *w, struct event_base *base, bool persist, event_callback_fn cb,
		 void *arg);
/* Any thread: wakes the loop (a full pipe has already woken it).  0 or -errno. */
int fl_wake_poke(struct fl_wake *w);
/* In the callback: empties the pipe. */
void fl_wake_drain(struct fl_wake *w);
/* The event and the pipe; nothing when w was not opened (a zeroed w). */
void fl_wake_close(struct fl_wake *w);

#endif
