/*
 * flockerfs — TLS 1.3 contexts with mutual authentication against the
 * cluster CA and role checks from certificate fields (see tls.h).
 */
#include "cluster/net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cluster/net/ca.h"
#include "flocker/log.h"

static int role_idx = -1;
static int linger_idx = -1;

const char *fl_role_name(enum fl_role r)
{
	switch (r) {
	case FL_ROLE_CONTROL:
		return "control";
	case FL_ROLE_NODE:
		return "node";
	case FL_ROLE_USER:
		return "user";
	default:
		return "none";
	}
}

static int name_entry(X509_NAME *n, int nid, char *out, size_t len)
{
	int i = X509_NAME_get_index_by_NID(n, nid, -1);
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	int l;

	out[0] = '\0';
	if (i < 0)
		return -ENOENT;
	/* exactly one such entry */
	if (X509_NAME_get_index_by_NID(n, nid, i) >= 0)
		return -EINVAL;
	e = X509_NAME_get_entry(n, i);
	s = e ? X509_NAME_ENTRY_get_data(e) : NULL;
	if (!s)
		return -EINVAL;
	l = ASN1_STRING_length(s);
	if (l <= 0 || (size_t)l >= len)
		return -EINVAL;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)l);
	out[l] = '\0';
	if (strlen(out) != (size_t)l)
		return -EINVAL; /* embedded NUL */
	return 0;
}

static int node_uuid(X509 *x, char out[37])
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t plen = strlen(FL_NODE_URN);
	int i, ret = -ENOENT;

	out[0] = '\0';
	for (i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *d;
		int l;

		if (g->type != GEN_URI)
			continue;
		d = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		l = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if (l == (int)(plen + 36) && !memcmp(d, FL_NODE_URN, plen)) {
			memcpy(out, d + plen, 36);
			out[36] = '\0';
			ret = 0;
			break;
		}
	}
	GENERAL_NAMES_free(names);
	return ret;
}

