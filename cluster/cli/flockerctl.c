/*
 * flockerctl — operator command line.
 *
 *   flockerctl [-c CONF] [--id ID] [--pool POOL] volume create NAME [--size 10G] [--block-size 4M]
 *   flockerctl ... volume list [--json]
 *   flockerctl ... volume inspect NAME [--json]
 *   flockerctl ... volume remove NAME
 *   flockerctl ... volume resize NAME --size SIZE
 *   flockerctl ... volume clone VOL[@SNAP] NEW [--json]
 *   flockerctl ... volume flatten NAME [--json]
 *   flockerctl ... volume list --trash [--json]     (also: volume trash)
 *   flockerctl ... volume restore NAME|UUID [--as NEW-NAME]
 *   flockerctl ... volume purge NAME|UUID | --expired
 *   flockerctl ... fsck NAME [--repair] [--json] [--takeover]
 *
 * Volume commands work straight on RADOS, with no control service; the trash
 * is the standalone one (fs/volume/trash.h) that docker volume rm fills.
 * "flockerctl COMMAND --help" prints that command's usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster/cli/bench.h"
#include "cluster/cli/stats.h"
#include "cluster/cli/clone_cmd.h"
#include "cluster/net/ca.h"
#include "cluster/cli/client.h"
#include "cluster/cli/snapshot_cmd.h"
#include "fs/core/core.h"
#include "flocker/log.h"
#include "fs/util/fmt.h"
#include "fs/volume/fsck.h"
#include "flocker/store.h"
#include "fs/volume/trash.h"
#include "fs/volume/volume.h"

/* Exit statuses (also in the usage and README).  fsck has its own, as e2fsck. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* the command ran and failed: the line on stderr says why */
	EXIT_USAGE = 2,	 /* bad command line */
	FSCK_REPAIRED = 1,
	FSCK_DAMAGE_LEFT = 4,
	FSCK_NOT_CHECKED = 8,
};

struct ctl {
	struct fl_rados_opts ro;
	bool json, repair, takeover, trash, expired, help;
	const char *size, *block_size, *as;
	int argc;
	char **argv; /* positional arguments after the command words */
};

