#!/usr/bin/env python3
"""The gridftp mover (issue 7) on real nodes over loopback: A replicates to B by third-party
GridFTP between the two nodes' own GridFTP servers (A's serves its store, B's its staging area),
with a named login from a credentials file.

1. Small files and two 20 MiB files (MODE E, four streams) arrive at B byte-identical; A records
   B's remote instance of each; nothing stays live; B's staging area is empty.
3. cancel-transfers: with B down, A's live transfers to B are cancelled by an operator.
2. Bad configuration stops the node at start-up with a message that names the key: a gridftp
   send_clone on a node with no GridFTP server, a malformed stores[].gridftp_url, an unreadable
   or malformed credentials file.
"""

import base64
import hashlib
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

USER, PASSWORD = "alice", "s3cret-pass"


def password_file(ws):
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 1000, 32)
    path = ws.path("gridftp.passwd")
    with open(path, "w") as f:
        f.write("%s:pbkdf2-sha256$1000$%s$%s\n" % (USER, base64.b64encode(salt).decode(),
                                                   base64.b64encode(key).decode()))
    return path


def node(ws, name, peer, peer_port, port, background, passwd, key):
    root = ws.path(name + "-files")
    os.makedirs(root, exist_ok=True)
    cfg = lt.node_config(name, ws.path(name + "-data"), cluster_port=port, peers=[(peer, peer_port)])
    cfg["stores"] = [{"name": "main", "staging_path": os.path.join(root, "staging"),
                      "store_path": os.path.join(root, "store"), "capacity_bytes": 8 << 30}]
    cfg["data"] = {"roots": [root]}
    cfg["gridftp"] = {"enabled": True, "port": 0, "roots": [root], "password_file": passwd}
    cfg["librarian"] = {"encryption_key_file": key}
    cfg["background"] = background
    cfg["replication"] = {"peer_reply_timeout_ms": 1500, "retry_backoff_min_ms": 200,
                          "retry_backoff_max_ms": 2000}
    return cfg, root


def refuses(ws, bin_dir, cfg, needle, what):
    path = ws.path("bad-%d.json" % random.randrange(1 << 30))
    lt.write_json(path, cfg)
    proc = subprocess.run([lt.binary(bin_dir, "librarian-node"), "--config", path],
                          capture_output=True, text=True, timeout=30)
    lt.check(proc.returncode != 0, "%s: the node started" % what)
    lt.check(needle in proc.stderr, "%s: expected %r in the error, got %r" % (
        what, needle, proc.stderr[-1000:]))
    lt.log("refused as expected (%s): %s" % (what, proc.stderr.strip().splitlines()[-1][:200]))


