/*
 * Writes the seed inputs of every fuzz harness:
 *   gen_corpus OUTDIR   ->  OUTDIR/<harness>/seed-<what>
 * Valid encodings of each record (typical and edge values), the same with
 * unknown keys a future version might add, and for the journal whole
 * segments (several frames, zero padding, a torn tail).  Seeds named
 * seed-bad-* are inputs the decoder must refuse.  The committed
 * corpora under tests/fuzz/corpus/ started from these and grew by fuzzing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <msgpack.h>

#include "flocker/record.h"
#include "rec_sample.h"

static const char *outdir;
static int errors;

static void put_file(const char *harness, const char *what, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, harness);
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_corpus: cannot create %s: %s\n", path, strerror(errno));
		errors++;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, harness, what);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen_corpus: cannot write %s\n", path);
		errors++;
	}
}

/* A journal segment for fuzz_jframe: a mode byte (bit 0: fix CRCs first), then the bytes. */
static void put_segment(const char *what, uint8_t mode, const void *p, size_t len)
{
	uint8_t *b = malloc(len + 1);

	if (!b) {
		errors++;
		return;
	}
	b[0] = mode;
	memcpy(b + 1, p, len);
	put_file("fuzz_jframe", what, b, len + 1);
	free(b);
}

static void put_buf(const char *harness, const char *what, struct fl_buf *b, int rc)
{
	if (rc != 0) {
		fprintf(stderr, "gen_corpus: encoding %s/%s failed: %d\n", harness, what, rc);
		errors++;
	} else {
		put_file(harness, what, b->data, b->len);
	}
	fl_buf_reset(b);
}

/* Copies a valid encoding, adding unknown keys with nested values. */
static void put_with_unknown(const char *harness, const char *what, const struct fl_buf *b)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;
	uint32_t k;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, b->data, b->len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&u);
		errors++;
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, u.data.via.map.size + 3);
	msgpack_pack_uint64(&pk, 40);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_double(&pk, 0.5);
	msgpack_pack_bin_with_body(&pk, "\0\1", 2);
	for (k = 0; k < u.data.via.map.size; k++) {
		msgpack_pack_object(&pk, u.data.via.map.ptr[k].key);
		msgpack_pack_object(&pk, u.data.via.map.ptr[k].val);
	}
	msgpack_pack_str_with_body(&pk, "later", 5);
	msgpack_pack_nil(&pk);
	msgpack_pack_int64(&pk, -3);
	msgpack_pack_ext_with_body(&pk, "ext", 3, 5);
	put_file(harness, what, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&u);
}

/*
 * The seeds of one valid encoding in b (rc: what its encoder returned):
 * what, the same with unknown keys ("unknown-keys") and, when truncated,
 * all but its last byte ("bad-truncated").  Empties b.
 */
static void put_valid(const char *harness, const char *what, struct fl_buf *b, int rc,
		      bool truncated)
{
	if (rc == 0) {
		put_with_unknown(harness, "unknown-keys", b);
		if (truncated)
			put_file(harness, "bad-truncated", b->data, b->len - 1);
	}
	put_buf(harness, what, b, rc);
}

static void put_typical(const char *harness, struct fl_buf *b, int rc, bool truncated)
{
	put_valid(harness, "typical", b, rc, truncated);
}