/* One line per command: the general usage lists them all, COMMAND --help its own. */
static const struct {
	const char *words; /* "volume create", "fsck" */
	const char *line;
	const char *more;
} cmds[] = {
	{"volume create", "volume create NAME [--size SIZE] [--block-size SIZE]",
	 "Creates a volume.  SIZE takes K, M, G, T suffixes (powers of 1024); --size 0 or none\n"
	 "means no limit.  --block-size: bytes per data object, a power of two from 64K to 64M\n"
	 "(default 4M).\n"},
	{"volume list", "volume list [--trash] [--json]",
	 "Lists the volumes; with --trash, the volumes in the trash instead (removed by\n"
	 "docker volume rm on a standalone agent), with when each is purged.\n"},
	{"volume trash", "volume trash [--json]", "The same as volume list --trash.\n"},
	{"volume inspect", "volume inspect NAME [--json]",
	 "Uuid, size limit, bytes used, inodes, and the host holding it read-write.\n"},
	{"volume remove", "volume remove NAME",
	 "Deletes a volume and all its data now, bypassing the trash; refused while it is\n"
	 "mounted read-write.\n"},
	{"volume resize", "volume resize NAME --size SIZE",
	 "Changes the size limit; refused while mounted read-write.\n"},
	{"volume clone", "volume clone VOL[@SNAP] NEW [--json]",
	 "Makes NEW, a writable volume that starts as VOL was at snapshot SNAP (one is taken\n"
	 "when none is named).  Nothing is copied: NEW reads what it has not changed from\n"
	 "VOL's snapshot, which cannot be removed while NEW reads from it.\n"},
	{"volume flatten", "volume flatten NAME [--json]",
	 "Copies into clone NAME what it still reads from its parent's snapshot, so that it\n"
	 "stands alone; refused while NAME is mounted read-write.  A progress bar on a\n"
	 "terminal.\n"},
	{"volume restore", "volume restore NAME|UUID [--as NEW-NAME]",
	 "Brings a volume back from the trash (a name picks the one removed last), under\n"
	 "its old name or NEW-NAME.\n"},
	{"volume purge", "volume purge NAME|UUID | volume purge --expired",
	 "Deletes a volume in the trash for good, now; --expired: every one whose time is up.\n"},
	{"volume rollback", "volume rollback NAME SNAPSHOT",
	 "Rolls a volume back to one of its snapshots; refused while it is mounted read-write.\n"
	 "Snapshots taken after that one stay.\n"},
	{"snapshot create", "snapshot create NAME SNAPSHOT [--takeover] [--json]",
	 "Takes a snapshot of volume NAME: every write acknowledged before it is in, none\n"
	 "after.  A volume mounted read-write is snapshotted by its mount daemon (its writers\n"
	 "wait only for the instant of the snapshot); an unmounted one directly.  A writer\n"
	 "that does not answer is an error naming it; --takeover fences it first.\n"},
	{"snapshot list", "snapshot list NAME [--json]",
	 "Lists the snapshots of a volume, oldest first.\n"},
	{"snapshot remove", "snapshot remove NAME SNAPSHOT",
	 "Removes a snapshot; refused while clones read from it.\n"},
	{"fsck", "fsck NAME[@SNAPSHOT] [--repair] [--json] [--takeover]",
	 "Offline check of a volume that nobody mounts read-write, or of a snapshot of one\n"
	 "(NAME@SNAPSHOT: read-only, whoever mounts the volume).  Exit 0 clean, 1 repaired,\n"
	 "4 damage left, 8 could not check.  --takeover: the volume's read-write holder is\n"
	 "dead; fence it (blocklist its RADOS client) and check anyway.\n"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: flockerctl [-c CONF] [--id ID] [--pool POOL] COMMAND ...\n"
		   "\n"
		   "volumes and snapshots, straight on RADOS (no control service):\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmds[i].line);
	fprintf(f,
		"\n"
		"other commands (each has --help):\n"
		"  bench DIR [--json]                     benchmark a mounted directory\n"
		"  stats DIR [--json | --raw]             the metrics of the mount at DIR\n"
		"  ca init|node|user ...                  the cluster's certificates\n"
		"  --control HOST[:PORT] ... node|volume|lease ...   through flocker-control\n"
		"                                         (default $FLOCKER_CONTROL: then volume\n"
		"                                         create|list|move|remove|restore|trash\n"
		"                                         go through it too)\n"
		"\n"
		"SIZE takes K, M, G, T suffixes (powers of 1024); --size 0 means no limit.\n"
		"CEPH_CONF and CEPH_ARGS are honoured as by Ceph's own tools.\n"
		"flockerctl COMMAND --help prints the usage of COMMAND.\n"
		"\n"
		"exit status: 0 done, 1 failed (one line on stderr says why), 2 bad command line;\n"
		"fsck: 0 clean, 1 repaired, 4 damage left, 8 could not check.\n");
}

/* The usage of the command named by words (nwords of them), to stdout; 2 if unknown. */
static int usage_of(char **words, int nwords)
{
	char want[64];
	size_t i, len;
	int n = 0;

	snprintf(want, sizeof(want), "%s%s%s", nwords > 0 ? words[0] : "", nwords > 1 ? " " : "",
		 nwords > 1 ? words[1] : "");
	if (nwords > 1 && !strcmp(words[1], "ls"))
		snprintf(want, sizeof(want), "volume list");
	if (nwords > 1 && !strcmp(words[1], "rm"))
		snprintf(want, sizeof(want), "volume remove");
	len = strlen(want);
	for (i = 0; len && i < NCMDS; i++) {
		/* "volume" alone: every volume command */
		if (!strcmp(cmds[i].words, want) ||
		    (nwords == 1 && !strncmp(cmds[i].words, want, len) &&
		     cmds[i].words[len] == ' ')) {
			printf("%susage: flockerctl [-c CONF] [--id ID] [--pool POOL] %s\n",
			       n && nwords > 1 ? "\n" : "", cmds[i].line);
			if (nwords > 1 || !strcmp(want, "fsck"))
				printf("\n%s", cmds[i].more);
			n++;
		}
	}
	if (n)
		return 0;
	if (nwords)
		fprintf(stderr, "flockerctl: unknown command '%s'\n", want);
	usage(nwords ? stderr : stdout);
	return nwords ? EXIT_USAGE : EXIT_OK;
}

/* The usage of command words (as in cmds[]) on stderr: EXIT_USAGE. */
static int usage_err(const char *words)
{
	size_t i;

	for (i = 0; i < NCMDS && strcmp(cmds[i].words, words); i++)
		;
	fprintf(stderr, "usage: flockerctl %s\n", i < NCMDS ? cmds[i].line : words);
	return EXIT_USAGE;
}

/* Says why a command failed (err) on stderr: EXIT_FAILED. */
static int failed(const char *err)
{
	fprintf(stderr, "flockerctl: %s\n", err);
	return EXIT_FAILED;
}

static struct fl_store *connect_or_die(struct ctl *c)
{
	char err[512] = "";
	struct fl_store *st = fl_rados_open(&c->ro, err, sizeof(err));

	if (!st)
		exit(failed(err));
	return st;
}

static int cmd_create(struct ctl *c)
{
	uint64_t size = 0, bs = 0;
	struct fl_store *st;
	char err[512] = "";
	int ret;

	if (c->argc != 1)
		return usage_err("volume create");
	if (c->size && fl_parse_size(c->size, &size)) {
		fprintf(stderr, "flockerctl: invalid size '%s': use e.g. 10G, 512M\n", c->size);
		return EXIT_USAGE;
	}
	if (c->block_size && (fl_parse_size(c->block_size, &bs) || bs > UINT32_MAX)) {
		fprintf(stderr, "flockerctl: invalid block size '%s'\n", c->block_size);
		return EXIT_USAGE;
	}
	st = connect_or_die(c);
	ret = fl_volume_create(st, c->argv[0], size, (uint32_t)bs, err, sizeof(err));
	fl_store_close(st);
	if (ret)
		return failed(err);
	if (c->json)
		printf("{\"name\": \"%s\", \"created\": true}\n", c->argv[0]);
	else
		printf("created volume %s\n", c->argv[0]);
	return 0;
}

struct list_ctx {
	json_t *arr;
	int n;
	struct fl_store *st;
};

/* A volume's size limit as printed: "unlimited" for 0. */
static void fmt_limit(uint64_t limit, char *buf, size_t len)
{
	if (limit)
		fl_fmt_size(limit, buf, len);
	else
		snprintf(buf, len, "unlimited");
}

/* Prints a listing's JSON array (--json; freed), or none when it listed
 * nothing.  Returns the exit code, 0. */
static int list_print(json_t *arr, int n, const char *none)
{
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(arr);
	} else if (n == 0) {
		printf("%s\n", none);
	}
	return 0;
}

