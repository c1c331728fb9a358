#!/usr/bin/env python3
"""GridFTP interoperability and bad input, on loopback, against the real Globus tools.

Starts one librarian-node with its GridFTP server and one globus-gridftp-server (anonymous,
clear text), then checks, with byte-identical results (cmp):
  * globus-url-copy -p 4 (and stream mode) downloads from and uploads to our node;
  * our client (gridftp_tool) downloads from and uploads to globus-gridftp-server, MODE E -p 4
    and stream mode, with CKSM verification;
  * third-party copies globus->node and node->globus, driven by globus-url-copy and by our client;
  * REST range lists are honoured by both servers (committed ranges are not re-sent);
  * our CKSM MD5 agrees with md5sum (hashlib);
  * bad input: malformed and oversized command lines, unknown commands, login failures, path
    escapes ('..', outside roots, symlinks out of the root), bad MODE E block headers: protocol
    errors, nothing written outside the roots, the server keeps serving.
Skips (exit 77) only when the Globus binaries are absent.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

SKIP = 77
GUC = shutil.which("globus-url-copy")
GFS = shutil.which("globus-gridftp-server") or (
    "/usr/sbin/globus-gridftp-server" if os.path.exists("/usr/sbin/globus-gridftp-server") else None)
RUN_TIMEOUT = 60
FILE_BYTES = 24 * 1024 * 1024 + 12345  # not a multiple of the block size


def run(argv, what, expect_ok=True):
    lt.log("run: %s" % " ".join(argv))
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise lt.TestFailure("%s: timed out after %ds" % (what, RUN_TIMEOUT))
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    if expect_ok and proc.returncode != 0:
        raise lt.TestFailure("%s: exit %d\nstdout: %s\nstderr: %s" % (what, proc.returncode,
                                                                      out[-2000:], err[-2000:]))
    return proc.returncode, out, err


def same_file(a, b, what):
    lt.check(os.path.exists(b), "%s: %s was not created" % (what, b))
    rc = subprocess.run(["cmp", a, b], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=RUN_TIMEOUT).returncode
    lt.check(rc == 0, "%s: %s and %s differ" % (what, a, b))
    lt.log("ok: %s" % what)


class Globus:
    """globus-gridftp-server, anonymous on loopback; its forked sessions die with its group."""

    def __init__(self, ws):
        argv = [GFS, "-aa", "-p", "0", "-control-interface", lt.HOST, "-data-interface", lt.HOST,
                "-no-chdir", "-d", "error", "-l", ws.path("gfs.log")]
        if os.geteuid() == 0:
            argv[2:2] = ["-anonymous-user", "nobody"]
        self.proc = lt.Process(argv, ws.path("gfs.out"), ws.path("gfs.err"), name="globus-gridftp-server")
        ws.track(self)
        line = lt.wait_until(lambda: re.search(r"Server listening at [^:\s]+:(\d+)", self.proc.stdout()),
                             20, "globus-gridftp-server to listen")
        self.port = int(line.group(1))
        lt.log("globus-gridftp-server on port %d" % self.port)

    def kill_hard(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.kill_hard()


class Ftp:
    """A raw control connection for bad-input checks."""

    def __init__(self, port, login=True):
        self.sock = socket.create_connection((lt.HOST, port), timeout=15)
        self.buf = b""
        code, _ = self.reply()
        lt.check_eq(code, 220, "greeting")
        if login:
            self.expect("USER anonymous", 331)
            self.expect("PASS test@", 230)

    def reply(self):
        lines = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            while b"\n" not in self.buf:
                try:
                    chunk = self.sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return None, "\n".join(lines + ["<closed>"])
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode(errors="replace")
            lines.append(line)
            if re.match(r"^\d{3} ", line) and (len(lines) == 1 or line[:3] == lines[0][:3]):
                return int(line[:3]), "\n".join(lines)
        raise lt.TestFailure("no reply within 15 s; got %r" % lines)

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def expect(self, line, code):
        got, text = self.cmd(line)
        lt.check(got == code, "%r: expected %d, got %s: %s" % (line[:80], code, got, text[:300]))
        return text

    def close(self):
        self.sock.close()


def make_tree(ws):
    root = ws.path("root")
    for d in ("src", "dst", "dst-globus", "empty"):
        os.makedirs(os.path.join(root, d))
    outside = ws.path("outside")
    os.makedirs(outside)
    with open(os.path.join(outside, "secret"), "w") as f:
        f.write("secret\n")
    os.symlink(outside, os.path.join(root, "escape"))
    os.symlink(os.path.join(outside, "secret"), os.path.join(root, "secret-link"))
    src = os.path.join(root, "src", "data.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(FILE_BYTES))
    # globus-gridftp-server's sessions run as 'nobody' when we are root: they must reach and
    # write these directories.
    os.chmod(ws.root, 0o755)
    for dirpath, dirnames, _ in os.walk(root):
        os.chmod(dirpath, 0o777)
    os.chmod(src, 0o644)
    os.makedirs(ws.path("local"))
    os.chmod(ws.path("local"), 0o777)
    return root, src, outside


def password_file(ws):
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", b"s3cret-pass", salt, 1000, 32)
    encoded = "pbkdf2-sha256$1000$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(key).decode())
    path = ws.path("gridftp.passwd")
    with open(path, "w") as f:
        f.write("# name:hash\nalice:%s\n" % encoded)
    return path


def interop(bin_dir, ws, root, src, ours, globus):
    tool = lt.binary(bin_dir, "gridftp_tool")
    local = ws.path("local")
    url = lambda port, path: "ftp://%s:%d%s" % (lt.HOST, port, path)  # noqa: E731

    # globus-url-copy against our server.
    for p in (["-p", "4"], []):
        tag = "p4" if p else "stream"
        dst = os.path.join(local, "guc-from-node-%s" % tag)
        run([GUC] + p + [url(ours, src), "file://" + dst], "guc download from node " + tag)
        same_file(src, dst, "globus-url-copy %s downloads from our server" % tag)
        up = os.path.join(root, "dst", "guc-to-node-%s" % tag)
        run([GUC] + p + ["file://" + src, url(ours, up)], "guc upload to node " + tag)
        same_file(src, up, "globus-url-copy %s uploads to our server" % tag)
    run([GUC, "-p", "4", "-verify-checksum", url(ours, src), "file://" + os.path.join(local, "guc-verify")],
        "guc -verify-checksum against our CKSM")
    lt.log("ok: globus-url-copy -verify-checksum accepts our CKSM MD5")

    # Our client against globus-gridftp-server.
    for p in ("4", "0"):
        dst = os.path.join(local, "ours-from-globus-p%s" % p)
        run([tool, "download", url(globus, src), dst, "-p", p, "--verify"], "client download p" + p)
        same_file(src, dst, "our client -p %s downloads from globus-gridftp-server" % p)
        up = os.path.join(root, "dst-globus", "ours-to-globus-p%s" % p)
        run([tool, "upload", src, url(globus, up), "-p", p, "--verify"], "client upload p" + p)
        same_file(src, up, "our client -p %s uploads to globus-gridftp-server" % p)

    # Third party, both directions, driven by globus-url-copy and by our client.
    cases = [("guc", globus, ours, "dst"), ("guc", ours, globus, "dst-globus"),
             ("ours", globus, ours, "dst"), ("ours", ours, globus, "dst-globus")]
    for driver, a, b, d in cases:
        name = "3pt-%s-%d-to-%d" % (driver, a, b)
        target = os.path.join(root, d, name)
        if driver == "guc":
            run([GUC, "-p", "4", url(a, src), url(b, target)], name)
        else:
            run([tool, "3pt", url(a, src), url(b, target), "-p", "4", "--verify"], name)
        same_file(src, target, "third-party %s from %s to %s" % (
            driver, "globus" if a == globus else "node", "globus" if b == globus else "node"))

    # Many files in one session: globus-url-copy reuses MODE E data connections (no new
    # PORT/PASV after the first file), in every direction.
    tree = os.path.join(root, "src", "tree")
    for d in ("a/b", "c"):
        os.makedirs(os.path.join(tree, d))
    for i, rel in enumerate(("one", "a/two", "a/b/three", "c/four", "c/five")):
        with open(os.path.join(tree, rel), "wb") as f:
            f.write(os.urandom(1000 + 300001 * i))
    for dirpath, _, files in os.walk(tree):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)
    recursive = [
        ("download", url(ours, tree + "/"), "file://%s/tree-down/" % local, "%s/tree-down" % local, []),
        ("upload", "file://%s/" % tree, url(ours, "%s/dst/tree-up/" % root), "%s/dst/tree-up" % root, []),
        ("download -fast -cc 2", url(ours, tree + "/"), "file://%s/tree-fast/" % local,
         "%s/tree-fast" % local, ["-fast", "-cc", "2"]),
        ("3pt node->globus", url(ours, tree + "/"), url(globus, "%s/dst-globus/tree/" % root),
         "%s/dst-globus/tree" % root, []),
        ("3pt globus->node", url(globus, tree + "/"), url(ours, "%s/dst/tree-3pt/" % root),
         "%s/dst/tree-3pt" % root, []),
    ]
    for name, a, b, check_dir, extra in recursive:
        run([GUC, "-r", "-cd", "-p", "2"] + extra + [a, b], "recursive " + name)
        rc = subprocess.run(["diff", "-r", tree, check_dir], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        lt.check(rc.returncode == 0, "recursive %s: trees differ: %s" % (name, rc.stdout[:500]))
        lt.log("ok: globus-url-copy -r %s (cached data channels)" % name)

    # stat and list (MLST/MLSD) against both servers agree with the file system.
    for port, who in ((ours, "node"), (globus, "globus")):
        _, out, _ = run([tool, "list", url(port, tree)], "list on " + who)
        names = {e["name"]: e for e in json.loads(out)}
        lt.check_eq(sorted(names), ["a", "c", "one"], "MLSD names from %s" % who)
        lt.check(names["a"]["dir"] and not names["one"]["dir"], "MLSD types from %s" % who)
        lt.check_eq(names["one"]["size"], os.path.getsize(os.path.join(tree, "one")), "MLSD size")
        _, out, _ = run([tool, "stat", url(port, src)], "stat on " + who)
        entry = json.loads(out)[0]
        lt.check_eq(entry["size"], FILE_BYTES, "MLST size from %s" % who)
        lt.check(abs(entry["mtime"] - int(os.path.getmtime(src))) <= 1, "MLST mtime from %s" % who)
        lt.log("ok: MLSD and MLST from %s" % who)

    # Partial retrieve (ERET) from both servers.
    with open(src, "rb") as f:
        f.seek(1000003)
        window = f.read(3000001)
    for port, who in ((ours, "node"), (globus, "globus")):
        dst = os.path.join(local, "partial-%s" % who)
        run([tool, "download", url(port, src), dst, "-p", "4", "--offset", "1000003", "--length", "3000001"],
            "partial from " + who)
        with open(dst, "rb") as f:
            lt.check(f.read() == window, "ERET window from %s differs" % who)
        lt.log("ok: ERET partial download from %s" % who)

    # REST range lists: the committed ranges are filled with a marker pattern; if the server
    # honours REST it does not re-send them, so exactly those bytes keep the pattern.
    for port, who in ((ours, "node"), (globus, "globus")):
        dst = os.path.join(local, "restart-%s" % who)
        with open(src, "rb") as f:
            data = f.read()
        ranges = [(0, 5000000), (9000000, 11000000)]
        with open(dst + ".gridftp-part", "wb") as f:
            f.write(b"\0" * len(data))
            for b, e in ranges:
                f.seek(b)
                f.write(b"R" * (e - b))
        with open(dst + ".gridftp-part.ranges", "w") as f:
            f.write("window 0 %d %d\n%s\n" % (len(data), len(data), ",".join("%d-%d" % r for r in ranges)))
        _, out, _ = run([tool, "download", url(port, src), dst, "-p", "4"], "restart from " + who)
        with open(dst, "rb") as f:
            got = f.read()
        expected = bytearray(data)
        for b, e in ranges:
            expected[b:e] = b"R" * (e - b)
        lt.check(got == bytes(expected), "REST range list not honoured by %s" % who)
        lt.check('"bytes_resumed":7000000' in out, "report: %s" % out)
        lt.log("ok: %s honours REST %s" % (who, ",".join("%d-%d" % r for r in ranges)))

    # CKSM MD5 agrees with md5sum.
    with open(src, "rb") as f:
        md5 = hashlib.md5(f.read()).hexdigest()
    ftp = Ftp(ours)
    text = ftp.expect("CKSM MD5 0 -1 %s" % src, 213)
    lt.check_eq(text.split()[1].lower(), md5, "CKSM MD5 from our server")
    ftp.expect("CKSM ADLER32 0 -1 %s" % src, 213)
    ftp.close()
    _, out, _ = run([tool, "cksm", url(globus, src), "MD5"], "CKSM on globus")
    lt.check_eq(out.strip(), md5, "CKSM MD5 from globus-gridftp-server")
    lt.log("ok: CKSM MD5 (ours and globus') equals md5sum")


def pasv_port(text):
    nums = [int(x) for x in re.search(r"\((\d+(?:,\d+){5})\)", text).group(1).split(",")]
    return nums[4] * 256 + nums[5]


def send_blocks(sock, data, begin, end, block=500000):
    for off in range(begin, end, block):
        n = min(block, end - off)
        sock.sendall(struct.pack(">BQQ", 0, n, off) + data[off:off + n])


def store_restart(root, ours):
    """A MODE E upload whose client dies after the server reported ranges with 111 markers is
    finished by a second session that sends REST with those ranges and only the missing bytes:
    the reported ranges were kept (synced) in the server's temporary file."""
    size = 6000000
    data = os.urandom(size)
    path = "%s/dst/restart-upload" % root
    first = [(0, 2000000), (4000000, 5000000)]
    ftp = Ftp(ours)
    ftp.expect("TYPE I", 200)
    ftp.expect("MODE E", 200)
    port = pasv_port(ftp.expect("PASV", 227))
    ftp.expect("ALLO %d" % size, 200)
    ftp.sock.sendall(b"STOR %s\r\n" % path.encode())
    data_sock = socket.create_connection((lt.HOST, port), timeout=15)
    code, text = ftp.reply()
    lt.check_eq(code, 150, "STOR reply")
    for b, e in first:
        send_blocks(data_sock, data, b, e)
    reported = []
    deadline = time.monotonic() + 20
    wanted = sum(e - b for b, e in first)

    def covered(ranges):
        total = 0
        for b, e in first:
            for rb, re_ in ranges:
                total += max(0, min(e, re_) - max(b, rb))
        return total
    while covered(reported) < wanted:
        lt.check(time.monotonic() < deadline, "no 111 markers covering %s; got %s" % (first, reported))
        code, text = ftp.reply()
        lt.check(code in (111, 112), "unexpected reply during transfer: %s %s" % (code, text))
        if code == 111:
            for item in text.split()[-1].split(","):
                b, e = item.split("-")
                reported.append((int(b), int(e)))
    # The client dies: both connections reset, no EOD.
    for s in (data_sock, ftp.sock):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    lt.wait_until(lambda: os.path.exists("%s/dst/.restart-upload.gridftp-part" % root), 10,
                  "the temporary file to stay")
    time.sleep(0.5)  # let the server finish the aborted session
    lt.check(not os.path.exists(path), "a partial upload appeared under the final name")
    rest = ",".join("%d-%d" % r for r in sorted(reported))
    ftp = Ftp(ours)
    ftp.expect("TYPE I", 200)
    ftp.expect("MODE E", 200)
    port = pasv_port(ftp.expect("PASV", 227))
    ftp.expect("ALLO %d" % size, 200)
    ftp.expect("REST %s" % rest, 350)
    ftp.sock.sendall(b"STOR %s\r\n" % path.encode())
    data_sock = socket.create_connection((lt.HOST, port), timeout=15)
    code, text = ftp.reply()
    lt.check_eq(code, 150, "restarted STOR reply")
    have = sorted(reported)
    cursor = 0
    for b, e in have + [(size, size)]:
        if cursor < b:
            send_blocks(data_sock, data, cursor, b)
        cursor = max(cursor, e)
    data_sock.sendall(struct.pack(">BQQ", 64 | 8, 0, 1))
    code, text = ftp.reply()
    while code in (111, 112):
        code, text = ftp.reply()
    data_sock.close()
    lt.check_eq(code, 226, "restarted STOR: %s" % text)
    with open(path, "rb") as f:
        lt.check(f.read() == data, "the restarted upload differs from the source")
    ftp.close()
    lt.log("ok: MODE E upload restarted with REST %s after the client died" % rest)


