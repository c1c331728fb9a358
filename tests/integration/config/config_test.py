#!/usr/bin/env python3
"""librarian-node's configuration checking (`--check-config`: exit 4 naming the key and the file)
and its start-up failures: a data_dir of another node, a data_dir in use by a running node, a
cluster port (and an HTTP port) already in use."""

import copy
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

EXIT_INVALID_ARGUMENT = 4


def mutate(base, fn):
    cfg = copy.deepcopy(base)
    fn(cfg)
    return cfg


def del_key(d, key):
    del d[key]


# (label, mutation or raw text, texts stderr must contain)
def cases(base):
    def peers(*entries):
        return lambda c: c.__setitem__("peers", [dict(name=n, host=lt.HOST, cluster_port=p) for n, p in entries])
    return [
        ("unknown top-level key", mutate(base, lambda c: c.__setitem__("bogus_key", 1)), ["bogus_key"]),
        ("unknown nested key", mutate(base, lambda c: c["listen"].__setitem__("htp_port", 1)), ["listen.htp_port"]),
        ("unknown key in a peer", mutate(base, lambda c: c["peers"][0].__setitem__("prot", 1)), ["peers[0].prot"]),
        ("wrong type", mutate(base, lambda c: c["listen"].__setitem__("cluster_port", "7000")),
         ["listen.cluster_port"]),
        ("missing name", mutate(base, lambda c: del_key(c, "name")), ["name"]),
        ("missing data_dir", mutate(base, lambda c: del_key(c, "data_dir")), ["data_dir"]),
        ("peer without cluster_port", mutate(base, lambda c: del_key(c["peers"][0], "cluster_port")),
         ["peers[0].cluster_port"]),
        ("port out of range", mutate(base, lambda c: c["listen"].__setitem__("http_port", 70000)),
         ["listen.http_port", "70000"]),
        ("negative port", mutate(base, lambda c: c["listen"].__setitem__("cluster_port", -1)),
         ["listen.cluster_port"]),
        ("duplicate peer", mutate(base, peers(("b", 1001), ("b", 1002))), ["peers[1]", "b"]),
        ("peer named like the node", mutate(base, peers(("b", 1001), ("a", 1002))), ["peers[1]"]),
        ("bad log level", mutate(base, lambda c: c.__setitem__("log_level", "loud")), ["log_level"]),
        ("bad node name", mutate(base, lambda c: c.__setitem__("name", "a/b c")), ["name"]),
        ("invalid JSON", '{"name": "a", "data_dir": ', ["JSON"]),
        ("trailing comma JSON", '{"name": "a",}', ["JSON"]),
        ("not an object", "[1, 2, 3]", []),
        ("http port equals cluster port",
         mutate(base, lambda c: c["listen"].__setitem__("http_port", c["listen"]["cluster_port"])),
         ["listen.http_port"]),
        ("bootstrap password too short",
         mutate(base, lambda c: c.setdefault("auth", {}).__setitem__("bootstrap_admin", {"name": "x", "password": "short"})),
         ["auth.bootstrap_admin.password"]),
    ]


def check_config(bin_dir, path):
    return lt.run_tool([lt.binary(bin_dir, "librarian-node"), "--check-config", "--config", path], timeout=20)


def start_expect_failure(ws, bin_dir, cfg, tag, what, stderr_has):
    """Starts a node that must fail on its own: non-zero exit within 20 s, never 'ready'."""
    node = lt.Node(ws, bin_dir, cfg, tag=tag)
    rc = node.wait_exit(20)
    if rc is None:
        raise lt.TestFailure("%s: the node is still running after 20 s (expected it to fail); stdout %r" % (
            what, node.stdout()))
    err = node.stderr()
    lt.check(rc != 0, "%s: exit code 0; stderr:\n%s" % (what, err))
    lt.check("ready:" not in node.stdout(), "%s: the node announced ready: %r" % (what, node.stdout()))
    for text in stderr_has:
        lt.check(text in err, "%s: stderr lacks %r:\n%s" % (what, text, err))
    lt.log("%s: exit %d: %s" % (what, rc, [l for l in err.splitlines() if "librarian-node:" in l][:1]))
    return rc, err