/* After a listing call: its error said (cannot what), or the listing printed
 * (list_print).  Returns the exit code. */
static int list_done(int ret, const char *what, json_t *arr, int n, const char *none)
{
	if (ret) {
		fprintf(stderr, "flockerctl: cannot %s: %s\n", what, strerror(-ret));
		json_decref(arr);
		return EXIT_FAILED;
	}
	return list_print(arr, n, none);
}

/* "parent@snap" when volume uuid is a clone, else "". */
static void parent_of(struct fl_store *st, const char *uuid, char *buf, size_t len)
{
	char ns[48];
	struct fl_store *vst;

	buf[0] = '\0';
	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	vst = st->ops->clone_ns(st, ns);
	if (vst)
		fl_clone_describe(vst, buf, len);
	fl_store_close(vst);
}

static int list_cb(void *arg, const char *name, const struct fl_volreg_rec *r)
{
	struct list_ctx *l = arg;
	char sz[32], when[32], parent[2 * FL_VOLNAME_MAX + 2];

	parent_of(l->st, r->uuid, parent, sizeof(parent));
	if (l->arr) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "uuid", r->uuid,
				      "size_limit", (json_int_t)r->size_limit, "created",
				      (json_int_t)r->created);

		json_object_set_new(o, "parent", parent[0] ? json_string(parent) : json_null());
		json_array_append_new(l->arr, o);
	} else {
		if (l->n == 0)
			printf("%-32s %-36s %10s  %s\n", "NAME", "UUID", "SIZE", "CREATED");
		fmt_limit(r->size_limit, sz, sizeof(sz));
		fl_fmt_time_utc(r->created, when, sizeof(when));
		printf("%-32s %-36s %10s  %s%s%s\n", name, r->uuid, sz, when,
		       parent[0] ? "  clone of " : "", parent);
	}
	l->n++;
	return 0;
}

