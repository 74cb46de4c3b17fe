/*
 * flockerfs — the cluster's certificate authority: ECDSA P-256 keys,
 * SHA-256 signatures, roles in the subject (see ca.h).
 */
#include "cluster/net/ca.h"

#include "flocker/log.h"
#include "fs/util/uuid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* The reason of OpenSSL's last error, for messages. */
static const char *ossl_why(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "openssl error";
}

int fl_cert_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		int alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return 0;
	}
	return 1;
}

static int path_join(char *out, size_t len, const char *dir, const char *base, const char *ext)
{
	if ((size_t)snprintf(out, len, "%s/%s%s", dir, base, ext) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Writes a PEM file through a temporary name and a rename, mode 0600 for keys
 * and 0644 for certificates.  Without force an existing file is -EEXIST.
 */
static int write_pem(const char *path, X509 *x, EVP_PKEY *key, int force, char *err, size_t errlen)
{
	char tmp[4200];
	FILE *f = NULL;
	int fd = -1, ret = 0, ok;

	if (!force && access(path, F_OK) == 0) {
		fl_seterr(err, errlen, "cannot write %s: it exists (use --force to replace it)",
			  path);
		return -EEXIST;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= sizeof(tmp)) {
		fl_seterr(err, errlen, "cannot write %s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
	if (fd < 0) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		fl_seterr(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		goto out_unlink;
	}
	if (key)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, x);
	if (!ok) {
		fl_seterr(err, errlen, "cannot write %s: %s", tmp, ossl_why());
		ret = -EIO;
		fclose(f);
		goto out_unlink;
	}
	if (fflush(f) || fsync(fileno(f))) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		fclose(f);
		goto out_unlink;
	}
	if (fclose(f)) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		goto out_unlink;
	}
	if (rename(tmp, path)) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(-ret));
		goto out_unlink;
	}
	goto out;
out_unlink:
	unlink(tmp);
out:
	return ret;
}

static EVP_PKEY *new_key(char *err, size_t errlen)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (!k)
		fl_seterr(err, errlen, "cannot generate an ECDSA P-256 key: %s", ossl_why());
	return k;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static int set_name(X509_NAME *n, const char *cn, const char *ou)
{
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"flocker", -1,
					-1, 0))
		return -EINVAL;
	if (!X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1,
					0))
		return -EINVAL;
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
					0))
		return -EINVAL;
	return 0;
}

/* A certificate skeleton: version 3, random serial, validity, subject, key. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, const char *ou, long from_s, long to_s)
{
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	int ok;

	if (!x || !bn)
		goto out_err;
	ok = X509_set_version(x, 2) && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), from_s) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), to_s) && X509_set_pubkey(x, key);
	if (!ok || set_name(X509_get_subject_name(x), cn, ou))
		goto out_err;
	BN_free(bn);
	return x;
out_err:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static int load_ca(const char *dir, X509 **cert, EVP_PKEY **key, char *err, size_t errlen)
{
	char path[4096];
	FILE *f;

	*cert = NULL;
	*key = NULL;
	if (path_join(path, sizeof(path), dir, "ca", ".crt"))
		goto out_long;
	f = fopen(path, "r");
	if (!f) {
		fl_seterr(err, errlen, "cannot open %s: %s (run 'flockerctl ca init %s' first)",
			  path, strerror(errno), dir);
		return -ENOENT;
	}
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!*cert) {
		fl_seterr(err, errlen, "cannot read %s: %s", path, ossl_why());
		return -EIO;
	}
	if (path_join(path, sizeof(path), dir, "ca", ".key"))
		goto out_long;
	f = fopen(path, "r");
	if (!f) {
		fl_seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
		X509_free(*cert);
		*cert = NULL;
		return -ENOENT;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*key) {
		fl_seterr(err, errlen, "cannot read %s: %s", path, ossl_why());
		X509_free(*cert);
		*cert = NULL;
		return -EIO;
	}
	return 0;
out_long:
	fl_seterr(err, errlen, "cannot use %s: path too long", dir);
	return -ENAMETOOLONG;
}

/* "DNS:localhost,IP:127.0.0.1,DNS:<host>" plus the extra names. */
static int control_sans(const char *const *sans, char *out, size_t len)
{
	char host[256] = "";
	size_t pos;
	int i;

	pos = (size_t)snprintf(out, len, "DNS:localhost,IP:127.0.0.1,IP:::1");
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0] && strcmp(host, "localhost"))
		pos += (size_t)snprintf(out + pos, pos < len ? len - pos : 0, ",DNS:%s", host);
	for (i = 0; sans && sans[i]; i++) {
		unsigned char a[16];
		int ip =
			inet_pton(AF_INET, sans[i], a) == 1 || inet_pton(AF_INET6, sans[i], a) == 1;

		if (strchr(sans[i], ',') || !sans[i][0])
			return -EINVAL;
		pos += (size_t)snprintf(out + pos, pos < len ? len - pos : 0, ",%s:%s",
					ip ? "IP" : "DNS", sans[i]);
	}
	return pos < len ? 0 : -ENAMETOOLONG;
}

