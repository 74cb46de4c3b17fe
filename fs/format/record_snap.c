/*
 * flockerfs — the snap record (fs/format/FORMAT.md, "Snapshots"): one
 * value of the "snaps" omap of a volume, key = the snapshot's name.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "flocker/record.h"
#include "fs/format/record_int.h"

enum { SN_ID = 1, SN_CREATED = 2, SN_CREATED_NS = 3, SN_STATE = 4, SN_HOST = 5, SN_NKEYS };

static bool snap_valid(const struct fl_snap_rec *r)
{
	size_t hlen = strnlen(r->host, sizeof(r->host));

	return r->id >= 1 && r->id <= FL_SNAP_ID_MAX && r->created_ns <= 999999999 &&
	       r->state <= FL_SNAP_REMOVING && hlen <= FL_SNAP_HOST_MAX;
}

int fl_snap_encode(const struct fl_snap_rec *r, struct fl_buf *out)
{
	struct enc e;

	if (!snap_valid(r))
		return -EINVAL;
	enc_begin(&e, out);
	put_map(&e, SN_NKEYS);
	put_version(&e);
	put_u64(&e, SN_ID, r->id);
	put_i64(&e, SN_CREATED, r->created);
	put_u64(&e, SN_CREATED_NS, r->created_ns);
	put_u64(&e, SN_STATE, r->state);
	put_str(&e, SN_HOST, r->host, strlen(r->host));
	return enc_end(&e);
}

static int snap_body(const msgpack_object **f, void *rec)
{
	struct fl_snap_rec *r = rec;
	const char *host;
	size_t hlen;
	uint64_t ns, state;

	if (get_u64(f[SN_ID], FL_SNAP_ID_MAX, &r->id) < 0 || r->id == 0 ||
	    get_i64(f[SN_CREATED], &r->created) < 0 ||
	    get_u64(f[SN_CREATED_NS], 999999999, &ns) < 0 ||
	    get_u64(f[SN_STATE], FL_SNAP_REMOVING, &state) < 0 ||
	    get_str(f[SN_HOST], 0, FL_SNAP_HOST_MAX, &host, &hlen) < 0 ||
	    (hlen && memchr(host, '\0', hlen)))
		return -EIO;
	r->created_ns = (uint32_t)ns;
	r->state = (uint32_t)state;
	if (hlen)
		memcpy(r->host, host, hlen);
	return 0;
}

/* Every key is required; unknown keys are skipped. */
DEC_RECORD(fl_snap_decode, struct fl_snap_rec, FL_SNAP_REC_MAX, SN_NKEYS, snap_body, NULL)
