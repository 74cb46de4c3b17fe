#!/usr/bin/env python3
"""Fixed crash scenarios of crash_trials.sh.

    scenarios.py list
    scenarios.py opts NAME            mount options the scenario needs
    scenarios.py run NAME MNT         the changes, before the daemon is killed
    scenarios.py check NAME MNT       after the remount: prints "ok ..." or "FAIL ..."

Each scenario makes a change, sometimes waits, then the driver kills the
daemon with SIGKILL and mounts again.  The check accepts every state the
program passed through (each operation whole or absent, and whatever was
acknowledged there) and nothing else; zeros that were never written are
the typical failure.
"""
import ctypes
import os
import sys
import time

MB = 1 << 20


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(path, data, off=0, sync=None):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.pwrite(fd, data, off)
        if sync == "fsync":
            os.fsync(fd)
        elif sync == "fdatasync":
            os.fdatasync(fd)
    finally:
        os.close(fd)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def describe(d):
    if d is None:
        return "missing"
    runs, i = [], 0
    while i < len(d) and len(runs) < 6:
        j = i
        while j < len(d) and d[j] == d[i]:
            j += 1
        runs.append("%d x %r" % (j - i, bytes([d[i]])))
        i = j
    return "%d bytes: %s%s" % (len(d), ", ".join(runs), ", ..." if i < len(d) else "")


def syncfs(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)


# --- durability calls: a new file in a new directory, the call, the kill ---

def run_durable(mnt, kind):
    os.mkdir(mnt + "/dir")
    p = mnt + "/dir/file"
    write(p, b"x" * 100000, sync=kind if kind in ("fsync", "fdatasync") else None)
    if kind == "dirfsync":
        fsync_path(mnt)
    elif kind == "syncfs":
        syncfs(mnt)
    elif kind == "5s":
        time.sleep(5.5)  # the promise: what nobody synced is committed within 5 s


def check_durable(mnt, kind):
    d = read(mnt + "/dir/file")
    if d == b"x" * 100000:
        return "ok %s of a new file, then kill -9: the file is there, whole" % kind
    return ("FAIL %s returned 0, then kill -9 of the daemon: dir/file is %s, want 100000 "
            "bytes of 'x': %s did not make it durable" % (kind, describe(d), kind))


# --- unlink of an fsynced file, not yet committed ---

def run_unlink(mnt):
    write(mnt + "/a", b"A" * 200000, sync="fsync")
    os.unlink(mnt + "/a")
    time.sleep(0.7)  # the daemon handles the forgotten inode


def check_unlink(mnt):
    d = read(mnt + "/a")
    if d is None or d == b"A" * 200000:
        return "ok unlink of an fsynced file, kill -9: %s" % (
            "gone" if d is None else "back whole (the unlink was not durable)")
    return ("FAIL fsynced file a (200000 x 'A') unlinked, not synced, then kill -9: a is back "
            "as %s: its data went before the unlink was durable" % describe(d))


# --- rename over an fsynced file, not yet committed ---

def run_rename_over(mnt):
    write(mnt + "/a", b"A" * 200000, sync="fsync")
    write(mnt + "/b", b"B" * 100000, sync="fsync")
    os.rename(mnt + "/b", mnt + "/a")
    time.sleep(0.7)


def check_rename_over(mnt):
    a, b = read(mnt + "/a"), read(mnt + "/b")
    if (a, b) == (b"A" * 200000, b"B" * 100000) or (a, b) == (b"B" * 100000, None):
        return "ok rename over an fsynced file, kill -9: %s" % (
            "not done" if b is not None else "done")
    return ("FAIL rename(b, a) over fsynced a (200000 x 'A'; b: 100000 x 'B'), kill -9: "
            "a is %s, b is %s" % (describe(a), describe(b)))


# --- truncate below unflushed data, then a commit (ordered mode) ---

def run_trunc_unflushed(mnt):
    write(mnt + "/a", b"A" * 1000, sync="fsync")
    write(mnt + "/a", b"B" * 4000, off=1000)  # closed: in the daemon, not flushed
    os.truncate(mnt + "/a", 3000)
    write(mnt + "/b", b"", sync="fsync")  # commits every metadata change so far


def check_trunc_unflushed(mnt):
    d = read(mnt + "/a")
    good = [b"A" * 1000, b"A" * 1000 + b"B" * 4000, b"A" * 1000 + b"B" * 2000]
    if d in good:
        return "ok truncate of unflushed data, commit, kill -9: a is %s" % describe(d)
    return ("FAIL a: 1000 x 'A' fsynced, 4000 x 'B' written after them, truncated to 3000, "
            "then fsync of another file and kill -9: a is %s; the journaled size exposes "
            "bytes whose data never reached RADOS (want one of: 1000 x A; 1000 x A + 4000 x B; "
            "1000 x A + 2000 x B)" % describe(d))


# --- truncate down of an fsynced file, not yet committed ---

def run_trunc_down(mnt):
    write(mnt + "/a", b"A" * 300000, sync="fsync")
    os.truncate(mnt + "/a", 1000)
    time.sleep(0.5)


def check_trunc_down(mnt):
    d = read(mnt + "/a")
    if d in (b"A" * 300000, b"A" * 1000):
        return "ok truncate of an fsynced file, kill -9: a is %s" % describe(d)
    return ("FAIL a: 300000 x 'A' fsynced, truncated to 1000, kill -9 before the commit: a is %s "
            "(want 300000 x A or 1000 x A): the data went before the new size was durable"
            % describe(d))


SCEN = {
    "fsync": ("", lambda m: run_durable(m, "fsync"), lambda m: check_durable(m, "fsync")),
    "fdatasync": ("", lambda m: run_durable(m, "fdatasync"), lambda m: check_durable(m, "fdatasync")),
    "dirfsync": ("", lambda m: run_durable(m, "dirfsync"), lambda m: check_durable(m, "dirfsync")),
    # syncfs(2) never reaches a FUSE daemon (Linux sends FUSE_SYNCFS only to
    # virtiofs), so it promises nothing here: checked only with --syncfs
    "5s": ("", lambda m: run_durable(m, "5s"), lambda m: check_durable(m, "5s")),
    "unlink": ("commit_ms=5000", run_unlink, check_unlink),
    "rename-over": ("commit_ms=5000", run_rename_over, check_rename_over),
    "trunc-unflushed": ("", run_trunc_unflushed, check_trunc_unflushed),
    "trunc-down": ("commit_ms=5000", run_trunc_down, check_trunc_down),
}


SYNCFS = ("", lambda m: run_durable(m, "syncfs"), lambda m: check_durable(m, "syncfs"))


def main():
    cmd = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "syncfs":
        SCEN["syncfs"] = SYNCFS
    if cmd == "list":
        print(" ".join(SCEN))
    elif cmd == "opts":
        print(SCEN[sys.argv[2]][0])
    elif cmd == "run":
        SCEN[sys.argv[2]][1](sys.argv[3])
    elif cmd == "check":
        print(SCEN[sys.argv[2]][2](sys.argv[3]))
    else:
        sys.exit("usage: scenarios.py list|opts NAME|run NAME MNT|check NAME MNT")


if __name__ == "__main__":
    main()