int fl_cert_peer(X509 *x, struct fl_peer *p)
{
	X509_NAME *n = X509_get_subject_name(x);
	char ou[16];

	memset(p, 0, sizeof(*p));
	if (!n || name_entry(n, NID_commonName, p->name, sizeof(p->name)) ||
	    name_entry(n, NID_organizationalUnitName, ou, sizeof(ou)))
		return -EINVAL;
	if (!fl_cert_name_valid(p->name))
		return -EINVAL;
	if (!strcmp(ou, "control")) {
		p->role = FL_ROLE_CONTROL;
	} else if (!strcmp(ou, "user")) {
		p->role = FL_ROLE_USER;
	} else if (!strcmp(ou, "node")) {
		p->role = FL_ROLE_NODE;
		if (node_uuid(x, p->uuid))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

int fl_tls_peer(SSL *ssl, struct fl_peer *p)
{
	X509 *x = SSL_get0_peer_certificate(ssl);

	memset(p, 0, sizeof(*p));
	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return -ENOTCONN;
	return fl_cert_peer(x, p);
}

/* The chain checked out: the leaf must also carry the role this context accepts. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	struct fl_peer p;
	intptr_t want;

	if (!ok || X509_STORE_CTX_get_error_depth(xs) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (!ssl)
		return 0;
	want = (intptr_t)SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), role_idx);
	if (fl_cert_peer(X509_STORE_CTX_get_current_cert(xs), &p) || (intptr_t)p.role != want) {
		X509_STORE_CTX_set_error(xs, FL_X509_WRONG_ROLE);
		return 0;
	}
	return 1;
}

static SSL_CTX *make_ctx(const char *dir, const char *base, enum fl_role want, int server,
			 char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	char ca[4096], crt[4096], key[4096], why[256];

	if ((size_t)snprintf(ca, sizeof(ca), "%s/ca.crt", dir) >= sizeof(ca) ||
	    (size_t)snprintf(crt, sizeof(crt), "%s/%s.crt", dir, base) >= sizeof(crt) ||
	    (size_t)snprintf(key, sizeof(key), "%s/%s.key", dir, base) >= sizeof(key)) {
		fl_seterr(err, errlen, "cannot use certificate directory %s: path too long", dir);
		return NULL;
	}
	if (role_idx < 0) {
		/* first use happens before any thread starts using TLS */
		role_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		linger_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (role_idx < 0 || linger_idx < 0)
			goto out_ssl;
	}
	/* OpenSSL's "system lib" says less than the file system does */
	if (access(ca, R_OK) || access(crt, R_OK) || access(key, R_OK)) {
		const char *what = access(ca, R_OK)    ? "the cluster CA"
				   : access(crt, R_OK) ? "certificate"
						       : "key";
		const char *path = access(ca, R_OK) ? ca : access(crt, R_OK) ? crt : key;

		fl_seterr(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx)
		goto out_ssl;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
		goto out_ssl;
	if (!SSL_CTX_set_ex_data(ctx, role_idx, (void *)(intptr_t)want))
		goto out_ssl;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		fl_tls_err_text(ERR_peek_last_error(), why, sizeof(why));
		fl_seterr(err, errlen, "cannot load the cluster CA %s: %s", ca, why);
		goto out_free;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
		fl_tls_err_text(ERR_peek_last_error(), why, sizeof(why));
		fl_seterr(err, errlen, "cannot load certificate %s: %s", crt, why);
		goto out_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		fl_tls_err_text(ERR_peek_last_error(), why, sizeof(why));
		fl_seterr(err, errlen, "cannot load key %s: %s", key, why);
		goto out_free;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_verify_depth(ctx, 2);
	if (server) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);

		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(ctx, 0);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	return ctx;
out_ssl:
	fl_tls_err_text(ERR_peek_last_error(), why, sizeof(why));
	fl_seterr(err, errlen, "cannot set up TLS: %s", why);
out_free:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *fl_tls_server_ctx(const char *dir, const char *base, enum fl_role want, char *err,
			   size_t errlen)
{
	return make_ctx(dir, base, want, 1, err, errlen);
}

SSL_CTX *fl_tls_client_ctx(const char *dir, const char *base, enum fl_role want, char *err,
			   size_t errlen)
{
	return make_ctx(dir, base, want, 0, err, errlen);
}

void fl_tls_err_text(unsigned long e, char *buf, size_t len)
{
	const char *r;

	if (!e) {
		snprintf(buf, len, "no TLS error recorded");
		return;
	}
	/* OpenSSL 3 has no reason string for a system error (errno in the reason) */
	if (ERR_SYSTEM_ERROR(e)) {
		snprintf(buf, len, "%s",
			 ERR_GET_REASON(e) ? strerror(ERR_GET_REASON(e)) : "I/O error");
		return;
	}
	if (!ERR_GET_LIB(e)) {
		/* not an error code: SSL_get_error's (libevent queues those too) */
		snprintf(buf, len, "%s",
			 e == SSL_ERROR_SYSCALL	      ? "the connection failed (system call error)"
			 : e == SSL_ERROR_ZERO_RETURN ? "the peer closed the connection"
						      : "TLS failure");
		return;
	}
	r = ERR_reason_error_string(e);
	if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
		switch (ERR_GET_REASON(e)) {
		case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
			snprintf(
				buf, len,
				"refused by the peer: unknown CA (the certificate is not signed by "
				"the cluster's CA)");
			return;
		case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
			snprintf(buf, len, "refused by the peer: the certificate has expired");
			return;
		case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
			snprintf(
				buf, len,
				"refused by the peer: wrong role for this port (agents need a node "
				"certificate, the API a user certificate)");
			return;
		case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
			snprintf(buf, len, "refused by the peer: no certificate was given");
			return;
		case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
		case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
			snprintf(buf, len, "refused by the peer: %s", r ? r : "bad certificate");
			return;
		case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		case SSL_R_UNSUPPORTED_PROTOCOL:
			snprintf(buf, len,
				 "no common TLS version (the cluster speaks TLS 1.3 only)");
			return;
		case SSL_R_UNEXPECTED_EOF_WHILE_READING:
			snprintf(buf, len,
				 "the peer closed the connection (without a TLS goodbye)");
			return;
		case SSL_R_WRONG_VERSION_NUMBER:
			snprintf(buf, len, "the peer does not speak TLS (wrong port?)");
			return;
		default:
			break;
		}
	}
	if (r)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(e, buf, len);
}

