#!/usr/bin/env python3
"""`librarian copy` against a real node's data port: uploads and downloads byte-identical over
parallel streams; trees with -r -cc and -sync; the receiving node and the sending client killed
with SIGKILL mid-transfer, then resumed from committed ranges; a corrupted block caught and never
visible under the final name; a full destination disk; a stalled node; and bad input."""

import filecmp
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

READER = ("rory", "rory-password-1")
MiB = 1024 * 1024


def write_random(path, size, seed):
    # Deterministic bytes without a big Python loop: repeat a seeded 1 MiB block, salted per MiB.
    import random
    rng = random.Random(seed)
    block = bytes(rng.getrandbits(8) for _ in range(4096)) * 256
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            chunk = block[: min(left, MiB)]
            f.write(i.to_bytes(8, "little") + chunk[8:])
            left -= len(chunk)
            i += 1
    return path


class Copier:
    def __init__(self, ws, bin_dir, client_cfg):
        self.ws = ws
        self.exe = lt.binary(bin_dir, "librarian")
        self.env = dict(os.environ, HL_CLIENT_CONFIG=client_cfg)

    def run(self, *args, env=None, timeout=60):
        e = dict(self.env, **(env or {}))
        rc, out, err = lt.run_tool([self.exe, "copy", "--json"] + list(args), env=e, timeout=timeout)
        try:
            summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        except ValueError:
            raise lt.TestFailure("copy printed no JSON: %r / %r" % (out, err))
        return rc, summary, err

    def start(self, *args, env=None):
        e = dict(self.env, **(env or {}))
        out = open(self.ws.path("copy-%d.out" % time.monotonic_ns()), "w+")
        proc = subprocess.Popen([self.exe, "copy", "--json"] + list(args), stdout=out,
                                stderr=subprocess.PIPE, text=True, env=e, start_new_session=True)
        proc.out_file = out
        return proc


def finish(proc, timeout=60):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise lt.TestFailure("copy did not finish within %ss" % timeout)
    proc.out_file.seek(0)
    text = proc.out_file.read().strip()
    return proc.returncode, (json.loads(text.splitlines()[-1]) if text else {}), proc.stderr.read()


def journal_ranges(path):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.startswith("R "))
    except OSError:
        return 0


def same(a, b, what):
    lt.check(os.path.exists(b), "%s: %s missing" % (what, b))
    lt.check(filecmp.cmp(a, b, shallow=False), "%s: %s and %s differ" % (what, a, b))


def no_leftovers(path, what):
    for suffix in ("", ".librarian-part", ".librarian-journal"):
        lt.check(not os.path.exists(path + suffix), "%s: %s%s exists" % (what, path, suffix))


def test_round_trips(c, root, local):
    lt.log("upload and download, 4 streams, byte-identical")
    src = write_random(local("big.bin"), 48 * MiB + 123, 1)
    rc, s, err = c.run("-p", "4", "-bs", "1M", src, "lib://%s%s/big.bin" % (lt.HOST, root))
    lt.check_eq(rc, 0, "upload exit code (%s)" % err)
    lt.check(s["ok"] and s["files"][0]["checksum"].startswith("xxh3:::"), "upload summary %r" % s)
    same(src, os.path.join(root, "big.bin"), "upload")
    rc, s, err = c.run("-p", "3", "lib://%s%s/big.bin" % (lt.HOST, root), local("back.bin"))
    lt.check_eq(rc, 0, "download exit code (%s)" % err)
    same(src, local("back.bin"), "download")
    rc, s, err = c.run("-p", "3", "-buffered-io", "lib://%s%s/big.bin" % (lt.HOST, root),
                       local("back-buffered.bin"))
    lt.check_eq(rc, 0, "download through the page cache (%s)" % err)
    same(src, local("back-buffered.bin"), "download through the page cache")
    lt.log("partial download")
    rc, s, err = c.run("-partial-offset", "1000", "-partial-length", "5000000",
                       "lib://%s%s/big.bin" % (lt.HOST, root), local("part.bin"))
    lt.check_eq(rc, 0, "partial download (%s)" % err)
    with open(src, "rb") as f:
        f.seek(1000)
        want = f.read(5000000)
    with open(local("part.bin"), "rb") as f:
        lt.check(f.read() == want, "partial download has the wrong bytes")
    lt.log("md5 and adler32 checksums on request")
    rc, s, err = c.run("-checksum-alg", "md5", src, "lib://%s%s/md5.bin" % (lt.HOST, root))
    lt.check_eq(rc, 0, "md5 upload (%s)" % err)
    import hashlib
    with open(src, "rb") as f:
        lt.check_eq(s["files"][0]["checksum"], "md5:::" + hashlib.md5(f.read()).hexdigest(), "md5 checksum")


