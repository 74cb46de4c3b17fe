/*
 * flockerfs — flockerctl's cluster commands: a client of flocker-control's
 * HTTPS API (cluster/control/api.h) with a user certificate.
 *
 *   flockerctl --control HOST[:PORT][,HOST[:PORT]...] --certs DIR [--user NAME] [--json]
 *              node list
 *              volume create NAME [--size SIZE] [--node NODE] [--meta KEY=VALUE]...
 *              volume list [--trash]
 *              volume move NAME --to NODE
 *              volume remove NAME
 *              volume restore NAME|UUID [--as NEW-NAME]
 *              lease list
 *              lease acquire NAME --node NODE [--expires SECONDS]
 *              lease release NAME|UUID
 *              [--if-tag TAG]   (writes: only if the configuration tag still is TAG)
 *
 * --control defaults to $FLOCKER_CONTROL, --certs to $FLOCKER_CERTS; with
 * FLOCKER_CONTROL set, the volume commands control offers (create, list,
 * move, remove, restore, trash) go through it as with --control.  With
 * several addresses, each is tried in turn (the leader is the one that
 * answers; standbys do not listen); when none answers, the one line on
 * stderr names each address with its reason (connection refused, the TLS
 * alert of a refused certificate, ...).  The user certificate is
 * DIR/user-NAME.crt/.key; without --user, the only user-*.crt in DIR.
 * Human tables by default, the API's JSON with --json.  Exit status: 0, 1 on
 * failure (the reason on stderr), 2 on usage errors.  SIGPIPE is ignored.
 */
#ifndef FLOCKER_CTL_CLUSTER_H
#define FLOCKER_CTL_CLUSTER_H

#include <stddef.h>

#include <openssl/ssl.h>

struct fl_http_resp {
	int status;
	char tag[32]; /* X-Configuration-Tag */
	char *body;   /* NUL-terminated, owned */
	size_t len;
};

void fl_http_resp_free(struct fl_http_resp *r);

/*
 * One HTTPS request to the comma-separated control addresses in turn, with
 * ctx (fl_tls_client_ctx with a user certificate), until one answers; the
 * next is tried after a failure before the request reached a handler (no
 * connection, a refused certificate), or any failure of a GET.  text may be
 * NULL; if_tag adds X-If-Configuration-Matches.  0 with *r filled (any HTTP
 * status), or a negative errno and err: "ADDR: reason[; ADDR: reason]...".
 */
int fl_cluster_request(SSL_CTX *ctx, const char *controls, const char *method, const char *path,
		       const char *text, const char *if_tag, struct fl_http_resp *r, char *err,
		       size_t errlen);

/* argv is flockerctl's whole command line (argv[0] the program). */
int fl_cluster_cmd(int argc, char **argv);

/* Whether a flockerctl command line is for the cluster commands: a --control
 * option, or a first word of "node" or "lease". */
int fl_cluster_cmd_wanted(int argc, char **argv);

#endif