static int cmd_list(struct ctl *c)
{
	struct list_ctx l = {c->json ? json_array() : NULL, 0, connect_or_die(c)};
	struct fl_store *st = l.st;
	int ret = fl_volume_list(st, list_cb, &l);

	fl_store_close(st);
	return list_done(ret, "list volumes", l.arr, l.n, "no volumes");
}

static int cmd_inspect(struct ctl *c)
{
	struct fl_volume *v = NULL;
	struct fl_core *core = NULL;
	struct fl_core_opts co = {.ro = true};
	struct fl_holder h;
	struct fl_store *st;
	char err[512] = "", sz[32], used[32], when[32], since[32];
	char parent[2 * FL_VOLNAME_MAX + 2];
	uint64_t u = 0, inodes = 0;
	int ret, held, rc = 1;

	if (c->argc != 1)
		return usage_err("volume inspect");
	st = connect_or_die(c);
	ret = fl_volume_open(st, c->argv[0], &v, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "flockerctl: %s\n", err);
		goto out;
	}
	/* a read-only view replays the journal: usage as of the last commit */
	ret = fl_core_mount(v, &co, &core, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "flockerctl: %s\n", err);
		goto out;
	}
	fl_core_usage(core, &u, &inodes);
	held = fl_volume_holder(v, &h);
	fl_clone_describe(v->st, parent, sizeof(parent));
	if (c->json) {
		json_t *o = json_pack(
			"{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "name", v->super.name, "uuid",
			v->super.uuid, "size_limit", (json_int_t)v->super.size_limit, "block_size",
			(json_int_t)v->super.block_size, "bytes_used", (json_int_t)u, "inodes",
			(json_int_t)inodes, "created", (json_int_t)v->super.created);

		json_object_set_new(o, "parent", parent[0] ? json_string(parent) : json_null());
		if (held > 0)
			json_object_set_new(o, "holder",
					    json_pack("{s:s, s:I, s:I, s:s, s:s}", "host", h.host,
						      "pid", (json_int_t)h.pid, "since",
						      (json_int_t)h.since, "client", h.client,
						      "addr", h.addr));
		else
			json_object_set_new(o, "holder", json_null());
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
	} else {
		fmt_limit(v->super.size_limit, sz, sizeof(sz));
		fl_fmt_size(u, used, sizeof(used));
		fl_fmt_time_utc(v->super.created, when, sizeof(when));
		printf("name:        %s\n", v->super.name);
		printf("uuid:        %s\n", v->super.uuid);
		printf("size limit:  %s\n", sz);
		printf("used:        %s (%" PRIu64 " bytes)\n", used, u);
		printf("inodes:      %" PRIu64 "\n", inodes);
		printf("block size:  %u\n", v->super.block_size);
		printf("created:     %s\n", when);
		if (parent[0])
			printf("parent:      %s (a clone: unchanged data is read from there)\n",
			       parent);
		if (held > 0) {
			fl_fmt_time_utc(h.since, since, sizeof(since));
			printf("read-write:  host %s, pid %ld, since %s (%s)\n", h.host, h.pid,
			       since, h.client);
		} else {
			printf("read-write:  not mounted\n");
		}
	}
	rc = 0;
out:
	fl_core_unmount(core);
	fl_volume_close(v);
	fl_store_close(st);
	return rc;
}