def test_trees(c, root, local):
    lt.log("-r -cc 4 of a tree, then -sync -sync-level 3 skips everything")
    tree = local("tree")
    for i in range(40):
        d = os.path.join(tree, "d%d" % (i % 4))
        os.makedirs(d, exist_ok=True)
        write_random(os.path.join(d, "f%02d" % i), 1000 + i * 3000, 100 + i)
    dest = "lib://%s%s/tree" % (lt.HOST, root)
    rc, s, err = c.run("-r", "-cd", "-cc", "4", tree, dest)
    lt.check_eq(rc, 0, "tree upload (%s)" % err)
    lt.check_eq(len(s["files"]), 40, "files copied")
    for dirpath, _, names in os.walk(tree):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), tree)
            same(os.path.join(dirpath, n), os.path.join(root, "tree", rel), "tree file %s" % rel)
    rc, s, err = c.run("-r", "-sync", "-sync-level", "3", "-cc", "4", tree, dest)
    lt.check_eq(rc, 0, "sync run (%s %r)" % (err, s))
    lt.check_eq(s["skipped"], 40, "files skipped by -sync-level 3")
    with open(os.path.join(tree, "d1", "f01"), "r+b") as f:
        f.write(b"changed!")
    rc, s, err = c.run("-r", "-sync", "-sync-level", "3", tree, dest)
    lt.check_eq((rc, s["skipped"]), (0, 39), "after one file changed, -sync-level 3 copies exactly it")
    same(os.path.join(tree, "d1", "f01"), os.path.join(root, "tree", "d1", "f01"), "changed file")
    lt.log("-r download of the tree")
    rc, s, err = c.run("-r", "-cc", "3", dest, local("tree-back"))
    lt.check_eq(rc, 0, "tree download (%s)" % err)
    lt.check_eq(len(s["files"]), 40, "files downloaded")


def test_kill_receiving_node(c, node, root, local):
    lt.log("SIGKILL the receiving node mid-upload; the client's -rst resumes from committed ranges")
    src = write_random(local("kill-node.bin"), 40 * MiB, 2)
    dest = os.path.join(root, "kill-node.bin")
    proc = c.start("-p", "2", "-bs", "1M", "-rst", "-rst-retries", "30", "-rst-interval", "0.3",
                   src, "lib://%s%s" % (lt.HOST, dest), env={"LIBRARIAN_FAULT_BLOCK_DELAY_MS": "40"})
    journal = dest + ".librarian-journal"

    def has_ranges():
        try:
            with open(journal) as f:
                return sum(1 for line in f if line.startswith("R ")) >= 1
        except OSError:
            return False
    lt.wait_until(has_ranges, 25, "committed ranges in the node's journal")
    node.kill9()
    time.sleep(0.5)
    # From here on the node sends slowly, so the download tests below can kill mid-transfer.
    os.environ["LIBRARIAN_FAULT_BLOCK_DELAY_MS"] = "100"
    node.restart()
    node.wait_ready()
    rc, s, err = finish(proc)
    lt.check_eq(rc, 0, "resumed upload exit code (%s)" % err[-2000:])
    lt.check("retrying" in err, "the client should have retried: %r" % err[-500:])
    lt.check(s["files"][0]["bytes_resumed"] > 0, "the retry resumed nothing: %r" % s)
    same(src, dest, "upload resumed after SIGKILL of the node")
    lt.check(not os.path.exists(journal), "journal left after completion")