def test(args):
    rng = random.Random(11)
    with lt.Workspace("gridftp-mover", keep=args.keep) as ws:
        passwd = password_file(ws)
        key = ws.path("node.key")
        with open(key, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        login = ws.path("gridftp.login")
        with open(login, "w") as f:
            f.write("%s:%s\n" % (USER, PASSWORD))
        os.chmod(login, 0o600)
        a_port, b_port = lt.free_port(), lt.free_port()
        a_cfg, a_root = node(ws, "a", "b", b_port, a_port, {
            "send_clone": [{"destination_librarian": "b", "every": "500ms", "send_batch_size": 8,
                            "mover": "gridftp"}],
            "consume_queue": [{"every": "200ms"}],
            "check_consumed_queue": [{"every": "200ms"}],
        }, passwd, key)
        a_cfg["replication"]["gridftp_credentials_file"] = login
        b_cfg, b_root = node(ws, "b", "a", a_port, b_port, {"recv_clone": [{"every": "200ms"}]},
                             passwd, key)

        # 2. Bad configuration first: nothing is started by these.
        no_server = dict(a_cfg, gridftp={"enabled": False})
        refuses(ws, args.bin_dir, no_server, "gridftp", "a gridftp mover without a GridFTP server")
        bad_url = dict(b_cfg, stores=[dict(b_cfg["stores"][0], gridftp_url="ftp://host/path")])
        refuses(ws, args.bin_dir, bad_url, "gridftp_url", "a malformed stores[].gridftp_url")
        missing = dict(a_cfg, replication=dict(a_cfg["replication"],
                                               gridftp_credentials_file=ws.path("nope")))
        refuses(ws, args.bin_dir, missing, "gridftp_credentials_file", "a missing credentials file")
        junk = ws.path("junk.login")
        with open(junk, "w") as f:
            f.write("no-colon-here\n")
        malformed = dict(a_cfg, replication=dict(a_cfg["replication"],
                                                 gridftp_credentials_file=junk))
        refuses(ws, args.bin_dir, malformed, "USER:PASSWORD", "a malformed credentials file")

        # 1. Replication through the two GridFTP servers.
        a = lt.start_node(ws, args.bin_dir, a_cfg)
        b = lt.start_node(ws, args.bin_dir, b_cfg)
        client = ws.path("client.json")
        lt.write_json(client, {"connections": {"a": {"host": lt.HOST, "port": a.http_port,
                                                     "user": lt.ADMIN[0],
                                                     "password": lt.ADMIN[1]}}})
        os.chmod(client, 0o600)
        files = [("gftp/f%02d.dat" % i, rng.randbytes(rng.randint(0, 200 << 10))) for i in range(12)]
        files += [("gftp/big%d.dat" % i, rng.randbytes((20 << 20) + i)) for i in range(2)]
        sources = {}
        for name, data in files:
            path = ws.path("src", name.replace("/", "_"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            sources[name] = hashlib.sha256(data).hexdigest()
            proc = subprocess.run([lt.binary(args.bin_dir, "librarian"), "upload", "a", path, name],
                                  capture_output=True, text=True, timeout=120,
                                  env=dict(os.environ, HL_CLIENT_CONFIG=client))
            lt.check(proc.returncode == 0, "upload %s: %s %s" % (name, proc.stdout, proc.stderr))

        def search(n, query):
            resp = n.http("POST", "/api/v1/files/search", body=dict(query, max_results=1000))
            return {f["name"]: f for f in lt.expect_status(resp, 200, "search").json["files"]}

        def all_there():
            return set(search(b, {})) >= set(sources) and \
                set(search(a, {"has_remote_at": "b"})) >= set(sources)
        lt.wait_until(all_there, 180, "every file at b and recorded at a", interval=0.5)
        at_b = search(b, {})
        for name, digest in sources.items():
            path = at_b[name]["instances"][0]["path"]
            with open(path, "rb") as f:
                lt.check(hashlib.sha256(f.read()).hexdigest() == digest, "%r differs at b" % name)

        def settled():
            ra = lt.expect_status(a.http("GET", "/api/v1/replication"), 200, "report").json
            rb = lt.expect_status(b.http("GET", "/api/v1/replication"), 200, "report").json
            return sum(ra["outgoing"].values()) + sum(rb["incoming"].values()) == 0 and \
                not ra["active_batches"], ra
        lt.wait_until(lambda: settled()[0], 60, "every transfer settled")
        ra = settled()[1]
        lt.check(ra["counters"].get("batches_moved", 0) >= 2,
                 "a moved %r batches" % ra["counters"].get("batches_moved"))
        residue = []
        for dirpath, _dirs, leaves in os.walk(os.path.join(b_root, "staging")):
            residue += [os.path.join(dirpath, leaf) for leaf in leaves]
        lt.check(not residue, "staging residue at b: %r" % residue[:5])
        lt.log("gridftp mover: %d files a -> b by third-party GridFTP, byte-identical, recorded"
               % len(files))

        # 3. cancel-transfers: with b down, new files wait in live transfers to b; an operator
        #    cancels them all (CANCELLED, nothing live left) through the CLI.
        b.stop()
        for i in range(3):
            path = ws.path("src", "late%d" % i)
            with open(path, "wb") as f:
                f.write(rng.randbytes(1000))
            proc = subprocess.run([lt.binary(args.bin_dir, "librarian"), "upload", "a", path,
                                   "gftp/late%d.dat" % i], capture_output=True, text=True,
                                  timeout=120, env=dict(os.environ, HL_CLIENT_CONFIG=client))
            lt.check(proc.returncode == 0, "upload late%d: %s" % (i, proc.stderr))

        def live_to_b():
            ra = lt.expect_status(a.http("GET", "/api/v1/replication"), 200, "report").json
            return sum(ra["outgoing"].values())
        lt.wait_until(lambda: live_to_b() >= 3, 30, "live transfers to the stopped b")
        proc = subprocess.run([lt.binary(args.bin_dir, "librarian"), "cancel-transfers", "a",
                               "--name", "b"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, HL_CLIENT_CONFIG=client))
        lt.check(proc.returncode == 0, "cancel-transfers: %s %s" % (proc.stdout, proc.stderr))
        lt.check(proc.stdout.startswith("cancelled ") and "to b" in proc.stdout,
                 "cancel-transfers said %r" % proc.stdout)
        lt.check(int(proc.stdout.split()[1]) >= 3, "cancel-transfers said %r" % proc.stdout)
        lt.check_eq(live_to_b(), 0, "live outgoing transfers after cancel-transfers")
        ra = lt.expect_status(a.http("GET", "/api/v1/replication"), 200, "report").json
        lt.check(ra["counters"].get("transfers_cancelled", 0) >= 3,
                 "transfers_cancelled %r" % ra["counters"].get("transfers_cancelled"))
        resp = a.http("POST", "/api/v1/replication/cancel", body={"peer": ""})
        lt.expect_status(resp, 400, "cancel with an empty peer")
        lt.log("cancel-transfers: %s" % proc.stdout.strip())
        a.stop()


if __name__ == "__main__":
    lt.main(test, __doc__)