def gridftp_port(node):
    line = [l for l in node.stdout().splitlines() if " ready:" in l][-1]
    return int(re.search(r"gridftp=[\d.]+:(\d+)", line).group(1))


def killed_download_resumes(bin_dir, ws, root, node, victim):
    """SIGKILL the receiving client (victim="client") or the sending node (victim="node") in
    the middle of a download; the next run resumes from the ranges the client had synced and
    the result is byte-identical. The node is paused (SIGSTOP) while the client's persisted
    ranges are awaited, so the kill lands mid-transfer however fast the machine is."""
    tool = lt.binary(bin_dir, "gridftp_tool")
    big = os.path.join(root, "src", "big-%s.bin" % victim)
    size = 256 * 1024 * 1024
    with open(big, "wb") as f:
        for _ in range(size // (16 << 20)):
            f.write(os.urandom(16 << 20))
    os.chmod(big, 0o644)
    dst = ws.path("local", "killed-%s" % victim)
    sidecar = dst + ".gridftp-part.ranges"
    url = "ftp://%s:%d%s" % (lt.HOST, gridftp_port(node), big)
    argv = [tool, "download", url, dst, "-p", "2", "--tcp-bs", "4096", "--stall-ms", "30000"]
    client = lt.Process(argv, ws.path("killed-%s.out" % victim), ws.path("killed-%s.err" % victim),
                        name="gridftp_tool")
    ws.track(client)
    try:
        lt.wait_until(lambda: os.path.exists(dst + ".gridftp-part") and
                      os.path.getsize(dst + ".gridftp-part") > 0 or not client.alive(),
                      20, "the download to start", interval=0.002)
        node.signal(signal.SIGSTOP)
        lt.check(client.alive(), "the download finished before it could be interrupted")

        def persisted():
            with open(sidecar) as f:
                lines = f.read().splitlines()
            return len(lines) == 2 and lines[1] != ""
        lt.wait_until(persisted, 10, "the client to persist received ranges")
        if victim == "client":
            client.signal(signal.SIGKILL)
            client.wait_exit(10)
            node.signal(signal.SIGCONT)
        else:
            node.signal(signal.SIGCONT)
            node.kill9()
            lt.check(client.wait_exit(40) is not None, "the client did not notice the dead server")
            lt.check(client.returncode() != 0, "the client reported success from a dead server")
            node.restart()
            node.wait_ready()
            url = "ftp://%s:%d%s" % (lt.HOST, gridftp_port(node), big)
    finally:
        node.signal(signal.SIGCONT)
        client.kill_hard()
    lt.check(not os.path.exists(dst), "a partial download appeared under the final name")
    with open(sidecar) as f:
        committed = f.read().splitlines()[1]
    _, out, _ = run([tool, "download", url, dst, "-p", "2", "--verify"], "resumed download")
    resumed = int(re.search(r'"bytes_resumed":(\d+)', out).group(1))
    lt.check(resumed > 0, "the rerun did not resume: %s" % out)
    same_file(big, dst, "download resumed after SIGKILL of the %s (%d bytes kept: %s)" % (
        victim, resumed, committed[:80]))
    os.remove(big)
    os.remove(dst)


def bad_input(ws, root, outside, ours):
    before = sorted(os.listdir(outside))

    # Login: commands before login, wrong passwords, the password file's user.
    ftp = Ftp(ours, login=False)
    ftp.expect("RETR %s/src/data.bin" % root, 530)
    ftp.expect("USER alice", 331)
    ftp.expect("PASS wrong-password", 530)
    ftp.expect("USER alice", 331)
    ftp.expect("PASS s3cret-pass", 230)
    ftp.expect("PWD", 257)
    ftp.close()

    ftp = Ftp(ours)
    ftp.expect("XYZZ", 500)
    ftp.expect("RNFR %s/src/data.bin" % root, 502)
    ftp.expect("RETR\x01 /x", 500)
    ftp.expect("PORT 1,2,3", 501)
    ftp.expect("PORT 127,0,0,1,0,21", 501)
    ftp.expect("EPRT |9|x|1|", 501)
    ftp.expect("REST abc", 501)
    ftp.expect("RMD", 501)
    ftp.expect("STOR", 501)
    ftp.expect("REST 5-1", 501)
    ftp.expect("OPTS RETR Parallelism=0,0,0;", 501)
    ftp.expect("CKSM SHA7 0 -1 %s/src/data.bin" % root, 504)
    ftp.expect("CKSM MD5 0 999999999999 %s/src/data.bin" % root, 501)
    ftp.expect("MODE Z", 504)
    ftp.expect("DCAU A", 504)
    # Path escapes.
    ftp.expect("RETR /etc/passwd", 550)
    ftp.expect("SIZE %s/secret" % outside, 550)
    ftp.expect("CWD ..", 553)
    ftp.expect("CWD %s/../outside" % root, 553)
    ftp.expect("SIZE %s/escape/secret" % root, 550)
    ftp.expect("SIZE %s/secret-link" % root, 550)
    ftp.expect("CKSM MD5 0 -1 %s/secret-link" % root, 550)
    ftp.expect("MKD %s/escape/newdir" % root, 550)
    ftp.expect("MKD %s/newdir" % outside, 550)
    ftp.expect("DELE %s/secret-link" % root, 550)
    ftp.expect("RMD %s" % root, 550)
    ftp.expect("CDUP", 250)
    text = ftp.expect("PWD", 257)
    lt.check(root in text, "CDUP left the root: %s" % text)
    # STOR through a symlink or outside: refused before any data connection.
    for target in ("%s/escape/evil" % root, "%s/evil" % outside, "%s/../outside/evil" % root,
                   "%s/secret-link" % root):
        ftp.expect("TYPE I", 200)
        ftp.cmd("PASV")
        code, text = ftp.cmd("STOR %s" % target)
        lt.check(code in (550, 553), "STOR %s: expected 550/553, got %s %s" % (target, code, text))
    lt.log("ok: path escapes refused")

    # A MODE E block past the announced size: refused, nothing under the final name.
    ftp.expect("TYPE I", 200)
    ftp.expect("MODE E", 200)
    code, text = ftp.cmd("PASV")
    lt.check_eq(code, 227, "PASV")
    nums = [int(x) for x in re.search(r"\((\d+(?:,\d+){5})\)", text).group(1).split(",")]
    ftp.expect("ALLO 100", 200)
    ftp.sock.sendall(b"STOR %s/dst/bad-block\r\n" % root.encode())
    data = socket.create_connection((lt.HOST, nums[4] * 256 + nums[5]), timeout=15)
    code, _ = ftp.reply()
    lt.check_eq(code, 150, "STOR with a bad block: 150 first")
    data.sendall(struct.pack(">BQQ", 0, 200, 0) + b"x" * 200)
    code, text = ftp.reply()
    while code in (111, 112):
        code, text = ftp.reply()
    data.close()
    lt.check(code in (426, 451), "bad block: expected 426/451, got %s %s" % (code, text))
    lt.check(not os.path.exists("%s/dst/bad-block" % root), "a rejected transfer created its file")
    # An EOF announcing zero connections.
    ftp.expect("MODE E", 200)
    code, text = ftp.cmd("PASV")
    nums = [int(x) for x in re.search(r"\((\d+(?:,\d+){5})\)", text).group(1).split(",")]
    ftp.sock.sendall(b"STOR %s/dst/bad-eof\r\n" % root.encode())
    data = socket.create_connection((lt.HOST, nums[4] * 256 + nums[5]), timeout=15)
    code, _ = ftp.reply()
    data.sendall(struct.pack(">BQQ", 64 | 8, 0, 0))
    code, text = ftp.reply()
    while code in (111, 112):
        code, text = ftp.reply()
    data.close()
    lt.check(code in (426, 451), "EOF count 0: expected 426/451, got %s %s" % (code, text))
    lt.check(not os.path.exists("%s/dst/bad-eof" % root), "a rejected transfer created its file")
    ftp.expect("NOOP", 200)
    ftp.close()
    lt.log("ok: bad block headers refused")

    # An oversized line: 500 and the connection is closed; the server keeps serving.
    ftp = Ftp(ours)
    ftp.sock.sendall(b"NOOP " + b"A" * 20000 + b"\r\n")
    code, text = ftp.reply()
    lt.check_eq(code, 500, "oversized command line")
    code, text = ftp.reply()
    lt.check(code is None, "connection still open after an oversized line: %s" % text)
    ftp.close()
    ftp = Ftp(ours)
    ftp.expect("NOOP", 200)
    ftp.expect("QUIT", 221)
    ftp.close()
    lt.check_eq(sorted(os.listdir(outside)), before, "files outside the root")
    with open(os.path.join(outside, "secret")) as f:
        lt.check_eq(f.read(), "secret\n", "the symlink target")
    lt.log("ok: nothing written outside the root; server still serving")


def main():
    args = lt.parse_args(__doc__)
    if not GUC or not GFS:
        print("SKIP: globus-url-copy / globus-gridftp-server not installed "
              "(apt-get install globus-gass-copy-progs globus-gridftp-server-progs)")
        return SKIP
    with lt.Workspace("gridftp", keep=args.keep) as ws:
        root, src, outside = make_tree(ws)
        cfg = lt.node_config("g1", ws.path("node-data"),
                             gridftp={"enabled": True, "port": 0, "roots": [root],
                                      "anonymous_user": True, "password_file": password_file(ws),
                                      "marker_interval_ms": 200, "data_timeout_ms": 10000})
        node = lt.start_node(ws, args.bin_dir, cfg)
        line = [l for l in node.stdout().splitlines() if " ready:" in l][0]
        ours = int(re.search(r"gridftp=[\d.]+:(\d+)", line).group(1))
        globus = Globus(ws)
        interop(args.bin_dir, ws, root, src, ours, globus.port)
        store_restart(root, ours)
        killed_download_resumes(args.bin_dir, ws, root, node, "client")
        killed_download_resumes(args.bin_dir, ws, root, node, "node")
        ours = gridftp_port(node)
        bad_input(ws, root, outside, ours)
        lt.check(node.alive(), "the node died")
        # SIGTERM while a session waits for its data connection: the node stops at once, well
        # before the data timeout, and cleanly.
        ftp = Ftp(ours)
        ftp.expect("TYPE I", 200)
        ftp.expect("PASV", 227)
        ftp.sock.sendall(b"STOR %s/dst/never\r\n" % root.encode())
        lt.check_eq(ftp.reply()[0], 150, "STOR before shutdown")
        started = time.monotonic()
        node.stop(timeout=10)
        lt.check(time.monotonic() - started < 5, "shutdown waited for the data timeout")
        ftp.close()
        lt.check(not os.path.exists("%s/dst/never" % root), "an aborted upload appeared")
    lt.log("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except lt.TestFailure as e:
        lt.log("FAIL: %s" % e)
        sys.exit(1)