def test_kill_client(c, root, local):
    lt.log("SIGKILL the downloading client mid-transfer, rerun: it resumes from its own journal")
    src_remote = os.path.join(root, "big.bin")
    out = local("kill-client.bin")
    proc = c.start("-p", "2", "-bs", "1M", "lib://%s%s" % (lt.HOST, src_remote), out)
    lt.wait_until(lambda: journal_ranges(out + ".librarian-journal") >= 1, 20, "ranges in the client's journal")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    lt.check(not os.path.exists(out), "a partial download under the final name")
    rc, s, err = c.run("-p", "2", "lib://%s%s" % (lt.HOST, src_remote), out)
    lt.check_eq(rc, 0, "rerun after SIGKILL (%s)" % err)
    lt.check(s["files"][0]["bytes_resumed"] > 0, "the rerun resumed nothing: %r" % s)
    same(src_remote, out, "download resumed after SIGKILL of the client")


def test_kill_sending_node(ws, c, node, root, local):
    lt.log("SIGKILL the sending node mid-download; -rst resumes after its restart")
    src_remote = os.path.join(root, "big.bin")
    out = local("kill-sender.bin")
    proc = c.start("-p", "2", "-bs", "1M", "-rst", "-rst-retries", "30", "-rst-interval", "0.3",
                   "lib://%s%s" % (lt.HOST, src_remote), out)
    lt.wait_until(lambda: journal_ranges(out + ".librarian-journal") >= 1, 20, "ranges in the client's journal")
    node.kill9()
    time.sleep(0.3)
    del os.environ["LIBRARIAN_FAULT_BLOCK_DELAY_MS"]
    node.restart()
    node.wait_ready()
    rc, s, err = finish(proc)
    lt.check_eq(rc, 0, "download after the sender's restart (%s)" % err[-2000:])
    lt.check("retrying" in err, "the client should have retried: %r" % err[-500:])
    lt.check(s["files"][0]["bytes_resumed"] > 0, "the retry resumed nothing: %r" % s)
    same(src_remote, out, "download resumed after SIGKILL of the sending node")


def test_corruption(c, root, local):
    lt.log("a block corrupted in flight: detected, nothing under the final name; -rst heals")
    src = write_random(local("corrupt.bin"), 6 * MiB, 3)
    dest = os.path.join(root, "corrupt.bin")
    rc, s, err = c.run(src, "lib://%s%s" % (lt.HOST, dest), env={"LIBRARIAN_FAULT_CORRUPT_ONCE": "3000000"})
    lt.check_eq(rc, 10, "exit code of a checksum mismatch (%s)" % err)
    lt.check_eq(s["files"][0]["error"], "checksum_mismatch", "error name")
    no_leftovers(dest, "after a corrupted upload")
    rc, s, err = c.run("-rst", "-rst-interval", "0.1", src, "lib://%s%s" % (lt.HOST, dest),
                       env={"LIBRARIAN_FAULT_CORRUPT_ONCE": "3000000"})
    lt.check_eq(rc, 0, "corrupted then retried (%s)" % err)
    same(src, dest, "upload after the corrupted attempt")


def test_disk_full(c, ws, node, local):
    lt.log("destination disk full: a clear error, resumable state kept")
    small = ws.path("small")
    os.makedirs(small)
    if os.geteuid() != 0 or subprocess.call(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small],
                                            stderr=subprocess.DEVNULL) != 0:
        lt.log("SKIP disk-full case: mounting a small tmpfs needs root")
        return
    try:
        src = write_random(local("full.bin"), 8 * MiB, 4)
        dest = os.path.join(small, "full.bin")
        rc, s, err = c.run("-p", "1", "-bs", "256K", src, "lib://%s%s" % (lt.HOST, dest))
        lt.check_eq(rc, 11, "exit code of storage_full (%r %s)" % (s, err))
        lt.check("No space" in s["files"][0]["message"], "message: %r" % s)
        lt.check(not os.path.exists(dest), "a partial file under the final name")
        lt.check(os.path.exists(dest + ".librarian-journal"), "the resumable state was dropped")
    finally:
        subprocess.call(["umount", "-l", small])


