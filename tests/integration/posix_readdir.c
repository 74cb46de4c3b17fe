/*
 * posix_conformance - the checks of readdir, also while the directory changes (groups run by
 * posix_conformance.c).
 */
#include "posix_conformance.h"

/* ---- readdir helpers ---------------------------------------------------------------------------
 */

static void names_add(struct names *l, const char *s, unsigned char t, ino_t ino)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		l->type = realloc(l->type, l->cap);
		l->ino = realloc(l->ino, l->cap * sizeof(*l->ino));
		if (!l->v || !l->type || !l->ino)
			die("realloc");
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		die("strdup");
	l->type[l->n] = t;
	l->ino[l->n] = ino;
	l->n++;
}

void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->type);
	free(l->ino);
	memset(l, 0, sizeof(*l));
}

size_t names_count(const struct names *l, const char *s)
{
	size_t c = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			c++;
	return c;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of names that occur more than once. */
static size_t names_dups(const struct names *l)
{
	char **s = xmalloc((l->n + 1) * sizeof(*s));
	size_t d = 0;

	if (l->n) {
		memcpy(s, l->v, l->n * sizeof(*s));
		qsort(s, l->n, sizeof(*s), cmp_str);
	}
	for (size_t i = 1; i < l->n; i++)
		if (!strcmp(s[i], s[i - 1]))
			d++;
	free(s);
	return d;
}

/* Reads a whole directory with readdir(3); -1 with errno on failure. */
int read_dir(const char *path, struct names *out)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int e;

	if (!d)
		return -1;
	errno = 0;
	while ((de = readdir(d)))
		names_add(out, de->d_name, de->d_type, de->d_ino);
	e = errno;
	closedir(d);
	errno = e;
	return e ? -1 : 0;
}

struct ldirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Reads a directory with getdents64 and a buffer of bufsize bytes. */
static int read_dir_getdents(const char *path, size_t bufsize, struct names *out, int *calls)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	char *buf = xmalloc(bufsize);
	long n;

	*calls = 0;
	if (fd < 0) {
		free(buf);
		return -1;
	}
	while ((n = syscall(SYS_getdents64, fd, buf, bufsize)) > 0) {
		(*calls)++;
		for (long off = 0; off < n;) {
			struct ldirent64 *de = (struct ldirent64 *)(buf + off);

			names_add(out, de->d_name, de->d_type, (ino_t)de->d_ino);
			off += de->d_reclen;
		}
		if (*calls > 1000000)
			break;
	}
	close(fd);
	free(buf);
	return n < 0 ? -1 : 0;
}

/* ---- readdir ----------------------------------------------------------------------------------
 */

