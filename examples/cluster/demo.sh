#!/usr/bin/env bash
# The product's main job, as far as it goes today: a 3-node cluster on loopback, its membership,
# messages injected into its actors through the console, files uploaded into node a's store,
# replicated to node b by the replication pipeline and found again (search, download, the
# replica index), bulk copies over the data channel, metadata queries, and a node restart that
# shows its persisted state survived. Run by `make demo` (from
# the repo root).
set -euo pipefail

bin_dir=$(cd "${1:-build/bin}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
data=demo-data
nodes=(a b c)
declare -A cluster_port=([a]=7101 [b]=7102 [c]=7103)
declare -A pid

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
console() { "$bin_dir/librarian-console" --connect "127.0.0.1:${cluster_port[$1]}" --script -; }

cleanup() {
  for n in "${nodes[@]}"; do
    if [ -n "${pid[$n]:-}" ] && kill -0 "${pid[$n]}" 2>/dev/null; then kill -KILL "${pid[$n]}" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT

# Each node's config is examples/cluster/N.json plus a store and data roots under demo-data
# (store paths must be absolute, so they are added here).
write_config() {
  local n=$1 files="$root/$data/$n-files"
  mkdir -p "$files/staging" "$files/store" "$files/exchange"
  python3 - "$here/$n.json" "$data/$n.json" "$files" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
files = sys.argv[3]
cfg["stores"] = [{"name": "main", "staging_path": files + "/staging", "store_path": files + "/store",
                  "capacity_bytes": 10 * 2**30}]
cfg["data"] = {"roots": [files + "/exchange"]}
# Replication: a clones what it holds to b (native mover over b's data port); b ingests.
if cfg["name"] == "a":
    cfg["background"] = {"send_clone": [{"destination_librarian": "b", "every": "1s"}],
                         "consume_queue": [{"every": "500ms"}],
                         "check_consumed_queue": [{"every": "500ms"}],
                         "outgoing_transfer_hypervisor": [{"every": "1m", "age_in_days": 1}]}
elif cfg["name"] == "b":
    cfg["background"] = {"recv_clone": [{"every": "500ms"}],
                         "incoming_transfer_hypervisor": [{"every": "1m", "age_in_days": 2}]}
json.dump(cfg, open(sys.argv[2], "w"), indent=2)
PY
}

start_node() {
  local n=$1
  "$bin_dir/librarian-node" --config "$data/$n.json" >"$data/$n.out" 2>>"$data/$n.log" &
  pid[$n]=$!
  for _ in $(seq 1 100); do
    if grep -q "ready" "$data/$n.out" 2>/dev/null; then sed 's/^/  /' "$data/$n.out"; return 0; fi
    if ! kill -0 "${pid[$n]}" 2>/dev/null; then echo "node $n failed to start:"; cat "$data/$n.log"; exit 1; fi
    sleep 0.1
  done
  echo "node $n did not become ready within 10 s"; exit 1
}

stop_node() {
  local n=$1
  kill -TERM "${pid[$n]}"
  for _ in $(seq 1 150); do
    if ! kill -0 "${pid[$n]}" 2>/dev/null; then wait "${pid[$n]}" && rc=0 || rc=$?; echo "  node $n stopped (exit $rc)"; return 0; fi
    sleep 0.1
  done
  echo "node $n did not stop within 15 s"; exit 1
}

# Waits until `members` on node $1 shows $2 members up.
wait_members_up() {
  for _ in $(seq 1 100); do
    if [ "$(echo members | console "$1" | grep -c ' up$')" = "$2" ]; then return 0; fi
    sleep 0.1
  done
  echo "node $1 never saw $2 members up"; exit 1
}

for n in "${nodes[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${cluster_port[$n]}") 2>/dev/null; then
    echo "port ${cluster_port[$n]} is already in use (a node from an earlier demo still running?)"; exit 1
  fi
done
rm -rf "$data" && mkdir -p "$data"
for n in "${nodes[@]}"; do write_config "$n"; done

say "Starting nodes a, b and c on loopback (examples/cluster/*.json)"
for n in "${nodes[@]}"; do start_node "$n"; done

say "Membership as node a sees it (librarian-console: members)"
wait_members_up a 3
echo members | console a

say "Injecting messages into node b's actors through the console"
console b <<'SCRIPT'
echo > ask users create alice "correct horse battery" READONLY
ask users create alice "correct horse battery" READONLY
echo > ask users list
ask users list => count 2
echo > ask users lookup bob   (expecting not_found)
ask users lookup bob => error not_found
echo > ask node status
ask node status => contains "incarnation=1"
echo > ask lrc create / add: register two replicas of one file in b's replica catalog
ask lrc create lfn://demo/zen.2459001.uvh5 gsiftp://b.example.org/data/zen.2459001.uvh5
ask lrc add lfn://demo/zen.2459001.uvh5 file:///archive/zen.2459001.uvh5
echo > ask lrc query lfn://demo/zen.2459001.uvh5 0 0
ask lrc query lfn://demo/zen.2459001.uvh5 0 0 => count 2
SCRIPT

say "Where are the copies? Node a registers a replica too; b's RLI learns it by soft state"
console a <<'SCRIPT'
ask lrc create lfn://demo/zen.2459001.uvh5 gsiftp://a.example.org/data/zen.2459001.uvh5
SCRIPT
for _ in $(seq 1 100); do
  if [ "$(echo 'ask rli query lfn://demo/zen.2459001.uvh5' | console b 2>/dev/null | sort | tr '\n' ' ')" = "a b " ]; then break; fi
  sleep 0.1
done
console b <<'SCRIPT'
echo > ask rli query lfn://demo/zen.2459001.uvh5   (the sites holding a copy)
ask rli query lfn://demo/zen.2459001.uvh5 => count 2
echo > ask rli lrcs
ask rli lrcs
SCRIPT

if [ -x "$bin_dir/librarian" ]; then
  say "The HTTP API through the CLI (librarian ping / get-members)"
  cat >"$data/hl_client.cfg" <<CFG
{"connections": {
  "demo-a": {"host": "127.0.0.1", "port": 7181, "user": "admin", "password": "demo-admin-password"},
  "demo-b": {"host": "127.0.0.1", "port": 7182, "user": "admin", "password": "demo-admin-password"}
}}
CFG
  export HL_CLIENT_CONFIG="$root/$data/hl_client.cfg"
  chmod 600 "$HL_CLIENT_CONFIG"
  "$bin_dir/librarian" ping demo-b
  "$bin_dir/librarian" get-members demo-a

  say "Upload into node a's store, search, download (bytes over the data channel, checksummed)"
  head -c 20000000 /dev/urandom >"$data/zen.2459002.uvh5"
  "$bin_dir/librarian" upload demo-a "$data/zen.2459002.uvh5" demo/zen.2459002.uvh5
  "$bin_dir/librarian" search-files demo-a -n 'demo/*'
  "$bin_dir/librarian" download demo-a demo/zen.2459002.uvh5 "$data/zen.2459002.copy"
  cmp "$data/zen.2459002.uvh5" "$data/zen.2459002.copy" && echo "  downloaded copy is byte-identical"

  say "Replication: node a's send_clone clones its files to node b, which verifies and ingests them"
  for _ in $(seq 1 100); do
    if "$bin_dir/librarian" search-files demo-b -n 'demo/*' 2>/dev/null | grep -q zen.2459002; then break; fi
    sleep 0.2
  done
  "$bin_dir/librarian" search-files demo-b -n 'demo/*'
  "$bin_dir/librarian" transfer-status demo-a | sed 's/^/  /'

  say "librarian copy (globus-url-copy's options): 4 streams to node b's data port, then back"
  "$bin_dir/librarian" copy --conn demo-b -p 4 -vb "$data/zen.2459002.uvh5" "lib://127.0.0.1:7192$root/$data/b-files/exchange/zen.uvh5"
  "$bin_dir/librarian" copy --conn demo-b --json "lib://127.0.0.1:7192$root/$data/b-files/exchange/zen.uvh5" "$data/zen.back" |
    python3 -c 'import json,sys; f=json.load(sys.stdin)["files"][0]; print("  back from b:", f["bytes"], "bytes,", f["checksum"])'
  cmp "$data/zen.2459002.uvh5" "$data/zen.back" && echo "  byte-identical"

  say "Metadata catalog: describe the file, then find it by what it is"
  "$bin_dir/librarian" mcs create demo-a -l demo/zen.2459002.uvh5 >/dev/null
  "$bin_dir/librarian" mcs add_att demo-a l demo/zen.2459002.uvh5 field string EoR >/dev/null
  "$bin_dir/librarian" mcs add_att demo-a l demo/zen.2459002.uvh5 jd int 2459002 >/dev/null
  "$bin_dir/librarian" mcs query demo-a l -w "field = EoR" -w "jd >= 2459000" --locate
fi

say "Restarting node b (SIGTERM, then start again)"
stop_node b
for _ in $(seq 1 50); do
  if echo members | console a | grep -q '^b down$'; then break; fi
  sleep 0.1
done
echo members | console a
start_node b
wait_members_up a 3

say "Node b after the restart: a new incarnation; alice and the replicas are still there"
console b <<'SCRIPT'
ask node status => contains "incarnation=2"
ask users lookup alice => contains "alice READONLY"
ask lrc querypfn file:///archive/zen.2459001.uvh5 0 0 => equals "lfn://demo/zen.2459001.uvh5"
ask lrc wildcard "lfn://demo/*" 0 0 => count 2
SCRIPT
echo members | console a

say "Shutting down"
for n in "${nodes[@]}"; do stop_node "$n"; done
trap - EXIT
say "Demo finished: logs are in $data/"