static void report_json(const char *name, const struct fl_fsck_report *r, bool repair)
{
	json_t *o = json_pack("{s:s, s:b, s:b}", "volume", name, "clean", r->damage == 0, "repair",
			      repair);
	json_t *chk = json_object(), *found = json_object();

#define NUM(obj, f) json_object_set_new(obj, #f, json_integer((json_int_t)r->f))
	NUM(chk, inodes);
	NUM(chk, entries);
	NUM(chk, directories);
	NUM(chk, data_objects);
	NUM(chk, journal_records);
	NUM(chk, journal_replayed);
	json_object_set_new(chk, "read_only", json_boolean(r->read_only));
	NUM(chk, orphans_pending);
	NUM(chk, data_pending);
	NUM(chk, snapshots);
	NUM(found, journal_corrupt);
	NUM(found, corrupt_inodes);
	NUM(found, corrupt_entries);
	NUM(found, dangling_entries);
	NUM(found, type_mismatches);
	NUM(found, extra_dir_links);
	NUM(found, wrong_nlink);
	NUM(found, orphan_inodes);
	NUM(found, missing_dir_objects);
	NUM(found, stray_dir_objects);
	NUM(found, stray_data_objects);
	NUM(found, data_past_eof);
	NUM(found, unmapped_data);
	NUM(found, stale_orphan_keys);
	NUM(found, stale_journal_segments);
	NUM(found, bad_counters);
	NUM(found, unknown_objects);
	NUM(found, bad_snapshots);
#undef NUM
	json_object_set_new(o, "parent", r->parent[0] ? json_string(r->parent) : json_null());
	json_object_set_new(o, "checked", chk);
	json_object_set_new(o, "found", found);
	json_object_set_new(o, "damage", json_integer((json_int_t)r->damage));
	json_object_set_new(o, "repaired", json_integer((json_int_t)r->repaired));
	json_dumpf(o, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(o);
}

static void report_text(const char *name, const struct fl_fsck_report *r, bool repair)
{
	static const struct {
		const char *what;
		size_t off;
	} rows[] = {
#define ROW(f, w) {w, offsetof(struct fl_fsck_report, f)}
		ROW(journal_corrupt, "torn or corrupt journal records"),
		ROW(corrupt_inodes, "corrupt inode records"),
		ROW(corrupt_entries, "corrupt directory entries"),
		ROW(dangling_entries, "entries naming missing inodes"),
		ROW(type_mismatches, "entries of the wrong type"),
		ROW(extra_dir_links, "extra names of directories"),
		ROW(wrong_nlink, "wrong link counts"),
		ROW(orphan_inodes, "inodes without a name"),
		ROW(missing_dir_objects, "missing directory objects"),
		ROW(stray_dir_objects, "stray directory objects"),
		ROW(stray_data_objects, "stray data objects"),
		ROW(data_past_eof, "data past the end of files"),
		ROW(unmapped_data, "data outside the block maps of files"),
		ROW(stale_orphan_keys, "stale orphan list entries"),
		ROW(stale_journal_segments, "stale journal segments"),
		ROW(bad_counters, "wrong superblock counters"),
		ROW(bad_snapshots, "bad snapshot records"),
#undef ROW
	};
	size_t i;

	printf("fsck %s: checked %" PRIu64 " inodes (%" PRIu64 " directories), %" PRIu64
	       " entries, %" PRIu64 " data objects, %" PRIu64 " journal records (%" PRIu64
	       " replayed%s)\n",
	       name, r->inodes, r->directories, r->entries, r->data_objects, r->journal_records,
	       r->journal_replayed, r->read_only ? " in memory" : "");
	if (r->parent[0])
		printf("fsck %s: a clone, checked through to %s\n", name, r->parent);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t n = *(const uint64_t *)((const char *)r + rows[i].off);

		if (n)
			printf("  %-36s %" PRIu64 "\n", rows[i].what, n);
	}
	if (r->unknown_objects)
		printf("  %-36s %" PRIu64 " (left alone)\n", "unknown objects", r->unknown_objects);
	if (r->read_only && (r->journal_replayed || r->orphans_pending))
		printf("fsck %s: nothing written; the next mount (or --repair) applies the %" PRIu64
		       " journal records and processes %" PRIu64
		       " files on the orphan list (%" PRIu64
		       " data objects to remove, trim or map)\n",
		       name, r->journal_replayed, r->orphans_pending, r->data_pending);
	if (r->damage == 0)
		printf("fsck %s: clean\n", name);
	else if (repair)
		printf("fsck %s: %" PRIu64 " problems, %" PRIu64 " repaired\n", name, r->damage,
		       r->repaired);
	else
		printf("fsck %s: %" PRIu64 " problems (first: %s); run with --repair to fix\n",
		       name, r->damage, r->first_problem);
}