def test_stall(c, node, root, local):
    lt.log("a stalled node: the stall timeout fires")
    # A sparse 8 GiB source: the download cannot finish in the moment between its start and the
    # SIGSTOP, however fast the machine (48 MiB could: it takes 0.1 s at 500 MB/s).
    huge = os.path.join(root, "huge.bin")
    with open(huge, "wb") as f:
        f.truncate(8 << 30)
    proc = c.start("-p", "1", "-bs", "256K", "-stall-timeout", "2", "lib://%s%s" % (lt.HOST, huge),
                   local("stalled.bin"))
    lt.wait_until(lambda: os.path.exists(local("stalled.bin.librarian-journal")), 20, "the download to start")
    node.signal(signal.SIGSTOP)
    started = time.monotonic()
    try:
        rc, s, err = finish(proc, timeout=30)
    finally:
        node.signal(signal.SIGCONT)
    lt.check(rc in (8, 9), "stalled copy exit code %d (%r)" % (rc, s))
    lt.check(time.monotonic() - started < 15, "the stall timeout took too long")
    os.remove(huge)


def test_bad_input(c, node, root, local):
    lt.log("bad input: clear errors, nothing written")
    src = write_random(local("small.bin"), 1000, 5)
    rc, s, err = c.run(src, "lib://%s/etc/passwd-copy" % lt.HOST)
    lt.check_eq((rc, s["files"][0]["error"]), (6, "forbidden"), "path outside the roots")
    lt.check(not os.path.exists("/etc/passwd-copy"), "wrote outside the roots")
    rc, s, err = c.run(src, "lib://%s%s/../escape" % (lt.HOST, root))
    lt.check_eq(rc, 4, "'..' in the path")
    os.symlink("/tmp", os.path.join(root, "link"))
    rc, s, err = c.run(src, "lib://%s%s/link/escaped" % (lt.HOST, root))
    lt.check_eq(rc, 6, "a symlink out of the root")
    lt.check(not os.path.exists("/tmp/escaped"), "wrote through the symlink")
    rc, s, err = c.run(local("missing.bin"), "lib://%s%s/x" % (lt.HOST, root))
    lt.check_eq(rc, 2, "missing source")
    rc, s, err = c.run("-bs", "banana", src, "lib://%s%s/x" % (lt.HOST, root))
    lt.check_eq(rc, 4, "bad -bs")
    rc, s, err = c.run(src, "gopher://x/y")
    lt.check_eq(rc, 4, "unknown scheme")
    rc, s, err = c.run("--conn", "reader", src, "lib://%s%s/ro" % (lt.HOST, root))
    lt.check_eq(rc, 6, "a READONLY user uploading")
    no_leftovers(os.path.join(root, "ro"), "refused upload")
    rc, s, err = c.run("--conn", "reader", "lib://%s%s/big.bin" % (lt.HOST, root), local("ro-ok.bin"))
    lt.check_eq(rc, 0, "a READONLY user downloading (%s)" % err)