/* A trash record of only the required keys, packed by hand (any version, name, registry value). */
static void put_trash_min(const char *what, unsigned version, const char *uuid, const char *name,
			  size_t nlen, const struct fl_buf *reg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_uint64(&pk, 0);
	msgpack_pack_uint64(&pk, version);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_str_with_body(&pk, uuid, strlen(uuid));
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_str_with_body(&pk, name, nlen);
	msgpack_pack_uint64(&pk, 3);
	msgpack_pack_bin_with_body(&pk, reg->data, reg->len);
	put_file("fuzz_trash", what, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void mk_inode(struct fl_inode_rec *i, uint64_t ino, uint32_t mode)
{
	memset(i, 0, sizeof(*i));
	i->ino = ino;
	i->mode = mode;
	i->uid = 1000;
	i->gid = 1000;
	i->nlink = S_ISDIR(mode) ? 2 : 1;
	i->size = S_ISREG(mode) ? 12345 : 0;
	i->generation = 1;
	i->atime.tv_sec = 1700000000;
	i->atime.tv_nsec = 123456789;
	i->mtime = i->atime;
	i->ctime = i->atime;
	i->btime.tv_sec = 1600000000;
}

/* A 1 TiB regular file ino whose block map is runs[0..n), as fuzz_inode's seed-what. */
static void put_bmap_inode(const char *what, struct fl_buf *b, uint64_t ino, uint32_t mode,
			   struct fl_brange *runs, uint32_t n)
{
	struct fl_inode_rec in;

	mk_inode(&in, ino, mode);
	in.size = 1ull << 40;
	in.has_bmap = true;
	in.bmap = runs;
	in.nbmap = n;
	put_buf("fuzz_inode", what, b, fl_inode_encode(&in, b));
}

int main(int argc, char **argv)
{
	static const char uuid[] = "6f1c2a9e-3b7d-4e05-9a8c-0d1e2f3a4b5c";
	struct fl_buf b;
	struct fl_super_rec s;
	struct fl_volreg_rec r;
	struct fl_dirent_rec d;
	struct fl_inode_rec in;
	struct fl_xattr xa[3];
	struct fl_jop ops[6];
	struct fl_jtxn t;
	char valbuf[300];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_corpus: cannot create %s: %s\n", outdir, strerror(errno));
		return 1;
	}
	fl_buf_init(&b, FL_REC_MAX);

	/* super */
	memset(&s, 0, sizeof(s));
	memcpy(s.uuid, uuid, sizeof(uuid));
	strcpy(s.name, "volume-1");
	s.block_size = 4 << 20;
	s.size_limit = 10ull << 30;
	s.created = 1700000000;
	s.next_ino = 2;
	s.inodes = 1;
	s.itab_shard_bits = 10;
	put_typical("fuzz_super", &b, fl_super_encode(&s, &b), false);
	memset(s.name, 'Z', FL_VOLNAME_MAX);
	s.name[FL_VOLNAME_MAX] = '\0';
	s.block_size = 1u << 31;
	s.size_limit = UINT64_MAX;
	s.created = INT64_MIN;
	s.next_ino = s.jtail = s.used_bytes = s.inodes = UINT64_MAX;
	s.itab_shard_bits = 63;
	put_buf("fuzz_super", "edge", &b, fl_super_encode(&s, &b));
	s.snap_seq = 42;
	put_buf("fuzz_super", "snap-seq", &b, fl_super_encode(&s, &b));
	s.version = FL_SUPER_VERSION; /* maps may pass FL_BMAP_MAX_V1 runs */
	put_buf("fuzz_super", "version-2", &b, fl_super_encode(&s, &b));

	/* snap */
	{
		struct fl_snap_rec sn;

		rec_snap_typical(&sn);
		put_typical("fuzz_snap", &b, fl_snap_encode(&sn, &b), true);
		rec_snap_edge(&sn);
		put_buf("fuzz_snap", "edge", &b, fl_snap_encode(&sn, &b));
		sn.host[0] = '\0';
		sn.id = 1;
		put_buf("fuzz_snap", "no-host", &b, fl_snap_encode(&sn, &b));
	}

	/* volreg */
	memset(&r, 0, sizeof(r));
	memcpy(r.uuid, uuid, sizeof(uuid));
	r.created = 1700000000;
	r.size_limit = 1ull << 30;
	put_typical("fuzz_volreg", &b, fl_volreg_encode(&r, &b), false);
	r.created = -1;
	r.size_limit = UINT64_MAX;
	put_buf("fuzz_volreg", "edge", &b, fl_volreg_encode(&r, &b));

	/* parent */
	{
		struct fl_parent_rec pr;

		memset(&pr, 0, sizeof(pr));
		memcpy(pr.uuid, uuid, sizeof(uuid));
		pr.snap_id = 4;
		strcpy(pr.snap, "before-upgrade");
		strcpy(pr.name, "volume-1");
		pr.created = 1700000000;
		put_typical("fuzz_parent", &b, fl_parent_encode(&pr, &b), false);
		pr.snap_id = UINT64_MAX;
		memset(pr.snap, 'S', FL_VOLNAME_MAX);
		pr.created = INT64_MIN;
		put_buf("fuzz_parent", "edge", &b, fl_parent_encode(&pr, &b));
	}

	/* trash: valid records, then a few that are not */
	{
		static const char other[] = "00000000-1111-4222-8333-444444444444";
		struct fl_trash_rec tr;
		struct fl_buf reg;

		fl_buf_init(&reg, FL_TRASH_REG_MAX);
		memset(&tr, 0, sizeof(tr));
		r.created = 1700000000;
		r.size_limit = 1ull << 30;
		fl_volreg_encode(&r, &reg);
		memcpy(tr.uuid, uuid, sizeof(uuid));
		strcpy(tr.name, "volume-1");
		memcpy(tr.reg, reg.data, reg.len);
		tr.reg_len = reg.len;
		tr.removed = 1700000100;
		tr.removed_ns = 123456789;
		tr.purge_at = tr.removed + 7 * 86400;
		strcpy(tr.host, "host-a");
		put_typical("fuzz_trash", &b, fl_trash_rec_encode(&tr, &b), true);
		put_trash_min("required-only", 1, uuid, "v", 1, &reg);
		put_trash_min("bad-version-2", 2, uuid, "v", 1, &reg);
		put_trash_min("bad-name-nul", 1, uuid, "ab\0c", 4, &reg);
		put_trash_min("bad-reg-other-uuid", 1, other, "v", 1, &reg);
		fl_buf_reset(&reg);
		r.created = -1;
		r.size_limit = UINT64_MAX;
		fl_volreg_encode(&r, &reg);
		memcpy(tr.reg, reg.data, reg.len);
		tr.reg_len = reg.len;
		memset(tr.name, 'Z', FL_VOLNAME_MAX);
		tr.name[FL_VOLNAME_MAX] = '\0';
		memset(tr.host, 'h', FL_TRASH_HOST_MAX);
		tr.host[FL_TRASH_HOST_MAX] = '\0';
		tr.removed = INT64_MIN;
		tr.removed_ns = 999999999;
		tr.purge_at = INT64_MAX;
		tr.state = FL_TRASH_PURGING;
		tr.state_since = -1;
		put_buf("fuzz_trash", "edge", &b, fl_trash_rec_encode(&tr, &b));
		fl_buf_free(&reg);
	}

	/* dirent */
	d.ino = 2;
	d.type = S_IFREG;
	put_buf("fuzz_dirent", "file", &b, fl_dirent_encode(&d, &b));
	d.ino = UINT64_MAX;
	d.type = S_IFDIR;
	put_buf("fuzz_dirent", "dir-maxino", &b, fl_dirent_encode(&d, &b));
	d.type = S_IFSOCK;
	fl_dirent_encode(&d, &b);
	put_with_unknown("fuzz_dirent", "unknown-keys", &b);
	fl_buf_reset(&b);

	/* inode */
	mk_inode(&in, 2, S_IFREG | 0644);
	put_buf("fuzz_inode", "file", &b, fl_inode_encode(&in, &b));
	{
		/* a sparse file's block map: its first block and a far one */
		struct fl_brange runs[2] = {{0, 2}, {262143, 1}};

		put_bmap_inode("file-bmap", &b, 4, S_IFREG | 0600, runs, 2);
	}
	{
		/* a scattered file: 600 one-block runs (more than FL_BMAP_MAX_V1) */
		static struct fl_brange many[600];
		uint32_t k;

		for (k = 0; k < 600; k++) {
			many[k].first = (uint64_t)k * 256 + (k & 3);
			many[k].count = 1 + (k % 3);
		}
		put_bmap_inode("file-bmap-many", &b, 5, S_IFREG | 0644, many, 600);
	}
	mk_inode(&in, 3, S_IFLNK | 0777);
	in.symlink = (char *)"../target/file";
	put_buf("fuzz_inode", "symlink", &b, fl_inode_encode(&in, &b));
	mk_inode(&in, 1, S_IFDIR | 02775);
	memset(valbuf, 'v', sizeof(valbuf));
	xa[0].name = (char *)"user.mime_type";
	xa[0].value = (char *)"text/plain";
	xa[0].vlen = 10;
	xa[1].name = (char *)"security.selinux";
	xa[1].value = NULL;
	xa[1].vlen = 0;
	xa[2].name = (char *)"trusted.big";
	xa[2].value = valbuf;
	xa[2].vlen = sizeof(valbuf);
	in.xattrs = xa;
	in.nxattrs = 3;
	put_valid("fuzz_inode", "dir-xattrs", &b, fl_inode_encode(&in, &b), false);
	mk_inode(&in, UINT64_MAX, S_IFCHR | 07777);
	in.rdev = UINT64_MAX;
	in.uid = in.gid = in.nlink = UINT32_MAX;
	in.atime.tv_sec = INT64_MIN;
	in.mtime.tv_sec = INT64_MAX;
	in.mtime.tv_nsec = 999999999;
	put_buf("fuzz_inode", "chrdev-edge", &b, fl_inode_encode(&in, &b));

	/* jtxn: every op kind */
	memset(&t, 0, sizeof(t));
	memset(ops, 0, sizeof(ops));
	t.tid = 7;
	t.next_ino = 4;
	t.used_bytes = 12345;
	t.inodes = 3;
	ops[0].kind = FL_JOP_INODE_PUT;
	mk_inode(&ops[0].inode, 3, S_IFLNK | 0777);
	ops[0].inode.symlink = (char *)"target";
	rec_jop_dent(&ops[1], FL_JOP_DENT_SET, 1, "link", 3, S_IFLNK);
	rec_jop_dent(&ops[2], FL_JOP_DENT_DEL, 1, "old name", 0, 0);
	rec_jop_ino(&ops[3], FL_JOP_INODE_DEL, 9);
	rec_jop_ino(&ops[4], FL_JOP_ORPHAN_ADD, 10);
	rec_jop_ino(&ops[5], FL_JOP_ORPHAN_DEL, 10);
	t.ops = ops;
	t.nops = 6;
	put_valid("fuzz_jtxn", "all-kinds", &b, fl_jtxn_encode(&t, &b), false);
	t.nops = 0;
	put_buf("fuzz_jtxn", "empty", &b, fl_jtxn_encode(&t, &b));
	ops[0].inode = in; /* the chrdev edge inode */
	ops[0].inode.xattrs = xa;
	ops[0].inode.nxattrs = 2;
	t.nops = 2;
	put_buf("fuzz_jtxn", "put-xattrs", &b, fl_jtxn_encode(&t, &b));

	/* jframe: whole segments */
	{
		struct fl_buf seg, rec;
		static const char zeros[64];

		fl_buf_init(&seg, 1 << 20);
		fl_buf_init(&rec, FL_REC_MAX);
		t.nops = 6;
		mk_inode(&ops[0].inode, 3, S_IFREG | 0600);
		fl_jtxn_encode(&t, &rec);
		fl_jframe_put(&seg, rec.data, rec.len);
		fl_buf_reset(&rec);
		t.tid++;
		t.nops = 1;
		ops[0] = ops[3];
		fl_jtxn_encode(&t, &rec);
		fl_jframe_put(&seg, rec.data, rec.len);
		put_segment("two-frames", 0, seg.data, seg.len);
		fl_buf_append(&seg, zeros, sizeof(zeros));
		put_segment("two-frames-padding", 0, seg.data, seg.len);
		seg.data[8] ^= 0x55; /* stale CRC, fixed by mode 1 */
		put_segment("two-frames-fixcrc", 1, seg.data, seg.len);
		put_segment("two-frames-badcrc", 0, seg.data, seg.len);
		fl_buf_reset(&seg);
		fl_jframe_put(&seg, rec.data, rec.len);
		fl_jframe_put(&seg, rec.data, rec.len);
		put_segment("torn-tail", 0, seg.data, seg.len - 3);
		fl_buf_reset(&seg);
		fl_jframe_put(&seg, NULL, 0);
		put_segment("empty-payload", 0, seg.data, seg.len);
		fl_buf_free(&seg);
		fl_buf_free(&rec);
	}

	fl_buf_free(&b);
	return errors ? 1 : 0;
}