/* The name and uuid of a certificate to issue: 0 or -EINVAL with a message. */
static int issue_check(const char *role, const char *name, const char *uuid, char *err,
		       size_t errlen)
{
	if (!fl_cert_name_valid(name)) {
		fl_seterr(
			err, errlen,
			"invalid %s name '%s': use 1 to 63 of [a-zA-Z0-9_.-], starting with a letter or digit",
			role, name);
		return -EINVAL;
	}
	if (uuid && !fl_uuid_valid(uuid)) {
		fl_seterr(err, errlen, "invalid uuid '%s': use the lowercase 8-4-4-4-12 form",
			  uuid);
		return -EINVAL;
	}
	return 0;
}

/* The extensions of a leaf certificate signed by ca: nonzero on failure. */
static int leaf_exts(X509 *x, X509 *ca, const char *eku, const char *san)
{
	int ret = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");

	if (!ret)
		ret = add_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyAgreement");
	if (!ret)
		ret = add_ext(x, ca, NID_ext_key_usage, eku);
	if (!ret)
		ret = add_ext(x, ca, NID_subject_key_identifier, "hash");
	if (!ret)
		ret = add_ext(x, ca, NID_authority_key_identifier, "keyid:always");
	if (!ret)
		ret = add_ext(x, ca, NID_subject_alt_name, san);
	return ret;
}

int fl_ca_issue(const char *dir, const char *role, const char *name, const char *uuid,
		long not_before_s, long not_after_s, const char *const *sans, int force, char *err,
		size_t errlen)
{
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	char base[80], crt[4096], keyp[4096], san[2048], id[37];
	int node = !strcmp(role, "node"), user = !strcmp(role, "user");
	int control = !strcmp(role, "control");
	int ret;

	if (!node && !user && !control) {
		fl_seterr(err, errlen, "unknown certificate role '%s'", role);
		return -EINVAL;
	}
	ret = issue_check(role, name, uuid, err, errlen);
	if (ret)
		return ret;
	if (control)
		snprintf(base, sizeof(base), "control");
	else
		snprintf(base, sizeof(base), "%s-%s", role, name);
	if (path_join(crt, sizeof(crt), dir, base, ".crt") ||
	    path_join(keyp, sizeof(keyp), dir, base, ".key")) {
		fl_seterr(err, errlen, "cannot use %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (!force && (access(crt, F_OK) == 0 || access(keyp, F_OK) == 0)) {
		fl_seterr(err, errlen,
			  "cannot create a certificate for %s %s: %s exists (use --force)", role,
			  name, crt);
		return -EEXIST;
	}
	ret = load_ca(dir, &ca, &cakey, err, errlen);
	if (ret)
		goto out;
	key = new_key(err, errlen);
	if (!key) {
		ret = -EIO;
		goto out;
	}
	x = new_cert(key, name, role, not_before_s, not_after_s);
	if (!x) {
		ret = -EIO;
		goto out_ssl;
	}
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca))) {
		ret = -EIO;
		goto out_ssl;
	}
	if (node) {
		if (uuid)
			snprintf(id, sizeof(id), "%s", uuid);
		else
			fl_uuid_new(id);
		snprintf(san, sizeof(san), "URI:" FL_NODE_URN "%s,DNS:%s", id, name);
	} else if (control) {
		ret = control_sans(sans, san, sizeof(san));
		if (ret) {
			fl_seterr(err, errlen, "invalid --san name");
			goto out;
		}
	} else {
		snprintf(san, sizeof(san), "URI:urn:flocker:user:%s", name);
	}
	ret = leaf_exts(x, ca,
			control ? "serverAuth" : (node ? "clientAuth,serverAuth" : "clientAuth"),
			san);
	if (ret) {
		ret = -EIO;
		goto out_ssl;
	}
	if (!X509_sign(x, cakey, EVP_sha256())) {
		ret = -EIO;
		goto out_ssl;
	}
	ret = write_pem(keyp, NULL, key, 1, err, errlen);
	if (!ret)
		ret = write_pem(crt, x, NULL, 1, err, errlen);
	goto out;