void fl_tls_why_err(SSL *ssl, unsigned long e, char *buf, size_t len)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (v == FL_X509_WRONG_ROLE && ssl) {
		intptr_t want = (intptr_t)SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), role_idx);

		snprintf(buf, len, "the peer's certificate is refused: not a %s certificate",
			 fl_role_name((enum fl_role)want));
	} else if (v != X509_V_OK) {
		snprintf(buf, len, "the peer's certificate is refused: %s",
			 X509_verify_cert_error_string(v));
	} else if (e) {
		fl_tls_err_text(e, buf, len);
	} else {
		snprintf(buf, len, "the connection closed during the TLS handshake");
	}
}

void fl_tls_why(SSL *ssl, char *buf, size_t len)
{
	fl_tls_why_err(ssl, ERR_peek_last_error(), buf, len);
}

/* ------------------------------------------------------------------ */
/* refusals reach the client: the socket stays open, read and thrown away, a while */

#define LINGER_SLOTS  64
#define LINGER_IDLE_S 2
#define LINGER_MAX_S  5

struct linger_slot {
	struct event ev;
	int fd; /* -1: free */
	time_t until;
};

static pthread_mutex_t linger_mu = PTHREAD_MUTEX_INITIALIZER;
static struct linger_slot linger_slots[LINGER_SLOTS];
static bool linger_init;

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct linger_slot *l = arg;
	char buf[4096];
	ssize_t n = 0;

	if (what & EV_READ)
		n = read(fd, buf, sizeof(buf));
	if (n > 0 && time(NULL) < l->until)
		return;
	pthread_mutex_lock(&linger_mu);
	event_del(&l->ev);
	close(l->fd);
	l->fd = -1;
	pthread_mutex_unlock(&linger_mu);
}

/* A fatal alert went out: keep a duplicate of the socket open and drain it. */
static void linger_info_cb(const SSL *ssl, int where, int ret)
{
	struct event_base *base;
	struct timeval idle = {LINGER_IDLE_S, 0};
	int fd, dup, i;

	if (!(where & SSL_CB_WRITE_ALERT) || (ret >> 8) != SSL3_AL_FATAL)
		return;
	base = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), linger_idx);
	fd = SSL_get_fd(ssl);
	if (!base || fd < 0)
		return;
	pthread_mutex_lock(&linger_mu);
	for (i = 0; i < LINGER_SLOTS && linger_slots[i].fd >= 0; i++)
		;
	if (i == LINGER_SLOTS)
		goto out; /* too many at once: those close at once */
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		goto out;
	/* the alert is in the socket: a FIN after it, and the client's request lands here
	 * instead of drawing a reset that could destroy the alert before it is read */
	shutdown(dup, SHUT_WR);
	linger_slots[i].fd = dup;
	linger_slots[i].until = time(NULL) + LINGER_MAX_S;
	if (event_assign(&linger_slots[i].ev, base, dup, EV_READ | EV_PERSIST, linger_cb,
			 &linger_slots[i]) ||
	    event_add(&linger_slots[i].ev, &idle)) {
		close(dup);
		linger_slots[i].fd = -1;
	}
out:
	pthread_mutex_unlock(&linger_mu);
}

int fl_tls_linger_refusals(SSL_CTX *ctx, struct event_base *base)
{
	int i;

	pthread_mutex_lock(&linger_mu);
	if (!linger_init) {
		for (i = 0; i < LINGER_SLOTS; i++)
			linger_slots[i].fd = -1;
		linger_init = true;
	}
	pthread_mutex_unlock(&linger_mu);
	if (linger_idx < 0 || !SSL_CTX_set_ex_data(ctx, linger_idx, base))
		return -ENOMEM;
	SSL_CTX_set_info_callback(ctx, linger_info_cb);
	return 0;
}

void fl_tls_linger_stop(void)
{
	int i;

	pthread_mutex_lock(&linger_mu);
	for (i = 0; linger_init && i < LINGER_SLOTS; i++) {
		if (linger_slots[i].fd >= 0) {
			event_del(&linger_slots[i].ev);
			close(linger_slots[i].fd);
			linger_slots[i].fd = -1;
		}
	}
	pthread_mutex_unlock(&linger_mu);
}
