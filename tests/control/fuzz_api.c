/*
 * libFuzzer harness for the operator API's request parsers (cluster/control/api.c):
 * the first byte picks the parser (0xfe: snapshot; else odd: lease, even:
 * dataset request body), the rest
 * is the HTTP body as a client would send it.  A parser either fails with
 * -EINVAL and a message, leaving nothing allocated, or returns a request
 * whose fields hold what the API promises: a valid volume name, a metadata
 * text that is a JSON object within the size limit, a uuid dataset_id.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster/control/api.h"
#include "tests/fuzz/fuzz_assert.h"
#include "flocker/record.h"

/* A parser's return ret: 0, or -EINVAL with a message in err; whether it parsed. */
static int parsed(int ret, const char *err)
{
	FUZZ_ASSERT(ret == 0 || ret == -EINVAL);
	if (ret)
		FUZZ_ASSERT(err[0]);
	return ret == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	char err[512];
	int ret;

	if (size == 0)
		return 0;
	err[0] = '\0';
	if (data[0] == 0xfe) {
		struct fl_api_snap_req r;

		if (!parsed(fl_api_parse_snapshot(body, len, &r, err, sizeof(err)), err))
			return 0;
		FUZZ_ASSERT(fl_volname_valid(r.name) && r.has_id != r.has_volume);
		FUZZ_ASSERT(!r.has_id || strlen(r.dataset_id) == 36);
		FUZZ_ASSERT(!r.has_volume || fl_volname_valid(r.volume));
		return 0;
	} else if (data[0] & 1) {
		struct fl_api_lease_req r;

		if (!parsed(fl_api_parse_lease(body, len, &r, err, sizeof(err)), err))
			return 0;
		FUZZ_ASSERT(strlen(r.dataset_id) == 36 && r.node[0]);
		FUZZ_ASSERT(r.expires_null || (r.expires >= 0 && r.expires <= 10 * 365 * 86400.0));
		return 0;
	} else {
		struct fl_api_ds_req r;

		ret = fl_api_parse_dataset(body, len, &r, err, sizeof(err));
		FUZZ_ASSERT(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
		if (ret) {
			FUZZ_ASSERT(err[0] || ret == -ENOMEM);
			FUZZ_ASSERT(r.metadata == NULL);
			return 0;
		}
		FUZZ_ASSERT(!r.has_name || fl_volname_valid(r.name));
		FUZZ_ASSERT(!r.has_id || strlen(r.dataset_id) == 36);
		FUZZ_ASSERT(!r.has_from || (r.from[0] && strlen(r.from) < sizeof(r.from)));
		if (r.metadata) {
			json_t *m = json_loads(r.metadata, 0, NULL);

			FUZZ_ASSERT(json_is_object(m) && !json_object_get(m, "name"));
			FUZZ_ASSERT(strlen(r.metadata) <= FL_CTL_META_MAX);
			json_decref(m);
		}
		fl_api_ds_req_clear(&r);
	}
	/* the depth pre-scan never reads past the end and agrees with its bound */
	ret = fl_json_depth(body, len, FL_API_DEPTH_MAX);
	FUZZ_ASSERT(ret == -E2BIG || (ret >= 0 && ret <= FL_API_DEPTH_MAX));
	return 0;
}
