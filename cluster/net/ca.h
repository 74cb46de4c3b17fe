/*
 * flockerfs — the cluster's certificate authority (flockerctl ca ...).
 *
 *   flockerctl ca init DIR [--days N]                 ca.crt ca.key control.crt control.key
 *   flockerctl ca node NAME --dir DIR [--uuid U] [--days N] [--force]
 *                                                     node-NAME.crt node-NAME.key
 *   flockerctl ca user NAME --dir DIR [--days N] [--force]
 *                                                     user-NAME.crt user-NAME.key
 *   flockerctl ca control --dir DIR [--san DNS-or-IP]... [--days N] [--force]
 *                                                     control.crt control.key (again)
 *
 * Keys are ECDSA P-256 (files 0600), signatures SHA-256.  Every certificate
 * names its role in the subject's OU ("control", "node" or "user") and its
 * name in the CN; node certificates also carry the node's uuid as the
 * subjectAltName URI urn:flocker:node:<uuid>.  The TLS layer (cluster/net/tls.c)
 * checks roles from these fields.  Extended key usage: control serverAuth,
 * node clientAuth+serverAuth, user clientAuth.
 */
#ifndef FLOCKER_CA_H
#define FLOCKER_CA_H

#include <stddef.h>

#define FL_CA_DEFAULT_DAYS   3650
#define FL_CERT_DEFAULT_DAYS 1825
#define FL_NODE_URN	     "urn:flocker:node:"

/* Entry point of "flockerctl ca ...": argv[0] is "ca".  Exit status: 0, 1 failure, 2 usage. */
int fl_ca_cmd(int argc, char **argv);

/* Creates ca.crt/ca.key (and control.crt/.key) in dir; -EEXIST if a CA is there. */
int fl_ca_init(const char *dir, long days, char *err, size_t errlen);

/*
 * Issues a certificate signed by the CA in dir for role ("control", "node",
 * "user") and name, valid from now+not_before_s to now+not_after_s (negative
 * offsets give certificates of the past, for tests).  Files <base>.crt and
 * <base>.key: base is "control", "node-NAME" or "user-NAME".  uuid (nodes
 * only) may be NULL: a random one.  sans: extra DNS names or IP addresses for
 * the control certificate (NULL-terminated, may be NULL).  force overwrites.
 */
int fl_ca_issue(const char *dir, const char *role, const char *name, const char *uuid,
		long not_before_s, long not_after_s, const char *const *sans, int force, char *err,
		size_t errlen);

/* Node and user names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, 1..63 bytes. */
int fl_cert_name_valid(const char *name);

#endif
