#!/usr/bin/env python3
"""The librarian end to end on real nodes, through the `librarian` CLI (and raw HTTP where the CLI
cannot misbehave on purpose): uploads of files and directories, search with filters, download and
validation with checksums verified; stores (full, disabled, unknown); peers with real pings;
set-librarian-transfer and librarian-change-transfer-status with the node running and stopped; a
role matrix over every librarian endpoint; and bad inputs that must each fail clearly with nothing
half-created (no staging residue, no File without an Instance, no Instance without its bytes)."""

import base64
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

ROLES = ["NONE", "READONLY", "CALLBACK", "READAPPEND", "READWRITE", "ADMIN"]
USERS = {role: ("u-" + role.lower(), "pw-" + role.lower() + "-123") for role in ROLES if role != "ADMIN"}
USERS["ADMIN"] = lt.ADMIN
UPLOADER = USERS["READAPPEND"]
EXIT = {"not_found": 2, "already_exists": 3, "invalid_argument": 4, "unauthenticated": 5,
        "forbidden": 6, "conflict": 7, "unavailable": 8, "checksum_mismatch": 10,
        "storage_full": 11}


class Env:
    def __init__(self, ws, bin_dir):
        self.ws = ws
        self.bin_dir = bin_dir
        self.root = ws.path("a-files")
        os.makedirs(self.root)
        self.key = ws.path("a.key")
        with open(self.key, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        self.stores = {
            "main": (os.path.join(self.root, "staging-main"), os.path.join(self.root, "store-main")),
            "small": (os.path.join(self.root, "staging-small"), os.path.join(self.root, "store-small")),
            "drive": (os.path.join(self.root, "staging-drive"), os.path.join(self.root, "store-drive")),
        }
        cfg = lt.node_config("a", ws.path("a-data"))
        cfg["stores"] = [
            {"name": "main", "staging_path": self.stores["main"][0], "store_path": self.stores["main"][1],
             "capacity_bytes": 50 * 1024 * 1024},
            {"name": "small", "staging_path": self.stores["small"][0],
             "store_path": self.stores["small"][1], "capacity_bytes": 100, "report_full_fraction": 1.0},
            {"name": "drive", "type": "sneakernet", "staging_path": self.stores["drive"][0],
             "store_path": self.stores["drive"][1], "capacity_bytes": 1 << 30, "ingestable": False},
        ]
        cfg["librarian"] = {"encryption_key_file": self.key, "ping_timeout_ms": 1000,
                            "check_integrity": [{"store": "small", "every_s": 1}]}
        self.node = lt.start_node(ws, bin_dir, cfg)
        self.client_cfg = ws.path("client.json")
        conns = {}
        for role, (user, password) in USERS.items():
            conns[role.lower()] = {"host": lt.HOST, "port": self.node.http_port, "user": user,
                                   "password": password}
        lt.write_json(self.client_cfg, {"connections": conns})
        os.chmod(self.client_cfg, 0o600)
        for role, (user, password) in USERS.items():
            if role == "ADMIN":
                continue
            lt.expect_status(self.node.http("POST", "/api/v1/users",
                                            body={"name": user, "password": password, "role": role}),
                             201, "create user " + user)

    def cli(self, *args, conn="readappend", expect=0, json_out=False, client_cfg=None):
        argv = [lt.binary(self.bin_dir, "librarian")] + ([args[0], conn] if conn else [args[0]]) + list(args[1:])
        if json_out:
            argv.append("--json")
        env = dict(os.environ, HL_CLIENT_CONFIG=client_cfg or self.client_cfg)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        lt.check(proc.returncode == expect, "%s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv[1:]), proc.returncode, expect, proc.stdout, proc.stderr))
        if json_out and expect == 0:
            return json.loads(proc.stdout)
        return proc

    def local(self, rel, content=None):
        path = self.ws.path("local", rel)
        if content is not None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
        return path

    def files(self):
        out, after = [], None
        for _ in range(100):
            body = {"max_results": 1000}
            if after:
                body["after"] = after
            page = lt.expect_status(self.node.http("POST", "/api/v1/files/search", body=body), 200, "search").json
            out += page["files"]
            if not page["more"]:
                return out
            after = page["next_after"]
        raise lt.TestFailure("search never ended")

    def check_invariants(self, what):
        """No File without an Instance, no Instance without its bytes, no orphan staging data,
        and nothing in a store that the catalog does not know."""
        files = self.files()
        known_paths = set()
        for f in files:
            lt.check(len(f["instances"]) >= 1, "%s: file %r has no instance" % (what, f["name"]))
            for inst in f["instances"]:
                lt.check(os.path.exists(inst["path"]), "%s: instance %s of %r is missing on disk" % (
                    what, inst["path"], f["name"]))
                known_paths.add(inst["path"])
        for name, (staging, store) in self.stores.items():
            if os.path.isdir(staging):
                lt.check(os.listdir(staging) == [], "%s: staging of %s holds %r" % (
                    what, name, os.listdir(staging)))
            for dirpath, dirnames, filenames in os.walk(store):
                for leaf in filenames:
                    path = os.path.join(dirpath, leaf)
                    lt.check(any(path == p or path.startswith(p + "/") for p in known_paths),
                             "%s: %s in store %s is not in the catalog" % (what, path, name))
        return files


def test_upload_search_download(env):
    lt.log("upload, re-upload, conflict, search, download, validate")
    data = os.urandom(200000)
    src = env.local("obs1.dat", data)
    out = env.cli("upload", src, "run1/obs1.dat", json_out=True)
    lt.check_eq((out["name"], out["size"], out["uploader"]), ("run1/obs1.dat", len(data), UPLOADER[0]), "upload reply")
    lt.check(out["checksum"].startswith("xxh3:::"), "checksum %r" % out["checksum"])
    path = out["instances"][0]["path"]
    with open(path, "rb") as f:
        lt.check(f.read() == data, "the stored bytes differ from the uploaded ones")
    lt.check("received " in open(env.ws.path("a.err")).read(),
             "the upload did not come over the node's data channel (no 'received' in its log)")
    again = env.cli("upload", src, "run1/obs1.dat")
    lt.check("already" in again.stdout, "identical re-upload: %r" % again.stdout)
    other = env.local("obs1-other.dat", b"different bytes")
    proc = env.cli("upload", other, "run1/obs1.dat", expect=EXIT["conflict"])
    lt.check("different file named 'run1/obs1.dat' already exists" in proc.stderr, proc.stderr)
    env.cli("upload", env.local("d/a.txt", b"alpha"), "run2/a.txt")
    env.local("tree/x.txt", b"x" * 10)
    env.local("tree/sub/y.txt", b"y" * 20)
    tree = env.cli("upload", env.local("tree"), "run2/tree", json_out=True)
    lt.check_eq(tree["size"], 30, "directory size")

    lt.log("search-files filters")
    names = lambda res: sorted(f["name"] for f in res["files"])  # noqa: E731
    lt.check_eq(names(env.cli("search-files", "-n", "run2/*", conn="readonly", json_out=True)),
                ["run2/a.txt", "run2/tree"], "name glob")
    lt.check_eq(names(env.cli("search-files", "--size-min", "100000", conn="readonly", json_out=True)),
                ["run1/obs1.dat"], "size filter")
    lt.check_eq(names(env.cli("search-files", "-u", UPLOADER[0], "--store", "main", conn="readonly",
                              json_out=True)), ["run1/obs1.dat", "run2/a.txt", "run2/tree"], "uploader+store")
    lt.check_eq(names(env.cli("search-files", "--checksum", tree["checksum"], conn="readonly",
                              json_out=True)), ["run2/tree"], "checksum")
    lt.check_eq(names(env.cli("search-files", "--create-time-start", "2000-01-01", conn="readonly",
                              json_out=True)), ["run1/obs1.dat", "run2/a.txt", "run2/tree"], "time")
    lt.check_eq(names(env.cli("search-files", "--create-time-end", "2000-01-01", conn="readonly",
                              json_out=True)), [], "time end")
    lt.check_eq(names(env.cli("search-files", "--lacks-remote-at", "b", conn="readonly", json_out=True)),
                ["run1/obs1.dat", "run2/a.txt", "run2/tree"], "lacks remote")
    lt.check_eq(names(env.cli("search-files", "--has-remote-at", "b", conn="readonly", json_out=True)),
                [], "has remote")
    page1 = env.cli("search-files", "--max-results", "2", conn="readonly", json_out=True)
    lt.check(page1["more"] and len(page1["files"]) == 2, "page 1: %r" % page1)
    page2 = env.cli("search-files", "--max-results", "2", "--after", page1["next_after"], conn="readonly",
                    json_out=True)
    lt.check_eq(names(page2), ["run2/tree"], "page 2")
    human = env.cli("search-files", "-n", "run1/*", conn="readonly").stdout
    lt.check("run1/obs1.dat" in human and "AVAILABLE" in human, human)
    env.cli("search-files", "--create-time-start", "yesterday", conn="readonly", expect=EXIT["invalid_argument"])

    lt.log("download and validate")
    dest = env.ws.path("out", "obs1.dat")
    os.makedirs(os.path.dirname(dest))
    got = env.cli("download", "run1/obs1.dat", dest, conn="readonly", json_out=True)
    lt.check_eq(got.get("mover"), "native", "a single file comes over the node's data channel")
    with open(dest, "rb") as f:
        lt.check(f.read() == data, "downloaded bytes differ")
    env.cli("download", "run1/obs1.dat", dest, conn="readonly", expect=EXIT["already_exists"])
    env.cli("download", "nope", env.ws.path("out", "nope"), conn="readonly", expect=EXIT["not_found"])
    tree_out = env.ws.path("out", "tree")
    env.cli("download", "run2/tree", tree_out, conn="readonly")
    with open(os.path.join(tree_out, "sub", "y.txt"), "rb") as f:
        lt.check(f.read() == b"y" * 20, "downloaded tree content")
    val = env.cli("validate-file", "run1/obs1.dat", conn="readonly", json_out=True)
    lt.check_eq([(i["match"], i["current_checksum"]) for i in val["items"]], [(True, out["checksum"])],
                "validate-file")
    env.check_invariants("after uploads")
    return out


def test_bad_inputs(env):
    lt.log("bad names, stores and sizes: clear errors, nothing created")
    src = env.local("small.dat", b"0123456789")
    for bad in ["a/../b", "/abs", "a//b", "dir/", "ctl\x01x", ".."]:
        proc = env.cli("upload", src, bad, expect=EXIT["invalid_argument"])
        lt.check("name" in proc.stderr, "bad name %r: %s" % (bad, proc.stderr))
    env.cli("upload", src, "", expect=EXIT["invalid_argument"])
    env.cli("upload", src, "x", "--store", "nope", expect=EXIT["not_found"])
    proc = env.cli("upload", src, "x", "--store", "drive", expect=EXIT["invalid_argument"])
    lt.check("not ingestable" in proc.stderr, proc.stderr)
    env.cli("upload", env.local("big.dat", b"z" * 200), "big", "--store", "small", expect=EXIT["storage_full"])
    env.cli("set-store-state", "--store", "main", "--disabled", conn="admin")
    proc = env.cli("upload", src, "x", "--store", "main", expect=EXIT["unavailable"])
    lt.check("disabled" in proc.stderr, proc.stderr)
    stores = {s["name"]: s for s in env.cli("get-store-list", conn="admin", json_out=True)["stores"]}
    lt.check(not stores["main"]["enabled"] and stores["small"]["enabled"], "store states %r" % stores)
    env.cli("set-store-state", "--store", "main", "--enabled", conn="admin")
    env.cli("set-store-state", "--store", "nope", "--enabled", conn="admin", expect=EXIT["not_found"])
    env.cli("set-store-state", "--store", "main", conn="admin", expect=1)
    env.cli("upload", env.ws.path("local", "missing.dat"), "m", expect=EXIT["not_found"])

    lt.log("commit-time mismatches over HTTP: the stage is discarded")
    auth = UPLOADER
    digest = env.cli("upload", src, "ok/small.dat", json_out=True)["checksum"]
    for what, size, checksum, payload in [("checksum", 10, digest.replace(digest[-1], "0" if digest[-1] != "0" else "1"), b"0123456789"),
                                          ("size", 11, digest, b"0123456789")]:
        stage = lt.expect_status(env.node.http("POST", "/api/v1/upload/stage", auth=auth,
                                               body={"name": "mm/" + what, "size": size, "checksum": checksum}),
                                 201, "stage " + what).json
        with open(stage["staging_file"], "wb") as f:
            f.write(payload)
        resp = lt.expect_error(env.node.http("POST", "/api/v1/upload/commit", auth=auth,
                                             body={"upload_id": stage["upload_id"]}),
                               422, "checksum_mismatch", what + " mismatch")
        lt.check(what in resp.json["message"], resp.json["message"])
        lt.check(not os.path.exists(stage["staging_dir"]), "staging dir of a %s mismatch survived" % what)
        lt.expect_error(env.node.http("GET", "/api/v1/files/get?name=mm/" + what, auth=auth), 404,
                        "not_found", "no file after a %s mismatch" % what)
    lt.expect_error(env.node.http("POST", "/api/v1/upload/commit", auth=auth, body={"upload_id": 99999}),
                    404, "not_found", "commit of a stage that never happened")

    lt.log("commit before bytes keeps the upload; someone else's upload is invisible; cancel")
    stage = lt.expect_status(env.node.http("POST", "/api/v1/upload/stage", auth=auth,
                                           body={"name": "later.dat", "size": 10, "checksum": digest}),
                             201, "stage later").json
    lt.expect_error(env.node.http("POST", "/api/v1/upload/commit", auth=auth,
                                  body={"upload_id": stage["upload_id"]}), 404, "not_found", "commit before bytes")
    lt.check(os.path.isdir(stage["staging_dir"]), "the stage went away on an early commit")
    lt.expect_error(env.node.http("POST", "/api/v1/upload/commit", auth=USERS["READWRITE"],
                                  body={"upload_id": stage["upload_id"]}), 404, "not_found", "someone else's commit")
    lt.expect_error(env.node.http("POST", "/api/v1/upload/stage", auth=USERS["READWRITE"],
                                  body={"name": "later.dat", "size": 10, "checksum": digest}),
                    409, "conflict", "a second stager of an open name")
    lt.expect_status(env.node.http("POST", "/api/v1/upload/cancel", auth=auth,
                                   body={"upload_id": stage["upload_id"]}), 200, "cancel")
    lt.wait_until(lambda: not os.path.exists(stage["staging_dir"]), 10, "cancelled staging dir removed")
    lt.log("a stage without a checksum declares it at commit")
    stage = lt.expect_status(env.node.http("POST", "/api/v1/upload/stage", auth=auth,
                                           body={"name": "late.dat", "size": 10}), 201, "stage without checksum").json
    with open(stage["staging_file"], "wb") as f:
        f.write(b"0123456789")
    resp = lt.expect_error(env.node.http("POST", "/api/v1/upload/commit", auth=auth,
                                         body={"upload_id": stage["upload_id"]}),
                           400, "invalid_argument", "commit without the checksum")
    lt.check("declare" in resp.json["message"], resp.json["message"])
    wrong = "xxh3:::" + "0" * 32
    lt.expect_error(env.node.http("POST", "/api/v1/upload/commit", auth=auth,
                                  body={"upload_id": stage["upload_id"], "checksum": wrong}),
                    422, "checksum_mismatch", "a commit declaring the wrong checksum")
    lt.check(not os.path.exists(stage["staging_dir"]), "staging dir of a declared mismatch survived")
    stage = lt.expect_status(env.node.http("POST", "/api/v1/upload/stage", auth=auth,
                                           body={"name": "late.dat", "size": 10}), 201, "stage again").json
    with open(stage["staging_file"], "wb") as f:
        f.write(b"0123456789")
    done = lt.expect_status(env.node.http("POST", "/api/v1/upload/commit", auth=auth,
                                          body={"upload_id": stage["upload_id"], "checksum": digest}),
                            200, "commit declaring the checksum").json
    lt.check(done["checksum"] == digest, "declared-at-commit checksum %r" % done)
    resp = lt.expect_error(env.node.http("POST", "/api/v1/upload/stage", auth=auth,
                                         body={"name": "late.dat", "size": 10}), 409, "conflict",
                           "a taken name staged without a checksum")
    lt.check("stage with the checksum" in resp.json["message"], resp.json["message"])
    for body, what in [({"name": "x", "size": -1, "checksum": digest}, "negative size"),
                       ({"name": "x", "size": 1, "checksum": digest, "uploader": "eve"}, "uploader in body"),
                       ({"name": "x", "size": 1, "checksum": "md5:abc"}, "bad checksum"),
                       ({"name": "x", "size": 1, "checksum": digest, "deletion_policy": "maybe"}, "bad policy")]:
        lt.expect_error(env.node.http("POST", "/api/v1/upload/stage", auth=auth, body=body), 400,
                        "invalid_argument", what)
    lt.expect_error(env.node.http("POST", "/api/v1/upload/stage", auth=auth, body="not json"), 400,
                    "invalid_argument", "not JSON")
    env.check_invariants("after bad inputs")


def same_bytes(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        return x.read() == y.read()


def test_upload_each(env):
    lt.log("upload --each: every file of a tree its own file, staged and committed in bulk")
    base = env.local("each")
    local = {}
    for i in range(25):
        rel = "d%d/f%02d.dat" % (i % 3, i)
        local["each/" + rel] = env.local(os.path.join("each", rel), ("file %d " % i).encode() * (i + 1))
    # Larger than the pipelined-file limit: it travels with a ticket of its own.
    local["each/big.bin"] = env.local("each/big.bin", os.urandom(17 * 1024 * 1024))
    out = env.cli("upload", base, "each", "--each", "--batch", "10", json_out=True)
    lt.check(out["files"] == 26 and out["uploaded"] == 26 and out["failed"] == 0, "upload --each: %r" % out)
    files = {f["name"]: f for f in env.files()}
    for name, path in local.items():
        lt.check(name in files, "%s was not uploaded" % name)
        f = files[name]
        lt.check_eq(f["size"], os.path.getsize(path), "size of " + name)
        lt.check(same_bytes(path, f["instances"][0]["path"]), "the store's copy of %s differs" % name)
    valid = env.cli("validate-file", "each/big.bin", json_out=True)
    lt.check(valid["items"] and all(i["match"] for i in valid["items"]), "validate big.bin: %r" % valid)
    again = env.cli("upload", base, "each", "--each", json_out=True)
    lt.check(again["already_present"] == 26 and again["uploaded"] == 0, "identical re-upload --each: %r" % again)
    env.local("each/d1/f01.dat", b"changed")
    proc = env.cli("upload", base, "each", "--each", expect=1)
    lt.check("1 failed" in proc.stdout and "different file named 'each/d1/f01.dat'" in proc.stdout, proc.stdout)
    proc = env.cli("upload", local["each/big.bin"], "x", "--each", expect=EXIT["invalid_argument"])
    lt.check("not one" in proc.stderr, proc.stderr)
    env.check_invariants("after upload --each")


def test_import(env):
    lt.log("import-store-tree: files already under a store's path recorded, checksums computed")
    store = env.stores["main"][1]
    placed = {}
    for i in range(30):
        rel = "imported/%s/g%02d.dat" % ("ab"[i % 2], i)
        path = os.path.join(store, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(("imported %d\n" % i).encode() * (i + 3))
        placed[rel] = path
    env.cli("import-store-tree", "--store", "main", "--under", "imported", expect=EXIT["forbidden"])
    out = env.cli("import-store-tree", "--store", "main", "--under", "imported", "--files-per-call", "7",
                  conn="admin", json_out=True)
    lt.check(out["files_seen"] == 30 and out["imported"] == 30 and out["failed"] == 0, "import: %r" % out)
    files = {f["name"]: f for f in env.files()}
    for rel, path in placed.items():
        lt.check(rel in files, "%s was not imported" % rel)
        lt.check_eq(files[rel]["size"], os.path.getsize(path), "size of " + rel)
        lt.check_eq(files[rel]["instances"][0]["path"], path, "instance path of " + rel)
    valid = env.cli("validate-file", "imported/a/g00.dat", json_out=True)
    lt.check(valid["items"] and all(i["match"] for i in valid["items"]), "validate an imported file: %r" % valid)
    again = env.cli("import-store-tree", "--store", "main", "--under", "imported", conn="admin", json_out=True)
    lt.check(again["already_present"] == 30 and again["imported"] == 0, "import again: %r" % again)
    extra = os.path.join(store, "imported", "later.dat")
    with open(extra, "wb") as f:
        f.write(b"later")
    dry = env.cli("import-store-tree", "--store", "main", "--under", "imported", "--dry-run", conn="admin",
                  json_out=True)
    lt.check(dry["imported"] == 1 and dry["already_present"] == 30, "dry run: %r" % dry)
    lt.check("imported/later.dat" not in {f["name"] for f in env.files()}, "a dry run recorded a file")
    bad = os.path.join(store, "imported", "tab\there.dat")
    with open(bad, "wb") as f:
        f.write(b"x")
    proc = env.cli("import-store-tree", "--store", "main", "--under", "imported", conn="admin", expect=1)
    lt.check("1 failed" in proc.stdout and "control" in proc.stdout, proc.stdout)
    lt.check("imported/later.dat" in {f["name"] for f in env.files()}, "later.dat was not imported")
    os.remove(bad)
    env.cli("import-store-tree", "--store", "nope", conn="admin", expect=EXIT["not_found"])
    env.cli("import-store-tree", "--store", "main", "--under", "../x", conn="admin", expect=EXIT["invalid_argument"])
    env.check_invariants("after import")


def test_corruption_and_errors(env, uploaded):
    lt.log("validate-file finds corruption; search-errors and clear-error")
    path = uploaded["instances"][0]["path"]
    with open(path, "r+b") as f:
        f.write(b"CORRUPT")
    proc = env.cli("validate-file", "run1/obs1.dat", conn="readonly", expect=EXIT["checksum_mismatch"])
    lt.check("NO" in proc.stdout, proc.stdout)
    about = lambda errs: [e for e in errs if "'run1/obs1.dat'" in e["message"]]  # noqa: E731
    errors = about(env.cli("search-errors", "-c", "data_integrity", conn="admin", json_out=True)["errors"])
    lt.check_eq(len(errors), 1, "one data_integrity error")
    lt.check_eq(errors[0]["caller"], "validate-file", "raised by")
    env.cli("search-errors", conn="readonly", expect=EXIT["forbidden"])
    env.cli("clear-error", str(errors[0]["id"]), conn="admin")
    lt.check_eq(about(env.cli("search-errors", conn="admin", json_out=True)["errors"]), [], "cleared")
    lt.check_eq(len(about(env.cli("search-errors", "--include-resolved", conn="admin", json_out=True)["errors"])),
                1, "resolved still listed")
    env.cli("clear-error", "4242", conn="admin", expect=EXIT["not_found"])


def test_manifest(env):
    lt.log("get-store-manifest: the store's files; then retire the store")
    out = env.ws.path("manifest.json")
    env.cli("get-store-manifest", "--store", "small", "--output", out, conn="admin")
    with open(out) as f:
        manifest = json.load(f)
    lt.check_eq(manifest["store_name"], "small", "store")
    lt.check_eq(manifest["librarian_name"], "a", "librarian")
    lt.check_eq(sorted(e["name"] for e in manifest["store_files"]), ["integrity/bad", "integrity/gone"], "files")
    entry = [e for e in manifest["store_files"] if e["name"] == "integrity/bad"][0]
    lt.check(entry["checksum"].startswith("xxh3:::") and entry["size"] == 40, "entry %r" % entry)
    env.cli("get-store-manifest", "--store", "small", "--output", out, conn="admin", expect=EXIT["already_exists"])
    env.cli("get-store-manifest", "--store", "nope", conn="admin", expect=EXIT["not_found"])
    env.cli("get-store-manifest", "--store", "small", "--destination-librarian", "zz", conn="admin",
            expect=EXIT["not_found"])
    env.cli("get-store-manifest", "--store", "small", conn="readappend", expect=EXIT["forbidden"])
    retired = env.cli("get-store-manifest", "--store", "small", "--destination-librarian", "b", "--disable-store",
                      "--mark-instances-as-unavailable", conn="admin", json_out=True)
    lt.check_eq(retired["destination_librarian"], "b", "destination")
    stores = {s["name"]: s for s in env.cli("get-store-list", conn="admin", json_out=True)["stores"]}
    lt.check_eq(stores["small"]["enabled"], False, "store disabled")
    files = env.cli("search-files", "-n", "integrity/*", conn="readonly", json_out=True)["files"]
    lt.check(all(not i["available"] for f in files for i in f["instances"]), "instances unavailable: %r" % files)


def test_check_integrity(env):
    lt.log("check_integrity (store 'small', every second): corruption and missing bytes, once each")
    bad = env.cli("upload", env.local("i1.dat", b"i" * 40), "integrity/bad", "--store", "small", json_out=True)
    gone = env.cli("upload", env.local("i2.dat", b"j" * 40), "integrity/gone", "--store", "small", json_out=True)
    with open(bad["instances"][0]["path"], "r+b") as f:
        f.write(b"XX")
    os.remove(gone["instances"][0]["path"])

    def found(category, name):
        errs = env.cli("search-errors", "-c", category, conn="admin", json_out=True)["errors"]
        return [e for e in errs if e["caller"] == "check_integrity" and ("'%s'" % name) in e["message"]]
    lt.wait_until(lambda: found("data_integrity", "integrity/bad"), 20, "a data_integrity error")
    lt.wait_until(lambda: found("data_availability", "integrity/gone"), 20, "a data_availability error")
    lt.wait_until(lambda: not env.cli("search-files", "-n", "integrity/gone", conn="admin",
                                      json_out=True)["files"][0]["instances"][0]["available"], 10,
                  "the missing instance marked unavailable")
    time.sleep(2.5)  # two or three more passes
    lt.check_eq(len(found("data_integrity", "integrity/bad")), 1, "corruption recorded once")
    lt.check_eq(len(found("data_availability", "integrity/gone")), 1, "missing bytes recorded once")
    env.cli("download", "integrity/gone", env.ws.path("out", "gone"), conn="readonly", expect=EXIT["unavailable"])


def test_peers(env):
    lt.log("peers: add, ping (up and down), transfers on/off, remove")
    b = lt.start_node(env.ws, env.bin_dir, lt.node_config("b", env.ws.path("b-data")))
    env.cli("add-librarian", "--name", "b", "--url", "http://127.0.0.1", "--port", str(b.http_port),
            "--authenticator", "%s:%s" % lt.ADMIN, conn="admin")
    env.cli("add-librarian", "--name", "c", "--url", "http://127.0.0.1", "--port", str(lt.free_port()),
            "--authenticator", "x:y", "--do-not-check-connection", conn="admin")
    env.cli("add-librarian", "--name", "b", "--url", "http://127.0.0.1", "--port", "1",
            "--authenticator", "x:y", conn="admin", expect=EXIT["already_exists"])
    env.cli("add-librarian", "--name", "d", "--url", "ftp://h", "--port", "1", "--authenticator", "x:y",
            conn="admin", expect=EXIT["invalid_argument"])
    listed = {p["name"]: p for p in env.cli("get-librarian-list", conn="admin", json_out=True)["librarians"]}
    lt.check_eq(listed["b"]["ping"], "unknown", "no ping without --ping")
    pinged = {p["name"]: p for p in env.cli("get-librarian-list", "--ping", conn="admin", json_out=True)["librarians"]}
    lt.check_eq(pinged["b"]["ping"], "up", "b answers")
    lt.check(isinstance(pinged["b"]["rtt_ms"], (int, float)) and pinged["b"]["rtt_ms"] >= 0, "rtt %r" % pinged["b"])
    lt.check_eq(pinged["c"]["ping"], "down", "c does not answer")
    lt.check("ping_error" in pinged["c"], "c's error: %r" % pinged["c"])
    human = env.cli("get-librarian-list", "--ping", conn="admin").stdout
    lt.check(" ms)" in human and "DOWN" in human, human)
    b.stop()
    pinged = {p["name"]: p for p in env.cli("get-librarian-list", "--ping", conn="admin", json_out=True)["librarians"]}
    lt.check_eq(pinged["b"]["ping"], "down", "b stopped")
    env.cli("set-librarian-transfer", "--name", "b", "--disabled", conn="admin")
    listed = {p["name"]: p for p in env.cli("get-librarian-list", conn="admin", json_out=True)["librarians"]}
    lt.check_eq(listed["b"]["transfers_enabled"], False, "disabled")
    env.cli("set-librarian-transfer", "--name", "b", "--enabled", conn="admin")
    env.cli("set-librarian-transfer", "--name", "zz", "--enabled", conn="admin", expect=EXIT["not_found"])
    env.cli("set-librarian-transfer", "--name", "b", "--enabled", "--disabled", conn="admin", expect=1)
    env.cli("remove-librarian", "--name", "c", conn="admin")
    env.cli("remove-librarian", "--name", "c", conn="admin", expect=EXIT["not_found"])
    # Credentials are sealed at rest: the password never appears in the database files.
    secret = lt.ADMIN[1].encode()
    for dirpath, _, filenames in os.walk(os.path.join(env.ws.path("a-data"), "db")):
        for leaf in filenames:
            with open(os.path.join(dirpath, leaf), "rb") as f:
                lt.check(secret not in f.read(), "peer password in clear in %s" % leaf)


def transfer_script(env, *args, client_cfg=None, expect=0):
    argv = [lt.binary(env.bin_dir, "librarian-change-transfer-status"), "--config", env.node.config_path] + list(args)
    e = dict(os.environ, HL_CLIENT_CONFIG=client_cfg or env.client_cfg)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=e)
    lt.check(proc.returncode == expect, "%s: exit %d, expected %d\n%s%s" % (
        " ".join(args), proc.returncode, expect, proc.stdout, proc.stderr))
    return proc


def transfers_enabled(env, name):
    peers = {p["name"]: p for p in env.cli("get-librarian-list", conn="admin", json_out=True)["librarians"]}
    return peers[name]["transfers_enabled"]


def test_transfer_script(env):
    lt.log("librarian-change-transfer-status: node running, then stopped")
    proc = transfer_script(env, "--librarian", "b", "--disable", expect=EXIT["invalid_argument"])
    lt.check("several connections" in proc.stderr, proc.stderr)
    admins = lt.write_json(env.ws.path("admins.json"), {"connections": {"here": {
        "host": "localhost", "port": env.node.http_port, "user": lt.ADMIN[0], "password": lt.ADMIN[1]}}})
    os.chmod(admins, 0o600)
    proc = transfer_script(env, "--librarian", "b", "--disable", client_cfg=admins)
    lt.check("node is running" in proc.stdout, proc.stdout)
    lt.check_eq(transfers_enabled(env, "b"), False, "disabled through the API")
    proc = transfer_script(env, "--librarian", "b", "--enable", "--connection", "admin")
    lt.check_eq(transfers_enabled(env, "b"), True, "enabled through the API")
    readers = lt.write_json(env.ws.path("readers.json"), {"connections": {"r": {
        "host": lt.HOST, "port": env.node.http_port, "user": USERS["READONLY"][0], "password": USERS["READONLY"][1]}}})
    os.chmod(readers, 0o600)
    transfer_script(env, "--librarian", "b", "--disable", client_cfg=readers, expect=EXIT["forbidden"])
    none = lt.write_json(env.ws.path("none.json"), {"connections": {}})
    os.chmod(none, 0o600)
    proc = transfer_script(env, "--librarian", "b", "--disable", client_cfg=none, expect=EXIT["unauthenticated"])
    lt.check("node is running" in proc.stderr and "--connection" in proc.stderr, proc.stderr)
    transfer_script(env, "--librarian", "zz", "--disable", client_cfg=admins, expect=EXIT["not_found"])
    transfer_script(env, "--librarian", "b", expect=1)
    env.node.stop()
    proc = transfer_script(env, "--librarian", "b", "--disable", client_cfg=none)
    lt.check("node is stopped" in proc.stdout, proc.stdout)
    transfer_script(env, "--librarian", "zz", "--disable", expect=EXIT["not_found"])
    env.node.restart()
    env.node.wait_ready()
    lt.check_eq(transfers_enabled(env, "b"), False, "the offline change survived the restart")
    env.check_invariants("after the restart")


# (method, path, body or None, minimum role). Bodies name things that may or may not exist: a
# caller below the minimum must get the same 403 either way.
ENDPOINTS = [
    ("POST", "/api/v1/upload/stage", {"name": "rm/x", "size": 1, "checksum": "xxh3:::" + "0" * 32}, "READAPPEND"),
    ("POST", "/api/v1/upload/commit", {"upload_id": 1}, "READAPPEND"),
    ("POST", "/api/v1/upload/cancel", {"upload_id": 1}, "READAPPEND"),
    ("GET", "/api/v1/files/get?name=run1/obs1.dat", None, "READONLY"),
    ("GET", "/api/v1/files/instance?name=run1/obs1.dat", None, "READONLY"),
    ("POST", "/api/v1/files/search", {"name": "run1/*"}, "READONLY"),
    ("POST", "/api/v1/files/validate", {"name": "run2/a.txt"}, "READONLY"),
    ("POST", "/api/v1/errors/search", {}, "ADMIN"),
    ("POST", "/api/v1/errors/clear", {"id": 1}, "ADMIN"),
    ("GET", "/api/v1/admin/stores", None, "ADMIN"),
    ("POST", "/api/v1/admin/stores/state", {"store": "main", "enabled": True}, "ADMIN"),
    ("GET", "/api/v1/admin/librarians", None, "ADMIN"),
    ("POST", "/api/v1/admin/librarians/add", {"name": "rm", "url": "http://h", "port": 1, "authenticator": "a:b",
                                              "check_connection": False}, "ADMIN"),
    ("POST", "/api/v1/admin/librarians/transfer_status", {"name": "b", "transfers_enabled": False}, "ADMIN"),
    ("POST", "/api/v1/admin/librarians/remove", {"name": "rm"}, "ADMIN"),
    ("GET", "/api/v1/openapi.yaml", None, "READONLY"),
    ("POST", "/api/v1/admin/stores/manifest", {"store": "drive"}, "ADMIN"),
    ("POST", "/api/v1/upload/stage/bulk", {"files": [{"name": "rm/../x", "size": 1}]}, "READAPPEND"),
    ("POST", "/api/v1/upload/commit/bulk", {"uploads": [{"upload_id": 1, "checksum": ""}]}, "READAPPEND"),
    ("POST", "/api/v1/admin/stores/import", {"store": "nope"}, "ADMIN"),
]


def test_role_matrix(env):
    lt.log("role matrix over %d endpoints x %d roles" % (len(ENDPOINTS), len(ROLES) + 1))
    for method, path, body, need in ENDPOINTS:
        resp = env.node.http(method, path, auth=None, body=body)
        lt.expect_error(resp, 401, "unauthenticated", "%s %s without credentials" % (method, path))
        resp = env.node.http(method, path, auth=("u-readonly", "wrong-password"), body=body)
        lt.expect_error(resp, 401, "unauthenticated", "%s %s with a wrong password" % (method, path))
        for role in ROLES:
            resp = env.node.http(method, path, auth=USERS[role], body=body)
            allowed = ROLES.index(role) >= ROLES.index(need)
            if allowed:
                lt.check(resp.status not in (401, 403), "%s %s as %s: %s" % (method, path, role, resp))
                if path.endswith("/stage") and resp.status == 201:
                    lt.expect_status(env.node.http("POST", "/api/v1/upload/cancel", auth=USERS[role],
                                                   body={"upload_id": resp.json["upload_id"]}), 200, "cancel")
            else:
                lt.expect_error(resp, 403, "forbidden", "%s %s as %s" % (method, path, role))
                # Existing and missing names look the same to a caller without rights.
                lt.check("obs1" not in resp.text and "not_found" not in resp.text, resp.text)
    doc = lt.expect_status(env.node.http("GET", "/api/v1/openapi.yaml", auth=USERS["READONLY"]), 200, "openapi")
    lt.check(doc.text.startswith("openapi: 3") and "/api/v1/upload/stage:" in doc.text, doc.text[:200])
    # Remove what the ADMIN row of the matrix created, so the invariants stay exact.
    for f in env.files():
        lt.check(f["name"] != "rm/x", "a stage alone created a file")
    env.node.http("POST", "/api/v1/admin/stores/state", body={"store": "main", "enabled": True})
    env.node.http("POST", "/api/v1/admin/librarians/transfer_status", body={"name": "b", "transfers_enabled": True})


def main():
    args = lt.parse_args(__doc__)
    with lt.Workspace("librarian-it-cli-", keep=args.keep) as ws:
        env = Env(ws, args.bin_dir)
        uploaded = test_upload_search_download(env)
        test_bad_inputs(env)
        test_upload_each(env)
        test_import(env)
        test_peers(env)
        test_role_matrix(env)
        test_transfer_script(env)
        test_corruption_and_errors(env, uploaded)
        test_check_integrity(env)
        test_manifest(env)
        env.node.stop()
    lt.log("PASS")


if __name__ == "__main__":
    main()
