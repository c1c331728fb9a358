#!/usr/bin/env python3
"""Inter-librarian replication on real nodes with real bytes over loopback (issue 7):

1. Happy path: files uploaded to A (small ones on the batch's tree ticket, large ones on tickets of
   their own) arrive at B byte-identical; A records B's remote instances; nothing stays live.
2. 1,000 files A -> B with B killed by SIGKILL mid-way and restarted: all arrive, byte-identical,
   each exactly once (one File and one instance per name at B, one file per name in B's store, no
   staging residue), every transfer settles COMPLETED on both sides.
3. The globus mover: A -> C through the local Globus stand-in (same-absolute-path rule).
4. corruption_fixer: a file damaged at B is found by check_integrity and fetched again from A.
5. create_local_clone copies every file of A's main store to its drive store (verified), and
   rolling_deletion then deletes A's main copies only once B and C both verify theirs; a file whose
   copy at C was corrupted keeps its main copy.
5. Transfers disabled for B (librarian-change-transfer-status semantics, through the API): no new
   batch is staged while disabled; re-enabled, everything flows.
"""

import concurrent.futures
import hashlib
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import librarian_testlib as lt  # noqa: E402


def make_node(ws, name, peer_name, peer_port, cluster_port, background, key_path):
    root = ws.path(name + "-files")
    os.makedirs(root, exist_ok=True)
    cfg = lt.node_config(name, ws.path(name + "-data"), cluster_port=cluster_port,
                         peers=[(peer_name, peer_port)])
    cfg["stores"] = [{"name": "main", "staging_path": os.path.join(root, "staging"),
                      "store_path": os.path.join(root, "store"), "capacity_bytes": 8 << 30}]
    cfg["data"] = {"roots": [root]}
    cfg["librarian"] = {"encryption_key_file": key_path}
    cfg["background"] = background
    cfg["replication"] = {"peer_reply_timeout_ms": 1500, "retry_backoff_min_ms": 200,
                          "retry_backoff_max_ms": 2000, "max_batches_per_peer": 8}
    return cfg, root


EP_A = "6f1e0c2a-0000-4000-8000-00000000000a"
EP_C = "6f1e0c2a-0000-4000-8000-00000000000c"


def start_standin(ws, bin_dir):
    secret = ws.path("globus.secret")
    with open(secret, "w") as f:
        f.write("standin-secret\n")
    os.chmod(secret, 0o600)
    proc = lt.Process([lt.binary(bin_dir, "globus-standin"), "--port", "0",
                       "--endpoint", EP_A + "=/", "--endpoint", EP_C + "=/",
                       "--client", "librarian-test:standin-secret"],
                      ws.path("standin.out"), ws.path("standin.err"), name="globus-standin")
    ws.track(proc)
    port = None

    def ready():
        nonlocal port
        for line in proc.stdout().splitlines():
            if '"ready"' in line:
                port = json.loads(line)["port"]
                return True
        lt.check(proc.alive(), "globus-standin exited: %s" % proc.stderr())
        return False
    lt.wait_until(ready, 10, "the globus stand-in's ready line")
    return port, secret


