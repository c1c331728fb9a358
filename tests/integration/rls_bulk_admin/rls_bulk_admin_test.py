#!/usr/bin/env python3
"""Bulk mappings and rls-admin on one real node that is its own RLI: bulk create / add / delete of
1,000 mappings per request with per-item results (a bad item fails alone); bulk LRC and RLI
queries; the item bound (400) and the body bound (413); roles (READWRITE for bulk mutations,
ADMIN for targets and clear); rls-admin ping, config, adding and deleting an RLI target (stored
across a restart), clear; and `librarian rls bulk ...` / `librarian rls-admin ...` (when built)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

READER = ("rory", "rory-password-1")
WRITER = ("wanda", "wanda-password-1")
BULK = "/api/v1/rls/lrc/bulk/"
N = 1000


def lfn(i):
    return "lfn://bulk/run %d/f-%d.dat" % (i // 100, i)


def pfn(i, site="a"):
    return "gsiftp://site-%s/store/f-%d.dat" % (site, i)


def post(node, path, body, auth=WRITER):
    return node.http("POST", path, body=body, auth=auth, timeout=30)


def results_of(resp, what):
    lt.expect_status(resp, 200, what)
    return resp.json["results"]


def test_bulk_mutations(node):
    lt.log("bulk create of %d mappings, four of them bad" % N)
    items = [{"lfn": lfn(i), "pfn": pfn(i)} for i in range(N)]
    items[10] = {"lfn": lfn(5), "pfn": "p://dup"}  # LFN created earlier in the same request
    items[20] = {"lfn": lfn(20)}  # malformed: no pfn
    # A duplicate of an item far before it, and a malformed item late in the request: every
    # result stays in its place.
    items[900] = {"lfn": lfn(30), "pfn": "p://dup-far"}
    items[950] = {"lfn": lfn(950), "pfn": 7}
    resp = post(node, BULK + "create", {"mappings": items})
    res = results_of(resp, "bulk create")
    bad = {10, 20, 900, 950}
    lt.check_eq((len(res), resp.json["succeeded"], resp.json["failed"]), (N, N - 4, 4), "bulk create counts")
    lt.check_eq((res[10]["ok"], res[10]["error"]), (False, "already_exists"), "duplicate item's result")
    lt.check("LFN_EXIST" in res[10]["message"], "duplicate item's message: %r" % res[10])
    lt.check_eq((res[900]["ok"], res[900]["error"], res[900]["lfn"]), (False, "already_exists", lfn(30)),
                "far duplicate's result")
    lt.check_eq((res[20]["ok"], res[20]["error"], res[20]["lfn"]), (False, "invalid_argument", lfn(20)),
                "malformed item's result")
    lt.check_eq((res[950]["ok"], res[950]["error"], res[950]["pfn"]), (False, "invalid_argument", 7),
                "late malformed item's result")
    wrong = [i for i in range(N) if i not in bad and res[i] != {"lfn": lfn(i), "pfn": pfn(i), "ok": True}]
    lt.check_eq(wrong, [], "good items' results, each in its place")
    counts = node.http("GET", "/api/v1/rls/lrc/count", auth=READER).json
    lt.check_eq(counts, {"lfns": N - 4, "mappings": N - 4}, "count after bulk create")

    lt.log("bulk add: second PFNs, one to a missing LFN")
    adds = [{"lfn": lfn(i), "pfn": pfn(i, "b")} for i in range(100)]
    adds.append({"lfn": "lfn://missing", "pfn": "p://x"})
    resp = post(node, BULK + "add", {"mappings": adds})
    res = results_of(resp, "bulk add")
    lt.check_eq((resp.json["succeeded"], resp.json["failed"]), (98, 3),
                "bulk add counts (LFNs 10 and 20 were never created, and the missing one)")
    lt.check_eq(res[-1]["error"], "not_found", "bulk add to a missing LFN")

    lt.log("bulk query lrc lfn")
    lfns = [lfn(0), lfn(150), "lfn://missing", 7, ""]
    resp = post(node, BULK + "query", {"lfns": lfns}, auth=READER)
    res = results_of(resp, "bulk query")
    lt.check_eq(res[0], {"lfn": lfn(0), "ok": True, "pfns": sorted([pfn(0), pfn(0, "b")]), "more": False},
                "bulk query of an LFN with two PFNs")
    lt.check_eq(res[1]["pfns"], [pfn(150)], "bulk query of an LFN with one PFN")
    lt.check_eq((res[2]["ok"], res[2]["error"]), (False, "not_found"), "bulk query of a missing LFN")
    lt.check_eq((res[3]["ok"], res[3]["error"]), (False, "invalid_argument"), "bulk query of a non-string")
    lt.check_eq((res[4]["ok"], res[4]["error"]), (False, "invalid_argument"), "bulk query of an empty LFN")
    resp = post(node, BULK + "query", {"lfns": [lfn(0)], "reslimit": 1}, auth=READER)
    lt.check_eq((results_of(resp, "bulk query reslimit")[0]["pfns"], resp.json["results"][0]["more"]),
                ([pfn(0)], True), "bulk query with reslimit 1")

    lt.log("a large bulk query (its answer written in runs side by side) keeps each result in place")
    never = {10, 20, 900, 950}  # LFNs the bulk create above refused

    def expected(i):
        if i in never:
            return (False, "not_found")
        pfns = sorted([pfn(i), pfn(i, "b")]) if i < 100 else [pfn(i)]
        return {"lfn": lfn(i), "ok": True, "pfns": pfns, "more": False}

    def got(r):
        return r if r["ok"] else (r["ok"], r["error"])

    # All strings (the plain body), then with bad items spread over the runs (the JSON body).
    plain = [lfn(i) for i in range(N)]
    res = results_of(post(node, BULK + "query", {"lfns": plain}, auth=READER), "large plain bulk query")
    wrong = [i for i in range(N) if got(res[i]) != expected(i)]
    lt.check_eq((len(res), wrong), (N, []), "large plain bulk query: every result in its place")
    mixed = list(plain)
    mixed[3], mixed[400], mixed[777] = 7, "", "lfn://missing-777"
    resp = post(node, BULK + "query", {"lfns": mixed}, auth=READER)
    res = results_of(resp, "large mixed bulk query")
    bad = {3: (False, "invalid_argument"), 400: (False, "invalid_argument"), 777: (False, "not_found")}
    wrong = [i for i in range(N) if got(res[i]) != bad.get(i, expected(i))]
    lt.check_eq((len(res), wrong), (N, []), "large mixed bulk query: every result in its place")
    lt.check_eq((resp.json["succeeded"], resp.json["failed"]), (N - 7, 7), "large mixed bulk query counts")

    lt.log("bulk results carry names that need JSON escapes intact")
    odd = {"lfn": 'lfn://odd/"quoted"\\back\tslash/\u00e9t\u00e9', "pfn": "file:///\u2603"}
    res = results_of(post(node, BULK + "create", {"mappings": [odd]}), "bulk create of an odd name")
    lt.check_eq(res, [dict(odd, ok=True)], "odd name's create result")
    res = results_of(post(node, BULK + "query", {"lfns": [odd["lfn"]]}, auth=READER), "bulk query of it")
    lt.check_eq(res, [{"lfn": odd["lfn"], "ok": True, "pfns": [odd["pfn"]], "more": False}], "odd name's query")
    res = results_of(post(node, BULK + "delete", {"mappings": [odd]}), "bulk delete of it")
    lt.check_eq(res[0]["ok"], True, "odd name's delete")

    lt.log("bulk delete: the second PFNs and a missing mapping")
    dels = [{"lfn": lfn(i), "pfn": pfn(i, "b")} for i in range(100) if i not in (10, 20)]
    dels.append({"lfn": lfn(1), "pfn": "p://never"})
    resp = post(node, BULK + "delete", {"mappings": dels})
    res = results_of(resp, "bulk delete")
    lt.check_eq((resp.json["succeeded"], resp.json["failed"]), (98, 1), "bulk delete counts")
    lt.check("MAPPING_NEXIST" in res[-1]["message"], "missing mapping's message: %r" % res[-1])
    counts = node.http("GET", "/api/v1/rls/lrc/count", auth=READER).json
    lt.check_eq(counts, {"lfns": N - 4, "mappings": N - 4}, "count after bulk delete")


def test_bulk_bounds_and_roles(node):
    lt.log("bounds: more than 10,000 items is 400; a body over http.body_max_bytes is 413")
    too_many = [{"lfn": "x%d" % i, "pfn": "p"} for i in range(10001)]
    resp = lt.expect_error(post(node, BULK + "create", {"mappings": too_many}), 400, "invalid_argument",
                           "bulk create of 10,001 items")
    lt.check("at most 10000" in resp.json["message"], "message: %r" % resp.json)
    huge = [{"lfn": "h/%d/" % i + "x" * 4000, "pfn": "p"} for i in range(300)]  # ~1.2 MB
    resp = post(node, BULK + "create", {"mappings": huge})
    lt.check_eq(resp.status, 413, "an oversized bulk body")
    lt.check_eq(node.http("GET", "/api/v1/rls/lrc/count", auth=READER).json["lfns"], N - 4,
                "refused requests wrote nothing")
    for body, needle in (({"mappings": "x"}, "array"), ({}, "mappings"), ({"mappings": [], "x": 1}, "x")):
        resp = lt.expect_error(post(node, BULK + "add", body), 400, "invalid_argument", "bulk add %r" % body)
        lt.check(needle in resp.json["message"], "message %r lacks %r" % (resp.json, needle))
    resp = lt.expect_status(post(node, BULK + "add", {"mappings": []}), 200, "an empty bulk add")
    lt.check_eq(resp.json, {"results": [], "succeeded": 0, "failed": 0}, "empty bulk add reply")
    lt.log("roles: READONLY may bulk-query, not bulk-create")
    lt.expect_error(post(node, BULK + "create", {"mappings": [{"lfn": "ro", "pfn": "p"}]}, auth=READER), 403,
                    "forbidden", "READONLY bulk create")
    lt.expect_error(post(node, BULK + "query", {"lfns": ["ro"]}, auth=None), 401, "unauthenticated",
                    "bulk query without credentials")


def test_rli_bulk(node):
    lt.log("bulk query rli lfn (the node's LRC updates its own RLI every 300 ms)")
    deadline = time.monotonic() + 15
    while True:
        resp = post(node, "/api/v1/rls/rli/bulk/query", {"lfns": [lfn(0), lfn(999), "lfn://missing", 3]},
                    auth=READER)
        res = results_of(resp, "RLI bulk query")
        if res[0]["ok"] and res[1]["ok"]:
            break
        lt.check(time.monotonic() < deadline, "the RLI did not index the bulk-created LFNs: %r" % res[:2])
        time.sleep(0.2)
    lt.check_eq(res[0], {"lfn": lfn(0), "ok": True, "lrcs": [{"name": "solo", "maybe": False}]},
                "RLI bulk query hit")
    lt.check_eq((res[2]["ok"], res[2]["error"]), (False, "not_found"), "RLI bulk query of an unknown LFN")
    lt.check_eq((res[3]["ok"], res[3]["error"]), (False, "invalid_argument"), "RLI bulk query of a number")


def targets(node):
    resp = lt.expect_status(node.http("GET", "/api/v1/rls/lrc/targets", auth=READER), 200, "targets")
    return sorted((t["name"], t["mode"]) for t in resp.json["targets"])


def test_admin(node):
    lt.log("rls-admin: ping, config")
    resp = lt.expect_status(node.http("GET", "/api/v1/rls/ping", auth=READER), 200, "ping").json
    lt.check_eq((resp["node"], resp["lrc"], resp["rli"]), ("solo", "up", "up"), "ping reply")
    cfg = lt.expect_status(node.http("GET", "/api/v1/rls/config", auth=READER), 200, "config").json
    lt.check_eq((cfg["rli"], [t["name"] for t in cfg["update_rlis"]]), (True, ["solo"]), "config reply")

    lt.log("rls-admin: add / delete an RLI target (ADMIN)")
    add = {"name": "ghost", "mode": "bloom", "interval_ms": 60000, "patterns": ["lfn://bulk/*"]}
    lt.expect_error(node.http("POST", "/api/v1/rls/lrc/targets", body=add, auth=WRITER), 403, "forbidden",
                    "READWRITE may not add a target")
    resp = lt.expect_status(node.http("POST", "/api/v1/rls/lrc/targets", body=add), 201, "add ghost")
    lt.check_eq(sorted((t["name"], t["mode"]) for t in resp.json["targets"]),
                [("ghost", "bloom"), ("solo", "list")], "targets after add")
    lt.expect_error(node.http("POST", "/api/v1/rls/lrc/targets", body=add), 409, "already_exists",
                    "adding ghost twice")
    for body, needle in (({"name": "nobody"}, "peers"), ({"name": "ghost", "mode": "fast"}, "mode"),
                         ({"name": "ghost", "interval_ms": 5}, "interval_ms"),
                         ({"name": "ghost", "patterns": ["bad\\"]}, "pattern"), ({"mode": "list"}, "name")):
        resp = lt.expect_error(node.http("POST", "/api/v1/rls/lrc/targets", body=body), 400, "invalid_argument",
                               "add target %r" % body)
        lt.check(needle in resp.json["message"], "message %r lacks %r" % (resp.json, needle))
    lt.expect_error(node.http("DELETE", "/api/v1/rls/lrc/targets?name=solo"), 409, "conflict",
                    "deleting a config-file target")
    lt.expect_error(node.http("DELETE", "/api/v1/rls/lrc/targets?name=nobody"), 404, "not_found",
                    "deleting an unknown target")


def test_admin_restart_and_clear(node):
    lt.log("the added target survives a restart; then delete it")
    node.stop(timeout=10, expect_code=0)
    node.restart()
    node.wait_ready()
    lt.check_eq(targets(node), [("ghost", "bloom"), ("solo", "list")], "targets after restart")
    resp = lt.expect_status(node.http("DELETE", "/api/v1/rls/lrc/targets?name=ghost"), 200, "delete ghost")
    lt.check_eq([t["name"] for t in resp.json["targets"]], ["solo"], "targets after delete")

    lt.log("clear (ADMIN, confirmed)")
    lt.expect_error(node.http("POST", "/api/v1/rls/lrc/clear", body={"confirm": True}, auth=WRITER), 403,
                    "forbidden", "READWRITE may not clear")
    lt.expect_error(node.http("POST", "/api/v1/rls/lrc/clear", body={}), 400, "invalid_argument",
                    "clear without confirm")
    before = node.http("GET", "/api/v1/rls/lrc/count", auth=READER).json["mappings"]
    resp = lt.expect_status(node.http("POST", "/api/v1/rls/lrc/clear", body={"confirm": True}, timeout=60), 200,
                            "clear")
    lt.check_eq(resp.json, {"removed": before}, "clear reply")
    lt.check_eq(node.http("GET", "/api/v1/rls/lrc/count", auth=READER).json, {"lfns": 0, "mappings": 0},
                "count after clear")


def test_cli(ws, bin_dir, node):
    cli = os.path.join(bin_dir, "librarian")
    if not os.access(cli, os.X_OK):
        lt.log("SKIPPING the CLI part: %s is not built" % cli)
        return
    cfg = lt.write_json(ws.path("client.json"), {"connections": {
        "w": {"host": lt.HOST, "port": node.http_port, "user": WRITER[0], "password": WRITER[1]},
        "r": {"host": lt.HOST, "port": node.http_port, "user": READER[0], "password": READER[1]},
        "admin": {"host": lt.HOST, "port": node.http_port, "user": lt.ADMIN[0], "password": lt.ADMIN[1]},
    }})
    env = dict(os.environ, HL_CLIENT_CONFIG=cfg, HOME=ws.root)

    def cli_run(*argv):
        rc, out, err = lt.run_tool([cli] + list(argv), env=env, timeout=30)
        lt.log("librarian %s -> exit %d" % (" ".join(argv[:6]), rc))
        return rc, out, err

    lt.log("CLI: rls bulk")
    rc, out, err = cli_run("rls", "bulk", "w", "create", "c/1", "p://1", "c/2", "p://2")
    lt.check_eq((rc, out), (0, "created 2, failed 0\n"), "rls bulk create (stderr %r)" % err)
    rc, out, err = cli_run("rls", "bulk", "w", "create", "c/2", "p://x", "c/3", "p://3")
    lt.check_eq(rc, 3, "rls bulk create with an existing LFN: exit code (already_exists); %r" % err)
    lt.check("failed c/2 p://x: LFN_EXIST" in out and out.endswith("created 1, failed 1\n"),
             "rls bulk create with a failure: %r" % out)
    path = ws.path("mappings.txt")
    with open(path, "w") as f:
        for i in range(2500):
            f.write("f/%d p://f/%d\n" % (i, i))
    rc, out, err = cli_run("rls", "bulk", "w", "create", "--file", path)
    lt.check_eq((rc, out), (0, "created 2500, failed 0\n"), "rls bulk create --file, 3 requests (%r)" % err)
    rc, out, err = cli_run("rls", "bulk", "r", "query", "lrc", "lfn", "c/1", "f/2499", "c/none")
    lt.check_eq(rc, 2, "rls bulk query with a missing LFN: exit code (not_found)")
    lt.check(out.startswith("c/1: p://1\nf/2499: p://f/2499\nc/none: LFN_NEXIST"), "bulk query output %r" % out)
    rc, out, err = cli_run("--json", "rls", "bulk", "r", "query", "lrc", "lfn", "c/1")
    lt.check_eq((rc, json.loads(out)["results"][0]["pfns"]), (0, ["p://1"]), "rls bulk query --json")
    rc, out, err = cli_run("rls", "bulk", "w", "delete", "c/1", "p://1")
    lt.check_eq((rc, out), (0, "deleted 1, failed 0\n"), "rls bulk delete")
    deadline = time.monotonic() + 15
    while True:
        rc, out, err = cli_run("rls", "bulk", "r", "query", "rli", "lfn", "f/0")
        if rc == 0:
            break
        lt.check(time.monotonic() < deadline, "the RLI did not index f/0: %r %r" % (out, err))
        time.sleep(0.3)
    lt.check_eq(out, "f/0: solo\n", "rls bulk query rli lfn")
    for argv in (("rls", "bulk", "w", "create", "odd"), ("rls", "bulk", "w", "frob", "a", "b"),
                 ("rls", "bulk", "r", "query", "rli", "lfn", "a", "--reslimit", "2")):
        rc, out, err = cli_run(*argv)
        lt.check(rc in (1, 4), "%s: a usage or argument error, got %d (%r)" % (" ".join(argv), rc, err))

    lt.log("CLI: rls-admin")
    rc, out, err = cli_run("rls-admin", "ping", "r")
    lt.check_eq((rc, out), (0, "node solo: lrc up, rli up\n"), "rls-admin ping (%r)" % err)
    rc, out, err = cli_run("rls-admin", "add", "admin", "ghost", "--mode", "immediate", "--pattern", "f/*")
    lt.check_eq(rc, 0, "rls-admin add (%r)" % err)
    lt.check("ghost mode=immediate" in out, "rls-admin add output %r" % out)
    rc, out, err = cli_run("rls-admin", "add", "w", "ghost2")
    lt.check_eq(rc, 6, "rls-admin add as READWRITE: exit code (forbidden)")
    rc, out, err = cli_run("rls-admin", "targets", "r")
    lt.check("ghost mode=immediate" in out and "solo mode=list" in out, "rls-admin targets %r" % out)
    rc, out, err = cli_run("rls-admin", "delete", "admin", "ghost")
    lt.check_eq((rc, "ghost" in out), (0, False), "rls-admin delete (%r)" % out)
    rc, out, err = cli_run("rls-admin", "stats", "r")
    lt.check(rc == 0 and "mappings: 2502" in out and "update solo:" in out and "RLI:" in out,
             "rls-admin stats: %d %r %r" % (rc, out, err))
    rc, out, err = cli_run("rls-admin", "config", "r")
    lt.check(rc == 0 and "rli: true" in out, "rls-admin config: %r" % out)
    rc, out, err = cli_run("rls-admin", "clear", "admin")
    lt.check_eq(rc, 1, "rls-admin clear without --yes is a usage error")
    rc, out, err = cli_run("rls-admin", "clear", "admin", "--yes")
    lt.check_eq((rc, out), (0, "removed 2502 mappings\n"), "rls-admin clear --yes (%r)" % err)


def test(args):
    with lt.Workspace("rls-bulk-admin", keep=args.keep) as ws:
        cfg = lt.node_config("solo", ws.path("data"), peers=[("ghost", lt.free_port())],
                             rls={"rli": True, "update_rlis": [{"name": "solo", "interval_ms": 300}]})
        node = lt.start_node(ws, args.bin_dir, cfg)
        for (name, pw), role in ((READER, "READONLY"), (WRITER, "READWRITE")):
            lt.expect_status(node.http("POST", "/api/v1/users", body={"name": name, "password": pw, "role": role}),
                             201, "create %s" % name)
        test_bulk_mutations(node)
        test_bulk_bounds_and_roles(node)
        test_rli_bulk(node)
        test_admin(node)
        test_admin_restart_and_clear(node)
        test_cli(ws, args.bin_dir, node)
        node.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
