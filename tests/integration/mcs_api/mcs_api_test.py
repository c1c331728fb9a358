#!/usr/bin/env python3
"""The Metadata Catalog Service on one real node, driven by `librarian mcs CONN VERB ...`: create with
an attribute file, add/modify/delete attributes, typed conjunctive queries with --count, collections
(one per file, --recursive delete), views (no cycles), annotations, provenance, documents with
shredding, grants between users (an unreadable object looks missing), role checks over HTTP, bad input,
uploads described with their default attributes, and a restart that keeps everything."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-1")
READER = ("rory", "rory-password-1")
EXIT_NOT_FOUND, EXIT_ALREADY, EXIT_INVALID, EXIT_FORBIDDEN, EXIT_CONFLICT = 2, 3, 4, 6, 7


class Cli:
    def __init__(self, ws, bin_dir, node):
        self.exe = os.path.join(bin_dir, "librarian")
        lt.check(os.access(self.exe, os.X_OK), "the CLI %s is not built" % self.exe)
        cfg = lt.write_json(ws.path("client.json"), {"connections": {
            name: {"host": lt.HOST, "port": node.http_port, "user": user, "password": pw}
            for name, (user, pw) in (("a", ALICE), ("b", BOB), ("r", READER), ("root", lt.ADMIN))}})
        self.env = dict(os.environ, HL_CLIENT_CONFIG=cfg, HOME=ws.root)

    def run(self, *argv):
        rc, out, err = lt.run_tool([self.exe] + list(argv), env=self.env, timeout=30)
        shown = " ".join(a if len(a) <= 60 else a[:20] + "...(%d bytes)" % len(a) for a in argv)
        lt.log("librarian %s -> exit %d" % (shown, rc))
        return rc, out, err

    def ok(self, *argv):
        rc, out, err = self.run(*argv)
        lt.check_eq(rc, 0, "%s (stderr %r)" % (" ".join(argv), err))
        return out

    def fails(self, code, *argv):
        rc, out, err = self.run(*argv)
        lt.check_eq(rc, code, "%s: exit code; stderr %r" % (" ".join(argv), err))
        return err

    def lines(self, *argv):
        return sorted(l for l in self.ok(*argv).split("\n") if l)


def test_objects_and_attributes(ws, cli):
    lt.log("create with -f, add/modify/delete attributes, listattributes")
    attr_file = ws.path("attrs.txt")
    with open(attr_file, "w") as f:
        f.write("# field, calibration, when\nfield string X 1\ncalib int 3\nobserved date 2003-10-12\n")
    lt.check_eq(cli.ok("mcs", "create", "a", "-l", "obs/1.fits", "-f", attr_file), "created l obs/1.fits\n", "create")
    cli.ok("mcs", "create", "a", "l", "obs/2.fits")
    cli.ok("mcs", "add_att", "a", "l", "obs/2.fits", "field", "string", "X 1")
    cli.ok("mcs", "add_att", "a", "l", "obs/2.fits", "calib", "int", "2")
    cli.ok("mcs", "add_att", "a", "l", "obs/2.fits", "observed", "date", "2003-10-30")
    cli.ok("mcs", "modify_att", "a", "l", "obs/2.fits", "calib", "int", "3")
    attrs = cli.ok("mcs", "listattributes", "a", "l", "obs/2.fits")
    lt.check("calib int 3\n" in attrs and "field string X 1\n" in attrs, "listattributes: %r" % attrs)
    lt.check("creator string alice\n" in attrs, "predefined creator missing: %r" % attrs)
    blk = ws.path("blk.txt")
    with open(blk, "w") as f:
        f.write("quality float 0.75\nnote string to be removed\n")
    cli.ok("mcs", "add_blk", "a", "l", "obs/2.fits", "-f", blk)
    with open(blk, "w") as f:
        f.write("note\n")
    cli.ok("mcs", "delete_blk", "a", "l", "obs/2.fits", "-f", blk)
    attrs = cli.ok("mcs", "listattributes", "a", "l", "obs/2.fits")
    lt.check("quality float 0.75\n" in attrs and "note " not in attrs, "after the _blk verbs: %r" % attrs)
    out = json.loads(cli.ok("--json", "mcs", "listattributes", "a", "l", "obs/2.fits"))
    lt.check(any(a["name"] == "observed" and a["type"] == "date" for a in out["attributes"]), "--json: %r" % out)


def test_queries(cli):
    lt.log("queries: the seed's equality form, -w conjunctions, ranges, like, --count")
    for i in range(3, 13):
        cli.ok("mcs", "create", "a", "-l", "obs/%d.fits" % i)
        cli.ok("mcs", "add_att", "a", "l", "obs/%d.fits" % i, "calib", "int", str(i % 4))
        cli.ok("mcs", "add_att", "a", "l", "obs/%d.fits" % i, "observed", "date", "2003-%02d-01" % (1 + i % 12))
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "field", "string", "X 1"), ["obs/1.fits", "obs/2.fits"],
                "query l ATTR TYPE VALUE")
    got = cli.lines("mcs", "query", "a", "l", "-w", "calib = 3", "-w", "observed between 2003-10-01 2003-10-31")
    lt.check_eq(got, ["obs/1.fits", "obs/2.fits"], "calib = 3 and observed in October")
    got = cli.lines("mcs", "query", "a", "l", "-w", "calib >= 2", "-w", "observed < 2003-06-01")
    want = sorted("obs/%d.fits" % i for i in range(3, 13) if i % 4 >= 2 and 1 + i % 12 < 6)
    lt.check_eq(got, want, "calib >= 2 and observed before June")
    lt.check_eq(cli.ok("mcs", "query", "a", "l", "-w", "calib != 3", "--count", "--limit", "100"), "7\n",
                "--count of calib != 3")
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "field like X%"), ["obs/1.fits", "obs/2.fits"], "like X%")
    err = cli.fails(EXIT_INVALID, "mcs", "query", "a", "l", "-w", "field like %1")
    lt.check("limit" in err, "an unindexed like without a limit must ask for one: %r" % err)
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "field like %1", "--limit", "10"),
                ["obs/1.fits", "obs/2.fits"], "like %1 with a limit")
    out = json.loads(cli.ok("--json", "mcs", "query", "a", "l", "-w", "calib = 0", "--limit", "1"))
    lt.check_eq((len(out["items"]), out["more"]), (1, True), "paging with --limit 1")
    cli.fails(EXIT_INVALID, "mcs", "query", "a", "l", "-w", "calib = three")
    cli.fails(EXIT_NOT_FOUND, "mcs", "query", "a", "l", "-w", "nosuch = 1")
    cli.fails(EXIT_INVALID, "mcs", "query", "a", "l", "calib", "string", "3")


def test_collections_and_views(cli):
    lt.log("collections (a tree; one per file; --recursive) and views (no cycles)")
    for kind, name in (("-c", "run1"), ("-c", "run1/cal"), ("-c", "other"), ("-v", "october"), ("-v", "best")):
        cli.ok("mcs", "create", "a", kind, name)
    cli.ok("mcs", "add_coll", "a", "run1", "-c", "run1/cal")
    cli.ok("mcs", "add_coll", "a", "run1/cal", "-l", "obs/1.fits")
    cli.ok("mcs", "add_coll", "a", "run1", "-l", "obs/2.fits")
    cli.fails(EXIT_CONFLICT, "mcs", "add_coll", "a", "other", "-l", "obs/1.fits")
    cli.fails(EXIT_INVALID, "mcs", "add_coll", "a", "run1/cal", "-c", "run1")
    lt.check_eq(cli.lines("mcs", "list_coll", "a", "run1"), ["obs/2.fits", "run1/cal"], "list_coll")
    cli.ok("mcs", "add_view", "a", "october", "-l", "obs/1.fits")
    cli.ok("mcs", "add_view", "a", "october", "-c", "run1")
    cli.ok("mcs", "add_view", "a", "best", "-v", "october")
    cli.fails(EXIT_INVALID, "mcs", "add_view", "a", "october", "-v", "best")
    lt.check_eq(cli.lines("mcs", "list_view", "a", "october"), ["obs/1.fits", "run1"], "list_view")
    lt.check_eq(cli.lines("mcs", "list", "a", "v"), ["best", "october"], "list v")
    cli.fails(EXIT_CONFLICT, "mcs", "delete", "a", "c", "run1")
    cli.ok("mcs", "delete", "a", "c", "run1", "--recursive")
    cli.fails(EXIT_NOT_FOUND, "mcs", "listattributes", "a", "l", "obs/1.fits")
    lt.check_eq(cli.lines("mcs", "list_view", "a", "october"), [], "the view lost its deleted members")
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "calib = 3"),
                sorted("obs/%d.fits" % i for i in range(3, 13) if i % 4 == 3), "deleted files left the index")


def test_notes_and_documents(ws, cli):
    lt.log("annotate, provenance, store-doc --shred, get-doc, audit")
    cli.ok("mcs", "annotate", "a", "l", "obs/3.fits", "cloudy night")
    lt.check_eq(cli.ok("mcs", "annotate", "a", "l", "obs/3.fits"), "alice: cloudy night\n", "annotations")
    cli.ok("mcs", "provenance", "a", "l", "obs/4.fits", "stacked", "--from", "l:obs/3.fits", "--from", "l:obs/5.fits")
    prov = cli.ok("mcs", "provenance", "a", "l", "obs/4.fits")
    lt.check(prov.startswith("stacked\n") and "derived from l obs/3.fits" in prov, "provenance: %r" % prov)
    doc = ws.path("meta.json")
    with open(doc, "w") as f:
        json.dump({"instrument": "hera", "exposure": 30, "qa": {"seeing": 0.8}}, f)
    cli.ok("mcs", "store-doc", "a", "l", "obs/5.fits", doc, "--shred")
    lt.check_eq(json.loads(cli.ok("mcs", "get-doc", "a", "l", "obs/5.fits"))["instrument"], "hera", "get-doc")
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "qa.seeing < 1.0"), ["obs/5.fits"], "shredded attribute")
    bad = ws.path("bad.xml")
    with open(bad, "w") as f:
        f.write("<a><b></a>")
    cli.fails(EXIT_INVALID, "mcs", "store-doc", "a", "l", "obs/5.fits", bad)
    # --locate joins the catalog with the replica catalog (the same LFNs).
    cli.ok("rls", "create", "a", "obs/3.fits", "gsiftp://site-a/obs/3.fits")
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "calib = 3", "--locate"),
                ["obs/11.fits", "obs/3.fits gsiftp://site-a/obs/3.fits", "obs/7.fits"], "query --locate")
    audit = cli.ok("mcs", "audit", "a", "l", "obs/5.fits")
    lt.check("alice store_doc" in audit and "alice create" in audit, "audit: %r" % audit)


def test_permissions(cli):
    lt.log("grants: bob cannot see alice's objects until granted; only owners grant")
    err_hidden = cli.fails(EXIT_NOT_FOUND, "mcs", "listattributes", "b", "l", "obs/3.fits")
    err_missing = cli.fails(EXIT_NOT_FOUND, "mcs", "listattributes", "b", "l", "obs/none.fits")
    # The same words, apart from the name asked for and the request id.
    first = [e.split("\n")[0].split(" (request")[0] for e in (err_hidden, err_missing)]
    lt.check_eq(first[0].replace("obs/3.fits", "X"), first[1].replace("obs/none.fits", "X"),
                "hidden and missing look alike")
    lt.check_eq(cli.ok("mcs", "query", "b", "l", "-w", "calib >= 0", "--count"), "0\n", "bob counts nothing")
    cli.fails(EXIT_NOT_FOUND, "mcs", "grant", "b", "l", "obs/3.fits", "user:bob", "read")
    cli.ok("mcs", "grant", "a", "l", "obs/3.fits", "user:bob", "read")
    lt.check_eq(cli.lines("mcs", "query", "b", "l", "-w", "calib >= 0"), ["obs/3.fits"], "bob sees the granted file")
    cli.fails(EXIT_FORBIDDEN, "mcs", "modify_att", "b", "l", "obs/3.fits", "calib", "int", "9")
    cli.fails(EXIT_FORBIDDEN, "mcs", "grant", "b", "l", "obs/3.fits", "user:rory", "read")
    lt.check_eq(cli.ok("mcs", "acl", "a", "l", "obs/3.fits"), "user:bob read\n", "acl")
    cli.ok("mcs", "revoke", "a", "l", "obs/3.fits", "user:bob", "read")
    lt.check_eq(cli.lines("mcs", "query", "b", "l", "-w", "calib >= 0"), [], "revoked")
    cli.fails(EXIT_FORBIDDEN, "mcs", "grant", "a", "service", "anyone", "read")
    cli.ok("mcs", "grant", "root", "service", "anyone", "read")
    lt.check_eq(cli.ok("mcs", "query", "r", "l", "-w", "calib = 3", "--count"), "3\n", "service-wide read")
    # READONLY users cannot change anything, whatever the grants (the API's role check).
    cli.fails(EXIT_FORBIDDEN, "mcs", "create", "r", "-l", "rory.fits")
    cli.ok("mcs", "revoke", "root", "service", "anyone", "read")


def test_group_grants(cli, node):
    lt.log("group grants over HTTP: the catalog's own groups, changed by an admin")
    cli.ok("mcs", "grant", "a", "l", "obs/4.fits", "group:astro", "read")
    cli.fails(EXIT_NOT_FOUND, "mcs", "listattributes", "b", "l", "obs/4.fits")
    resp = node.http("POST", "/api/v1/mcs/group_add", auth=BOB, body={"user": "bob", "group": "astro"})
    lt.expect_error(resp, 403, "forbidden", "a user adding themself to a group")
    lt.expect_status(node.http("POST", "/api/v1/mcs/group_add", body={"user": "bob", "group": "astro"}),
                     200, "admin adds bob to astro")
    resp = lt.expect_status(node.http("POST", "/api/v1/mcs/groups", auth=BOB, body={}), 200, "bob's groups")
    lt.check_eq(resp.json["groups"], ["astro"], "bob's groups")
    lt.check("calib int" in cli.ok("mcs", "listattributes", "b", "l", "obs/4.fits"), "bob reads via astro")
    lt.check_eq(cli.lines("mcs", "query", "b", "l", "-w", "calib >= 0"), ["obs/4.fits"], "bob's query via astro")
    lt.expect_status(node.http("POST", "/api/v1/mcs/group_remove", body={"user": "bob", "group": "astro"}),
                     200, "admin removes bob from astro")
    cli.fails(EXIT_NOT_FOUND, "mcs", "listattributes", "b", "l", "obs/4.fits")
    cli.ok("mcs", "revoke", "a", "l", "obs/4.fits", "group:astro", "read")


def test_bad_input(ws, cli, node):
    lt.log("bad input: types, unknown attributes and objects, malformed files, unknown keys")
    cli.fails(EXIT_INVALID, "mcs", "add_att", "a", "l", "obs/3.fits", "calib", "int", "3.5")
    cli.fails(EXIT_INVALID, "mcs", "add_att", "a", "l", "obs/3.fits", "newdate", "date", "2003-02-30")
    cli.fails(EXIT_NOT_FOUND, "mcs", "modify_att", "a", "l", "obs/3.fits", "nosuch", "int", "1")
    cli.fails(EXIT_NOT_FOUND, "mcs", "add_att", "a", "l", "obs/nope.fits", "calib", "int", "1")
    cli.fails(EXIT_ALREADY, "mcs", "create", "a", "-l", "obs/3.fits")
    cli.fails(EXIT_INVALID, "mcs", "add_att", "a", "l", "obs/3.fits", "big", "string", "x" * 5000)
    bad = ws.path("bad-attrs.txt")
    with open(bad, "w") as f:
        f.write("ok int 1\nbroken-line-without-value\n")
    cli.fails(1, "mcs", "create", "a", "-l", "new.fits", "-f", bad)
    cli.fails(EXIT_NOT_FOUND, "mcs", "listattributes", "a", "l", "new.fits")
    for argv in (("mcs",), ("mcs", "create", "a"), ("mcs", "create", "a", "-l", "x", "-c", "y"),
                 ("mcs", "query", "a", "q"), ("mcs", "grant", "a", "l", "x", "read")):
        cli.fails(1, *argv)
    resp = node.http("POST", "/api/v1/mcs/create", auth=ALICE, body={"kind": "l", "name": "x", "color": "red"})
    lt.expect_error(resp, 400, "invalid_argument", "an unknown key in the body")
    resp = node.http("POST", "/api/v1/mcs/frobnicate", auth=ALICE, body={})
    lt.expect_error(resp, 404, "not_found", "an unknown verb")
    resp = node.http("POST", "/api/v1/mcs/list", auth=None, body={"kind": "l"})
    lt.expect_status(resp, 401, "no credentials")


def test_upload_defaults(ws, cli):
    lt.log("an uploaded file is described in the catalog with its default attributes")
    src = ws.path("uploaded.dat")
    with open(src, "wb") as f:
        f.write(b"seen by the telescope\n" * 100)
    cli.ok("upload", "a", src, "obs/uploaded.dat")

    def described():
        rc, out, _ = cli.run("mcs", "listattributes", "a", "l", "obs/uploaded.dat")
        return out if rc == 0 and "create_time datetime" in out else None
    lt.wait_until(described, 10, "the upload's attributes in the catalog")
    attrs = described()
    for line in ("size int 2200\n", "uploader string alice\n", "creator string alice\n"):
        lt.check(line in attrs, "%r in listattributes: %r" % (line, attrs))
    lt.check("checksum string xxh3:::" in attrs, "checksum in listattributes: %r" % attrs)
    # Queryable like any attribute; others cannot see it without a grant.
    lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "size = 2200"), ["obs/uploaded.dat"], "query size")
    lt.check_eq(cli.lines("mcs", "query", "b", "l", "-w", "size = 2200"), [], "bob sees nothing")
    # A file described before its upload keeps its own attributes and gains the upload's.
    cli.ok("mcs", "create", "a", "-l", "obs/pre.dat")
    cli.ok("mcs", "add_att", "a", "l", "obs/pre.dat", "night", "int", "7")
    cli.ok("upload", "a", src, "obs/pre.dat")
    lt.wait_until(lambda: "size int 2200\n" in cli.ok("mcs", "listattributes", "a", "l", "obs/pre.dat"),
                  10, "the upload's attributes on a described file")
    lt.check("night int 7\n" in cli.ok("mcs", "listattributes", "a", "l", "obs/pre.dat"), "night kept")


def test_console(bin_dir, node):
    lt.log("console: mcs call / mcs admin inject the same verbs")
    script = "\n".join([
        'set timeout 5s',
        'ask mcs admin create "{\\"kind\\":\\"v\\",\\"name\\":\\"console-view\\"}" => ok',
        'ask mcs call alice list "{\\"kind\\":\\"v\\"}" => contains "october"',
        'ask mcs call bob list "{\\"kind\\":\\"v\\"}" => contains "\\"items\\":[]"',
        'ask mcs call alice query "{\\"kind\\":\\"l\\"}" => error invalid_argument',
        ''])
    argv = [lt.binary(bin_dir, "librarian-console"), "--connect", "%s:%d" % (lt.HOST, node.cluster_port),
            "--script", "-"]
    rc, out, err = lt.run_tool(argv, stdin_text=script, timeout=25)
    lt.check_eq(rc, 0, "console script (stdout %r, stderr %r)" % (out, err))


def test(args):
    with lt.Workspace("mcs-api", keep=args.keep) as ws:
        cfg = lt.node_config("solo", ws.path("data"), mcs={"enabled": True})
        cfg["stores"] = [{"name": "main", "staging_path": ws.path("staging"), "store_path": ws.path("store"),
                          "capacity_bytes": 1 << 30}]
        node = lt.start_node(ws, args.bin_dir, cfg)
        for (name, pw), role in ((ALICE, "READWRITE"), (BOB, "READWRITE"), (READER, "READONLY")):
            lt.expect_status(node.http("POST", "/api/v1/users", body={"name": name, "password": pw, "role": role}),
                             201, "create %s" % name)
        cli = Cli(ws, args.bin_dir, node)
        test_objects_and_attributes(ws, cli)
        test_queries(cli)
        test_collections_and_views(cli)
        test_notes_and_documents(ws, cli)
        test_permissions(cli)
        test_group_grants(cli, node)
        test_bad_input(ws, cli, node)
        test_upload_defaults(ws, cli)
        test_console(args.bin_dir, node)
        lt.log("restart: everything committed is still there")
        node.stop(timeout=10, expect_code=0)
        node.restart()
        node.wait_ready()
        lt.check_eq(cli.lines("mcs", "query", "a", "l", "-w", "qa.seeing < 1.0"), ["obs/5.fits"], "after restart")
        lt.check_eq(cli.ok("mcs", "query", "a", "l", "-w", "calib >= 0", "--count"), "10\n", "count after restart")
        node.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
