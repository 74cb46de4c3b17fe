/*
 * flockerfs — TLS 1.3 contexts with mutual authentication against the
 * cluster CA and role checks from certificate fields (see tls.h).
 */
#include "cluster/net/tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cluster/net/ca.h"
#include "flocker/log.h"

static int role_idx = -1;

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
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

static SSL_CTX *make_ctx(const char *dir, const char *base, enum fl_role want, int server,
			 char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	char ca[4096], crt[4096], key[4096];

	if ((size_t)snprintf(ca, sizeof(ca), "%s/ca.crt", dir) >= sizeof(ca) ||
	    (size_t)snprintf(crt, sizeof(crt), "%s/%s.crt", dir, base) >= sizeof(crt) ||
	    (size_t)snprintf(key, sizeof(key), "%s/%s.key", dir, base) >= sizeof(key)) {
		fl_seterr(err, errlen, "cannot use certificate directory %s: path too long", dir);
		return NULL;
	}
	if (role_idx < 0) {
		/* first use happens before any thread starts using TLS */
		role_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (role_idx < 0)
			goto out_ssl;
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
		fl_seterr(err, errlen, "cannot load the cluster CA %s: %s", ca,
			  ERR_reason_error_string(ERR_peek_last_error()));
		goto out_free;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
		fl_seterr(err, errlen, "cannot load certificate %s: %s", crt,
			  ERR_reason_error_string(ERR_peek_last_error()));
		goto out_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		fl_seterr(err, errlen, "cannot load key %s: %s", key,
			  ERR_reason_error_string(ERR_peek_last_error()));
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
	fl_seterr(err, errlen, "cannot set up TLS: %s",
		  ERR_reason_error_string(ERR_peek_last_error()) ?: "openssl error");
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

void fl_tls_why(SSL *ssl, char *buf, size_t len)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (v != X509_V_OK)
		snprintf(buf, len, "certificate refused: %s",
			 v == X509_V_ERR_APPLICATION_VERIFICATION
				 ? "wrong role for this port"
				 : X509_verify_cert_error_string(v));
	else
		snprintf(buf, len, "%s", r ? r : "handshake failed");
}
