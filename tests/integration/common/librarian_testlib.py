"""Shared helpers for Librarian's process-level integration tests (standard library only).

Every test imports this module through sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
    import librarian_testlib as lt

Conventions: loopback only, free ports chosen by binding port 0, bounded waits (deadlines of at most
30 s), every started process is killed in the end (SIGTERM, then SIGKILL), temporary directories
are removed.
"""

import argparse
import base64
import http.client as httpclient
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
ADMIN = ("admin", "admin-password-1")
MAX_WAIT = 30.0


class TestFailure(Exception):
    """A failed check; main() prints it and exits 1."""


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bin-dir", required=True, help="directory holding librarian-node etc.")
    parser.add_argument("--keep", action="store_true", help="keep temporary directories")
    return parser.parse_args()


def binary(bin_dir, name):
    path = os.path.join(bin_dir, name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise TestFailure("binary not found or not executable: %s" % path)
    return path


# ---------------------------------------------------------------------------------------------
# Ports

_reserved_ports = set()
_port_lock = threading.Lock()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (never one handed out before here)."""
    with _port_lock:
        for _ in range(100):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((HOST, 0))
                port = s.getsockname()[1]
            finally:
                s.close()
            if port not in _reserved_ports and not (7100 <= port <= 7199):
                _reserved_ports.add(port)
                return port
    raise TestFailure("could not find a free port")


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns a truthy value (returned) or timeout seconds pass."""
    timeout = min(timeout, MAX_WAIT)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - polling: remember the error and retry
            last = e
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Temporary directories and process bookkeeping

class Workspace:
    """A temp directory plus every process started in it; cleanup() kills and removes all."""

    def __init__(self, prefix, keep=False):
        self.root = tempfile.mkdtemp(prefix="librarian-it-%s-" % prefix)
        self.keep = keep
        self.processes = []
        log("workspace %s" % self.root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def track(self, proc):
        if proc not in self.processes:
            self.processes.append(proc)
        return proc

    def cleanup(self):
        for proc in self.processes:
            try:
                proc.kill_hard()
            except Exception as e:  # noqa: BLE001
                log("cleanup: %s" % e)
        if self.keep:
            log("keeping %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


# ---------------------------------------------------------------------------------------------
# Nodes

def node_config(name, data_dir, cluster_port=None, http_port=None, data_port=None, peers=(),
                **extra):
    """A node config dict; peers is a list of (name, cluster_port)."""
    cfg = {
        "name": name,
        "data_dir": data_dir,
        "log_level": "info",
        "listen": {
            "host": HOST,
            "cluster_port": cluster_port if cluster_port is not None else free_port(),
            "http_port": http_port if http_port is not None else free_port(),
            "data_port": data_port if data_port is not None else free_port(),
        },
        "peers": [{"name": n, "host": HOST, "cluster_port": p} for n, p in peers],
        "cluster": {"heartbeat_interval_ms": 200, "connection_timeout_ms": 1000,
                    "reconnect_min_ms": 50, "reconnect_max_ms": 500},
        "auth": {"bootstrap_admin": {"name": ADMIN[0], "password": ADMIN[1]},
                 "kdf_iterations": 1000},
    }
    cfg.update(extra)
    return cfg


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
    return path


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when this test process dies (even by SIGKILL)."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort (non-Linux)
        pass


class Process:
    """A child process whose stdout and stderr go to files in the workspace."""

    def __init__(self, argv, out_path, err_path, stdin=subprocess.DEVNULL, name=None):
        self.argv = argv
        self.name = name or os.path.basename(argv[0])
        self.out_path = out_path
        self.err_path = err_path
        self._out = open(out_path, "ab")
        self._err = open(err_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=self._out, stderr=self._err,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        self.pid = self.proc.pid

    def stdout(self):
        with open(self.out_path, "r", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, "r", errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def returncode(self):
        return self.proc.poll()

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=min(timeout, MAX_WAIT))
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill_hard(self):
        """SIGTERM, then SIGKILL after 5 s; always reaps the child and closes its files."""
        if self.alive():
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait_exit(5) is None:
                log("%s (pid %d) ignored SIGTERM; sending SIGKILL" % (self.name, self.pid))
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()
        self._err.close()


class Node(Process):
    """A running librarian-node with its config, ports and HTTP helpers."""

    def __init__(self, ws, bin_dir, config, tag=None):
        self.ws = ws
        self.bin_dir = bin_dir
        self.config = config
        self.name_ = config["name"]
        tag = tag or self.name_
        self.config_path = write_json(ws.path("%s.json" % tag), config)
        self.starts = 0
        self._start(tag)

    def _start(self, tag=None):
        self.starts += 1
        tag = tag or self.name_
        suffix = "" if self.starts == 1 else ".%d" % self.starts
        log("starting node %s (cluster %d, http %d)%s" % (
            self.name_, self.cluster_port, self.http_port,
            "" if self.starts == 1 else ", start #%d" % self.starts))
        Process.__init__(self, [binary(self.bin_dir, "librarian-node"), "--config", self.config_path],
                         self.ws.path("%s.out%s" % (tag, suffix)), self.ws.path("%s.err%s" % (tag, suffix)),
                         name="node %s" % self.name_)
        self.ws.track(self)

    def restart(self):
        check(not self.alive(), "restart of node %s while it still runs" % self.name_)
        self._out.close()
        self._err.close()
        self._start()
        return self

    @property
    def cluster_port(self):
        return self.config["listen"]["cluster_port"]

    @property
    def http_port(self):
        return self.config["listen"]["http_port"]

    def wait_ready(self, timeout=20):
        """Waits for the 'ready' line; returns the incarnation it announces."""
        def ready():
            if not self.alive():
                raise TestFailure("node %s exited with %s before it was ready; stderr:\n%s" % (
                    self.name_, self.returncode(), self.stderr()[-3000:]))
            for line in self.stdout().splitlines():
                if line.startswith("librarian-node %s ready:" % self.name_):
                    return line
            return None
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        line = None
        while line is None:
            line = ready()
            if line is None:
                if time.monotonic() >= deadline:
                    raise TestFailure("node %s not ready after %ss; stdout %r stderr:\n%s" % (
                        self.name_, timeout, self.stdout(), self.stderr()[-3000:]))
                time.sleep(0.05)
        check("cluster=%s:%d" % (HOST, self.cluster_port) in line, "ready line: %r" % line)
        check("http=%s:%d" % (HOST, self.http_port) in line, "ready line: %r" % line)
        incarnation = int(line.rsplit("incarnation=", 1)[1].split()[0])
        log("node %s ready (incarnation %d)" % (self.name_, incarnation))
        return incarnation

    def http(self, method, path, auth=ADMIN, body=None, headers=None, timeout=10):
        return http(self.http_port, method, path, auth=auth, body=body, headers=headers,
                    timeout=timeout)

    def stop(self, timeout=10, expect_code=0, sig=signal.SIGTERM):
        """SIGTERM (or sig) and wait; checks the exit code."""
        log("stopping node %s with %s" % (self.name_, signal.Signals(sig).name))
        self.signal(sig)
        started = time.monotonic()
        rc = self.wait_exit(timeout)
        if rc is None:
            raise TestFailure("node %s did not exit within %ss of %s" % (
                self.name_, timeout, signal.Signals(sig).name))
        log("node %s exited with %d after %.2fs" % (self.name_, rc, time.monotonic() - started))
        if expect_code is not None:
            check_eq(rc, expect_code, "exit code of node %s after %s; stderr tail:\n%s" % (
                self.name_, signal.Signals(sig).name, self.stderr()[-2000:]))
        return rc

    def kill9(self):
        log("killing node %s with SIGKILL" % self.name_)
        self.signal(signal.SIGKILL)
        rc = self.wait_exit(10)
        check(rc is not None, "node %s survived SIGKILL" % self.name_)
        return rc


def start_node(ws, bin_dir, config, wait=True, tag=None):
    node = Node(ws, bin_dir, config, tag=tag)
    if wait:
        node.incarnation = node.wait_ready()
    return node


# ---------------------------------------------------------------------------------------------
# HTTP

def basic(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return "Basic " + token


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # dict with lower-case names
        self.raw = raw
        self.text = raw.decode("utf-8", errors="replace")
        self.json = None
        if "json" in headers.get("content-type", ""):
            try:
                self.json = json.loads(self.text) if self.text else None
            except ValueError:
                self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<HTTP %d %s>" % (self.status, self.text[:300])


def http(port, method, path, auth=ADMIN, body=None, headers=None, timeout=10):
    """One request on a fresh connection.

    auth: None (no Authorization header), a (user, password) tuple (Basic), or a string used
    verbatim as the Authorization header value. body: dict/list (sent as JSON), str or bytes.
    """
    hdrs = {}
    if isinstance(auth, tuple):
        hdrs["Authorization"] = basic(*auth)
    elif isinstance(auth, str):
        hdrs["Authorization"] = auth
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    conn = httpclient.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw)
    finally:
        conn.close()


def expect_status(resp, status, what):
    if resp.status != status:
        raise TestFailure("%s: expected HTTP %d, got %d: %s" % (what, status, resp.status, resp.text[:500]))
    return resp


def expect_error(resp, status, code, what):
    expect_status(resp, status, what)
    check(resp.json is not None, "%s: error body is not JSON: %r" % (what, resp.text))
    check_eq(resp.json.get("error"), code, "%s: error code" % what)
    check(isinstance(resp.json.get("message"), str), "%s: no message in %r" % (what, resp.json))
    check(resp.json.get("request_id") == resp.header("x-request-id"),
          "%s: request_id %r differs from X-Request-Id %r" % (
              what, resp.json.get("request_id"), resp.header("x-request-id")))
    return resp


def members(node, auth=ADMIN):
    """{name: member dict} as node reports them."""
    resp = expect_status(node.http("GET", "/api/v1/members", auth=auth), 200, "GET members")
    return {m["name"]: m for m in resp.json["members"]}


def metric(text, name):
    """The value of one sample line `name value` (name may include labels) or None."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


# ---------------------------------------------------------------------------------------------
# Other tools

def run_tool(argv, stdin_text=None, timeout=30, env=None):
    """Runs a short-lived tool; returns (returncode, stdout, stderr). Kills it on timeout."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            env=env, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        out, err = proc.communicate(input=stdin_text, timeout=min(timeout, MAX_WAIT))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise TestFailure("%s timed out after %ss; stdout %r stderr %r" % (argv, timeout, out, err))
    return proc.returncode, out, err


def main(test_fn, description):
    """Runs test_fn(args) and turns its outcome into an exit code with a clear message."""
    args = parse_args(description)
    started = time.monotonic()

    def on_signal(signum, _frame):
        # ctest's timeout or an operator: unwind so every `finally` kills the nodes.
        raise TestFailure("interrupted by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        test_fn(args)
    except TestFailure as e:
        log("FAILED: %s" % e)
        sys.exit(1)
    except Exception:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        log("FAILED with an unexpected exception")
        sys.exit(1)
    log("PASSED in %.1fs" % (time.monotonic() - started))
    sys.exit(0)
