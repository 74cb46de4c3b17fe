/*
 * flockerfs — TLS contexts of the control service, its agents and its
 * operators (OpenSSL 3).
 *
 * Every context speaks TLS 1.3 only, presents a certificate of the cluster
 * CA (DIR/ca.crt) and demands one from the peer, verified against that CA
 * alone (expired or foreign certificates fail), with the peer's role checked
 * from the certificate's fields (see ca.h) inside the verification, so a
 * wrong role fails the handshake itself.  Server contexts issue no session
 * tickets and keep no session cache: every connection verifies a certificate.
 *
 * Roles: the agent port accepts "node" certificates, the API port "user"
 * certificates; agents and flockerctl accept only a "control" certificate
 * from the server.  Host names are not checked: the private CA and the
 * control role are the identity.
 *
 * Contexts are reference counted by OpenSSL: SSL_CTX_free when done.
 */
#ifndef FLOCKER_TLS_H
#define FLOCKER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

enum fl_role {
	FL_ROLE_NONE = 0,
	FL_ROLE_CONTROL,
	FL_ROLE_NODE,
	FL_ROLE_USER,
};

/* Who is on the other end, from its verified certificate. */
struct fl_peer {
	enum fl_role role;
	char name[64]; /* CN */
	char uuid[37]; /* nodes: from urn:flocker:node:<uuid>, else "" */
};

const char *fl_role_name(enum fl_role r);

/*
 * Server context with certificate DIR/<base>.crt and key DIR/<base>.key,
 * accepting peers of role want.  NULL and a message in err on failure.
 */
SSL_CTX *fl_tls_server_ctx(const char *dir, const char *base, enum fl_role want, char *err,
			   size_t errlen);
/* Client context: same files, and the server must have role want. */
SSL_CTX *fl_tls_client_ctx(const char *dir, const char *base, enum fl_role want, char *err,
			   size_t errlen);

/* Reads role, name and uuid of a certificate; 0, or -EINVAL when it has no role. */
int fl_cert_peer(X509 *x, struct fl_peer *p);
/* The verified peer of an established connection; 0 or -ENOTCONN / -EINVAL. */
int fl_tls_peer(SSL *ssl, struct fl_peer *p);

/* The verification error of a certificate without the role the port wants: the
 * peer gets the alert "unsupported certificate". */
#define FL_X509_WRONG_ROLE X509_V_ERR_INVALID_PURPOSE

/*
 * One line for an OpenSSL error code: a system error as strerror, an alert
 * from the peer explained ("refused by the peer: unknown CA (...)"), else
 * OpenSSL's reason.  Never "(null)".
 */
void fl_tls_err_text(unsigned long e, char *buf, size_t len);
/* One line about why TLS on ssl failed: the local verification of the peer's
 * certificate, else the error e (0: none recorded). */
void fl_tls_why_err(SSL *ssl, unsigned long e, char *buf, size_t len);
/* The same with the last error of this thread's OpenSSL queue. */
void fl_tls_why(SSL *ssl, char *buf, size_t len);

struct event_base;
/*
 * Servers: when ctx's connections send a fatal alert (a refused
 * certificate), the socket stays open on base for up to 5 s (2 s idle), its
 * input read and discarded, with a FIN after the alert.  Closing at once
 * with the client's first request unread sends a reset, and clients that
 * write before they read (curl) then see "connection reset" instead of the
 * alert.  At most 64 such sockets at a time.  fl_tls_linger_stop closes
 * them all (before the base goes).  0 or -ENOMEM.
 */
int fl_tls_linger_refusals(SSL_CTX *ctx, struct event_base *base);
void fl_tls_linger_stop(void);

#endif