void g_readdir(void)
{
	struct names l = {0};
	char name[300];
	bool okc = true, okt = true, oki = true;
	int calls;

	CHECK_OK(mkdir("empty", 0755), "mkdir empty");
	CHECK_OK(read_dir("empty", &l), "read an empty directory");
	CHECK_EQ(l.n, 2, "empty directory has two entries");
	CHECK_EQ(names_count(&l, ".") + names_count(&l, ".."), 2, "they are . and ..");
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.v[i], "."))
			CHECK_EQ(l.ino[i], ino_of("empty"), "d_ino of . is the directory");
	names_free(&l);

	CHECK_OK(mkdir("mix", 0755), "mkdir mix");
	for (int i = 0; i < 300 && okc; i++) {
		snprintf(name, sizeof(name), "mix/f%03d", i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	for (int i = 0; i < 20 && okc; i++) {
		snprintf(name, sizeof(name), "mix/d%02d", i);
		okc = mkdir(name, 0755) == 0;
	}
	for (int i = 0; i < 10 && okc; i++) {
		snprintf(name, sizeof(name), "mix/l%02d", i);
		okc = symlink("f000", name) == 0;
	}
	if (okc)
		okc = mkfifo("mix/fifo", 0644) == 0;
	CHECK(okc, "create 300 files, 20 directories, 10 symlinks and a fifo");
	CHECK_OK(read_dir("mix", &l), "read the mixed directory");
	CHECK_EQ(l.n, 333, "333 entries including . and ..");
	CHECK_EQ(names_dups(&l), 0, "no entry returned twice");
	for (size_t i = 0; i < l.n; i++) {
		unsigned char want;
		mode_t m;

		if (!strcmp(l.v[i], ".") || !strcmp(l.v[i], ".."))
			continue;
		snprintf(name, sizeof(name), "mix/%s", l.v[i]);
		m = mode_of(name);
		want = S_ISREG(m)    ? DT_REG
		       : S_ISDIR(m)  ? DT_DIR
		       : S_ISLNK(m)  ? DT_LNK
		       : S_ISFIFO(m) ? DT_FIFO
				     : DT_UNKNOWN;
		if (l.type[i] != want && l.type[i] != DT_UNKNOWN) {
			okt = false;
			note("d_type of %s is %d, expected %d", l.v[i], l.type[i], want);
		}
		if (l.ino[i] != ino_of(name)) {
			oki = false;
			note("d_ino of %s is %llu, lstat says %llu", l.v[i],
			     (unsigned long long)l.ino[i], (unsigned long long)ino_of(name));
		}
	}
	CHECK(okt, "d_type matches the file type (or DT_UNKNOWN)");
	CHECK(oki, "d_ino matches st_ino");
	okc = true;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		if (names_count(&l, name) != 1)
			okc = false;
	}
	CHECK(okc, "every file listed exactly once");
	names_free(&l);

	CHECK_OK(read_dir_getdents("mix", 256, &l, &calls), "getdents64 with a 256-byte buffer");
	CHECK_EQ(l.n, 333, "small-buffer listing has all 333 entries");
	CHECK_EQ(names_dups(&l), 0, "small-buffer listing has no duplicates");
	CHECK(calls > 10, "small buffer needed many calls");
	names_free(&l);
	{
		int ffd = open("mix/f000", O_RDONLY);

		CHECK_ERR(syscall(SYS_getdents64, ffd, name, sizeof(name)), ENOTDIR,
			  "getdents64 on a regular file");
		if (ffd >= 0)
			close(ffd);
	}

	/* telldir / seekdir / rewinddir on an unchanged directory */
	{
		DIR *d = opendir("mix");
		struct names a = {0}, b = {0}, c = {0};
		struct dirent *de;
		long pos0, pos;
		int i;

		CHECK(d != NULL, "opendir mix");
		if (d) {
			pos0 = telldir(d);
			for (i = 0; i < 100 && (de = readdir(d)); i++)
				names_add(&c, de->d_name, 0, 0);
			pos = telldir(d);
			while ((de = readdir(d)))
				names_add(&a, de->d_name, 0, 0);
			seekdir(d, pos);
			while ((de = readdir(d)))
				names_add(&b, de->d_name, 0, 0);
			CHECK_EQ(a.n, 233, "rest of the listing after 100 entries");
			okc = a.n == b.n;
			for (size_t k = 0; okc && k < a.n; k++)
				okc = !strcmp(a.v[k], b.v[k]);
			CHECK(okc, "seekdir to a telldir position repeats the same entries");
			seekdir(d, pos0);
			okc = true;
			for (size_t k = 0; k < c.n && okc; k++) {
				de = readdir(d);
				okc = de && !strcmp(de->d_name, c.v[k]);
			}
			CHECK(okc, "seekdir to the first position restarts the listing");
			CHECK_OK(mkfile("mix/new-entry", 0644, NULL, 0), "add an entry");
			rewinddir(d);
			names_free(&a);
			while ((de = readdir(d)))
				names_add(&a, de->d_name, 0, 0);
			CHECK_EQ(a.n, 334, "rewinddir sees the added entry");
			CHECK_EQ(names_count(&a, "new-entry"), 1, "new entry listed once");
			closedir(d);
		}
		names_free(&a);
		names_free(&b);
		names_free(&c);
	}
	CHECK(opendir("mix/f000") == NULL && errno == ENOTDIR,
	      "opendir of a file fails with ENOTDIR");
	CHECK(opendir("nonexistent") == NULL && errno == ENOENT,
	      "opendir of a missing name fails with ENOENT");

	/* A big directory with long names. */
	CHECK_OK(mkdir("big", 0755), "mkdir big");
	okc = true;
	for (int i = 0; i < 2000 && okc; i++) {
		int n = snprintf(name, sizeof(name), "big/%05d-", i);

		memset(name + n, 'a' + i % 26, 200);
		name[n + 200] = 0;
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 2000 files with 206-byte names");
	CHECK_OK(read_dir("big", &l), "read the big directory");
	CHECK_EQ(l.n, 2002, "2000 entries plus . and ..");
	CHECK_EQ(names_dups(&l), 0, "no duplicates in the big directory");
	okc = true;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i], ".") && strcmp(l.v[i], "..") && strlen(l.v[i]) != 206)
			okc = false;
	CHECK(okc, "long names come back whole");
	names_free(&l);
	CHECK_OK(read_dir_getdents("big", 512, &l, &calls), "getdents64 of big with 512 bytes");
	CHECK_EQ(l.n, 2002, "small-buffer listing of the big directory");
	names_free(&l);
}