def test(args):
    with lt.Workspace("config", keep=args.keep) as ws:
        base = lt.node_config("a", ws.path("data-a"), peers=[("b", lt.free_port())])
        valid = lt.write_json(ws.path("valid.json"), base)
        rc, out, err = check_config(args.bin_dir, valid)
        lt.check(rc == 0, "valid config: exit %d, stderr %r" % (rc, err))
        lt.check(valid in out, "valid config: stdout does not name the file: %r" % out)
        lt.check(not os.path.exists(base["data_dir"]), "--check-config created the data_dir")
        lt.log("valid config accepted")

        # Optional sections may be left out.
        minimal = {k: v for k, v in base.items() if k in ("name", "data_dir", "listen")}
        minimal_path = lt.write_json(ws.path("minimal.json"), minimal)
        rc, out, err = check_config(args.bin_dir, minimal_path)
        lt.check(rc == 0, "minimal config (name, data_dir, listen): exit %d, stderr %r" % (rc, err))

        for i, (label, cfg, needles) in enumerate(cases(base)):
            path = ws.path("bad-%02d.json" % i)
            if isinstance(cfg, str):
                with open(path, "w") as f:
                    f.write(cfg)
            else:
                lt.write_json(path, cfg)
            rc, out, err = check_config(args.bin_dir, path)
            lt.check(rc == EXIT_INVALID_ARGUMENT, "%s: expected exit %d, got %d; stderr %r" % (
                label, EXIT_INVALID_ARGUMENT, rc, err))
            lt.check(path in err, "%s: stderr does not name the file %s: %r" % (label, path, err))
            for needle in needles:
                lt.check(needle in err, "%s: stderr does not name %r: %r" % (label, needle, err))
            lt.check("configuration is valid" not in out, "%s: claims valid: %r" % (label, out))
            lt.log("%-28s exit 4: %s" % (label, err.strip().splitlines()[-1] if err.strip() else ""))

        missing = ws.path("does-not-exist.json")
        rc, out, err = check_config(args.bin_dir, missing)
        lt.check(rc == EXIT_INVALID_ARGUMENT and missing in err, "missing config file: %d %r" % (rc, err))
        rc, out, err = lt.run_tool([lt.binary(args.bin_dir, "librarian-node")], timeout=20)
        lt.check(rc != 0, "librarian-node without --config exited 0")

        lt.log("start-up failures")
        node_a = lt.start_node(ws, args.bin_dir, base, tag="a-first")
        lt.expect_status(node_a.http("GET", "/healthz", auth=None), 200, "healthz of a")

        # Same data_dir as a running node: the RocksDB lock.
        twin = mutate(base, lambda c: c.__setitem__("listen", {"host": lt.HOST, "cluster_port": lt.free_port(),
                                                                "http_port": lt.free_port(),
                                                                "data_port": lt.free_port()}))
        rc, err = start_expect_failure(ws, args.bin_dir, twin, "a-twin", "second node on the same data_dir",
                                       ["in use"])
        lt.check(base["data_dir"] in err, "same data_dir: the message does not name %s: %r" % (base["data_dir"], err))
        lt.check(node_a.alive(), "the first node died when a second one tried its data_dir")
        lt.expect_status(node_a.http("GET", "/api/v1/ping"), 200, "first node still serves after the twin failed")

        # Cluster port already in use (by a foreign listener).
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            holder.bind((lt.HOST, 0))
            holder.listen(1)
            busy = holder.getsockname()[1]
            cfg = lt.node_config("c", ws.path("data-c"), cluster_port=busy)
            start_expect_failure(ws, args.bin_dir, cfg, "c-busy-cluster", "cluster port in use", [str(busy)])
            # ... and the HTTP port.
            cfg = lt.node_config("d", ws.path("data-d"), http_port=busy)
            start_expect_failure(ws, args.bin_dir, cfg, "d-busy-http", "http port in use", [str(busy)])
        finally:
            holder.close()
        # The cluster port of the running node a.
        cfg = lt.node_config("e", ws.path("data-e"), cluster_port=node_a.cluster_port)
        start_expect_failure(ws, args.bin_dir, cfg, "e-busy-cluster", "cluster port of a running node",
                             [str(node_a.cluster_port)])

        node_a.stop(timeout=10, expect_code=0)

        # a's data_dir started under another name.
        impostor = mutate(base, lambda c: c.__setitem__("name", "zz"))
        start_expect_failure(ws, args.bin_dir, impostor, "zz-on-a", "data_dir of another node", ["'a'", "'zz'"])
        # The rightful owner still starts (incarnation 2: the impostor did not touch the identity).
        node_a = lt.start_node(ws, args.bin_dir, base, tag="a-again")
        lt.check_eq(node_a.incarnation, 2, "a's incarnation after the impostor's failed start")
        node_a.stop(timeout=10, expect_code=0, sig=signal.SIGINT)


if __name__ == "__main__":
    lt.main(test, __doc__)