out_ssl:
	fl_seterr(err, errlen, "cannot create a certificate for %s %s: %s", role, name, ossl_why());
out:
	X509_free(x);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return ret;
}

int fl_ca_init(const char *dir, long days, char *err, size_t errlen)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	char crt[4096], keyp[4096], san[128], id[37];
	int ret;

	if (days <= 0)
		days = FL_CA_DEFAULT_DAYS;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return ret;
	}
	if (path_join(crt, sizeof(crt), dir, "ca", ".crt") ||
	    path_join(keyp, sizeof(keyp), dir, "ca", ".key")) {
		fl_seterr(err, errlen, "cannot use %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (access(keyp, F_OK) == 0 || access(crt, F_OK) == 0) {
		fl_seterr(err, errlen, "cannot create a CA in %s: it already holds one", dir);
		return -EEXIST;
	}
	key = new_key(err, errlen);
	if (!key)
		return -EIO;
	ret = -EIO;
	fl_uuid_new(id);
	x = new_cert(key, "flocker cluster CA", "ca", -60, days * 86400L);
	if (!x || !X509_set_issuer_name(x, X509_get_subject_name(x)))
		goto out_ssl;
	snprintf(san, sizeof(san), "URI:urn:flocker:cluster:%s", id);
	if (add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, NULL, NID_subject_key_identifier, "hash") ||
	    add_ext(x, NULL, NID_subject_alt_name, san))
		goto out_ssl;
	if (!X509_sign(x, key, EVP_sha256()))
		goto out_ssl;
	ret = write_pem(keyp, NULL, key, 0, err, errlen);
	if (!ret)
		ret = write_pem(crt, x, NULL, 0, err, errlen);
	if (!ret)
		ret = fl_ca_issue(dir, "control", "control", NULL, -60,
				  FL_CERT_DEFAULT_DAYS * 86400L, NULL, 1, err, errlen);
	goto out;
out_ssl:
	fl_seterr(err, errlen, "cannot create the CA: %s", ossl_why());
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

static void ca_usage(FILE *f)
{
	fprintf(f,
		"usage: flockerctl ca init DIR [--days N]\n"
		"       flockerctl ca node NAME --dir DIR [--uuid UUID] [--days N] [--force]\n"
		"       flockerctl ca user NAME --dir DIR [--days N] [--force]\n"
		"       flockerctl ca control --dir DIR [--san NAME-OR-IP]... [--days N] [--force]\n"
		"\n"
		"init writes ca.crt, ca.key and the control service's control.crt/.key;\n"
		"node and user write node-NAME.crt/.key and user-NAME.crt/.key.\n"
		"Copy ca.crt with each node's or user's pair to that host: never ca.key.\n");
}

/* The words of "flockerctl ca". */
struct ca_args {
	const char *pos[3];
	const char *dir, *uuid;
	const char *sans[17];
	long days;
	int npos, nsans, force;
};

enum { CA_DIR = 256, CA_UUID, CA_DAYS, CA_SAN, CA_FORCE };

