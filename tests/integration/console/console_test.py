#!/usr/bin/env python3
"""librarian-console scripts against a real two-node cluster (a, b): a passing script that
exercises the language and the users/node/membership actors, and failing scripts whose exit code
and `FILE:LINE: error:` message are checked (failed expectation 20, unknown actor 4, parse error 1,
world command 1), plus a connection to a closed port."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def script(name):
    return os.path.join(HERE, name)


def run_console(bin_dir, port, *extra, stdin_text=None):
    argv = [lt.binary(bin_dir, "librarian-console"), "--connect", "%s:%d" % (lt.HOST, port)] + list(extra)
    lt.log("running %s" % " ".join(os.path.basename(x) if x.startswith(HERE) else x for x in argv[1:]))
    rc, out, err = lt.run_tool(argv, stdin_text=stdin_text, timeout=25)
    return rc, out, err


def expect_run(what, result, rc, stderr_has=(), stdout_has=(), stdout_lacks=()):
    got_rc, out, err = result
    detail = "\n--- stdout ---\n%s\n--- stderr ---\n%s" % (out, err)
    lt.check(got_rc == rc, "%s: expected exit code %d, got %d%s" % (what, rc, got_rc, detail))
    for text in stderr_has:
        lt.check(text in err, "%s: stderr lacks %r%s" % (what, text, detail))
    for text in stdout_has:
        lt.check(text in out, "%s: stdout lacks %r%s" % (what, text, detail))
    for text in stdout_lacks:
        lt.check(text not in out, "%s: stdout has %r%s" % (what, text, detail))
    lt.log("%s: exit %d as expected" % (what, got_rc))
    return out, err


def test(args):
    with lt.Workspace("console", keep=args.keep) as ws:
        pa, pb = lt.free_port(), lt.free_port()
        a = lt.start_node(ws, args.bin_dir, lt.node_config("a", ws.path("data-a"), cluster_port=pa,
                                                           peers=[("b", pb)]))
        b = lt.start_node(ws, args.bin_dir, lt.node_config("b", ws.path("data-b"), cluster_port=pb,
                                                           peers=[("a", pa)]))
        for node in (a, b):
            lt.wait_until(lambda: all(m["state"] == "up" for m in lt.members(node).values())
                          and len(lt.members(node)) == 2, 20, "node %s to see a and b up" % node.name_)
        lt.log("cluster of a and b is up")

        out, _ = expect_run("basic.console", run_console(args.bin_dir, pa, "--script", script("basic.console")), 0,
                            stdout_has=("--- basic.console ---", "--- done ---", "users create NAME:name",
                                        "a up", "b up", "dave READONLY", "name=a", "incarnation=1"))
        lt.check("dave" not in lt.expect_status(a.http("GET", "/api/v1/users"), 200, "list users").text,
                 "dave still exists after basic.console removed it")

        # The same script through stdin (`--script -`) and without --script (stdin is a pipe).
        expect_run("stdin script", run_console(args.bin_dir, pa, "--script", "-",
                                               stdin_text="members => count 2\nask users list => count 1\n"), 0,
                   stdout_has=("a up", "admin ADMIN"))
        expect_run("stdin without --script",
                   run_console(args.bin_dir, pa, stdin_text="ask node status => contains \"name=a\"\n"), 0,
                   stdout_has=("name=a",))
        expect_run("other node's console", run_console(args.bin_dir, pb, "--script", "-",
                                                       stdin_text="ask node status => contains \"name=b\"\n"
                                                                  "members => count 2\n"), 0)

        path = script("failing.console")
        _, err = expect_run("failing.console", run_console(args.bin_dir, pa, "--script", path), 20,
                            stderr_has=("failing.console:3:", "no such text"),
                            stdout_has=("line 2 runs",), stdout_lacks=("never printed",))

        expect_run("unknown_actor.console", run_console(args.bin_dir, pa, "--script", script("unknown_actor.console")), 4,
                   stderr_has=("unknown_actor.console:3:", "ghosts"), stdout_lacks=("never printed",))

        expect_run("parse_error.console", run_console(args.bin_dir, pa, "--script", script("parse_error.console")), 1,
                   stderr_has=("parse_error.console:2:", "unterminated"), stdout_lacks=("never printed",))

        expect_run("world.console", run_console(args.bin_dir, pa, "--script", script("world.console")), 1,
                   stderr_has=("world.console:2:", "only available in librarian-sim"),
                   stdout_lacks=("never printed",))

        expect_run("malformed bulk items", run_console(args.bin_dir, pa, "--script", "-",
                                                       stdin_text='ask lrc bulkcreate "lfn://y/1"\n'), 4,
                   stderr_has=("must be 'LFN PFN'",))

        expect_run("error reply without =>", run_console(args.bin_dir, pa, "--script", "-",
                                                         stdin_text="echo x\nask users lookup nobody\n"), 2,
                   stderr_has=("<stdin>:2:", "not_found"))
        expect_run("unknown message", run_console(args.bin_dir, pa, "--script", "-",
                                                  stdin_text="ask users frob\n"), 4,
                   stderr_has=(":1:", "frob"))
        expect_run("wrong node prefix", run_console(args.bin_dir, pa, "--script", "-",
                                                    stdin_text="ask b/users list\n"), 4,
                   stderr_has=(":1:",))

        closed = lt.free_port()
        rc, out, err = run_console(args.bin_dir, closed, "--script", script("basic.console"))
        lt.check(rc != 0, "console to a closed port exited 0; stderr %r" % err)
        lt.check("%s:%d" % (lt.HOST, closed) in err,
                 "console to a closed port: stderr does not name %s:%d: %r" % (lt.HOST, closed, err))
        lt.log("closed port: exit %d, %s" % (rc, err.strip().splitlines()[0] if err.strip() else ""))

        for node in (a, b):
            node.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
