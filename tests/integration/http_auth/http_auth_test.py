#!/usr/bin/env python3
"""The HTTP API's authentication and authorization matrix on one real node, the request-level
errors (401/403/404/405/400/413), X-Request-Id handling, unauthenticated /healthz and /metrics,
and the `librarian` CLI against the same node (when it is built)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402

BODY_MAX = 4096
READER = ("rita", "rita-password-1")
OTHER = ("otto", "otto-password-1")
PROTECTED = [("GET", "/api/v1/ping"), ("GET", "/api/v1/status"), ("GET", "/api/v1/members"),
             ("GET", "/api/v1/users"), ("GET", "/api/v1/users/admin"),
             ("POST", "/api/v1/users"), ("DELETE", "/api/v1/users/otto"),
             ("PUT", "/api/v1/users/otto/password"), ("PUT", "/api/v1/users/otto/role"),
             ("POST", "/api/v1/users/admin/tokens")]


def body_for(method, path):
    if method == "POST" and path == "/api/v1/users":
        return {"name": "mallory", "password": "mallory-password", "role": "ADMIN"}
    if path.endswith("/password"):
        return {"password": "hijacked-password"}
    if path.endswith("/role"):
        return {"role": "ADMIN"}
    if path.endswith("/tokens"):
        return {}
    return None


def expect_401(resp, what):
    lt.expect_error(resp, 401, "unauthenticated", what)
    lt.check(resp.header("www-authenticate"), "%s: 401 without WWW-Authenticate" % what)
    return resp


def same_error(r1, r2, what):
    """Two error responses must be identical apart from their request ids."""
    j1, j2 = dict(r1.json), dict(r2.json)
    lt.check(j1.pop("request_id") != j2.pop("request_id"), "%s: request ids repeat" % what)
    lt.check(r1.status == r2.status and j1 == j2,
             "%s: responses differ (reveals existence): %d %r vs %d %r" % (what, r1.status, j1, r2.status, j2))


def test_auth_matrix(node):
    lt.log("401 matrix: missing / wrong / unknown / malformed credentials")
    bad_auths = {
        "no credentials": None,
        "wrong password": ("admin", "not-the-password"),
        "unknown user": ("ghost", "whatever-password"),
        "malformed Basic": "Basic !!!",
        "Basic without colon": "Basic " + __import__("base64").b64encode(b"adminonly").decode(),
        "bare Bearer": "Bearer",
        "garbage token": "Bearer not-a-real-token-0123456789",
        "unknown scheme": "Digest username=admin",
        "empty header": "",
    }
    for label, auth in bad_auths.items():
        for method, path in PROTECTED:
            resp = node.http(method, path, auth=auth, body=body_for(method, path))
            expect_401(resp, "%s: %s %s" % (label, method, path))
    # Nothing above may have changed state.
    users = lt.expect_status(node.http("GET", "/api/v1/users"), 200, "list users").json["users"]
    lt.check("mallory" not in [u["name"] for u in users], "an unauthenticated POST created mallory")
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=OTHER), 200, "otto's password unchanged")


def test_readonly(node):
    lt.log("READONLY user: reads allowed, user administration forbidden")
    for path in ("/api/v1/ping", "/api/v1/status", "/api/v1/members"):
        resp = lt.expect_status(node.http("GET", path, auth=READER), 200, "READONLY GET %s" % path)
        lt.check(resp.json is not None, "GET %s: not JSON" % path)
    ping = node.http("GET", "/api/v1/ping", auth=READER).json
    lt.check_eq((ping.get("user"), ping.get("role"), ping.get("name")), ("rita", "READONLY", "solo"), "ping as rita")
    lt.check(ping.get("version"), "ping has no version: %r" % ping)
    status = node.http("GET", "/api/v1/status", auth=READER).json
    lt.check_eq(status.get("name"), "solo", "status name")
    lt.check(isinstance(status.get("actors"), list) and status["actors"], "status actors: %r" % status)

    forbidden = [("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
                 ("DELETE", "/api/v1/users/otto"), ("PUT", "/api/v1/users/otto/role"),
                 ("PUT", "/api/v1/users/rita/role"),  # not even its own role
                 ("PUT", "/api/v1/users/otto/password"), ("POST", "/api/v1/users/otto/tokens"),
                 ("GET", "/api/v1/users/otto")]
    for method, path in forbidden:
        lt.expect_error(node.http(method, path, auth=READER, body=body_for(method, path)), 403, "forbidden",
                        "READONLY %s %s" % (method, path))

    lt.log("a READONLY caller cannot tell whether a user exists")
    pairs = [(("GET", "/api/v1/users/ghost"), ("GET", "/api/v1/users/admin")),
             (("DELETE", "/api/v1/users/ghost"), ("DELETE", "/api/v1/users/admin")),
             (("PUT", "/api/v1/users/ghost/password"), ("PUT", "/api/v1/users/admin/password")),
             (("PUT", "/api/v1/users/ghost/role"), ("PUT", "/api/v1/users/admin/role")),
             (("POST", "/api/v1/users/ghost/tokens"), ("POST", "/api/v1/users/admin/tokens"))]
    for (m1, p1), (m2, p2) in pairs:
        r1 = lt.expect_error(node.http(m1, p1, auth=READER, body=body_for(m1, p1)), 403, "forbidden",
                             "READONLY %s %s" % (m1, p1))
        r2 = lt.expect_error(node.http(m2, p2, auth=READER, body=body_for(m2, p2)), 403, "forbidden",
                             "READONLY %s %s" % (m2, p2))
        same_error(r1, r2, "%s ghost vs admin" % m1)

    lt.log("ADMIN sees not_found for ghost")
    lt.expect_error(node.http("GET", "/api/v1/users/ghost"), 404, "not_found", "ADMIN GET ghost")
    lt.expect_error(node.http("DELETE", "/api/v1/users/ghost"), 404, "not_found", "ADMIN DELETE ghost")


def test_self_service(node):
    lt.log("self-service: own record and password, not another user's")
    me = lt.expect_status(node.http("GET", "/api/v1/users/otto", auth=OTHER), 200, "otto GET itself").json
    lt.check_eq((me.get("name"), me.get("role")), ("otto", "READONLY"), "otto's own record")
    lt.check(not any("pass" in k or "hash" in k or "salt" in k for k in me),
             "user record leaks password material: %r" % me)
    lt.expect_error(node.http("GET", "/api/v1/users/rita", auth=OTHER), 403, "forbidden", "otto GET rita")
    lt.expect_error(node.http("PUT", "/api/v1/users/rita/password", auth=OTHER,
                              body={"password": "stolen-password"}), 403, "forbidden", "otto sets rita's password")
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=READER), 200, "rita's password unchanged")

    lt.expect_error(node.http("PUT", "/api/v1/users/otto/password", auth=OTHER, body={"password": "short"}),
                    400, "invalid_argument", "password shorter than 8")
    resp = node.http("PUT", "/api/v1/users/otto/password", auth=OTHER, body={"password": "otto-new-password"})
    lt.check(resp.status in (200, 204), "otto changes own password: %r" % resp)
    expect_401(node.http("GET", "/api/v1/ping", auth=OTHER), "otto's old password after the change")
    new_other = ("otto", "otto-new-password")
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=new_other), 200, "otto's new password")
    # The ADMIN may reset it.
    resp = node.http("PUT", "/api/v1/users/otto/password", body={"password": OTHER[1]})
    lt.check(resp.status in (200, 204), "admin resets otto's password: %r" % resp)
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=OTHER), 200, "otto's reset password")
    expect_401(node.http("GET", "/api/v1/ping", auth=new_other), "otto's replaced password")


def test_tokens(node):
    lt.log("tokens: create for self, Bearer works, garbage fails, deleting the user revokes it")
    lt.expect_status(node.http("POST", "/api/v1/users", body={"name": "tina", "password": "tina-password-1",
                                                              "role": "READONLY"}), 201, "create tina")
    resp = lt.expect_status(node.http("POST", "/api/v1/users/tina/tokens", auth=("tina", "tina-password-1"),
                                      body={"ttl_seconds": 600}), 201, "tina creates a token")
    tok = resp.json
    lt.check(isinstance(tok.get("token"), str) and len(tok["token"]) >= 16, "token: %r" % tok)
    lt.check_eq(tok.get("user"), "tina", "token user")
    lt.check(isinstance(tok.get("expires_unix_ms"), int), "expires_unix_ms: %r" % tok)
    bearer = "Bearer " + tok["token"]
    ping = lt.expect_status(node.http("GET", "/api/v1/ping", auth=bearer), 200, "ping with tina's token").json
    lt.check_eq((ping.get("user"), ping.get("role")), ("tina", "READONLY"), "ping as tina's token")
    lt.expect_error(node.http("GET", "/api/v1/users", auth=bearer), 403, "forbidden", "tina's token lists users")
    expect_401(node.http("GET", "/api/v1/ping", auth="Bearer " + tok["token"][:-1] + ("x" if tok["token"][-1] != "x" else "y")),
               "tampered token")
    expect_401(node.http("GET", "/api/v1/ping", auth="Bearer garbage"), "garbage token")
    # A token with a body-less POST (server default ttl), issued by the ADMIN for tina.
    resp = lt.expect_status(node.http("POST", "/api/v1/users/tina/tokens"), 201, "admin issues a token for tina")
    bearer2 = "Bearer " + resp.json["token"]
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=bearer2), 200, "admin-issued token")
    lt.expect_error(node.http("POST", "/api/v1/users/tina/tokens", auth=("tina", "tina-password-1"),
                              body={"ttl_seconds": -5}), 400, "invalid_argument", "negative ttl")

    lt.log("role change to ADMIN takes effect for the token")
    resp = node.http("PUT", "/api/v1/users/tina/role", body={"role": "ADMIN"})
    lt.check(resp.status in (200, 204), "role change: %r" % resp)
    lt.expect_status(node.http("GET", "/api/v1/users", auth=bearer), 200, "tina's token lists users as ADMIN")
    lt.expect_status(node.http("GET", "/api/v1/users", auth=("tina", "tina-password-1")), 200,
                     "tina lists users as ADMIN (Basic)")
    lt.expect_error(node.http("PUT", "/api/v1/users/tina/role", body={"role": "EMPEROR"}), 400,
                    "invalid_argument", "unknown role")

    lt.log("an ADMIN cannot delete itself")
    lt.expect_error(node.http("DELETE", "/api/v1/users/admin"), 409, "conflict", "admin deletes itself")
    lt.expect_error(node.http("DELETE", "/api/v1/users/tina", auth=bearer), 409, "conflict",
                    "tina (ADMIN, via token) deletes itself")

    resp = node.http("DELETE", "/api/v1/users/tina")
    lt.check(resp.status in (200, 204), "delete tina: %r" % resp)
    expect_401(node.http("GET", "/api/v1/ping", auth=bearer), "token of a deleted user")
    expect_401(node.http("GET", "/api/v1/ping", auth=bearer2), "second token of a deleted user")
    expect_401(node.http("GET", "/api/v1/ping", auth=("tina", "tina-password-1")), "password of a deleted user")
    # Re-creating the name must not resurrect the old tokens.
    lt.expect_status(node.http("POST", "/api/v1/users", body={"name": "tina", "password": "tina-password-2",
                                                              "role": "READONLY"}), 201, "re-create tina")
    expect_401(node.http("GET", "/api/v1/ping", auth=bearer), "old token after re-creating the user")
    node.http("DELETE", "/api/v1/users/tina")


def test_create_validation(node):
    lt.log("create-user validation")
    resp = node.http("POST", "/api/v1/users", body={"name": "otto", "password": "whatever-pass", "role": "READONLY"})
    lt.check(resp.status == 409 and resp.json.get("error") == "already_exists",
             "create an existing user: expected 409 already_exists, got %r" % resp)
    lt.expect_error(node.http("POST", "/api/v1/users", body={"name": "pat", "password": "short", "role": "READONLY"}),
                    400, "invalid_argument", "password of 5 characters")
    lt.expect_error(node.http("POST", "/api/v1/users", body={"name": "pat", "password": "long-enough", "role": "KING"}),
                    400, "invalid_argument", "unknown role")
    lt.expect_error(node.http("POST", "/api/v1/users", body={"name": "pat", "role": "READONLY"}),
                    400, "invalid_argument", "missing password")
    lt.expect_error(node.http("POST", "/api/v1/users", body={"name": "pat", "password": 12345678, "role": "READONLY"}),
                    400, "invalid_argument", "password of the wrong type")
    lt.expect_error(node.http("GET", "/api/v1/users/pat"), 404, "not_found", "pat was not created")
    resp = lt.expect_status(node.http("POST", "/api/v1/users", body={"name": "pat", "password": "12345678",
                                                                     "role": "readwrite"}), 201,
                            "password of exactly 8, lower-case role")
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=("pat", "12345678")), 200, "pat logs in")
    node.http("DELETE", "/api/v1/users/pat")


def test_other_roles(node):
    lt.log("NONE may not read; READWRITE is not ADMIN; passwords with ':' and non-ASCII work in Basic")
    nobody = ("nobody", "nobody-password")
    lt.expect_status(node.http("POST", "/api/v1/users", body={"name": nobody[0], "password": nobody[1],
                                                              "role": "NONE"}), 201, "create a NONE user")
    for path in ("/api/v1/ping", "/api/v1/status", "/api/v1/members", "/api/v1/users"):
        lt.expect_error(node.http("GET", path, auth=nobody), 403, "forbidden", "NONE GET %s" % path)
    writer = ("wendy", "pa:ss w\u00f6rd \u2603")
    lt.expect_status(node.http("POST", "/api/v1/users", body={"name": writer[0], "password": writer[1],
                                                              "role": "READWRITE"}), 201, "create wendy")
    ping = lt.expect_status(node.http("GET", "/api/v1/ping", auth=writer), 200, "wendy's colon password").json
    lt.check_eq(ping.get("role"), "READWRITE", "wendy's role")
    expect_401(node.http("GET", "/api/v1/ping", auth=("wendy", "pa")), "wendy's password cut at the colon")
    lt.expect_error(node.http("GET", "/api/v1/users", auth=writer), 403, "forbidden", "READWRITE lists users")
    lt.expect_error(node.http("POST", "/api/v1/users", body={"name": "bad/name", "password": "long-enough",
                                                             "role": "NONE"}), 400, "invalid_argument",
                    "user name with a slash")
    for name in (nobody[0], writer[0]):
        resp = node.http("DELETE", "/api/v1/users/" + name)
        lt.check(resp.status in (200, 204), "delete %s: %r" % (name, resp))


def test_request_errors(node):
    lt.log("413 / 400 / 404 / 405")
    big = json.dumps({"name": "big", "password": "x" * (BODY_MAX + 100), "role": "READONLY"})
    resp = node.http("POST", "/api/v1/users", body=big)
    lt.check_eq(resp.status, 413, "status of a %d-byte body (limit %d): %s" % (len(big), BODY_MAX, resp.text[:200]))
    lt.check(resp.json and "error" in resp.json and resp.header("x-request-id"), "413 body: %r" % resp)
    lt.expect_status(node.http("GET", "/api/v1/ping"), 200, "node still answers after 413")
    lt.expect_error(node.http("POST", "/api/v1/users", body="{not json"), 400, "invalid_argument", "invalid JSON")
    lt.expect_error(node.http("POST", "/api/v1/users", body="[1,2]"), 400, "invalid_argument", "JSON array body")
    lt.expect_error(node.http("POST", "/api/v1/users", body={"name": "u1", "password": "long-enough",
                                                             "role": "READONLY", "colour": "red"}),
                    400, "invalid_argument", "unknown body field")
    lt.expect_error(node.http("PUT", "/api/v1/users/otto/password", body={"password": "long-enough", "x": 1}),
                    400, "invalid_argument", "unknown field in password body")
    lt.expect_error(node.http("GET", "/api/v1/users/u1"), 404, "not_found", "u1 not created by rejected bodies")
    lt.expect_error(node.http("GET", "/api/v1/nope"), 404, "not_found", "unknown path")
    lt.expect_error(node.http("GET", "/nope", auth=None), 404, "not_found", "unknown path without auth")
    resp = node.http("DELETE", "/api/v1/ping")
    lt.check_eq(resp.status, 405, "DELETE /api/v1/ping status (%s)" % resp.text[:200])
    lt.check(resp.json and resp.json.get("error"), "405 body: %r" % resp)
    lt.check("GET" in (resp.header("allow") or ""), "405 without Allow: GET: %r" % resp.headers)
    resp = node.http("PATCH", "/api/v1/users")
    lt.check_eq(resp.status, 405, "PATCH /api/v1/users status (%s)" % resp.text[:200])
    resp = node.http("POST", "/healthz", auth=None)
    lt.check_eq(resp.status, 405, "POST /healthz status (%s)" % resp.text[:200])


def test_request_ids(node):
    lt.log("X-Request-Id: echoed when sane, generated otherwise")
    resp = node.http("GET", "/healthz", auth=None, headers={"X-Request-Id": "it-test-123"})
    lt.check_eq(resp.header("x-request-id"), "it-test-123", "echoed X-Request-Id")
    resp = node.http("GET", "/api/v1/users/ghost", headers={"X-Request-Id": "it-err-456"})
    lt.check_eq((resp.status, resp.json.get("request_id"), resp.header("x-request-id")),
                (404, "it-err-456", "it-err-456"), "request id in an error body")
    ids = set()
    for bad in ("has space", "x" * 500, "bad\"quote", "semi;colon", ""):
        resp = node.http("GET", "/healthz", auth=None, headers={"X-Request-Id": bad})
        rid = resp.header("x-request-id")
        lt.check(rid and rid != bad, "insane X-Request-Id %r was echoed or dropped: %r" % (bad, rid))
        ids.add(rid)
    for _ in range(3):
        ids.add(node.http("GET", "/healthz", auth=None).header("x-request-id"))
    lt.check_eq(len(ids), 8, "distinct generated request ids")


def test_open_endpoints(node):
    lt.log("/healthz and /metrics need no auth")
    resp = lt.expect_status(node.http("GET", "/healthz", auth=None), 200, "healthz")
    lt.check_eq(resp.json.get("status"), "ok", "healthz status")
    lt.expect_status(node.http("GET", "/healthz", auth=("admin", "wrong-password")), 200,
                     "healthz ignores bad credentials")
    resp = lt.expect_status(node.http("GET", "/metrics", auth=None), 200, "metrics")
    lt.check("text/plain" in (resp.header("content-type") or ""), "metrics content type %r" % resp.header("content-type"))
    lt.check_eq(lt.metric(resp.text, "librarian_node_incarnation"), 1.0, "librarian_node_incarnation")
    lt.check(lt.metric(resp.text, 'librarian_actor_mailbox_depth{actor="users"}') is not None,
             "metrics lack the users mailbox depth")
    # The background-work gauges exist and are counts (an idle test node owes little or nothing).
    for name in ("librarian_rocksdb_pending_compaction_bytes",
                 "librarian_rocksdb_running_compactions", "librarian_rocksdb_running_flushes"):
        value = lt.metric(resp.text, name)
        lt.check(value is not None and value >= 0, "metric %s is %r" % (name, value))
    lt.check(lt.metric(resp.text, "librarian_rocksdb_running_compactions") <= 2,
             "more compactions running than max_background_jobs allows")
    n2xx = lt.metric(resp.text, 'librarian_http_responses_total{class="2xx"}')
    n4xx = lt.metric(resp.text, 'librarian_http_responses_total{class="4xx"}')
    lt.check(n2xx and n2xx > 10 and n4xx and n4xx > 10, "http response counters 2xx=%r 4xx=%r" % (n2xx, n4xx))


def test_cli(ws, bin_dir, node):
    cli = os.path.join(bin_dir, "librarian")
    if not os.access(cli, os.X_OK):
        lt.log("SKIPPING the CLI part: %s is not built" % cli)
        return
    lt.log("CLI: %s" % cli)
    cfg = lt.write_json(ws.path("client.json"), {"connections": {
        "local": {"host": lt.HOST, "port": node.http_port, "user": "admin", "password": lt.ADMIN[1]},
        "wrongpw": {"host": lt.HOST, "port": node.http_port, "user": "admin", "password": "not-it-at-all"},
        "reader": {"host": lt.HOST, "port": node.http_port, "user": READER[0], "password": READER[1]},
        "closed": {"host": lt.HOST, "port": lt.free_port(), "user": "admin", "password": lt.ADMIN[1]},
    }})
    env = dict(os.environ, HL_CLIENT_CONFIG=cfg, HOME=ws.root)

    def cli_run(*argv, stdin_text=None):
        rc, out, err = lt.run_tool([cli] + list(argv), stdin_text=stdin_text, env=env, timeout=20)
        lt.log("librarian %s -> exit %d" % (" ".join(argv), rc))
        return rc, out, err

    rc, out, err = cli_run("ping", "local")
    lt.check(rc == 0, "librarian ping local: exit %d, stderr %r" % (rc, err))
    lt.check("admin" in out, "ping output lacks the user: %r" % out)
    rc, out, err = cli_run("ping", "local", "--json")
    lt.check_eq(rc, 0, "ping --json exit code")
    try:
        value = json.loads(out)
    except ValueError:
        raise lt.TestFailure("librarian ping --json printed non-JSON: %r" % out)
    lt.check_eq((value.get("user"), value.get("role"), value.get("name")), ("admin", "ADMIN", "solo"), "ping --json")
    rc, out, err = cli_run("--json", "status", "local")
    lt.check(rc == 0 and json.loads(out).get("incarnation") == 1, "status --json: %d %r %r" % (rc, out, err))
    rc, out, err = cli_run("ping", "wrongpw")
    lt.check_eq(rc, 5, "ping with a wrong password: exit code (unauthenticated); stderr %r" % err)
    lt.check(err.strip(), "ping with a wrong password printed no error")
    rc, out, err = cli_run("ping", "nosuchconn")
    lt.check_eq(rc, 2, "unknown connection name: exit code (not_found); stderr %r" % err)
    lt.check("nosuchconn" in err, "unknown connection: stderr does not name it: %r" % err)
    rc, out, err = cli_run("ping", "closed")
    lt.check_eq(rc, 8, "closed port: exit code (unavailable); stderr %r" % err)
    rc, out, err = cli_run("list-users", "reader")
    lt.check_eq(rc, 6, "list-users as READONLY: exit code (forbidden); stderr %r" % err)

    rc, out, err = cli_run("create-user", "local", "cliuser", "--role", "READWRITE", "--password-stdin",
                           stdin_text="cli-user-password\n")
    lt.check_eq(rc, 0, "create-user via --password-stdin (stderr %r)" % err)
    rc, out, err = cli_run("list-users", "local")
    lt.check(rc == 0 and "cliuser" in out, "list-users after create-user: %d %r %r" % (rc, out, err))
    rc, out, err = cli_run("list-users", "local", "--json")
    names = [u["name"] for u in json.loads(out)["users"]]
    lt.check("cliuser" in names, "list-users --json: %r" % names)
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=("cliuser", "cli-user-password")), 200,
                     "cliuser logs in with the stdin password (no trailing newline kept)")
    rc, out, err = cli_run("create-user", "local", "cliuser", "--role", "READWRITE", "--password-stdin",
                           stdin_text="cli-user-password\n")
    lt.check_eq(rc, 3, "create-user of an existing name: exit code (already_exists); stderr %r" % err)
    rc, out, err = cli_run("create-user", "local", "x2", "--role", "KING", "--password-stdin", stdin_text="pw-pw-pw-pw\n")
    lt.check_eq(rc, 1, "create-user with a bad role: exit code (usage)")
    rc, out, err = cli_run("get-members", "local", "--json")
    lt.check(rc == 0 and json.loads(out)["members"][0]["name"] == "solo", "get-members --json: %r" % out)
    rc, out, err = cli_run("create-token", "local", "cliuser", "--ttl-seconds", "60")
    lt.check(rc == 0 and out.strip(), "create-token: %d %r" % (rc, err))
    lt.expect_status(node.http("GET", "/api/v1/ping", auth="Bearer " + out.strip()), 200, "CLI-issued token")
    rc, out, err = cli_run("change-user-password", "local", "cliuser", "--password-stdin",
                           stdin_text="cli-user-password-2\n")
    lt.check_eq(rc, 0, "change-user-password via --password-stdin (stderr %r)" % err)
    expect_401(node.http("GET", "/api/v1/ping", auth=("cliuser", "cli-user-password")), "cliuser's old password")
    lt.expect_status(node.http("GET", "/api/v1/ping", auth=("cliuser", "cli-user-password-2")), 200,
                     "cliuser's new password set by the CLI")
    rc, out, err = cli_run("delete-user", "local", "cliuser")
    lt.check_eq(rc, 0, "delete-user (stderr %r)" % err)
    rc, out, err = cli_run("delete-user", "local", "cliuser")
    lt.check_eq(rc, 2, "delete-user of a missing user: exit code (not_found)")
    rc, out, err = cli_run("frobnicate")
    lt.check_eq(rc, 1, "unknown subcommand: exit code (usage)")

    lt.log("CLI: broken or missing client configs")
    bad_json = ws.path("bad-json.cfg")
    with open(bad_json, "w") as f:
        f.write('{"connections": ')
    bad_key = lt.write_json(ws.path("bad-key.cfg"), {"connections": {"x": {
        "host": lt.HOST, "port": node.http_port, "user": "admin", "password": lt.ADMIN[1], "colour": 1}}})
    for path, needle in ((bad_json, "JSON"), (bad_key, "connections.x.colour")):
        rc, out, err = cli_run("--config", path, "ping", "x")
        lt.check_eq(rc, 4, "client config %s: exit code (invalid_argument); stderr %r" % (path, err))
        lt.check(path in err and needle in err, "client config error does not name %r and %s: %r" % (needle, path, err))
    missing = ws.path("missing.cfg")
    rc, out, err = lt.run_tool([cli, "ping", "x"], env=dict(env, HL_CLIENT_CONFIG=missing), timeout=20)
    lt.check_eq(rc, 2, "missing client config: exit code (not_found); stderr %r" % err)
    lt.check(missing in err, "missing client config: stderr does not name %s: %r" % (missing, err))


def test(args):
    with lt.Workspace("http-auth", keep=args.keep) as ws:
        cfg = lt.node_config("solo", ws.path("data"), http={"body_max_bytes": BODY_MAX})
        node = lt.start_node(ws, args.bin_dir, cfg)
        for name, pw in (READER, OTHER):
            lt.expect_status(node.http("POST", "/api/v1/users", body={"name": name, "password": pw, "role": "READONLY"}),
                             201, "create %s" % name)
        test_auth_matrix(node)
        test_readonly(node)
        test_self_service(node)
        test_tokens(node)
        test_create_validation(node)
        test_other_roles(node)
        test_request_errors(node)
        test_request_ids(node)
        test_open_endpoints(node)
        test_cli(ws, args.bin_dir, node)
        node.stop(timeout=10, expect_code=0)


if __name__ == "__main__":
    lt.main(test, __doc__)