/* One option of "flockerctl ca" (optarg its value): -1 to go on, else the exit code. */
static int ca_opt(int opt, char **argv, struct ca_args *a)
{
	char *end;

	switch (opt) {
	case 'h':
		ca_usage(stdout);
		return 0;
	case CA_FORCE:
		a->force = 1;
		return -1;
	case CA_DIR:
		a->dir = optarg;
		return -1;
	case CA_UUID:
		a->uuid = optarg;
		return -1;
	case CA_SAN:
		if (a->nsans == 16) {
			fprintf(stderr, "flockerctl: too many --san names\n");
			return 2;
		}
		a->sans[a->nsans++] = optarg;
		return -1;
	case CA_DAYS:
		errno = 0;
		a->days = strtol(optarg, &end, 10);
		if (errno || *end || a->days <= 0 || a->days > 36500) {
			fprintf(stderr, "flockerctl: invalid --days '%s'\n", optarg);
			return 2;
		}
		return -1;
	case ':':
		fprintf(stderr, "flockerctl: %s needs an argument\n", argv[optind - 1]);
		return 2;
	default:
		fprintf(stderr, "flockerctl: unknown option %s\n", argv[optind - 1]);
		return 2;
	}
}

/* Parses "flockerctl ca" arguments into a: -1 to go on, else the exit code. */
static int ca_parse(int argc, char **argv, struct ca_args *a)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, CA_DIR},
		{"uuid", required_argument, NULL, CA_UUID},
		{"days", required_argument, NULL, CA_DAYS},
		{"san", required_argument, NULL, CA_SAN},
		{"force", no_argument, NULL, CA_FORCE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, ret;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		ret = ca_opt(opt, argv, a);
		if (ret >= 0)
			return ret;
	}
	for (; optind < argc; optind++) {
		if (a->npos == 3) {
			ca_usage(stderr);
			return 2;
		}
		a->pos[a->npos++] = argv[optind];
	}
	if (a->npos == 0) {
		ca_usage(stderr);
		return 2;
	}
	return -1;
}

int fl_ca_cmd(int argc, char **argv)
{
	struct ca_args a = {.npos = 0};
	const char *const *pos = a.pos;
	char err[1024] = "";
	int ret;

	ret = ca_parse(argc, argv, &a);
	if (ret >= 0)
		return ret;
	if (!strcmp(pos[0], "init")) {
		if (a.npos == 2)
			a.dir = pos[1];
		if (!a.dir || a.npos > 2) {
			ca_usage(stderr);
			return 2;
		}
		ret = fl_ca_init(a.dir, a.days, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "flockerctl: %s\n", err);
			return 1;
		}
		printf("created the cluster CA in %s (ca.crt, ca.key) and the control service's "
		       "certificate (control.crt, control.key)\n",
		       a.dir);
		return 0;
	}
	if (!strcmp(pos[0], "node") || !strcmp(pos[0], "user") || !strcmp(pos[0], "control")) {
		int ctl = !strcmp(pos[0], "control");
		const char *name = ctl ? "control" : pos[1];

		if (!a.dir || (!ctl && a.npos != 2) || (ctl && a.npos != 1)) {
			ca_usage(stderr);
			return 2;
		}
		if (a.uuid && strcmp(pos[0], "node")) {
			fprintf(stderr, "flockerctl: --uuid is for node certificates\n");
			return 2;
		}
		ret = fl_ca_issue(a.dir, pos[0], name, a.uuid, -60,
				  (a.days ? a.days : FL_CERT_DEFAULT_DAYS) * 86400L, a.sans,
				  a.force, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "flockerctl: %s\n", err);
			return 1;
		}
		if (ctl)
			printf("created %s/control.crt and control.key\n", a.dir);
		else
			printf("created %s/%s-%s.crt and %s-%s.key\n", a.dir, pos[0], name, pos[0],
			       name);
		return 0;
	}
	fprintf(stderr, "flockerctl: unknown command 'ca %s'\n", pos[0]);
	ca_usage(stderr);
	return 2;
}
