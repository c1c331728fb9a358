#!/usr/bin/env python3
"""The Replica Location Index over the HTTP API (/api/v1/rls/rli): a node that is its own RLI
(its LRC updates it every 300 ms) answers which LRCs hold an LFN and which LRCs it knows; 404
LFN_NEXIST for an unknown LFN; READONLY may query, no credentials is 401; parameter validation;
a node without an RLI answers 404 saying so; and `librarian rls query CONN rli lfn LFN` /
`librarian rls lrcs CONN` (when built)."""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

READER = ("rory", "rory-password-1")
WRITER = ("wanda", "wanda-password-1")
RLI = "/api/v1/rls/rli/"
LFN1 = "lfn://exp/run 1/a&b=c.dat"
LFN2 = "lfn://exp/run1/b.dat"


def get(node, what, params, auth=READER):
    query = "?" + urllib.parse.urlencode(params) if params else ""
    return node.http("GET", RLI + what + query, auth=auth)


def add_users(node):
    for (name, pw), role in ((READER, "READONLY"), (WRITER, "READWRITE")):
        lt.expect_status(node.http("POST", "/api/v1/users", body={"name": name, "password": pw, "role": role}),
                         201, "create %s on %s" % (name, node.name_))


def wait_indexed(node, lfn, deadline_s=10.0):
    """Polls the RLI until it lists the LRC for lfn (the LRC sends its list every 300 ms)."""
    deadline = time.monotonic() + deadline_s
    while True:
        resp = get(node, "query", {"lfn": lfn})
        if resp.status == 200:
            return resp.json
        lt.check(resp.status == 404 and "LFN_NEXIST" in resp.json.get("message", ""),
                 "RLI query while waiting: %d %r" % (resp.status, resp.json))
        lt.check(time.monotonic() < deadline, "the RLI did not index %r within %.0f s" % (lfn, deadline_s))
        time.sleep(0.1)


def test_queries(node):
    lt.log("create two LFNs in the LRC; wait for the RLI to index them")
    for lfn, pfn in ((LFN1, "gsiftp://site/a"), (LFN2, "file:///store/b")):
        lt.expect_status(node.http("POST", "/api/v1/rls/lrc/create", body={"lfn": lfn, "pfn": pfn}, auth=WRITER),
                         201, "create %s" % lfn)
    for lfn in (LFN1, LFN2):
        lt.check_eq(wait_indexed(node, lfn), {"lfn": lfn, "lrcs": [{"name": "solo", "maybe": False}]},
                    "RLI query %s" % lfn)
    resp = lt.expect_error(get(node, "query", {"lfn": "lfn://missing"}), 404, "not_found", "RLI query unknown LFN")
    lt.check("LFN_NEXIST" in resp.json["message"], "message lacks LFN_NEXIST: %r" % resp.json)

    lt.log("lrcs")
    resp = lt.expect_status(get(node, "lrcs", {}), 200, "RLI lrcs").json
    lt.check_eq(resp, {"lrcs": [{"name": "solo", "lfns": 2, "mode": "list", "stale": False}]}, "RLI lrcs reply")

    lt.log("statistics")
    stats = lt.expect_status(get(node, "stats", {}), 200, "RLI stats").json
    lt.check(stats["received"] > 0 and stats["forward_to"] == [], "RLI stats: %r" % stats)
    targets = lt.expect_status(node.http("GET", "/api/v1/rls/lrc/targets", auth=READER), 200,
                               "LRC targets").json["targets"]
    lt.check(len(targets) == 1 and targets[0]["name"] == "solo" and targets[0]["mode"] == "list"
             and targets[0]["full_lists"] > 0 and targets[0]["interval_ms"] == 300,
             "LRC targets: %r" % targets)
    lt.expect_error(node.http("GET", "/api/v1/rls/lrc/targets", auth=None), 401, "unauthenticated",
                    "targets without credentials")


def test_roles_and_params(node):
    lt.log("roles and parameters")
    lt.expect_status(get(node, "query", {"lfn": LFN1}, auth=READER), 200, "READONLY query")
    lt.expect_status(get(node, "lrcs", {}, auth=READER), 200, "READONLY lrcs")
    lt.expect_error(get(node, "query", {"lfn": LFN1}, auth=None), 401, "unauthenticated", "query without credentials")
    lt.expect_error(get(node, "lrcs", {}, auth=None), 401, "unauthenticated", "lrcs without credentials")
    for what, params, needle in (("query", {}, "lfn"), ("query", {"lfn": "a", "pfn": "b"}, "pfn"),
                                 ("query", {"lfn": "a", "offset": "0"}, "offset"), ("lrcs", {"x": "1"}, "x")):
        resp = lt.expect_error(get(node, what, params), 400, "invalid_argument", "GET %s %r" % (what, params))
        lt.check(needle in resp.json["message"], "GET %s %r: message %r does not name %r" % (
            what, params, resp.json["message"], needle))
    resp = node.http("POST", RLI + "query", body={"lfn": "a"}, auth=WRITER)
    lt.check_eq(resp.status, 405, "POST on a GET endpoint")