/* ---- readdir while the directory changes ---------------------------------------------------- */

static int mkname(char *buf, size_t len, const char *dir, char kind, int i)
{
	return snprintf(buf, len, "%s/%c%04d", dir, kind, i);
}

void g_readdir_mutation(void)
{
	char name[300];
	bool okc = true;

	/* A: entries added and removed during one pass. */
	CHECK_OK(mkdir("m", 0755), "mkdir m");
	for (int i = 0; i < 200 && okc; i++) {
		mkname(name, sizeof(name), "m", 'S', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	for (int i = 0; i < 100 && okc; i++) {
		mkname(name, sizeof(name), "m", 'V', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 200 stable and 100 volatile entries");
	{
		DIR *d = opendir("m");
		int seen_s[200] = {0}, seen_v[100] = {0}, seen_n[200] = {0};
		int dots = 0, other = 0, read_n = 0, vdel = 0, nadd = 0;
		struct dirent *de;

		CHECK(d != NULL, "opendir m");
		while (d && (de = readdir(d)) && read_n < 10000) {
			int k = atoi(de->d_name + 1);

			read_n++;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				dots++;
			else if (de->d_name[0] == 'S' && k >= 0 && k < 200)
				seen_s[k]++;
			else if (de->d_name[0] == 'V' && k >= 0 && k < 100)
				seen_v[k]++;
			else if (de->d_name[0] == 'N' && k >= 0 && k < 200)
				seen_n[k]++;
			else
				other++;
			if (read_n % 10 == 0) {
				for (int j = 0; j < 3 && vdel < 100; j++) {
					mkname(name, sizeof(name), "m", 'V', vdel++);
					if (unlink(name) < 0)
						die("unlink volatile");
				}
				for (int j = 0; j < 3 && nadd < 200; j++) {
					mkname(name, sizeof(name), "m", 'N', nadd++);
					if (mkfile(name, 0644, NULL, 0) < 0)
						die("create new");
				}
			}
		}
		if (d)
			closedir(d);
		okc = true;
		for (int i = 0; i < 200; i++)
			if (seen_s[i] != 1) {
				okc = false;
				note("stable entry S%04d seen %d times", i, seen_s[i]);
			}
		CHECK(okc, "stable entries seen exactly once while others come and go");
		okc = true;
		for (int i = 0; i < 100; i++)
			okc = okc && seen_v[i] <= 1;
		for (int i = 0; i < 200; i++)
			okc = okc && seen_n[i] <= 1;
		CHECK(okc, "removed and added entries seen at most once");
		CHECK_EQ(dots, 2, ". and .. seen once each");
		CHECK_EQ(other, 0, "no unknown names");
		CHECK(vdel > 0 && nadd > 0, "the directory changed during the pass");
	}

	/* B: every entry unlinked right after readdir returns it (rm -r). */
	CHECK_OK(mkdir("r", 0755), "mkdir r");
	okc = true;
	for (int i = 0; i < 500 && okc; i++) {
		mkname(name, sizeof(name), "r", 'F', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 500 entries");
	{
		DIR *d = opendir("r");
		int seen[500] = {0}, n = 0;
		bool okd = true;
		struct dirent *de;

		while (d && (de = readdir(d)) && n < 5000) {
			int k = atoi(de->d_name + 1);

			if (de->d_name[0] == '.')
				continue;
			n++;
			if (k >= 0 && k < 500)
				seen[k]++;
			snprintf(name, sizeof(name), "r/%s", de->d_name);
			if (unlink(name) < 0)
				okd = false;
		}
		if (d)
			closedir(d);
		okc = true;
		for (int i = 0; i < 500; i++)
			okc = okc && seen[i] == 1;
		CHECK(okd, "unlink each entry as it is returned");
		CHECK(okc, "all 500 entries seen exactly once while unlinking them");
		CHECK_OK(rmdir("r"), "directory empty afterwards");
	}

	/* C: telldir positions stay valid after entries are removed and added. */
	CHECK_OK(mkdir("k", 0755), "mkdir k");
	okc = true;
	for (int i = 0; i < 200 && okc; i++) {
		mkname(name, sizeof(name), "k", 'S', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
		mkname(name, sizeof(name), "k", 'V', i);
		okc = okc && mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 200 stable and 200 volatile entries");
	{
		DIR *d = opendir("k");
		struct names order = {0};
		long pos[500];
		struct dirent *de;
		size_t n = 0;

		CHECK(d != NULL, "opendir k");
		while (d && n < 500 && (de = readdir(d))) {
			names_add(&order, de->d_name, 0, 0);
			pos[n++] = telldir(d);
		}
		CHECK_EQ(n, 402, "first pass lists 402 entries");
		for (int i = 0; i < 200; i++) {
			mkname(name, sizeof(name), "k", 'V', i);
			if (unlink(name) < 0)
				die("unlink");
			if (i < 50) {
				mkname(name, sizeof(name), "k", 'N', i);
				if (mkfile(name, 0644, NULL, 0) < 0)
					die("create");
			}
		}
		{
			size_t samples[] = {0, 1, 37, 100, 201, 333, n > 2 ? n - 2 : 0};

			for (size_t s = 0; d && s < sizeof(samples) / sizeof(samples[0]); s++) {
				size_t at = samples[s];
				struct names rest = {0};
				bool good = true;

				if (at >= n)
					continue;
				seekdir(d, pos[at]);
				while ((de = readdir(d)) && rest.n < 5000)
					names_add(&rest, de->d_name, 0, 0);
				for (size_t j = 0; j < n; j++) {
					size_t c;

					if (order.v[j][0] != 'S')
						continue;
					c = names_count(&rest, order.v[j]);
					if ((j > at && c != 1) || (j <= at && c != 0)) {
						good = false;
						note("after seekdir to position %zu: %s seen %zu times",
						     at, order.v[j], c);
						break;
					}
				}
				good = good && names_dups(&rest) == 0;
				CHECK(good,
				      "seekdir to the position after entry %zu: later stable entries once, "
				      "earlier ones never",
				      at);
				names_free(&rest);
			}
		}
		if (d)
			closedir(d);
		names_free(&order);
	}

	/* D: adding entries during a pass still terminates. */
	CHECK_OK(mkdir("grow", 0755), "mkdir grow");
	for (int i = 0; i < 50; i++) {
		mkname(name, sizeof(name), "grow", 'S', i);
		if (mkfile(name, 0644, NULL, 0) < 0)
			die("create");
	}
	{
		DIR *d = opendir("grow");
		int n = 0, added = 0, seen_s = 0;
		struct dirent *de;

		while (d && (de = readdir(d)) && n < 100000) {
			n++;
			if (de->d_name[0] == 'S')
				seen_s++;
			if (added < 1000) {
				mkname(name, sizeof(name), "grow", 'N', added++);
				if (mkfile(name, 0644, NULL, 0) < 0)
					die("create");
			}
		}
		if (d)
			closedir(d);
		CHECK(n < 100000, "a pass over a growing directory terminates");
		CHECK_EQ(seen_s, 50, "all original entries of a growing directory seen");
	}
}
