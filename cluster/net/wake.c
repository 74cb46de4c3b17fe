/* flockerfs — waking an event loop from another thread (see wake.h). */
#include "cluster/net/wake.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int fl_wake_open(struct fl_wake *w, struct event_base *base, bool persist, event_callback_fn cb,
		 void *arg)
{
	int ret;

	memset(w, 0, sizeof(*w));
	if (pipe2(w->fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	w->ev = event_new(base, w->fd[0], EV_READ | (persist ? EV_PERSIST : 0), cb, arg);
	if (w->ev && event_add(w->ev, NULL) == 0)
		return 0;
	ret = -ENOMEM;
	if (w->ev)
		event_free(w->ev);
	close(w->fd[0]);
	close(w->fd[1]);
	memset(w, 0, sizeof(*w));
	return ret;
}

int fl_wake_poke(struct fl_wake *w)
{
	if (write(w->fd[1], "x", 1) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void fl_wake_drain(struct fl_wake *w)
{
	char buf[64];

	while (read(w->fd[0], buf, sizeof(buf)) > 0)
		;
}

void fl_wake_close(struct fl_wake *w)
{
	if (!w->ev)
		return;
	event_free(w->ev);
	close(w->fd[0]);
	close(w->fd[1]);
	memset(w, 0, sizeof(*w));
}