def test_no_rli(node):
    lt.log("a node without an RLI: 404 saying so")
    for what, params in (("query", {"lfn": LFN1}), ("lrcs", {})):
        resp = lt.expect_error(get(node, what, params), 404, "not_found", "GET %s on a node without RLI" % what)
        lt.log("  %s -> %s" % (what, resp.json["message"]))
        lt.check("runs no RLI" in resp.json["message"] and "LFN_NEXIST" not in resp.json["message"],
                 "GET %s: message does not say the node runs no RLI: %r" % (what, resp.json["message"]))
    lt.expect_error(get(node, "query", {"lfn": LFN1}, auth=None), 401, "unauthenticated",
                    "no credentials on a node without RLI")


def test_cli(ws, bin_dir, node, plain):
    cli = os.path.join(bin_dir, "librarian")
    if not os.access(cli, os.X_OK):
        lt.log("SKIPPING the CLI part: %s is not built" % cli)
        return
    lt.log("CLI: %s" % cli)
    cfg = lt.write_json(ws.path("client.json"), {"connections": {
        "r": {"host": lt.HOST, "port": node.http_port, "user": READER[0], "password": READER[1]},
        "plain": {"host": lt.HOST, "port": plain.http_port, "user": READER[0], "password": READER[1]},
    }})
    env = dict(os.environ, HL_CLIENT_CONFIG=cfg, HOME=ws.root)

    def cli_run(*argv):
        rc, out, err = lt.run_tool([cli] + list(argv), env=env, timeout=20)
        lt.log("librarian %s -> exit %d" % (" ".join(argv), rc))
        return rc, out, err

    rc, out, err = cli_run("rls", "query", "r", "rli", "lfn", LFN1)
    lt.check_eq((rc, out), (0, "solo\n"), "rls query rli lfn (stderr %r)" % err)
    rc, out, err = cli_run("rls", "query", "r", "rli", "lfn", "lfn://missing")
    lt.check_eq(rc, 2, "rls query rli lfn of an unknown LFN: exit code (not_found); stderr %r" % err)
    lt.check("LFN_NEXIST" in err, "rls query rli lfn unknown: stderr %r" % err)
    rc, out, err = cli_run("--json", "rls", "query", "r", "rli", "lfn", LFN2)
    lt.check_eq((rc, json.loads(out)), (0, {"lfn": LFN2, "lrcs": [{"name": "solo", "maybe": False}]}),
                "rls query rli --json")
    rc, out, err = cli_run("rls", "lrcs", "r")
    lt.check_eq((rc, out), (0, "solo lfns=2 mode=list\n"), "rls lrcs (stderr %r)" % err)
    rc, out, err = cli_run("rls", "query", "plain", "rli", "lfn", LFN1)
    lt.check_eq(rc, 2, "rls query rli on a node without RLI: exit code (not_found)")
    lt.check("runs no RLI" in err, "rls query rli on a node without RLI: stderr %r" % err)
    for argv in (("rls", "query", "r", "rli", "pfn", "a"), ("rls", "query", "r", "rli", "lfn"),
                 ("rls", "lrcs"), ("rls", "query", "r", "rli", "lfn", LFN1, "--reslimit", "1")):
        rc, out, err = cli_run(*argv)
        lt.check_eq(rc, 1, "%s: exit code (usage); stderr %r" % (" ".join(argv), err))


def test(args):
    with lt.Workspace("rli-api", keep=args.keep) as ws:
        cfg = lt.node_config("solo", ws.path("data-solo"),
                             rls={"rli": True, "update_rlis": [{"name": "solo", "interval_ms": 300}]})
        node = lt.start_node(ws, args.bin_dir, cfg)
        plain_cfg = lt.node_config("plain", ws.path("data-plain"))
        plain = lt.start_node(ws, args.bin_dir, plain_cfg)
        add_users(node)
        add_users(plain)
        test_queries(node)
        test_roles_and_params(node)
        test_no_rli(plain)
        test_cli(ws, args.bin_dir, node, plain)
        plain.stop(timeout=10, expect_code=0)
        node.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
