/* flockerfs — the /metrics HTTP listener (see metrics_http.h). */
#include "cluster/net/metrics_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cluster/net/wake.h"
#include "fs/util/metrics.h"

struct fl_metrics_http {
	struct event_base *base;
	struct evhttp *http;
	struct fl_wake wake; /* poked to stop the thread */
	pthread_t thread;
	fl_metrics_gen gen;
	void *arg;
};

int fl_metrics_addr_parse(const char *addr, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = addr;
	size_t hl;
	unsigned long p;
	char *end;

	if (!addr)
		return -EINVAL;
	colon = strrchr(addr, ':');
	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hl < 2 || addr[hl - 1] != ']')
			return -EINVAL;
		h = addr + 1;
		hl -= 2;
	} else if (memchr(addr, ':', hl)) {
		return -EINVAL; /* an IPv6 address needs its brackets */
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
		return -EINVAL;
	if (hl + 1 > hostlen)
		return -EINVAL;
	if (hl)
		snprintf(host, hostlen, "%.*s", (int)hl, h);
	else
		snprintf(host, hostlen, "0.0.0.0");
	*port = (unsigned)p;
	return 0;
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct fl_metrics_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	struct evbuffer *out;
	struct fl_buf text;
	int ret;

	if (!path || strcmp(path, "/metrics")) {
		evhttp_send_error(req, 404, "only /metrics is here");
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(hd, "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "GET /metrics");
		return;
	}
	fl_buf_init(&text, 64u << 20);
	ret = h->gen(h->arg, &text);
	out = evbuffer_new();
	if (ret || !out) {
		if (out)
			evbuffer_free(out);
		fl_buf_free(&text);
		evhttp_send_error(req, 500, "cannot write the metrics");
		return;
	}
	evhttp_add_header(hd, "Content-Type", FL_METRICS_CONTENT_TYPE);
	if (m == EVHTTP_REQ_GET && text.len)
		evbuffer_add(out, text.data, text.len);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	fl_buf_free(&text);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *run(void *arg)
{
	struct fl_metrics_http *h = arg;

	event_base_dispatch(h->base);
	return NULL;
}

static void release(struct fl_metrics_http *h)
{
	fl_wake_close(&h->wake);
	if (h->http)
		evhttp_free(h->http);
	if (h->base)
		event_base_free(h->base);
	free(h);
}

int fl_metrics_http_start(const char *addr, fl_metrics_gen gen, void *arg,
			  struct fl_metrics_http **out, char *err, size_t errlen)
{
	struct fl_metrics_http *h = calloc(1, sizeof(*h));
	char host[256];
	unsigned port;
	int ret;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->gen = gen;
	h->arg = arg;
	if (fl_metrics_addr_parse(addr, host, sizeof(host), &port)) {
		snprintf(err, errlen, "invalid metrics address %.300s: use HOST:PORT or [V6]:PORT",
			 addr);
		ret = -EINVAL;
		goto fail;
	}
	h->base = event_base_new();
	h->http = h->base ? evhttp_new(h->base) : NULL;
	ret = h->http ? fl_wake_open(&h->wake, h->base, false, on_wake, h->base) : -ENOMEM;
	if (ret) {
		snprintf(err, errlen, "cannot serve metrics: %s",
			 ret == -ENOMEM ? "out of memory" : strerror(-ret));
		goto fail;
	}
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(h->http, 8192);
	evhttp_set_max_body_size(h->http, 4096);
	evhttp_set_timeout(h->http, 30);
	evhttp_set_gencb(h->http, handle, h);
	if (evhttp_bind_socket(h->http, host, (uint16_t)port)) {
		ret = -EADDRNOTAVAIL;
		snprintf(err, errlen, "cannot listen for metrics on %.300s: %s", addr,
			 errno ? strerror(errno) : "bind failed");
		goto fail;
	}
	ret = pthread_create(&h->thread, NULL, run, h);
	if (ret) {
		snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(ret));
		ret = -ret;
		goto fail;
	}
	*out = h;
	return 0;
fail:
	release(h);
	return ret;
}

void fl_metrics_http_stop(struct fl_metrics_http *h)
{
	if (!h)
		return;
	fl_wake_poke(&h->wake);
	pthread_join(h->thread, NULL);
	release(h);
}
