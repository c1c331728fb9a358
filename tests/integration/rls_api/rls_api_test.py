#!/usr/bin/env python3
"""The Local Replica Catalog over the HTTP API (/api/v1/rls/lrc) on one real node: create, add,
delete, rename, query by LFN and PFN, wildcard paging, exists and count; READONLY and READWRITE
roles; parameter and body validation; and `librarian rls ...` against the same node (when built)."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

READER = ("rory", "rory-password-1")
WRITER = ("wanda", "wanda-password-1")
LRC = "/api/v1/rls/lrc/"
# Names with '/', spaces, '&' and '=' must survive bodies and query strings untouched.
LFN = "lfn://exp/run 1/a&b=c.dat"
PFN1 = "gsiftp://site-a/data/run1/a.dat"
PFN2 = "file:///store/b/a.dat"


def get(node, what, params, auth=READER):
    return node.http("GET", LRC + what + "?" + urllib.parse.urlencode(params), auth=auth)


def post(node, what, body, auth=WRITER):
    return node.http("POST", LRC + what, body=body, auth=auth)


def test_mutations(node):
    lt.log("create / add / duplicates / missing LFN")
    resp = lt.expect_status(post(node, "create", {"lfn": LFN, "pfn": PFN1}), 201, "create")
    lt.check_eq(resp.json, {"lfn": LFN, "pfn": PFN1}, "create reply")
    lt.expect_status(post(node, "add", {"lfn": LFN, "pfn": PFN2}), 201, "add a second PFN")
    lt.expect_error(post(node, "create", {"lfn": LFN, "pfn": "x://other"}), 409, "already_exists",
                    "create of an existing LFN")
    lt.expect_error(post(node, "add", {"lfn": LFN, "pfn": PFN2}), 409, "already_exists",
                    "add of an existing mapping")
    resp = lt.expect_error(post(node, "add", {"lfn": "lfn://missing", "pfn": PFN1}), 404, "not_found",
                           "add to a missing LFN")
    lt.check("LFN_NEXIST" in resp.json["message"], "message lacks LFN_NEXIST: %r" % resp.json)
    lt.expect_error(post(node, "delete", {"lfn": LFN, "pfn": "x://never"}), 404, "not_found",
                    "delete of a missing mapping")


def test_queries(node):
    lt.log("query by lfn and pfn, exists")
    resp = lt.expect_status(get(node, "query", {"lfn": LFN}), 200, "query lfn").json
    lt.check_eq(resp, {"lfn": LFN, "pfns": sorted([PFN1, PFN2]), "more": False}, "query lfn reply")
    resp = lt.expect_status(get(node, "query", {"pfn": PFN1}), 200, "query pfn").json
    lt.check_eq(resp, {"pfn": PFN1, "lfns": [LFN], "more": False}, "query pfn reply")
    resp = lt.expect_status(get(node, "query", {"lfn": LFN, "reslimit": 1}), 200, "query reslimit=1").json
    lt.check_eq((len(resp["pfns"]), resp["more"]), (1, True), "query lfn page 1")
    resp = lt.expect_status(get(node, "query", {"lfn": LFN, "offset": 1, "reslimit": 1}), 200, "page 2").json
    lt.check_eq((len(resp["pfns"]), resp["more"]), (1, False), "query lfn page 2")
    lt.expect_error(get(node, "query", {"lfn": "lfn://missing"}), 404, "not_found", "query a missing LFN")
    lt.check_eq(get(node, "exists", {"lfn": LFN}).json, {"lfn": LFN, "exists": True}, "exists true")
    lt.check_eq(get(node, "exists", {"lfn": "lfn://missing"}).json, {"lfn": "lfn://missing", "exists": False},
                "exists false")


def test_wildcard(node):
    lt.log("wildcard with paging")
    for i in range(3):
        lt.expect_status(post(node, "create", {"lfn": "wild/f%d" % i, "pfn": "p://wild/%d" % i}), 201,
                         "create wild/f%d" % i)
    resp = lt.expect_status(get(node, "wildcard", {"lfn": "wild/*"}), 200, "wildcard").json
    lt.check_eq(resp["mappings"], [{"lfn": "wild/f%d" % i, "pfn": "p://wild/%d" % i} for i in range(3)],
                "wildcard mappings")
    lt.check_eq((resp["more"], resp["truncated"]), (False, False), "wildcard flags")
    seen, offset = [], 0
    while True:
        resp = lt.expect_status(get(node, "wildcard", {"lfn": "wild/f?", "offset": offset, "reslimit": 1}),
                                200, "wildcard page at %d" % offset).json
        lt.check_eq(len(resp["mappings"]), 1, "wildcard page size at %d" % offset)
        seen += resp["mappings"]
        offset += 1
        if not resp["more"]:
            break
        lt.check(offset < 10, "wildcard paging does not end")
    lt.check_eq([m["lfn"] for m in seen], ["wild/f0", "wild/f1", "wild/f2"], "paged wildcard")
    resp = lt.expect_status(get(node, "wildcard", {"lfn": "nomatch*"}), 200, "wildcard without match").json
    lt.check_eq(resp, {"mappings": [], "more": False, "truncated": False}, "empty wildcard")


def test_delete_rename_count(node):
    lt.log("delete / rename / count")
    counts = lt.expect_status(get(node, "count", {}), 200, "count").json
    lt.check_eq(counts, {"lfns": 4, "mappings": 5}, "count before")
    resp = lt.expect_status(post(node, "delete", {"lfn": LFN, "pfn": PFN2}), 200, "delete").json
    lt.check_eq(resp, {"lfn": LFN, "pfn": PFN2}, "delete reply")
    resp = lt.expect_status(post(node, "rename", {"lfn": LFN, "new_lfn": "lfn://renamed"}), 200, "rename").json
    lt.check_eq(resp, {"lfn": LFN, "new_lfn": "lfn://renamed"}, "rename reply")
    lt.check_eq(get(node, "exists", {"lfn": LFN}).json["exists"], False, "old LFN gone after rename")
    lt.check_eq(get(node, "query", {"lfn": "lfn://renamed"}).json["pfns"], [PFN1], "renamed LFN's PFNs")
    lt.expect_error(post(node, "rename", {"lfn": "lfn://renamed", "new_lfn": "wild/f0"}), 409, "already_exists",
                    "rename onto an existing LFN")
    lt.expect_error(post(node, "rename", {"lfn": "lfn://missing", "new_lfn": "lfn://x"}), 404, "not_found",
                    "rename of a missing LFN")
    # The LFN goes with its last PFN.
    lt.expect_status(post(node, "delete", {"lfn": "wild/f2", "pfn": "p://wild/2"}), 200, "delete last PFN")
    lt.check_eq(get(node, "exists", {"lfn": "wild/f2"}).json["exists"], False, "LFN gone with its last PFN")
    lt.check_eq(get(node, "count", {}).json, {"lfns": 3, "mappings": 3}, "count after")
    metrics = lt.expect_status(node.http("GET", "/metrics", auth=None), 200, "metrics").text
    lt.check_eq(lt.metric(metrics, "librarian_lrc_lfns"), 3.0, "librarian_lrc_lfns")
    lt.check_eq(lt.metric(metrics, "librarian_lrc_mappings"), 3.0, "librarian_lrc_mappings")


def test_roles(node):
    lt.log("roles: READONLY queries but may not write; no credentials is 401")
    lt.expect_error(post(node, "create", {"lfn": "ro/x", "pfn": "p://x"}, auth=READER), 403, "forbidden",
                    "READONLY create")
    for what in ("add", "delete"):
        lt.expect_error(post(node, what, {"lfn": "wild/f0", "pfn": "p://x"}, auth=READER), 403, "forbidden",
                        "READONLY %s" % what)
    lt.expect_error(post(node, "rename", {"lfn": "wild/f0", "new_lfn": "ro/y"}, auth=READER), 403, "forbidden",
                    "READONLY rename")
    lt.expect_status(get(node, "query", {"lfn": "wild/f0"}, auth=READER), 200, "READONLY query")
    lt.expect_status(get(node, "count", {}, auth=READER), 200, "READONLY count")
    lt.expect_error(get(node, "count", {}, auth=None), 401, "unauthenticated", "count without credentials")
    lt.expect_error(post(node, "create", {"lfn": "ro/x", "pfn": "p://x"}, auth=None), 401, "unauthenticated",
                    "create without credentials")
    lt.check_eq(get(node, "exists", {"lfn": "ro/x"}).json["exists"], False, "rejected create wrote nothing")


def test_bad_requests(node):
    lt.log("bad query parameters and bodies: 400 naming the parameter")
    cases = [
        ("query", {}, "lfn"),
        ("query", {"lfn": "a", "pfn": "b"}, "pfn"),
        ("query", {"lfn": "a", "offset": "x"}, "offset"),
        ("query", {"lfn": "a", "reslimit": "-1"}, "reslimit"),
        ("query", {"lfn": "a", "reslimit": "1.5"}, "reslimit"),
        ("query", {"lfn": "a", "colour": "red"}, "colour"),
        ("wildcard", {}, "lfn"),
        ("wildcard", {"lfn": "a*", "offset": ""}, "offset"),
        ("exists", {}, "lfn"),
        ("exists", {"lfn": "a", "pfn": "b"}, "pfn"),
        ("count", {"x": "1"}, "x"),
    ]
    for what, params, needle in cases:
        resp = lt.expect_error(get(node, what, params), 400, "invalid_argument", "GET %s %r" % (what, params))
        lt.check(needle in resp.json["message"], "GET %s %r: message %r does not name %r" % (
            what, params, resp.json["message"], needle))
    lt.expect_error(get(node, "query", {"lfn": "a", "reslimit": 10 ** 9}), 400, "invalid_argument",
                    "reslimit over the LRC's maximum (BADARG)")
    bodies = [
        ("create", {"lfn": "a"}, "pfn"),
        ("create", {"lfn": "a", "pfn": "b", "extra": 1}, "extra"),
        ("add", {"lfn": 5, "pfn": "b"}, "lfn"),
        ("rename", {"lfn": "a", "pfn": "b"}, "pfn"),
        ("delete", "[1, 2]", "object"),
        ("create", "{not json", "JSON"),
        ("create", {"lfn": "", "pfn": "b"}, "BADARG"),
    ]
    for what, body, needle in bodies:
        resp = lt.expect_error(post(node, what, body), 400, "invalid_argument", "POST %s %r" % (what, body))
        lt.check(needle in resp.json["message"], "POST %s %r: message %r lacks %r" % (
            what, body, resp.json["message"], needle))
    resp = node.http("GET", LRC + "create", auth=WRITER)
    lt.check_eq(resp.status, 405, "GET on a POST endpoint")


def test_cli(ws, bin_dir, node):
    cli = os.path.join(bin_dir, "librarian")
    if not os.access(cli, os.X_OK):
        lt.log("SKIPPING the CLI part: %s is not built" % cli)
        return
    lt.log("CLI: %s" % cli)
    cfg = lt.write_json(ws.path("client.json"), {"connections": {
        "w": {"host": lt.HOST, "port": node.http_port, "user": WRITER[0], "password": WRITER[1]},
        "r": {"host": lt.HOST, "port": node.http_port, "user": READER[0], "password": READER[1]},
    }})
    env = dict(os.environ, HL_CLIENT_CONFIG=cfg, HOME=ws.root)

    def cli_run(*argv):
        rc, out, err = lt.run_tool([cli] + list(argv), env=env, timeout=20)
        lt.log("librarian %s -> exit %d" % (" ".join(argv), rc))
        return rc, out, err

    rc, out, err = cli_run("rls", "create", "w", "cli/a", "p://cli/a1")
    lt.check_eq((rc, out), (0, "created cli/a p://cli/a1\n"), "rls create (stderr %r)" % err)
    rc, out, err = cli_run("rls", "add", "w", "cli/a", "p://cli/a2")
    lt.check_eq(rc, 0, "rls add (stderr %r)" % err)
    rc, out, err = cli_run("rls", "create", "w", "cli/a", "p://cli/a3")
    lt.check_eq(rc, 3, "rls create of an existing LFN: exit code (already_exists); stderr %r" % err)
    rc, out, err = cli_run("rls", "create", "r", "cli/b", "p://cli/b")
    lt.check_eq(rc, 6, "rls create as READONLY: exit code (forbidden); stderr %r" % err)
    rc, out, err = cli_run("rls", "query", "r", "lrc", "lfn", "cli/a")
    lt.check_eq((rc, out), (0, "p://cli/a1\np://cli/a2\n"), "rls query lrc lfn (stderr %r)" % err)
    rc, out, err = cli_run("rls", "query", "r", "lrc", "lfn", "cli/a", "--reslimit", "1")
    lt.check_eq((rc, out), (0, "p://cli/a1\n"), "rls query --reslimit 1")
    lt.check("--offset 1" in err, "rls query --reslimit 1: no paging note on stderr: %r" % err)
    rc, out, err = cli_run("rls", "query", "r", "lrc", "pfn", "p://cli/a2")
    lt.check_eq((rc, out), (0, "cli/a\n"), "rls query lrc pfn")
    rc, out, err = cli_run("rls", "query", "r", "wildcard", "lrc", "lfn", "cli/*")
    lt.check_eq((rc, out), (0, "cli/a p://cli/a1\ncli/a p://cli/a2\n"), "rls query wildcard lrc lfn")
    rc, out, err = cli_run("rls", "query", "r", "lrc", "lfn", "cli/none")
    lt.check_eq(rc, 2, "rls query of a missing LFN: exit code (not_found)")
    rc, out, err = cli_run("rls", "exists", "r", "lrc", "lfn", "cli/a")
    lt.check_eq((rc, out), (0, "LFN exists\n"), "rls exists (yes)")
    rc, out, err = cli_run("rls", "exists", "r", "lrc", "lfn", "cli/none")
    lt.check_eq((rc, out), (2, "LFN does not exist\n"), "rls exists (no)")
    rc, out, err = cli_run("--json", "rls", "exists", "r", "lrc", "lfn", "cli/none")
    lt.check_eq((rc, json.loads(out)), (2, {"lfn": "cli/none", "exists": False}), "rls exists --json (no)")
    rc, out, err = cli_run("rls", "query", "r", "lrc", "lfn", "cli/a", "--json")
    lt.check_eq((rc, json.loads(out)), (0, {"lfn": "cli/a", "pfns": ["p://cli/a1", "p://cli/a2"], "more": False}),
                "rls query --json")
    rc, out, err = cli_run("rls", "count", "r", "--json")
    lt.check(rc == 0 and set(json.loads(out)) == {"lfns", "mappings"}, "rls count --json: %d %r" % (rc, out))
    rc, out, err = cli_run("rls", "rename", "w", "lfn", "cli/a", "cli/b")
    lt.check_eq((rc, out), (0, "renamed cli/a cli/b\n"), "rls rename lfn (stderr %r)" % err)
    rc, out, err = cli_run("rls", "delete", "w", "cli/b", "p://cli/a1")
    lt.check_eq(rc, 0, "rls delete (stderr %r)" % err)
    for argv in (("rls", "query", "r", "lrc", "xfn", "a"), ("rls", "exists", "r", "rli", "lfn", "a"),
                 ("rls", "query", "r", "wildcard", "lrc", "pfn", "a*"), ("rls", "create", "w", "only-lfn"),
                 ("rls",), ("rls", "frobnicate", "w")):
        rc, out, err = cli_run(*argv)
        lt.check_eq(rc, 1, "%s: exit code (usage); stderr %r" % (" ".join(argv), err))


def test(args):
    with lt.Workspace("rls-api", keep=args.keep) as ws:
        cfg = lt.node_config("solo", ws.path("data"))
        node = lt.start_node(ws, args.bin_dir, cfg)
        for (name, pw), role in ((READER, "READONLY"), (WRITER, "READWRITE")):
            lt.expect_status(node.http("POST", "/api/v1/users", body={"name": name, "password": pw, "role": role}),
                             201, "create %s" % name)
        test_mutations(node)
        test_queries(node)
        test_wildcard(node)
        test_delete_rename_count(node)
        test_roles(node)
        test_bad_requests(node)
        test_cli(ws, args.bin_dir, node)
        node.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
