/*
 * flockerfs — unit test of the TLS messages (cluster/net/tls.c): every
 * OpenSSL error becomes a sentence, never "(null)"; a refusal alert says
 * what was refused; a certificate file that is not there says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cluster/net/ca.h"
#include "cluster/net/tls.h"

#define CHECK_ON_FAILURE() abort()
#include "tests/check.h"

/* The text of an error raised as OpenSSL raises it. */
static const char *text_of(int lib, int reason)
{
	static char buf[256];
	unsigned long e;

	ERR_clear_error();
	ERR_raise(lib, reason);
	e = ERR_get_error();
	fl_tls_err_text(e, buf, sizeof(buf));
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/flocker-tlstext-XXXXXX", err[512] = "", cmd[600];
	unsigned long e;
	SSL_CTX *ctx;

	/* a system error (a reset connection): OpenSSL 3 has no reason string for it, and
	 * the agent used to log "TLS: (null)" */
	ERR_clear_error();
	ERR_raise(ERR_LIB_SYS, ECONNRESET);
	e = ERR_get_error();
	CHECK(ERR_reason_error_string(e) == NULL);
	CHECK(!strcmp(text_of(ERR_LIB_SYS, ECONNRESET), strerror(ECONNRESET)));
	printf("ok a system error: %s\n", text_of(ERR_LIB_SYS, ECONNRESET));

	/* the alerts of a refused certificate */
	CHECK(strstr(text_of(ERR_LIB_SSL, SSL_R_TLSV1_ALERT_UNKNOWN_CA), "refused"));
	CHECK(strstr(text_of(ERR_LIB_SSL, SSL_R_TLSV1_ALERT_UNKNOWN_CA), "unknown CA"));
	CHECK(strstr(text_of(ERR_LIB_SSL, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE),
		     "wrong role"));
	CHECK(strstr(text_of(ERR_LIB_SSL, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED), "expired"));
	CHECK(strstr(text_of(ERR_LIB_SSL, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED),
		     "no certificate"));
	CHECK(strstr(text_of(ERR_LIB_SSL, SSL_R_WRONG_VERSION_NUMBER), "does not speak TLS"));
	printf("ok alerts: %s\n", text_of(ERR_LIB_SSL, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE));
	/* an error without a reason string of its own still says something */
	CHECK(text_of(ERR_LIB_SSL, 4095)[0]);
	CHECK(!strstr(text_of(ERR_LIB_SSL, 4095), "(null)"));
	/* SSL_get_error's code, which libevent queues among the errors */
	fl_tls_err_text(SSL_ERROR_SYSCALL, err, sizeof(err));
	CHECK(strstr(err, "system call") && !strstr(err, "lib(0)"));
	fl_tls_err_text(0, err, sizeof(err));
	CHECK(err[0] && !strstr(err, "(null)"));

	/* files: a missing certificate is "No such file or directory", not "system lib" */
	CHECK(mkdtemp(dir));
	CHECK(fl_ca_init(dir, 0, err, sizeof(err)) == 0);
	ctx = fl_tls_client_ctx(dir, "user-nobody", FL_ROLE_CONTROL, err, sizeof(err));
	CHECK(!ctx);
	CHECK(strstr(err, "user-nobody.crt: No such file or directory"));
	printf("ok missing certificate: %s\n", err);
	CHECK(fl_ca_issue(dir, "user", "a", NULL, -60, 86400, NULL, 0, err, sizeof(err)) == 0);
	ctx = fl_tls_client_ctx(dir, "user-a", FL_ROLE_CONTROL, err, sizeof(err));
	CHECK(ctx);
	SSL_CTX_free(ctx);
	snprintf(cmd, sizeof(cmd), "%s/user-a.key", dir);
	CHECK(unlink(cmd) == 0);
	ctx = fl_tls_client_ctx(dir, "user-a", FL_ROLE_CONTROL, err, sizeof(err));
	CHECK(!ctx && strstr(err, "user-a.key: No such file or directory"));
	printf("ok missing key: %s\n", err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	printf("test_tls_text: all checks passed\n");
	return 0;
}