static int cmd_fsck(struct ctl *c)
{
	struct fl_fsck_opts o = {
		.repair = c->repair, .takeover = c->takeover, .progress = isatty(2) && !c->json};
	struct fl_fsck_report r;
	struct fl_store *st;
	char err[512] = "";
	int ret;

	if (c->argc != 1) {
		fprintf(stderr,
			"usage: flockerctl fsck NAME[@SNAPSHOT] [--repair] [--json] [--takeover]\n");
		return FSCK_NOT_CHECKED;
	}
	st = connect_or_die(c);
	ret = fl_fsck(st, c->argv[0], &o, &r, err, sizeof(err));
	fl_store_close(st);
	if (ret) {
		fprintf(stderr, "flockerctl: %s\n", err[0] ? err : strerror(-ret));
		return FSCK_NOT_CHECKED;
	}
	if (c->json)
		report_json(c->argv[0], &r, c->repair);
	else
		report_text(c->argv[0], &r, c->repair);
	if (r.damage == 0)
		return EXIT_OK;
	return c->repair && r.repaired == r.damage ? FSCK_REPAIRED : FSCK_DAMAGE_LEFT;
}

static int cmd_remove(struct ctl *c)
{
	struct fl_store *st;
	char err[512] = "";
	int ret;

	if (c->argc != 1)
		return usage_err("volume remove");
	st = connect_or_die(c);
	ret = fl_volume_remove(st, c->argv[0], err, sizeof(err));
	fl_store_close(st);
	if (ret)
		return failed(err);
	if (!c->json)
		printf("removed volume %s\n", c->argv[0]);
	return 0;
}

static int cmd_resize(struct ctl *c)
{
	struct fl_store *st;
	char err[512] = "";
	uint64_t size;
	int ret;

	if (c->argc != 1 || !c->size)
		return usage_err("volume resize");
	if (fl_parse_size(c->size, &size)) {
		fprintf(stderr, "flockerctl: invalid size '%s'\n", c->size);
		return EXIT_USAGE;
	}
	st = connect_or_die(c);
	ret = fl_volume_resize(st, c->argv[0], size, err, sizeof(err));
	fl_store_close(st);
	if (ret)
		return failed(err);
	printf("volume %s now has size limit %s\n", c->argv[0], c->size);
	return 0;
}

struct trash_ctx {
	json_t *arr;
	int n;
};

static int trash_cb(void *arg, const struct fl_trash_entry *t)
{
	static const char *const states[] = {"in the trash", "being restored", "being purged"};
	struct trash_ctx *l = arg;
	char sz[32], removed[32], purge[32];

	if (l->arr) {
		json_array_append_new(
			l->arr,
			json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "name", t->name,
				  "uuid", t->uuid, "size_limit", (json_int_t)t->reg.size_limit,
				  "created", (json_int_t)t->reg.created, "removed_at",
				  (json_int_t)t->removed, "purge_at", (json_int_t)t->purge_at,
				  "removed_by", t->host, "state", states[t->state]));
	} else {
		if (l->n == 0)
			printf("%-32s %-36s %10s  %-20s  %-20s  %s\n", "NAME", "UUID", "SIZE",
			       "REMOVED", "PURGED AFTER", "BY");
		fmt_limit(t->reg.size_limit, sz, sizeof(sz));
		fl_fmt_time_utc(t->removed, removed, sizeof(removed));
		fl_fmt_time_utc(t->purge_at, purge, sizeof(purge));
		printf("%-32s %-36s %10s  %-20s  %-20s  %s%s%s\n", t->name, t->uuid, sz, removed,
		       purge, t->host[0] ? t->host : "-", t->state ? ", " : "",
		       t->state ? states[t->state] : "");
	}
	l->n++;
	return 0;
}

static int cmd_trash(struct ctl *c)
{
	struct trash_ctx l = {c->json ? json_array() : NULL, 0};
	struct fl_store *st;
	int ret;

	if (c->argc != 0) {
		fprintf(stderr, "usage: flockerctl volume list --trash [--json]\n");
		json_decref(l.arr);
		return EXIT_USAGE;
	}
	st = connect_or_die(c);
	ret = fl_trash_list(st, trash_cb, &l);
	fl_store_close(st);
	return list_done(ret, "read the trash", l.arr, l.n, "the trash is empty");
}

