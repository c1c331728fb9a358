#!/usr/bin/env python3
"""Three real librarian-node processes on loopback.

* all three see each other up;
* a user created on c survives a SIGKILL of c; a and b report c down within the connection
  timeout plus slack; the restarted c has incarnation 2 everywhere and did not recreate its
  bootstrap admin;
* the supervisor restarts a crashed actor (`ask node crash users` through librarian-console);
* after a crash of the membership or the transport actor, the view shows every peer up again;
* SIGTERM makes every node exit 0 within 10 s.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

NAMES = ("a", "b", "c")
CONNECTION_TIMEOUT_S = 1.0
DOWN_SLACK_S = 5.0      # detection needs heartbeats to stop for connection_timeout; allow slack
UP_DEADLINE_S = 20.0


def wait_all_up(nodes, expected_incarnations=None):
    """Waits until every node's /api/v1/members lists all names as up (with the given
    incarnations when asked)."""
    for node in nodes:
        def ok():
            ms = lt.members(node)
            for name in NAMES:
                m = ms.get(name)
                if m is None or m["state"] != "up":
                    return False
                if expected_incarnations and m["incarnation"] != expected_incarnations[name]:
                    return False
            return ms
        ms = lt.wait_until(ok, UP_DEADLINE_S, "node %s to see %s up%s" % (
            node.name_, ", ".join(NAMES),
            " with incarnations %s" % expected_incarnations if expected_incarnations else ""),
            interval=0.1)
        lt.log("node %s sees: %s" % (node.name_, ", ".join(
            "%s=%s(inc %s)" % (n, ms[n]["state"], ms[n]["incarnation"]) for n in NAMES)))
        for name in NAMES:
            m = ms[name]
            for key in ("address", "since_unix_ms", "last_seen_unix_ms", "incarnation"):
                lt.check(key in m, "member %s on %s lacks %r: %r" % (name, node.name_, key, m))
        lt.check_eq(ms[node.name_]["address"], "%s:%d" % (lt.HOST, node.cluster_port),
                    "own address on %s" % node.name_)


def console(bin_dir, node, script):
    return lt.run_tool([lt.binary(bin_dir, "librarian-console"), "--connect",
                        "%s:%d" % (lt.HOST, node.cluster_port), "--script", "-"],
                       stdin_text=script, timeout=20)


def test(args):
    with lt.Workspace("cluster", keep=args.keep) as ws:
        ports = {n: lt.free_port() for n in NAMES}
        # b runs an RLI; every node's LRC keeps it informed (a and c over the real transport),
        # each in another mode: a's changes as increments, b's full lists, c's Bloom filters.
        targets = {"a": {"name": "b", "mode": "immediate", "interval_ms": 300, "buffer_ms": 100},
                   "b": {"name": "b", "interval_ms": 300},
                   "c": {"name": "b", "mode": "bloom", "interval_ms": 300}}
        configs = {
            n: lt.node_config(n, ws.path("data-" + n), cluster_port=ports[n],
                              peers=[(p, ports[p]) for p in NAMES if p != n],
                              rls={"rli": n == "b", "update_rlis": [targets[n]]})
            for n in NAMES
        }
        nodes = {}
        for n in NAMES:
            nodes[n] = lt.start_node(ws, args.bin_dir, configs[n])
            lt.check_eq(nodes[n].incarnation, 1, "first incarnation of %s" % n)
        a, b, c = nodes["a"], nodes["b"], nodes["c"]

        lt.log("waiting for full membership on every node")
        wait_all_up(nodes.values(), {n: 1 for n in NAMES})

        lt.log("RLS: replicas registered at a and c are found through b's RLI (soft state over CAF: "
               "a in immediate mode, c as a Bloom filter)")
        for n, script in (("a", "ask lrc create lfn://it/shared gsiftp://a/1 => ok\n"
                                "ask lrc create lfn://it/only-a gsiftp://a/2 => ok\n"),
                          ("c", "ask lrc create lfn://it/shared gsiftp://c/1 => ok\n")):
            rc, out, err = console(args.bin_dir, nodes[n], script)
            lt.check_eq(rc, 0, "lrc create on %s (stdout %r stderr %r)" % (n, out, err))
        deadline = time.monotonic() + 10.0
        while True:
            rc, out, err = console(args.bin_dir, b, "ask rli query lfn://it/shared\n")
            if rc == 0 and out.split("\n")[:2] == ["a", "c maybe"]:
                break
            if time.monotonic() >= deadline:
                raise lt.TestFailure("b's RLI never listed a and c for lfn://it/shared: %r %r" % (out, err))
            time.sleep(0.1)
        rc, out, err = console(args.bin_dir, b, "ask rli query lfn://it/only-a => equals \"a\"\n"
                                                "ask rli lrcs => count 3\n"
                                                "ask rli lrcs => contains \"c lfns=1 mode=bloom\"\n")
        lt.check_eq(rc, 0, "rli queries on b (stdout %r stderr %r)" % (out, err))
        rc, out, err = console(args.bin_dir, a, "ask lrc targets => contains \"b mode=immediate\"\n")
        lt.check_eq(rc, 0, "lrc targets on a (stdout %r stderr %r)" % (out, err))

        lt.log("creating user carol on c")
        resp = c.http("POST", "/api/v1/users",
                      body={"name": "carol", "password": "carol-password-1", "role": "READWRITE"})
        lt.expect_status(resp, 201, "create carol on c")
        admin_before = lt.expect_status(c.http("GET", "/api/v1/users/admin"), 200, "GET admin").json
        lt.log("c's admin record: %s" % admin_before)
        lt.expect_status(c.http("GET", "/api/v1/users/carol"), 200, "GET carol on c")

        # A frozen node keeps its TCP connections open: only missing heartbeats reveal it.
        lt.log("freezing c with SIGSTOP (heartbeat-based failure detection)")
        c.signal(signal.SIGSTOP)
        try:
            stopped_at = time.monotonic()
            for watcher in (a, b):
                lt.wait_until(lambda: lt.members(watcher)["c"]["state"] == "down",
                              CONNECTION_TIMEOUT_S + DOWN_SLACK_S,
                              "node %s to report the frozen c down" % watcher.name_, interval=0.05)
                lt.log("node %s reports the frozen c down %.2fs after SIGSTOP" % (
                    watcher.name_, time.monotonic() - stopped_at))
        finally:
            c.signal(signal.SIGCONT)
        lt.log("thawed c with SIGCONT")
        wait_all_up(nodes.values(), {n: 1 for n in NAMES})

        c.kill9()
        killed_at = time.monotonic()
        for watcher in (a, b):
            def c_down():
                return lt.members(watcher)["c"]["state"] == "down"
            lt.wait_until(c_down, CONNECTION_TIMEOUT_S + DOWN_SLACK_S,
                          "node %s to report c down after SIGKILL" % watcher.name_, interval=0.05)
            lt.log("node %s reports c down %.2fs after the SIGKILL" % (
                watcher.name_, time.monotonic() - killed_at))
            # a and b still see each other
            ms = lt.members(watcher)
            lt.check(ms["a"]["state"] == "up" and ms["b"]["state"] == "up",
                     "a/b not up on %s: %r" % (watcher.name_, ms))

        lt.log("restarting c with the same config")
        c.restart()
        inc = c.wait_ready()
        lt.check_eq(inc, 2, "incarnation printed by the restarted c")
        wait_all_up(nodes.values(), {"a": 1, "b": 1, "c": 2})
        status = lt.expect_status(c.http("GET", "/api/v1/status"), 200, "status of c").json
        lt.check_eq(status["incarnation"], 2, "c's /api/v1/status incarnation")
        lt.check_eq(status["name"], "c", "c's /api/v1/status name")

        lt.log("checking persisted state on c")
        carol = lt.expect_status(c.http("GET", "/api/v1/users/carol"), 200,
                                 "GET carol on restarted c").json
        lt.check_eq(carol.get("role"), "READWRITE", "carol's role after restart")
        lt.expect_status(c.http("GET", "/api/v1/ping", auth=("carol", "carol-password-1")), 200,
                         "carol can log in on the restarted c")
        admin_after = lt.expect_status(c.http("GET", "/api/v1/users/admin"), 200, "GET admin").json
        lt.check_eq(admin_after.get("created_unix_ms"), admin_before.get("created_unix_ms"),
                    "created_unix_ms of c's bootstrap admin (must not be recreated)")
        lt.check("created the bootstrap admin" not in c.stderr(),
                 "restarted c logged that it created the bootstrap admin again")

        lt.log("supervisor: crashing the users actor of c through librarian-console")
        rc, out, err = console(args.bin_dir, c, "ask node actors => contains \"users running restarts=0\"\n"
                                                "ask node crash users\n")
        lt.check_eq(rc, 0, "console crash users exit code (stdout %r stderr %r)" % (out, err))
        crashed_at = time.monotonic()
        last = {}

        def lookup_ok():
            rc, out, err = console(args.bin_dir, c, "ask users lookup carol => contains \"carol READWRITE\"\n")
            last.update(rc=rc, out=out, err=err)
            return rc == 0
        deadline = crashed_at + 2.0
        while not lookup_ok():
            if time.monotonic() >= deadline:
                raise lt.TestFailure("users lookup carol did not succeed within 2 s of the crash: %r" % last)
            time.sleep(0.05)
        lt.log("users answered again %.2fs after the crash" % (time.monotonic() - crashed_at))
        rc, out, err = console(args.bin_dir, c, "ask node actors => contains \"users running restarts=1\"\n")
        lt.check_eq(rc, 0, "node actors after the crash (stdout %r stderr %r)" % (out, err))
        metrics = lt.expect_status(c.http("GET", "/metrics", auth=None), 200, "metrics of c").text
        lt.check_eq(lt.metric(metrics, 'librarian_actor_restarts_total{actor="users"}'), 1.0,
                    "librarian_actor_restarts_total{actor=\"users\"}")
        lt.check_eq(lt.metric(metrics, "librarian_node_incarnation"), 2.0,
                    "librarian_node_incarnation on c")

        lt.log("a restarted membership actor learns from the transport which peers are up")
        for crashed in ("membership", "transport"):
            rc, out, err = console(args.bin_dir, a, "ask node crash %s\n" % crashed)
            lt.check_eq(rc, 0, "console crash %s exit code (stdout %r stderr %r)" % (crashed, out, err))
            restarted = "ask node actors => contains \"%s running restarts=1\"\n" % crashed
            deadline = time.monotonic() + 5.0
            while console(args.bin_dir, a, restarted)[0] != 0:
                if time.monotonic() >= deadline:
                    raise lt.TestFailure("a's %s actor was not restarted within 5 s" % crashed)
                time.sleep(0.05)
            wait_all_up([a])
            lt.log("after a crash of a's %s, a sees every member up again" % crashed)

        lt.log("SIGTERM to all three at once")
        for n in NAMES:
            nodes[n].signal(signal.SIGTERM)
        sent = time.monotonic()
        for n in NAMES:
            rc = nodes[n].wait_exit(max(0.1, sent + 10 - time.monotonic()))
            lt.check(rc is not None, "node %s did not exit within 10 s of SIGTERM" % n)
            lt.check_eq(rc, 0, "exit code of node %s after SIGTERM (stderr tail %r)" % (n, nodes[n].stderr()[-1500:]))
            lt.log("node %s exited 0 (%.2fs after SIGTERM)" % (n, time.monotonic() - sent))


if __name__ == "__main__":
    lt.main(test, __doc__)
