/*
 * posix_conformance - the checks of extended attributes (groups run by posix_conformance.c).
 */
#include "posix_conformance.h"

/* ---- extended attributes -------------------------------------------------------------------- */

/* True when the listxattr buffer of n bytes holds name exactly once. */
static int list_count(const char *list, ssize_t n, const char *name)
{
	int c = 0;

	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1)
		if (!strcmp(list + off, name))
			c++;
	return c;
}

static int list_count_prefix(const char *list, ssize_t n, const char *prefix)
{
	int c = 0;

	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1)
		if (!strncmp(list + off, prefix, strlen(prefix)))
			c++;
	return c;
}

void g_xattr(void)
{
	char list[8192], val[70000], name[300];
	unsigned char bin[256];
	ssize_t n;

	CHECK_OK(mkfile_str("f", "x"), "create f");
	n = listxattr("f", list, sizeof(list));
	CHECK(n >= 0 && list_count_prefix(list, n, "user.") == 0, "a new file has no user xattrs");
	CHECK_OK(setxattr("f", "user.color", "blue", 4, 0), "setxattr user.color");
	n = getxattr("f", "user.color", val, sizeof(val));
	CHECK_EQ(n, 4, "getxattr length");
	t_mem(val, "blue", 4, "getxattr value");
	CHECK_EQ(getxattr("f", "user.color", NULL, 0), 4,
		 "getxattr with size 0 returns the length");
	CHECK_ERR(getxattr("f", "user.color", val, 3), ERANGE, "getxattr into a small buffer");
	CHECK_ERR(setxattr("f", "user.color", "red", 3, XATTR_CREATE), EEXIST,
		  "XATTR_CREATE on an existing attribute");
	CHECK_ERR(setxattr("f", "user.shape", "round", 5, XATTR_REPLACE), ENODATA,
		  "XATTR_REPLACE on a missing attribute");
	CHECK_OK(setxattr("f", "user.color", "green!", 6, XATTR_REPLACE), "XATTR_REPLACE");
	n = getxattr("f", "user.color", val, sizeof(val));
	CHECK_EQ(n, 6, "replaced value length");
	t_mem(val, "green!", 6, "replaced value");
	CHECK_OK(setxattr("f", "user.shape", "round", 5, XATTR_CREATE),
		 "XATTR_CREATE of a new one");
	CHECK_OK(setxattr("f", "user.empty", "", 0, 0), "empty value");
	CHECK_EQ(getxattr("f", "user.empty", val, sizeof(val)), 0, "empty value has length 0");
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	CHECK_OK(setxattr("f", "user.bin", bin, 256, 0), "binary value with NUL bytes");
	CHECK_EQ(getxattr("f", "user.bin", val, sizeof(val)), 256, "binary value length");
	t_mem(val, bin, 256, "binary value preserved");
	CHECK_ERR(getxattr("f", "user.missing", val, sizeof(val)), ENODATA,
		  "getxattr of a missing name");
	n = listxattr("f", list, sizeof(list));
	CHECK_OK(n, "listxattr");
	CHECK_EQ(list_count(list, n, "user.color"), 1, "list has user.color");
	CHECK_EQ(list_count(list, n, "user.shape"), 1, "list has user.shape");
	CHECK_EQ(list_count(list, n, "user.empty"), 1, "list has user.empty");
	CHECK_EQ(list_count(list, n, "user.bin"), 1, "list has user.bin");
	CHECK_EQ(list_count_prefix(list, n, "user."), 4, "list has four user attributes");
	CHECK_EQ(listxattr("f", NULL, 0), n, "listxattr with size 0 returns the length");
	CHECK_ERR(listxattr("f", list, (size_t)n - 1), ERANGE, "listxattr into a small buffer");
	CHECK_OK(removexattr("f", "user.shape"), "removexattr");
	CHECK_ERR(getxattr("f", "user.shape", val, sizeof(val)), ENODATA,
		  "removed attribute is gone");
	CHECK_ERR(removexattr("f", "user.shape"), ENODATA, "removexattr of a missing name");
	n = listxattr("f", list, sizeof(list));
	CHECK_EQ(list_count(list, n, "user.shape"), 0, "removed attribute not listed");
	CHECK_EQ(list_count_prefix(list, n, "user."), 3, "three left");

	/* Value sizes. */
	memset(val, 'v', sizeof(val));
	CHECK_OK(setxattr("f", "user.k1", val, 1000, 0), "1000-byte value");
	CHECK_EQ(getxattr("f", "user.k1", list, sizeof(list)), 1000, "1000-byte value length");
	{
		int r;
		int e;

		CHECK_OK(mkfile_str("g", "x"), "create g");
		r = setxattr("g", "user.big", val, 65536, 0);
		e = errno;
		if (r == 0) {
			CHECK_EQ(getxattr("g", "user.big", val, sizeof(val)), 65536,
				 "64 KiB value reads back");
		} else {
			t_err(r, e, ENOSPC, E2BIG,
			      "64 KiB value is stored or refused as too large for this filesystem");
		}
	}
	CHECK_ERR(setxattr("f", "user.huge", val, 65537, 0), E2BIG, "value over 64 KiB");
	name[0] = 0;
	strcpy(name, "user.");
	memset(name + 5, 'n', 250);
	name[255] = 0;
	CHECK_OK(setxattr("f", name, "l", 1, 0), "255-byte attribute name");
	CHECK_EQ(getxattr("f", name, val, sizeof(val)), 1, "255-byte name reads back");
	n = listxattr("f", list, sizeof(list));
	CHECK_EQ(list_count(list, n, name), 1, "255-byte name listed");
	name[255] = 'n';
	name[256] = 0;
	CHECK_ERR(setxattr("f", name, "l", 1, 0), ERANGE, "256-byte attribute name");
	CHECK_ERR(getxattr("f", name, val, sizeof(val)), ERANGE, "getxattr of a 256-byte name");

	/* Many attributes. */
	{
		bool okx = true;

		CHECK_OK(mkfile_str("many", "x"), "create many");
		for (int i = 0; i < 40 && okx; i++) {
			snprintf(name, sizeof(name), "user.a%02d", i);
			okx = setxattr("many", name, name, strlen(name), XATTR_CREATE) == 0;
		}
		CHECK(okx, "40 attributes on one file");
		n = listxattr("many", list, sizeof(list));
		CHECK_EQ(list_count_prefix(list, n, "user.a"), 40, "all 40 listed");
		okx = true;
		for (int i = 0; i < 40 && okx; i++) {
			snprintf(name, sizeof(name), "user.a%02d", i);
			n = getxattr("many", name, val, sizeof(val));
			okx = n == (ssize_t)strlen(name) && !memcmp(val, name, (size_t)n);
		}
		CHECK(okx, "each of the 40 has its own value");
	}

	/* Directories, links, renames, open descriptors. */
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_OK(setxattr("d", "user.dir", "yes", 3, 0), "xattr on a directory");
	CHECK_EQ(getxattr("d", "user.dir", val, sizeof(val)), 3, "directory xattr reads back");
	CHECK_OK(link("f", "d/flink"), "hard link");
	CHECK_EQ(getxattr("d/flink", "user.color", val, sizeof(val)), 6,
		 "xattrs shared by hard links");
	CHECK_OK(rename("f", "d/renamed"), "rename");
	CHECK_EQ(getxattr("d/renamed", "user.color", val, sizeof(val)), 6, "xattrs survive rename");
	{
		int fd = open("d/renamed", O_RDWR);

		if (fd >= 0) {
			CHECK_OK(fsetxattr(fd, "user.fd", "1", 1, 0), "fsetxattr");
			CHECK_EQ(fgetxattr(fd, "user.fd", val, sizeof(val)), 1, "fgetxattr");
			n = flistxattr(fd, list, sizeof(list));
			CHECK_EQ(list_count(list, n, "user.fd"), 1, "flistxattr");
			CHECK_OK(fremovexattr(fd, "user.fd"), "fremovexattr");
			CHECK_OK(unlink("d/renamed"), "unlink one name");
			CHECK_OK(unlink("d/flink"), "unlink the other name");
			CHECK_OK(fsetxattr(fd, "user.gone", "1", 1, 0),
				 "fsetxattr on an unlinked file");
			CHECK_EQ(fgetxattr(fd, "user.color", val, sizeof(val)), 6,
				 "fgetxattr on an unlinked file");
			close(fd);
		}
	}
	CHECK_OK(symlink("d", "sl"), "symlink");
	CHECK_ERR(lsetxattr("sl", "user.x", "1", 1, 0), EPERM, "user xattr on a symlink");
	CHECK_ERR(lgetxattr("sl", "user.x", val, sizeof(val)), ENODATA,
		  "get user xattr of a symlink");
	CHECK_EQ(getxattr("sl", "user.dir", val, sizeof(val)), 3, "getxattr follows symlinks");
	CHECK_OK(mkfifo("fifo", 0644), "mkfifo");
	CHECK_ERR(setxattr("fifo", "user.x", "1", 1, 0), EPERM, "user xattr on a fifo");
	CHECK_ERR(getxattr("missing", "user.x", val, sizeof(val)), ENOENT,
		  "getxattr of a missing file");

	/* trusted.* as root */
	CHECK_OK(mkfile_str("t", "x"), "create t");
	CHECK_OK(setxattr("t", "trusted.flocker", "secret", 6, 0), "root sets trusted.flocker");
	CHECK_EQ(getxattr("t", "trusted.flocker", val, sizeof(val)), 6,
		 "root reads trusted.flocker");
	t_mem(val, "secret", 6, "trusted value");
	n = listxattr("t", list, sizeof(list));
	CHECK_EQ(list_count(list, n, "trusted.flocker"), 1, "root lists trusted.flocker");
	CHECK_ERR(setxattr("t", "trusted.flocker", "x", 1, XATTR_CREATE), EEXIST,
		  "XATTR_CREATE on an existing trusted attribute");
	CHECK_ERR(setxattr("t", "trusted.other", "x", 1, XATTR_REPLACE), ENODATA,
		  "XATTR_REPLACE on a missing trusted attribute");
	CHECK_OK(setxattr("t", "user.flocker", "public", 6, 0),
		 "user attribute of the same suffix");
	CHECK_EQ(getxattr("t", "trusted.flocker", val, sizeof(val)), 6,
		 "namespaces are separate (trusted)");
	CHECK_EQ(getxattr("t", "user.flocker", val, sizeof(val)), 6,
		 "namespaces are separate (user)");
	t_mem(val, "public", 6, "user value differs from trusted value");
	CHECK_OK(chmod("t", 0644), "chmod t 0644");
	CHECK_OK(mkfile_str("priv", "x"), "create priv");
	CHECK_OK(chmod("priv", 0600), "chmod priv 0600");
	CHECK_OK(setxattr("priv", "user.p", "1", 1, 0), "user xattr on priv");
	CHECK_OK(mkdir("sticky", 01777), "mkdir sticky");
	CHECK_OK(chmod("sticky", 01777), "chmod sticky 01777");

	{
		pid_t pid = child_u(U1);

		if (pid == 0) {
			CHECK_ERR(getxattr("t", "trusted.flocker", val, sizeof(val)), ENODATA,
				  "unprivileged getxattr of trusted.*");
			CHECK_ERR(setxattr("t", "trusted.mine", "1", 1, 0), EPERM,
				  "unprivileged setxattr of trusted.*");
			CHECK_EQ(getxattr("t", "user.flocker", val, sizeof(val)), 6,
				 "unprivileged read of a user xattr with read permission");
			CHECK_ERR(setxattr("t", "user.flocker", "x", 1, 0), EACCES,
				  "user xattr write without write permission");
			CHECK_ERR(removexattr("t", "user.flocker"), EACCES,
				  "user xattr removal without write permission");
			CHECK_ERR(getxattr("priv", "user.p", val, sizeof(val)), EACCES,
				  "user xattr read without read permission");
			CHECK_ERR(setxattr("sticky", "user.s", "1", 1, 0), EPERM,
				  "user xattr on another's sticky directory");
			_exit(0);
		}
		wait_child(pid, "unprivileged xattrs");
	}
	CHECK_OK(removexattr("t", "trusted.flocker"), "root removes trusted.flocker");
	CHECK_ERR(getxattr("t", "trusted.flocker", val, sizeof(val)), ENODATA, "trusted removed");
}