class Cluster:
    def __init__(self, ws, bin_dir):
        self.ws = ws
        self.bin_dir = bin_dir
        key = ws.path("node.key")
        import base64
        with open(key, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        standin_port, secret = start_standin(ws, bin_dir)
        a_port, b_port, c_port, d_port = (lt.free_port(), lt.free_port(), lt.free_port(),
                                          lt.free_port())
        every = "200ms"
        self.a_cfg, self.a_root = make_node(ws, "a", "b", b_port, a_port, {
            "send_clone": [{"destination_librarian": "b", "every": "500ms", "send_batch_size": 50},
                           {"destination_librarian": "c", "every": "500ms", "send_batch_size": 20,
                            "mover": "globus"}],
            "consume_queue": [{"every": every}],
            "check_consumed_queue": [{"every": every}],
            "outgoing_transfer_hypervisor": [{"every": "2s", "age_in_days": 60 / 86400}],
            "create_local_clone": [{"every": "500ms", "clone_from": "main", "clone_to": "drive"}],
            "rolling_deletion": [{"every": "1s", "store_name": "main", "age_in_days": 8 / 86400,
                                  "number_of_remote_copies": 2}],
        }, key)
        self.a_cfg["stores"].append({"name": "drive", "type": "sneakernet", "ingestable": False,
                                     "staging_path": os.path.join(self.a_root, "drive-staging"),
                                     "store_path": os.path.join(self.a_root, "drive"),
                                     "capacity_bytes": 8 << 30})
        self.a_cfg["peers"].append({"name": "c", "host": lt.HOST, "cluster_port": c_port})
        self.a_cfg["peers"].append({"name": "d", "host": lt.HOST, "cluster_port": d_port})
        base = "http://%s:%d" % (lt.HOST, standin_port)
        self.a_cfg["librarian"].update({
            "globus_enable": True, "globus_client_id": "librarian-test",
            "globus_client_secret_file": secret, "globus_local_endpoint_id": EP_A,
            "globus_auth_url": base, "globus_transfer_url": base + "/v0.10"})
        self.b_cfg, self.b_root = make_node(ws, "b", "a", a_port, b_port, {
            "recv_clone": [{"every": every}],
            "incoming_transfer_hypervisor": [{"every": "2s", "age_in_days": 90 / 86400}],
            "corruption_fixer": [{"every": "500ms"}],
        }, key)
        self.b_cfg["librarian"]["check_integrity"] = [{"store": "main", "every_s": 1}]
        self.c_cfg, self.c_root = make_node(ws, "c", "a", a_port, c_port, {
            "recv_clone": [{"every": every}],
        }, key)
        self.c_cfg["stores"][0]["destination_endpoint"] = EP_C
        self.d_cfg, self.d_root = make_node(ws, "d", "a", a_port, d_port, {
            "recv_clone": [{"every": every}],
        }, key)
        self.a = lt.start_node(ws, bin_dir, self.a_cfg)
        self.b = lt.start_node(ws, bin_dir, self.b_cfg)
        self.c = lt.start_node(ws, bin_dir, self.c_cfg)
        self.d = lt.start_node(ws, bin_dir, self.d_cfg)
        self.client_cfg = ws.path("client.json")
        lt.write_json(self.client_cfg, {"connections": {
            "a": {"host": lt.HOST, "port": self.a.http_port, "user": lt.ADMIN[0],
                  "password": lt.ADMIN[1]},
            "d": {"host": lt.HOST, "port": self.d.http_port, "user": lt.ADMIN[0],
                  "password": lt.ADMIN[1]}}})
        os.chmod(self.client_cfg, 0o600)
        self.sources = {}  # name -> local path

    def upload_many(self, items, workers=6):
        """items: (name, bytes). Through the real CLI, several at once."""
        def one(item):
            name, data = item
            path = self.ws.path("src", name.replace("/", "_"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            argv = [lt.binary(self.bin_dir, "librarian"), "upload", "a", path, name]
            env = dict(os.environ, HL_CLIENT_CONFIG=self.client_cfg)
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
            lt.check(proc.returncode == 0, "upload %s: %s %s" % (name, proc.stdout, proc.stderr))
            return name, path
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for name, path in pool.map(one, items):
                self.sources[name] = path

    def cli(self, *argv, expect=0):
        env = dict(os.environ, HL_CLIENT_CONFIG=self.client_cfg)
        proc = subprocess.run([lt.binary(self.bin_dir, "librarian")] + list(argv),
                              capture_output=True, text=True, timeout=300, env=env)
        lt.check(proc.returncode == expect, "librarian %s: exit %d\n%s\n%s" % (
            " ".join(argv), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def files(self, node, query=None):
        out, after = {}, None
        for _ in range(1000):
            body = dict(query or {}, max_results=1000)
            if after:
                body["after"] = after
            resp = node.http("POST", "/api/v1/files/search", body=body, timeout=30)
            page = lt.expect_status(resp, 200, "search on %s" % node.name_).json
            for f in page["files"]:
                lt.check(f["name"] not in out, "search on %s listed %r twice" % (node.name_, f["name"]))
                out[f["name"]] = f
            if not page["more"]:
                return out
            after = page["next_after"]
        raise lt.TestFailure("search never ended")

    def report(self, node):
        return lt.expect_status(node.http("GET", "/api/v1/replication"), 200, "replication report").json

    def wait_replicated(self, names, timeout, what, node=None):
        node = node or self.b
        names = set(names)
        deadline = time.monotonic() + timeout
        last = -1
        while True:
            have = set(self.files(node)) & names
            if len(have) != last:
                lt.log("%s: %d/%d at %s" % (what, len(have), len(names), node.name_))
                last = len(have)
            if have == names:
                return
            if time.monotonic() > deadline:
                raise lt.TestFailure("%s: %d of %d files reached %s after %ss; a: %s\n%s: %s" % (
                    what, len(have), len(names), node.name_, timeout,
                    json.dumps(self.report(self.a))[:3000], node.name_,
                    json.dumps(self.report(node))[:3000]))
            time.sleep(0.5)

    def wait_settled(self, timeout, what):
        """Every transfer on both sides terminal, and A knows B's copy of every file."""
        deadline = time.monotonic() + timeout
        while True:
            ra, rb = self.report(self.a), self.report(self.b)
            live = sum(ra["outgoing"].values()) + sum(rb["incoming"].values())
            if live == 0 and not ra["active_batches"]:
                return ra, rb
            if time.monotonic() > deadline:
                raise lt.TestFailure("%s: transfers still live after %ss: a %s b %s" % (
                    what, timeout, json.dumps(ra)[:3000], json.dumps(rb)[:3000]))
            time.sleep(0.3)

    def check_exact(self, names, what):
        """Every name at B once, byte-identical, with A recording B's remote instance."""
        at_b = self.files(self.b)
        for name in names:
            f = at_b.get(name)
            lt.check(f is not None, "%s: %r missing at b" % (what, name))
            lt.check(len(f["instances"]) == 1, "%s: %r has %d instances at b" % (
                what, name, len(f["instances"])))
            with open(f["instances"][0]["path"], "rb") as got, open(self.sources[name], "rb") as want:
                lt.check(hashlib.sha256(got.read()).digest() == hashlib.sha256(want.read()).digest(),
                         "%s: %r differs at b" % (what, name))
        with_remote = self.files(self.a, {"has_remote_at": "b"})
        missing = [n for n in names if n not in with_remote]
        lt.check(not missing, "%s: a records no remote instance at b for %d files, e.g. %r" % (
            what, len(missing), missing[:3]))
        for n in names:
            remotes = [r for r in with_remote[n]["remote_instances"] if r["librarian"] == "b"]
            lt.check(len(remotes) == 1, "%s: %r has %d remote instances at b" % (what, n, len(remotes)))
        # Exactly once on disk: one file per name in B's store, nothing left in staging.
        store = os.path.join(self.b_root, "store")
        on_disk = []
        for dirpath, _dirs, leaves in os.walk(store):
            on_disk += [os.path.relpath(os.path.join(dirpath, leaf), store) for leaf in leaves]
        lt.check_eq(sorted(on_disk), sorted(set(self.files(self.b))), "%s: b's store holds" % what)
        staging = os.path.join(self.b_root, "staging")
        residue = []
        for dirpath, _dirs, leaves in os.walk(staging):
            residue += [os.path.join(dirpath, leaf) for leaf in leaves]
        lt.check(not residue, "%s: staging residue at b: %r" % (what, residue[:5]))


def test(args):
    rng = random.Random(7)
    # Each slice of a native batch waits this long first, so B can be killed mid-way.
    os.environ["LIBRARIAN_FAULT_MOVER_DELAY_MS"] = "400"
    with lt.Workspace("replication", keep=args.keep) as ws:
        c = Cluster(ws, args.bin_dir)

        # 1. happy path: small files on the tree ticket, two large ones on their own tickets.
        first = [("happy/f%03d.dat" % i, rng.randbytes(rng.randint(1, 64 << 10))) for i in range(40)]
        first += [("happy/big%d.dat" % i, rng.randbytes((17 << 20) + i)) for i in range(2)]
        c.upload_many(first)
        c.wait_replicated([n for n, _ in first], 120, "happy path")
        ra, rb = c.wait_settled(60, "happy path")
        c.check_exact([n for n, _ in first], "happy path")
        lt.check(ra["counters"].get("batches_moved", 0) >= 1, "a moved no batch: %r" % ra["counters"])
        lt.check(rb["counters"].get("incoming_completed", 0) == len(first),
                 "b completed %r transfers, expected %d" % (rb["counters"].get("incoming_completed"),
                                                            len(first)))
        lt.log("happy path: %d files replicated and verified" % len(first))

        # The same files reach C through the Globus stand-in (a send_clone task with mover globus).
        c.wait_replicated([n for n, _ in first], 120, "globus mover", node=c.c)
        at_c = c.files(c.c)
        for name, data in first:
            with open(at_c[name]["instances"][0]["path"], "rb") as got:
                lt.check(got.read() == data, "globus mover: %r differs at c" % name)
        lt.wait_until(lambda: len(c.files(c.a, {"has_remote_at": "c"})) >= len(first), 60,
                      "a to record c's remote instances")
        lt.log("globus mover: %d files at c, byte-identical" % len(first))

        # Corrupt C's copy of one file before A's copies are old enough for rolling_deletion.
        victim = first[3][0]
        with open(at_c[victim]["instances"][0]["path"], "r+b") as f:
            f.write(b"\xff" * 16)

        # 2. disabled peer: nothing new is staged; re-enabled, it flows.
        resp = c.a.http("POST", "/api/v1/admin/librarians/add", body={
            "name": "b", "url": "http://" + lt.HOST, "port": c.b.http_port,
            "authenticator": "%s:%s" % lt.ADMIN, "check_connection": False})
        lt.expect_status(resp, 201, "register b as a librarian at a")
        lt.expect_status(c.a.http("POST", "/api/v1/admin/librarians/transfer_status",
                                  body={"name": "b", "transfers_enabled": False}), 200, "disable b")
        before = c.report(c.a)["counters"].get("batches_created_to_b", 0)
        paused = [("paused/p%03d.dat" % i, rng.randbytes(rng.randint(1, 8 << 10))) for i in range(20)]
        c.upload_many(paused)
        time.sleep(3)
        ra = c.report(c.a)
        lt.check_eq(ra["counters"].get("batches_created_to_b", 0), before,
                    "batches created for b while disabled")
        lt.check(not (set(c.files(c.b)) & {n for n, _ in paused}), "files reached b while disabled")
        lt.check(ra["counters"].get("send_clone_skipped_disabled", 0) >= 1,
                 "send_clone never skipped the disabled peer: %r" % ra["counters"])
        lt.expect_status(c.a.http("POST", "/api/v1/admin/librarians/transfer_status",
                                  body={"name": "b", "transfers_enabled": True}), 200, "enable b")
        c.wait_replicated([n for n, _ in paused], 60, "re-enabled")
        c.wait_settled(60, "re-enabled")
        lt.log("disable/enable: nothing moved while disabled, all %d moved after" % len(paused))

        # 3. 1,000 files with B killed mid-way (uploaded while B is disabled, so they all wait).
        lt.expect_status(c.a.http("POST", "/api/v1/admin/librarians/transfer_status",
                                  body={"name": "b", "transfers_enabled": False}), 200, "disable b")
        many = [("bulk/%04d.dat" % i, rng.randbytes(rng.randint(1, 32 << 10))) for i in range(1000)]
        c.upload_many(many, workers=8)
        names = [n for n, _ in many]
        lt.expect_status(c.a.http("POST", "/api/v1/admin/librarians/transfer_status",
                                  body={"name": "b", "transfers_enabled": True}), 200, "enable b")
        deadline = time.monotonic() + 120
        while True:
            have = len(set(c.files(c.b)) & set(names))
            if have >= 1:  # the first batches landed: the rest are still moving
                break
            lt.check(time.monotonic() < deadline, "b never received a bulk file")
            time.sleep(0.05)
        lt.log("b has %d/1000 bulk files; killing it" % have)
        lt.check(have < 1000, "b finished before it could be killed; make the batch slower")
        c.b.kill9()
        time.sleep(1.0)
        c.b.restart()
        c.b.wait_ready()
        c.wait_replicated(names, 300, "after SIGKILL of b")
        c.wait_settled(120, "after SIGKILL of b")
        all_names = [n for n, _ in first + paused + many]
        c.check_exact(all_names, "after SIGKILL of b")

        # corruption_fixer: damage B's copy of a file; B finds it and fetches a good copy from A.
        damaged = many[17][0]
        path = c.files(c.b)[damaged]["instances"][0]["path"]
        with open(path, "r+b") as f:
            f.write(b"\x00corrupt\x00")
        with open(c.sources[damaged], "rb") as f:
            want = f.read()

        def repaired():
            with open(path, "rb") as f:
                return f.read() == want
        lt.wait_until(repaired, 60, "corruption_fixer to repair " + damaged)
        lt.wait_until(lambda: c.report(c.b)["counters"].get("corruption_fixed", 0) >= 1, 30,
                      "b to count the repair")
        lt.log("corruption_fixer: %s damaged at b, found and fetched again from a" % damaged)
        c.wait_replicated(all_names, 120, "globus mover, every file", node=c.c)

        # create_local_clone: every happy-path file has a verified copy on A's drive store.
        def a_instances(name):
            return lt.expect_status(c.a.http("GET", "/api/v1/files/get?name=" + name), 200,
                                    "get " + name).json["instances"]
        def on(name, store):
            return [i for i in a_instances(name) if i["store"] == store]
        for name, data in first:
            lt.wait_until(lambda: on(name, "drive"), 60, "a drive copy of " + name)
            with open(on(name, "drive")[0]["path"], "rb") as got:
                lt.check(got.read() == data, "create_local_clone: %r differs on the drive" % name)
        # rolling_deletion: main copies go once B and C verified theirs -- except the victim's.
        for name, _ in first:
            if name == victim:
                continue
            lt.wait_until(lambda: not on(name, "main")[0]["available"], 60,
                          "rolling_deletion of a's main copy of " + name)
            lt.check(not os.path.exists(on(name, "main")[0]["path"]),
                     "rolling_deletion left the bytes of %r" % name)
        kept = on(victim, "main")[0]
        lt.check(kept["available"] and os.path.exists(kept["path"]),
                 "rolling_deletion deleted %r although c's copy is corrupt" % victim)
        ra = c.report(c.a)
        lt.check(ra["counters"].get("rolling_deletion_refused", 0) >= 1,
                 "no refusal counted: %r" % ra["counters"])
        lt.log("create_local_clone and rolling_deletion: %d main copies deleted after two verified "
               "remote copies; the one with a corrupt remote copy kept" % (len(first) - 1))

        # The sender killed mid-way: A restarts from its committed transfers and batches.
        lt.expect_status(c.a.http("POST", "/api/v1/admin/librarians/transfer_status",
                                  body={"name": "b", "transfers_enabled": False}), 200, "disable b")
        more = [("resume/%03d.dat" % i, rng.randbytes(rng.randint(1, 32 << 10))) for i in range(300)]
        c.upload_many(more, workers=8)
        lt.expect_status(c.a.http("POST", "/api/v1/admin/librarians/transfer_status",
                                  body={"name": "b", "transfers_enabled": True}), 200, "enable b")
        more_names = [n for n, _ in more]
        # Kill A while its batches are moving (the mover waits 400 ms before each slice).
        lt.wait_until(lambda: c.report(c.a)["batches"].get("active", 0) >= 1, 60,
                      "a batch of the resume set in flight")
        c.a.kill9()
        have = len(set(c.files(c.b)) & set(more_names))
        lt.check(have < len(more_names), "b got everything before a could be killed")
        lt.log("killed a with %d/%d of the resume set at b" % (have, len(more_names)))
        c.a.restart()
        c.a.wait_ready()
        c.wait_replicated(more_names, 180, "after SIGKILL of a")
        c.wait_settled(120, "after SIGKILL of a")
        all_names += more_names
        c.check_exact(all_names, "after SIGKILL of a")

        # SneakerNet: A's drive store goes to D by hand (D is no send_clone destination).
        drive = os.path.join(c.a_root, "drive")
        m1, m2 = ws.path("manifest1.json"), ws.path("manifest2.json")
        c.cli("get-store-manifest", "a", "--store", "drive", "--destination-librarian", "d",
              "--output", m1)
        with open(m1) as f:
            manifest = json.load(f)
        entries = manifest["store_files"]
        lt.check(len(entries) >= len(first), "the drive's manifest lists %d files" % len(entries))
        lt.check(all(e.get("outgoing_transfer_id", 0) > 0 for e in entries),
                 "manifest entries without an outgoing transfer id")
        c.cli("get-store-manifest", "a", "--store", "drive", "--destination-librarian", "d",
              "--output", m2)
        with open(m2) as f:
            again = {e["name"]: e["outgoing_transfer_id"] for e in json.load(f)["store_files"]}
        lt.check(all(again.get(e["name"]) == e["outgoing_transfer_id"] for e in entries),
                 "a second get-store-manifest made new transfers")
        out = c.cli("ingest-manifest", "d", "--manifest", m1, "--store-root", drive).stdout
        lt.log("ingest-manifest: " + out.strip())
        sneaker = [e["name"] for e in entries]
        c.wait_replicated(sneaker, 120, "sneakernet", node=c.d)
        at_d = c.files(c.d)
        for name in sneaker:
            with open(at_d[name]["instances"][0]["path"], "rb") as got, \
                    open(c.sources[name], "rb") as want:
                lt.check(got.read() == want.read(), "sneakernet: %r differs at d" % name)
        lt.wait_until(lambda: set(sneaker) <= set(c.files(c.a, {"has_remote_at": "d"})), 60,
                      "a to record d's copies (the callbacks)")
        out = c.cli("ingest-manifest", "d", "--manifest", m1, "--store-root", drive).stdout
        lt.check(("%d already here" % len(sneaker)) in out, "a re-run of ingest-manifest: " + out)
        lt.log("sneakernet: %d files carried to d, verified, called back; re-runs are no-ops"
               % len(sneaker))

        metrics = lt.expect_status(c.a.http("GET", "/metrics", auth=None), 200, "metrics").text
        done = lt.metric(metrics, 'librarian_replication_events_total{event="transfers_completed"}')
        # Counters start again with each incarnation; a restarted a has completed the resume set.
        lt.check(done is not None and done >= len(more_names) - have,
                 "/metrics: transfers_completed %r, expected >= %d" % (done, len(more_names) - have))
        lt.check(lt.metric(metrics, "librarian_replication_overdue_transfers") == 0,
                 "/metrics reports overdue transfers after everything settled")
        # Task runs, timed and by outcome: a's send_clone ran (and finished) many times.
        runs_ok = lt.metric(metrics, 'librarian_task_runs_total{task="send_clone",outcome="ok"}')
        runs = lt.metric(metrics, 'librarian_task_run_seconds_count{task="send_clone"}')
        total_s = lt.metric(metrics, 'librarian_task_run_seconds_sum{task="send_clone"}')
        max_s = lt.metric(metrics, 'librarian_task_run_seconds_max{task="send_clone"}')
        lt.check(runs_ok is not None and runs_ok >= 1 and runs is not None and runs >= runs_ok,
                 "/metrics: send_clone runs %r (ok %r)" % (runs, runs_ok))
        lt.check(total_s is not None and max_s is not None and 0 < max_s <= total_s,
                 "/metrics: send_clone run seconds sum %r max %r" % (total_s, max_s))
        ra, rb = c.report(c.a), c.report(c.b)
        tasks = {t["task"]: t for t in ra["tasks"]}
        lt.check("send_clone" in tasks and tasks["send_clone"]["runs"] >= runs,
                 "GET /api/v1/replication tasks: %r" % ra["tasks"])
        lt.check("recv_clone" in {t["task"] for t in rb["tasks"]},
                 "b reports no recv_clone runs: %r" % rb["tasks"])
        lt.log("a task runs: %s" % json.dumps(ra["tasks"], sort_keys=True))
        lt.log("a counters: %s" % json.dumps(ra["counters"], sort_keys=True))
        lt.log("b counters: %s" % json.dumps(rb["counters"], sort_keys=True))
        lt.log("%d files replicated exactly once across a SIGKILL of the receiver" % len(all_names))


if __name__ == "__main__":
    lt.main(test, __doc__)
