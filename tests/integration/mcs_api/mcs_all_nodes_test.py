#!/usr/bin/env python3
"""query --all-nodes on real nodes: node a asks its own catalog and its peers' (b running, c
configured but never started), merges the answers with each item's node, applies each node's own
grants, reports the peer that does not answer instead of failing, and keeps answering when b goes
down too. Bad arguments are refused before any peer is asked."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-1")


def query(node, body, auth=ALICE):
    return node.http("POST", "/api/v1/mcs/query", auth=auth, body=body, timeout=15)


def run_equals_one(**extra):
    body = {"kind": "l", "conditions": [{"attr": "run", "op": "=", "value": "1"}],
            "all_nodes": True, "timeout_ms": 1500}
    body.update(extra)
    return body


def test(args):
    with lt.Workspace("mcs-all-nodes", keep=args.keep) as ws:
        ports = {n: lt.free_port() for n in ("a", "b", "c")}
        cfg_a = lt.node_config("a", ws.path("a"), cluster_port=ports["a"],
                               peers=[("b", ports["b"]), ("c", ports["c"])], mcs={"enabled": True})
        cfg_b = lt.node_config("b", ws.path("b"), cluster_port=ports["b"], peers=[("a", ports["a"])],
                               mcs={"enabled": True})
        a = lt.start_node(ws, args.bin_dir, cfg_a, tag="a")
        b = lt.start_node(ws, args.bin_dir, cfg_b, tag="b")
        for node in (a, b):
            for name, pw in (ALICE, BOB):
                lt.expect_status(node.http("POST", "/api/v1/users",
                                           body={"name": name, "password": pw, "role": "READWRITE"}),
                                 201, "create %s on %s" % (name, node.name_))

        def create(node, name, run, auth=ALICE):
            lt.expect_status(node.http("POST", "/api/v1/mcs/create", auth=auth, body={
                "kind": "l", "name": name, "attrs": [{"name": "run", "type": "int", "value": str(run)}]}),
                200, "create %s on %s" % (name, node.name_))
        create(a, "x/a1", 1)
        create(b, "x/b1", 1)
        create(b, "x/b2", 2)
        create(b, "x/b3", 1, auth=BOB)  # alice may not read it on b

        lt.log("a merges its own answer with b's and reports c, which never started")

        def merged():
            r = query(a, run_equals_one())
            if r.status != 200 or "error" in r.json["nodes"].get("b", {"error": 1}):
                return None
            return r.json
        out = lt.wait_until(merged, 20, "b answering a's all-nodes query")
        lt.check_eq(sorted((i["node"], i["name"]) for i in out["items"]), [("a", "x/a1"), ("b", "x/b1")],
                    "merged items (bob's file on b stays hidden from alice)")
        lt.check_eq(out["count"], 2, "count")
        lt.check_eq(out["nodes"]["c"]["error"], "unavailable", "c reported")
        lt.check_eq((out["nodes"]["a"]["count"], out["nodes"]["b"]["count"]), (1, 1), "per-node counts")
        as_bob = query(a, run_equals_one(), auth=BOB)
        lt.expect_status(as_bob, 200, "bob's all-nodes query")
        lt.check_eq([(i["node"], i["name"]) for i in as_bob.json["items"]], [("b", "x/b3")], "bob's view")
        counted = query(a, run_equals_one(count=True))
        lt.check_eq(counted.json["count"], 2, "count only")

        lt.log("the CLI prints NODE NAME and warns about c")
        cfg = lt.write_json(ws.path("client.json"), {"connections": {"a": {
            "host": lt.HOST, "port": a.http_port, "user": ALICE[0], "password": ALICE[1]}}})
        os.chmod(cfg, 0o600)
        env = dict(os.environ, HL_CLIENT_CONFIG=cfg, HOME=ws.root)
        rc, out_text, err = lt.run_tool([lt.binary(args.bin_dir, "librarian"), "mcs", "query", "a", "l",
                                         "-w", "run = 1", "--all-nodes"], env=env, timeout=30)
        lt.check_eq(rc, 0, "librarian mcs query --all-nodes (stderr %r)" % err)
        lt.check_eq(sorted(l for l in out_text.split("\n") if l), ["a x/a1", "b x/b1"], "CLI lines")
        lt.check("node c did not answer (unavailable)" in err, "CLI warns about c: %r" % err)

        lt.log("bad arguments are refused before any peer is asked")
        lt.expect_error(query(a, run_equals_one(all_nodes="yes")), 400, "invalid_argument", "all_nodes not bool")
        lt.expect_error(query(a, run_equals_one(timeout_ms=0)), 400, "invalid_argument", "timeout_ms 0")
        lt.expect_error(query(a, run_equals_one(timeout_ms=60000)), 400, "invalid_argument", "timeout_ms big")
        lt.expect_error(query(a, run_equals_one(locate=True)), 400, "invalid_argument", "locate + all_nodes")
        bad = run_equals_one()
        bad["conditions"] = [{"attr": "run", "op": "=", "value": "one"}]
        lt.expect_error(query(a, bad), 400, "invalid_argument", "a value that is not an int")
        plain = query(a, run_equals_one(all_nodes=False))
        lt.expect_status(plain, 200, "all_nodes false")
        lt.check_eq([i["name"] for i in plain.json["items"]], ["x/a1"], "all_nodes false: this node only")

        lt.log("with b down too, a still answers for itself")
        b.stop(timeout=10, expect_code=0)
        r = query(a, run_equals_one())
        lt.expect_status(r, 200, "query with every peer down")
        lt.check_eq([(i["node"], i["name"]) for i in r.json["items"]], [("a", "x/a1")], "a's own items")
        lt.check_eq((r.json["nodes"]["b"]["error"], r.json["nodes"]["c"]["error"]),
                    ("unavailable", "unavailable"), "both peers reported")
        a.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