def test_gridftp(c, ws, local):
    lt.log("librarian copy with ftp:// against globus-gridftp-server: down, up, third party")
    import shutil
    if not shutil.which("globus-gridftp-server"):
        lt.log("SKIP: globus-gridftp-server is not installed (apt-get install globus-gridftp-server-progs)")
        return
    area = ws.path("gftp")
    os.chmod(ws.root, 0o755)  # mkdtemp makes it 0700; the session user must traverse it
    os.makedirs(area)
    os.chmod(area, 0o777)  # the anonymous session runs as nobody when we are root
    src = write_random(os.path.join(area, "src.bin"), 9 * MiB + 5, 9)
    os.chmod(src, 0o644)
    port = lt.free_port()
    argv = ["globus-gridftp-server", "-aa", "-p", str(port), "-control-interface", lt.HOST,
            "-data-interface", lt.HOST, "-d", "0"]
    if os.geteuid() == 0:
        argv[2:2] = ["-anonymous-user", "nobody"]
    server = ws.track(lt.Process(argv, ws.path("gfs.out"), ws.path("gfs.err"), name="globus-gridftp-server"))
    lt.wait_until(lambda: _listening(port), 10, "globus-gridftp-server to listen")
    ftp = "ftp://%s:%d" % (lt.HOST, port)
    rc, s, err = c.run("-p", "4", ftp + src, local("g-down.bin"))
    lt.check_eq(rc, 0, "download from globus-gridftp-server (%s)" % err)
    same(src, local("g-down.bin"), "ftp download")
    rc, s, err = c.run("-p", "4", src, ftp + os.path.join(area, "up.bin"))
    lt.check_eq(rc, 0, "upload to globus-gridftp-server (%s)" % err)
    same(src, os.path.join(area, "up.bin"), "ftp upload")
    rc, s, err = c.run("-p", "2", ftp + src, ftp + os.path.join(area, "3pt.bin"))
    lt.check_eq(rc, 0, "third-party copy (%s)" % err)
    same(src, os.path.join(area, "3pt.bin"), "ftp third party")
    lt.log("-r and -sync over ftp://: a tree down, up with -cd, then -sync -sync-level 3 skips it all")
    tree = os.path.join(area, "tree")
    for i in range(6):
        d = os.path.join(tree, "d%d" % (i % 2), "e")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        p = write_random(os.path.join(d, "f%d" % i), 500 + 3000 * i, 200 + i)
        os.chmod(p, 0o644)
    for d in (tree, os.path.join(tree, "d0"), os.path.join(tree, "d1")):
        os.chmod(d, 0o777)
    rc, s, err = c.run("-r", "-cc", "2", ftp + tree + "/", local("ftp-tree") + "/")
    lt.check_eq((rc, len(s.get("files", []))), (0, 6), "ftp -r download (%s)" % err)
    rc, s, err = c.run("-r", "-cd", local("ftp-tree"), ftp + os.path.join(area, "tree-up"))
    lt.check_eq(rc, 0, "ftp -r -cd upload (%s %r)" % (err, s))
    for dirpath, _, names in os.walk(tree):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), tree)
            same(os.path.join(dirpath, n), os.path.join(area, "tree-up", rel), "ftp tree %s" % rel)
    rc, s, err = c.run("-r", "-sync", "-sync-level", "3", "-checksum-alg", "md5", local("ftp-tree"),
                       ftp + os.path.join(area, "tree-up"))
    lt.check_eq((rc, s.get("skipped")), (0, 6), "ftp -sync-level 3 skips identical files (%s)" % err)
    server.kill_hard()


def _listening(port):
    import socket
    try:
        socket.create_connection((lt.HOST, port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test(args):
    with lt.Workspace("data", keep=args.keep) as ws:
        root = ws.path("root")
        os.makedirs(root)
        os.makedirs(ws.path("local"))
        local = lambda *p: ws.path("local", *p)  # noqa: E731
        cfg = lt.node_config("a", ws.path("a-db"),
                             data={"roots": [root, ws.path("small")], "sync_every_bytes": MiB,
                                   "stall_timeout_ms": 5000})
        node = lt.start_node(ws, args.bin_dir, cfg)
        lt.expect_status(node.http("POST", "/api/v1/users",
                                   body={"name": READER[0], "password": READER[1], "role": "READONLY"}),
                         201, "create reader")
        client_cfg = lt.write_json(ws.path("client.cfg"), {"connections": {
            "admin": {"host": lt.HOST, "port": node.http_port, "user": lt.ADMIN[0], "password": lt.ADMIN[1]},
            "reader": {"host": "localhost", "port": node.http_port, "user": READER[0], "password": READER[1]}}})
        os.chmod(client_cfg, 0o600)
        c = Copier(ws, args.bin_dir, client_cfg)
        test_round_trips(c, root, local)
        test_gridftp(c, ws, local)
        test_trees(c, root, local)
        test_bad_input(c, node, root, local)
        test_corruption(c, root, local)
        test_kill_receiving_node(c, node, root, local)
        test_kill_client(c, root, local)
        test_kill_sending_node(ws, c, node, root, local)
        test_disk_full(c, ws, node, local)
        test_stall(c, node, root, local)
        lt.log("/metrics counts the data channel")
        text = lt.expect_status(node.http("GET", "/metrics", auth=None), 200, "metrics").text
        lt.check(lt.metric(text, 'librarian_data_transfers_total{outcome="completed"}') > 0, "no completed transfers in /metrics")
        lt.check(lt.metric(text, "librarian_data_bytes_sent_total") > 0, "no bytes sent in /metrics")


if __name__ == "__main__":
    lt.main(test, __doc__)