static int cmd_restore(struct ctl *c)
{
	struct fl_trash_entry t;
	struct fl_store *st;
	char err[512] = "";
	int ret;

	if (c->argc != 1)
		return usage_err("volume restore");
	st = connect_or_die(c);
	ret = fl_trash_restore(st, c->argv[0], c->as, &t, err, sizeof(err));
	fl_store_close(st);
	if (ret)
		return failed(err);
	if (c->json)
		printf("{\"name\": \"%s\", \"uuid\": \"%s\", \"restored\": true}\n",
		       c->as ? c->as : t.name, t.uuid);
	else
		printf("restored volume %s (%s)\n", c->as ? c->as : t.name, t.uuid);
	return 0;
}

static int cmd_purge(struct ctl *c)
{
	struct fl_store *st;
	char err[512] = "";
	unsigned n = 0;
	int ret;

	if ((c->argc != 1) == !c->expired)
		return usage_err("volume purge");
	st = connect_or_die(c);
	if (c->expired) {
		ret = fl_trash_purge_expired(st, time(NULL), NULL, &n);
		if (ret)
			snprintf(err, sizeof(err), "cannot read the trash: %s", strerror(-ret));
	} else {
		ret = fl_trash_purge(st, c->argv[0], NULL, err, sizeof(err));
	}
	fl_store_close(st);
	if (ret)
		return failed(err);
	if (c->expired)
		printf("purged %u volume(s) whose time in the trash was up\n", n);
	else
		printf("purged volume %s: its data is gone\n", c->argv[0]);
	return 0;
}

static int cmd_clone(struct ctl *c, const char *what)
{
	bool clone = !strcmp(what, "clone");
	struct fl_store *st;
	int rc;

	if (c->argc != (clone ? 2 : 1))
		return usage_err(clone ? "volume clone" : "volume flatten");
	st = connect_or_die(c);
	rc = clone ? fl_clone_cmd(st, c->argv[0], c->argv[1], c->json)
		   : fl_flatten_cmd(st, c->argv[0], c->json);
	fl_store_close(st);
	return rc;
}

enum {
	OPT_ID = 256,
	OPT_BLOCK_SIZE,
	OPT_AS,
	OPT_TRASH,
	OPT_EXPIRED,
	OPT_REPAIR,
	OPT_TAKEOVER,
	OPT_JSON,
	OPT_DEBUG,
};

/*
 * The options of the commands straight on RADOS (getopt_long's entry of each)
 * and what each sets in struct ctl: a string (STR) or a flag (FLAG); --debug
 * raises the log level.
 */
static const struct run_opt {
	struct option opt;
	enum { O_STR, O_FLAG, O_LOG_DEBUG } kind;
	size_t off; /* of the const char * or bool in struct ctl */
} run_opts[] = {
#define STR(f)	O_STR, offsetof(struct ctl, f)
#define FLAG(f) O_FLAG, offsetof(struct ctl, f)
	{{"help", no_argument, NULL, 'h'}, FLAG(help)},
	{{"conf", required_argument, NULL, 'c'}, STR(ro.conf)},
	{{"id", required_argument, NULL, OPT_ID}, STR(ro.id)},
	{{"user", required_argument, NULL, OPT_ID}, STR(ro.id)},
	{{"pool", required_argument, NULL, 'p'}, STR(ro.pool)},
	{{"size", required_argument, NULL, 's'}, STR(size)},
	{{"block-size", required_argument, NULL, OPT_BLOCK_SIZE}, STR(block_size)},
	{{"as", required_argument, NULL, OPT_AS}, STR(as)},
	{{"trash", no_argument, NULL, OPT_TRASH}, FLAG(trash)},
	{{"expired", no_argument, NULL, OPT_EXPIRED}, FLAG(expired)},
	{{"repair", no_argument, NULL, OPT_REPAIR}, FLAG(repair)},
	{{"takeover", no_argument, NULL, OPT_TAKEOVER}, FLAG(takeover)},
	{{"json", no_argument, NULL, OPT_JSON}, FLAG(json)},
	{{"debug", no_argument, NULL, OPT_DEBUG}, O_LOG_DEBUG, 0},
#undef STR
#undef FLAG
};
#define NRUN_OPTS (sizeof(run_opts) / sizeof(run_opts[0]))

