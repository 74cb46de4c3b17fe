/*
 * libFuzzer harness: the Docker plugin's request parser (fl_docker_parse in
 * plugin/docker.c) and the Err replies built from its messages.
 *
 * Input: the URI path, a newline, then the request body (no newline: all of
 * it is the path and the body is empty).  Checks: the status is one of the
 * documented ones; a parsed request has a valid name and ID where its
 * endpoint takes them and at most FL_DOCKER_MAX_OPTS options; a failure has
 * a message, whose {"Err"} reply is valid JSON carrying it back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plugin/docker.h"
#include "tests/fuzz/fuzz_assert.h"

static void check_err_reply(const char *err)
{
	char *body = fl_docker_err_body(err);
	json_t *o;
	const char *back;
	size_t i, n = strlen(err);

	FUZZ_ASSERT(body);
	o = json_loads(body, 0, NULL);
	FUZZ_ASSERT(o && json_is_object(o));
	back = json_string_value(json_object_get(o, "Err"));
	FUZZ_ASSERT(back && strlen(back) == (n < 2047 ? n : 2047));
	for (i = 0; back[i]; i++)
		FUZZ_ASSERT(back[i] >= 0x20 && back[i] < 0x7f &&
			    (back[i] == err[i] || back[i] == '?'));
	json_decref(o);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_docker_req req;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	char *path = malloc(plen + 1), err[512];
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - plen - 1 : 0, i;
	int status;

	FUZZ_ASSERT(path);
	memcpy(path, data, plen);
	path[plen] = '\0';
	err[0] = '\0';
	status = fl_docker_parse(path, body, blen, &req, err, sizeof(err));
	FUZZ_ASSERT(status == 0 || status == 200 || status == 400 || status == 404 ||
		    status == 413 || status == 500);
	if (status) {
		FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err));
		check_err_reply(err);
	} else {
		FUZZ_ASSERT(req.nopts <= FL_DOCKER_MAX_OPTS);
		FUZZ_ASSERT(!strcmp(fl_docker_op_name(req.op), strchr(path, '.') + 1));
		switch (req.op) {
		case FL_DOCKER_MOUNT:
		case FL_DOCKER_UNMOUNT:
			FUZZ_ASSERT(req.id[0] != '\0');
			/* fall through */
		case FL_DOCKER_CREATE:
		case FL_DOCKER_REMOVE:
		case FL_DOCKER_PATH:
		case FL_DOCKER_GET:
			FUZZ_ASSERT(fl_volname_valid(req.name));
			break;
		default:
			FUZZ_ASSERT(req.name[0] == '\0' && req.nopts == 0);
			break;
		}
		for (i = 0; i < req.nopts; i++)
			FUZZ_ASSERT(req.keys[i] && req.vals[i] &&
				    strlen(req.keys[i]) <= FL_DOCKER_OPT_KEY_MAX &&
				    strlen(req.vals[i]) <= FL_DOCKER_OPT_VAL_MAX);
	}
	fl_docker_req_free(&req);
	free(path);
	return 0;
}
