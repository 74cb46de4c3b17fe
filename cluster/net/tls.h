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

/* One line about why the last handshake on ssl failed (verification result or OpenSSL's reason). */
void fl_tls_why(SSL *ssl, char *buf, size_t len);

#endif