/* The options of the commands straight on RADOS, into c: 0 or EXIT_USAGE. */
static int parse_opts(int argc, char **argv, struct ctl *c)
{
	struct option lopts[NRUN_OPTS + 1];
	const struct run_opt *r;
	size_t i;
	int opt;

	for (i = 0; i < NRUN_OPTS; i++)
		lopts[i] = run_opts[i].opt;
	memset(&lopts[NRUN_OPTS], 0, sizeof(lopts[NRUN_OPTS]));
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hc:p:s:", lopts, NULL)) != -1) {
		if (opt == ':') {
			fprintf(stderr, "flockerctl: %s needs an argument\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
		for (r = run_opts; r < run_opts + NRUN_OPTS && r->opt.val != opt; r++)
			;
		if (r == run_opts + NRUN_OPTS) {
			fprintf(stderr, "flockerctl: unknown option %s\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
		if (r->kind == O_STR)
			*(const char **)((char *)c + r->off) = optarg;
		else if (r->kind == O_FLAG)
			*(bool *)((char *)c + r->off) = true;
		else
			fl_log_level = LOG_DEBUG;
	}
	return 0;
}

static int run(int argc, char **argv, char **pos)
{
	struct ctl c = {0};
	char *words[8];
	int nwords = 0, i, opt;

	fl_log_init("flockerctl", LOG_WARNING);
	/* commands with their own option parsing */
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return fl_bench_cmd(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "stats"))
		return fl_stats_cmd(argc - 1, argv + 1);
	/* the CA, and the commands that talk to flocker-control */
	if (argc > 1 && !strcmp(argv[1], "ca"))
		return fl_ca_cmd(argc - 1, argv + 1);
	if (fl_cluster_cmd_wanted(argc, argv))
		return fl_cluster_cmd(argc, argv);
	opt = parse_opts(argc, argv, &c);
	if (opt)
		return opt;
	for (i = optind; i < argc; i++) {
		if (nwords < 2)
			words[nwords++] = argv[i];
		else
			pos[c.argc++] = argv[i];
	}
	c.argv = pos;
	if (c.help)
		return usage_of(words, nwords);
	if (nwords >= 1 && !strcmp(words[0], "fsck")) {
		if (nwords == 2)
			pos[c.argc++] = words[1];
		return cmd_fsck(&c);
	}
	if (nwords == 2 && !strcmp(words[0], "snapshot")) {
		struct fl_snapcmd sc = {&c.ro, c.json, c.takeover, c.argc, c.argv};

		if (!strcmp(words[1], "create"))
			return fl_snapcmd_create(&sc);
		if (!strcmp(words[1], "list") || !strcmp(words[1], "ls"))
			return fl_snapcmd_list(&sc);
		if (!strcmp(words[1], "remove") || !strcmp(words[1], "rm"))
			return fl_snapcmd_remove(&sc);
		fprintf(stderr, "flockerctl: unknown command 'snapshot %s'\n", words[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (nwords < 2 || strcmp(words[0], "volume")) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(words[1], "create"))
		return cmd_create(&c);
	if ((!strcmp(words[1], "list") || !strcmp(words[1], "ls")) && c.trash)
		return cmd_trash(&c);
	if (!strcmp(words[1], "list") || !strcmp(words[1], "ls"))
		return cmd_list(&c);
	if (!strcmp(words[1], "trash"))
		return cmd_trash(&c);
	if (!strcmp(words[1], "restore"))
		return cmd_restore(&c);
	if (!strcmp(words[1], "purge"))
		return cmd_purge(&c);
	if (!strcmp(words[1], "inspect"))
		return cmd_inspect(&c);
	if (!strcmp(words[1], "remove") || !strcmp(words[1], "rm"))
		return cmd_remove(&c);
	if (!strcmp(words[1], "resize"))
		return cmd_resize(&c);
	if (!strcmp(words[1], "clone") || !strcmp(words[1], "flatten"))
		return cmd_clone(&c, words[1]);
	if (!strcmp(words[1], "rollback")) {
		struct fl_snapcmd sc = {&c.ro, c.json, c.takeover, c.argc, c.argv};

		return fl_snapcmd_rollback(&sc);
	}
	fprintf(stderr, "flockerctl: unknown command 'volume %s'\n", words[1]);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int rc;

	if (!pos)
		return EXIT_FAILED;
	rc = run(argc, argv, pos);
	free(pos);
	return rc;
}
