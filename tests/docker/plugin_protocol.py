#!/usr/bin/env python3
"""Docker volume plugin protocol of flocker-agent, without dockerd.

Starts a standalone flocker-agent on a private socket and mount root against
the test cluster (CEPH_CONF, CEPH_ARGS="--id flocker", FLOCKER_POOL) and
speaks the protocol over the unix socket as Docker does: every endpoint,
mount counting by ID, persistence across an agent restart, the reply time
bound, and bad input (malformed HTTP and JSON, unknown endpoints, other
methods, huge bodies, deep nesting, invalid names and IDs), checking after
each that an existing mount is unaffected.

Needs: FLOCKER_BINARY_DIR (built flocker-agent, mount.flockerfs, flockerctl),
/dev/fuse, root.  Exit 0 pass, 1 fail, 77 skip.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PROG = "plugin_protocol"
CT = "application/vnd.docker.plugins.v1+json"
failures = []


def log(msg):
    print(f"{PROG}: {msg}", flush=True)


def check(cond, what):
    if cond:
        log(f"ok - {what}")
    else:
        log(f"FAIL - {what}")
        failures.append(what)
    return cond


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=70):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Agent:
    def __init__(self, work, extra=()):
        self.work = work
        self.sock = os.path.join(work, "plugin.sock")
        self.state = os.path.join(work, "state")
        self.root = os.path.join(work, "mnt")
        self.logf = os.path.join(work, "agent.log")
        self.extra = list(extra)
        self.proc = None

    def start(self, helper=None):
        bindir = os.environ["FLOCKER_BINARY_DIR"]
        cmd = [os.path.join(bindir, "plugin", "flocker-agent"),
               "-c", os.environ["CEPH_CONF"], "--id", "flocker",
               "--pool", os.environ.get("FLOCKER_POOL", "flocker"),
               "--state-dir", self.state, "--plugin-socket", self.sock,
               "--mount-root", self.root, "--debug",
               "--mount-helper", helper or os.path.join(bindir, "fs", "mount.flockerfs")]
        cmd += self.extra
        logfile = open(self.logf, "a")
        self.proc = subprocess.Popen(cmd, stdout=logfile, stderr=logfile)
        logfile.close()
        for _ in range(100):
            if self.proc.poll() is not None:
                raise RuntimeError(f"flocker-agent exited with {self.proc.returncode}: "
                                   + open(self.logf).read()[-2000:])
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("flocker-agent did not open its socket in 10 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def call(self, endpoint, body=None, method="POST", raw=None, timeout=70):
        """(status, parsed JSON or None, headers, seconds)"""
        c = UnixHTTP(self.sock, timeout)
        t0 = time.monotonic()
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        c.request(method, "/" + endpoint, body=data,
                  headers={"Content-Type": "application/json",
                           "Accept": "application/vnd.docker.plugins.v1.2+json"})
        r = c.getresponse()
        text = r.read()
        dt = time.monotonic() - t0
        c.close()
        try:
            js = json.loads(text) if text else None
        except ValueError:
            js = None
        return r.status, js, r, dt

    def vd(self, op, body):
        st, js, _, _ = self.call("VolumeDriver." + op, body)
        if st != 200 or js is None:
            raise RuntimeError(f"{op} {body}: HTTP {st} {js}")
        return js


def raw_exchange(path, data, wait=1.0):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(wait)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def mountinfo(point):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == point:
                sep = fields.index("-")
                return fields[sep + 1], fields[sep + 2]
    return None


def flockerctl(*args):
    bindir = os.environ["FLOCKER_BINARY_DIR"]
    return subprocess.run([os.path.join(bindir, "cluster", "flockerctl"),
                           "-c", os.environ["CEPH_CONF"], "--id", "flocker",
                           "--pool", os.environ.get("FLOCKER_POOL", "flocker")] + list(args),
                          capture_output=True, text=True, timeout=60)


def main():
    for var in ("CEPH_CONF", "FLOCKER_BINARY_DIR"):
        if not os.environ.get(var):
            log(f"SKIP: {var} is not set (run through ctest with the ceph fixture)")
            return 77
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        log("SKIP: needs root and /dev/fuse")
        return 77
    work = tempfile.mkdtemp(prefix="flocker-plugin-")
    a = Agent(work)
    tag = f"pp{os.getpid()}"
    vol, vol2 = f"{tag}-a", f"{tag}-b"
    try:
        a.start()
        run(a, vol, vol2)
    finally:
        a.stop()
        # leave nothing mounted, whatever happened
        for d in os.listdir(a.root) if os.path.isdir(a.root) else []:
            p = os.path.join(a.root, d)
            if mountinfo(p):
                subprocess.run([os.path.join(os.environ["FLOCKER_BINARY_DIR"], "fs",
                                             "umount.fuse.flockerfs"), p])
        for v in (vol, vol2):
            flockerctl("volume", "remove", v)
            # Remove put it in the trash
            for _ in range(5):
                if flockerctl("volume", "purge", v).returncode:
                    break
        if failures:
            log(f"agent log kept in {a.logf}")
            sys.stdout.write(open(a.logf).read()[-6000:])
        else:
            subprocess.run(["rm", "-rf", work])
    log(f"{len(failures)} failure(s)" if failures else "all passed")
    return 1 if failures else 0


def run(a, vol, vol2):
    host = socket.gethostname()

    # ---- handshake
    st, js, r, _ = a.call("Plugin.Activate", raw=b"null\n")
    check(st == 200 and js == {"Implements": ["VolumeDriver"]}, "Activate with Docker's null body")
    check(r.getheader("Content-Type") == CT, "replies are " + CT)
    st, js, _, _ = a.call("Plugin.Activate", raw=b"")
    check(st == 200 and js == {"Implements": ["VolumeDriver"]}, "Activate with an empty body")
    st, js, _, _ = a.call("VolumeDriver.Capabilities", raw=b"null")
    check(st == 200 and js == {"Capabilities": {"Scope": "global"}}, "Capabilities: global scope")

    # ---- create
    js = a.vd("Create", {"Name": vol, "Opts": {"size": "1G"}})
    check(js.get("Err") == "", "Create with size=1G")
    js = a.vd("Create", {"Name": vol, "Opts": {"size": "1G"}})
    check(js.get("Err") == "", "Create of an existing volume with the same size is fine")
    js = a.vd("Create", {"Name": vol, "Opts": {"size": "2G"}})
    check("exists" in js.get("Err", "") and "1G" in js["Err"],
          "Create of an existing volume with another size: Err names the size")
    js = a.vd("Create", {"Name": vol2, "Opts": {"size": "1G", "color": "blue", "zz": "1"}})
    check("'color'" in js.get("Err", "") and "'zz'" in js["Err"],
          "Create with unknown options: Err names them: " + js.get("Err", ""))
    js = a.vd("Create", {"Name": vol2, "Opts": {"size": "lots"}})
    check("invalid size" in js.get("Err", ""), "Create with a bad size: Err")
    js = a.vd("Create", {"Name": vol2, "Opts": None})
    check(js.get("Err") == "", "Create without options (Opts null): unlimited")
    # ---- clones: -o from=VOL[@SNAP]
    vol3 = vol2 + "-cl"
    js = a.vd("Create", {"Name": vol3, "Opts": {"from": vol2}})
    check(js.get("Err") == "", "Create with from=: a clone " + js.get("Err", ""))
    js = a.vd("Create", {"Name": vol3, "Opts": {"from": vol2}})
    check(js.get("Err") == "", "Create of an existing clone of the same volume is fine")
    js = a.vd("Get", {"Name": vol3})
    s = js.get("Volume", {}).get("Status", {})
    check(s.get("parent", "").startswith(f"{vol2}@clone-{vol3}-"), f"Get of a clone: Status.parent {s}")
    js = a.vd("Get", {"Name": vol2})
    s = js.get("Volume", {}).get("Status", {})
    check(s.get("snapshots") == 1 and "parent" not in s,
          f"Get of the parent: Status.snapshots counts the clone's snapshot {s}")
    js = a.vd("Create", {"Name": vol3 + "x", "Opts": {"from": vol2, "size": "1G"}})
    check("do not go together" in js.get("Err", ""), "Create with from= and size=: Err")
    js = a.vd("Create", {"Name": vol3 + "x", "Opts": {"from": vol2 + "@nope"}})
    check("no snapshot" in js.get("Err", ""), "Create from a missing snapshot: Err " + js.get("Err", ""))
    js = a.vd("Create", {"Name": vol3 + "x", "Opts": {"from": vol}})
    check(js.get("Err") == "", "Create with from= of another volume")
    for v in (vol3, vol3 + "x"):
        check(flockerctl("volume", "remove", v).returncode == 0, f"flockerctl removes clone {v}")
    for bad in ("../x", "-x", "a b", "x" * 129, ""):
        st, js, _, _ = a.call("VolumeDriver.Create", {"Name": bad})
        check(st == 200 and "invalid volume name" in (js or {}).get("Err", ""),
              f"Create with invalid name {bad[:12]!r}: HTTP 200 and Err")

    # ---- get, list, path
    js = a.vd("Get", {"Name": vol})
    v = js.get("Volume", {})
    s = v.get("Status", {})
    check(js.get("Err") == "" and v.get("Name") == vol and v.get("Mountpoint") == ""
          and s.get("size_limit") == 1 << 30 and s.get("holder") == ""
          and s.get("bytes_used") == 0 and v.get("CreatedAt", "").endswith("Z"),
          "Get: name, no mountpoint, size_limit, no holder, usage, CreatedAt")
    js = a.vd("Get", {"Name": f"{vol}-nope"})
    check("no such volume" in js.get("Err", ""), "Get of a missing volume: Err")
    js = a.vd("List", None)
    names = [x["Name"] for x in js.get("Volumes", [])]
    check(vol in names and vol2 in names, "List has both volumes")
    js = a.vd("Path", {"Name": vol})
    check(js.get("Err") == "" and js.get("Mountpoint") == "", "Path of an unmounted volume is empty")

    # ---- mount counting by ID
    js = a.vd("Mount", {"Name": vol, "ID": "id-one"})
    mp = js.get("Mountpoint", "")
    check(js.get("Err") == "" and mp.startswith(a.root + "/"), "Mount: a mount point under the root")
    check(mountinfo(mp) == ("fuse.flockerfs", vol), "the mount point is a flockerfs mount of the volume")
    with open(os.path.join(mp, "hello"), "w") as f:
        f.write("hello flocker\n")
        f.flush()
        os.fsync(f.fileno())
    js = a.vd("Mount", {"Name": vol, "ID": "id-two"})
    check(js.get("Mountpoint") == mp, "a second ID shares the mount")
    js = a.vd("Mount", {"Name": vol, "ID": "id-two"})
    check(js.get("Mountpoint") == mp, "the same ID again is one user")
    state = json.load(open(os.path.join(a.state, "mounts", vol + ".json")))
    check(sorted(state["ids"]) == ["id-one", "id-two"], "the ID set is persisted")
    js = a.vd("Path", {"Name": vol})
    check(js.get("Mountpoint") == mp, "Path gives the mount point")
    js = a.vd("Get", {"Name": vol})
    check(js["Volume"]["Mountpoint"] == mp and js["Volume"]["Status"]["holder"] == host,
          f"Get: mount point and holder {host}")
    js = a.vd("Remove", {"Name": vol})
    check("mounted on this host" in js.get("Err", ""), "Remove while mounted: Err " + js.get("Err", ""))
    js = a.vd("Mount", {"Name": f"{vol}-nope", "ID": "x"})
    check("no such volume" in js.get("Err", ""), "Mount of a missing volume: Err")

    # ---- bad input, with the mount in place
    def mount_ok(what):
        ok = (mountinfo(mp) == ("fuse.flockerfs", vol)
              and open(os.path.join(mp, "hello")).read() == "hello flocker\n"
              and sorted(json.load(open(os.path.join(a.state, "mounts", vol + ".json")))["ids"])
              == ["id-one", "id-two"])
        check(ok, f"after {what}: the mount and its users are unaffected")

    st, js, _, _ = a.call("VolumeDriver.Create", raw=b'{"Name": "x",')
    check(st == 400 and "malformed JSON" in (js or {}).get("Err", ""), "malformed JSON: 400 with Err")
    st, js, _, _ = a.call("VolumeDriver.Get", raw=b'[1,2]')
    check(st == 400 and "Err" in (js or {}), "a body that is not an object: 400 with Err")
    st, js, _, _ = a.call("VolumeDriver.Get", {"Name": 7})
    check(st == 400 and "Name" in (js or {}).get("Err", ""), "Name not a string: 400 with Err")
    st, js, _, _ = a.call("VolumeDriver.Mount", {"Name": vol})
    check(st == 400 and "ID" in (js or {}).get("Err", ""), "Mount without ID: 400 with Err")
    st, js, _, _ = a.call("VolumeDriver.Mount", {"Name": vol, "ID": "a b/c"})
    check(st == 200 and "invalid mount ID" in (js or {}).get("Err", ""), "invalid ID: 200 with Err")
    st, js, _, _ = a.call("VolumeDriver.Create", {"Name": vol2, "Opts": {"size": 5}})
    check(st == 400 and "string" in (js or {}).get("Err", ""), "an option that is not a string: 400")
    st, js, _, _ = a.call("VolumeDriver.Create",
                          {"Name": vol2, "Opts": {f"k{i}": "v" for i in range(40)}})
    check(st == 200 and "too many options" in (js or {}).get("Err", ""), "too many options: Err")
    st, js, _, _ = a.call("VolumeDriver.Get", raw=b'{"Name":"x","a":' + b"[" * 20 + b"]" * 20 + b"}")
    check(st == 400 and "deeper" in (js or {}).get("Err", ""), "deep nesting: 400 with Err")
    st, js, _, _ = a.call("VolumeDriver.Frobnicate", {})
    check(st == 404 and "unknown endpoint" in (js or {}).get("Err", ""), "unknown endpoint: 404 with Err")
    st, js, _, _ = a.call("../etc/passwd", {})
    check(st == 404 and "Err" in (js or {}), "a path outside the API: 404 with Err")
    st, js, _, _ = a.call("VolumeDriver.List", method="GET")
    check(st == 405 and "POST" in (js or {}).get("Err", ""), "GET: 405 with Err")
    st, js, _, _ = a.call("VolumeDriver.List", method="HEAD")
    check(st == 405, "HEAD: 405")
    st, js, _, _ = a.call("VolumeDriver.Get", raw=b'{"Name":"' + b"x" * 100000 + b'"}')
    check(st == 413 and "limit" in (js or {}).get("Err", ""), "a 100 KB body: 413 with Err")
    mount_ok("bad JSON requests")

    out = raw_exchange(a.sock, b"POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n"
                       + b"x" * 100000)
    check(out.startswith(b"HTTP/1.1 413"), "a 3 MB body: 413 (from libevent) and the connection closes")
    out = raw_exchange(a.sock, b"GARBAGE\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400"), "not HTTP: 400 (from libevent)")
    out = raw_exchange(a.sock, b"POST /VolumeDriver.List HTTP/1.1\r\nX: " + b"y" * 20000 + b"\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400"), "headers over 8 KiB: 400 (from libevent)")
    out = raw_exchange(a.sock, b"POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Len", wait=0.5)
    check(out == b"", "a request cut short: no reply, the agent waits or drops it")
    out = raw_exchange(a.sock, b"\x00\xff" * 5000)
    check(out.startswith(b"HTTP/1.1 4"), "binary noise: 4xx")
    # keep-alive: several requests on one connection, as Docker's client does
    c = UnixHTTP(a.sock)
    statuses = []
    for ep in ("Plugin.Activate", "VolumeDriver.Capabilities", "VolumeDriver.Get", "VolumeDriver.List"):
        c.request("POST", "/" + ep, body=json.dumps({"Name": vol}).encode())
        resp = c.getresponse()
        resp.read()
        statuses.append(resp.status)
    c.close()
    check(statuses == [200] * 4, "four requests on one keep-alive connection")
    # concurrency: a slow client does not hold the others up
    slow = socket.socket(socket.AF_UNIX)
    slow.connect(a.sock)
    slow.sendall(b"POST /VolumeDriver.List HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    st, _, _, dt = a.call("Plugin.Activate", raw=b"null")
    check(st == 200 and dt < 2, f"a stalled client does not block others ({dt:.3f} s)")
    slow.close()
    mount_ok("malformed HTTP")

    # ---- agent restart: the mount and its users stay
    rc = a.stop()
    check(rc == 0, "SIGTERM stops the agent with status 0")
    check(mountinfo(mp) == ("fuse.flockerfs", vol), "the mount outlives the agent")
    check(not os.path.exists(a.sock), "the socket file is removed on stop")
    a.start()
    check(mountinfo(mp) == ("fuse.flockerfs", vol), "a restarted agent keeps the mount")
    js = a.vd("Path", {"Name": vol})
    check(js.get("Mountpoint") == mp, "the restarted agent adopted the mount")
    mount_ok("an agent restart")

    # ---- unmount counting
    js = a.vd("Unmount", {"Name": vol, "ID": "id-one"})
    check(js.get("Err") == "" and mountinfo(mp) is not None, "Unmount of one ID keeps the mount")
    js = a.vd("Unmount", {"Name": vol, "ID": "id-unknown"})
    check(js.get("Err") == "" and mountinfo(mp) is not None, "Unmount of an unknown ID is harmless")
    js = a.vd("Unmount", {"Name": vol, "ID": "id-two"})
    check(js.get("Err") == "" and mountinfo(mp) is None, "the last Unmount unmounts")
    check(not os.path.exists(os.path.join(a.state, "mounts", vol + ".json")),
          "no state is left for an unmounted volume")
    js = a.vd("Get", {"Name": vol})
    check(js["Volume"]["Status"]["holder"] == "" and js["Volume"]["Status"]["bytes_used"] >= 14,
          "after unmount: no holder (the writer lock is free), the data is counted: "
          + json.dumps(js["Volume"]["Status"]))
    out = flockerctl("volume", "inspect", vol, "--json")
    check(out.returncode == 0 and json.loads(out.stdout)["holder"] is None,
          "flockerctl agrees: nobody holds the volume")
    js = a.vd("Mount", {"Name": vol, "ID": "id-three"})
    mp = js.get("Mountpoint", "")
    check(open(os.path.join(mp, "hello")).read() == "hello flocker\n", "the data is there on the next mount")

    # ---- a mount held outside the agent: clear refusal, and Remove refused
    js = a.vd("Unmount", {"Name": vol, "ID": "id-three"})
    other = os.path.join(a.work, "other")
    os.makedirs(other, exist_ok=True)
    helper = os.path.join(os.environ["FLOCKER_BINARY_DIR"], "fs", "mount.flockerfs")
    pool = os.environ.get("FLOCKER_POOL", "flocker")
    subprocess.run(["unshare", "-u", "sh", "-c",
                    f"hostname elsewhere && {helper} {vol} {other} -o conf={os.environ['CEPH_CONF']},id=flocker,pool={pool}"],
                   check=True)
    js = a.vd("Mount", {"Name": vol, "ID": "id-four"})
    check("in use on host elsewhere since" in js.get("Err", "") and "stop the container there first" in js["Err"],
          "Mount of a volume another host holds: " + js.get("Err", ""))
    js = a.vd("Remove", {"Name": vol})
    check("in use on host elsewhere" in js.get("Err", ""), "Remove of a volume another host holds: Err")
    subprocess.run([os.path.join(os.environ["FLOCKER_BINARY_DIR"], "fs", "umount.fuse.flockerfs"), other])

    # ---- the reply bound: a slow mount gets an Err in time, and is released when it lands
    a.stop()
    slowhelper = os.path.join(a.work, "slow-mount.sh")
    with open(slowhelper, "w") as f:
        f.write(f"#!/bin/sh\nsleep 4\nexec {helper} \"$@\"\n")
    os.chmod(slowhelper, 0o755)
    a.extra = ["--reply-timeout", "2"]
    a.start(helper=slowhelper)
    result = {}

    def slow_mount():
        result["r"] = a.call("VolumeDriver.Mount", {"Name": vol, "ID": "id-slow"})

    t = threading.Thread(target=slow_mount)
    t.start()
    time.sleep(0.3)
    st, js, _, dt = a.call("VolumeDriver.List", None)
    check(st == 200 and dt < 1.5, f"other requests are served while a mount runs ({dt:.3f} s)")
    t.join()
    st, js, _, dt = result["r"]
    check(st == 200 and "did not finish within 2 s" in (js or {}).get("Err", "") and dt < 3,
          f"a mount over the bound gets an Err at the bound ({dt:.1f} s)")
    # the release is an Unmount of its own: wait for it to finish (slow under ASan)
    deadline = time.time() + 30
    while time.time() < deadline and f"Unmount {vol} ID id-slow: done" not in open(a.logf).read():
        time.sleep(0.2)
    js = a.vd("Get", {"Name": vol})
    check(js["Volume"]["Mountpoint"] == "" and js["Volume"]["Status"]["holder"] == "",
          "the late mount was released: nothing mounted, no holder")
    a.stop()
    a.extra = []
    a.start()

    # ---- remove
    js = a.vd("Remove", {"Name": vol})
    check(js.get("Err") == "", "Remove of an unused volume")
    js = a.vd("Get", {"Name": vol})
    check("no such volume" in js.get("Err", "") and "in the trash" in js.get("Err", ""),
          "the removed volume is gone, to the trash: " + js.get("Err", ""))
    js = a.vd("Remove", {"Name": vol})
    check(js.get("Err") == "", "Remove of a volume already gone is fine (Docker may retry)")
    js = a.vd("Remove", {"Name": vol2})
    check(js.get("Err") == "", "Remove of the second volume")
    text = open(a.logf).read()
    check("ERROR: AddressSanitizer" not in text and "runtime error:" not in text
          and "LeakSanitizer" not in text, "no sanitizer report in the agent log")


if __name__ == "__main__":
    sys.exit(main())
