// The simulated mover (DESIGN.md §4.4): copies bytes from this node's in-memory disk to a peer's,
// taking virtual time (a per-task latency plus size over a drawn bandwidth), with the faults a
// wide-area transfer service shows: bytes silently corrupted or truncated on the way (the
// receiver's verification must catch them), tasks that stall, tasks the service forgets, and
// submit replies that are lost after the task started (the submission id must make the resubmit
// harmless). Everything is drawn from the world's one generator.
#include "runtime/probe.hpp"
#include "runtime/sim/world_impl.hpp"

namespace librarian::sim {
namespace {

using transfer::mover_batch;
using transfer::task_state;
using transfer::task_status;

struct sim_task {
  std::string id;
  mover_batch batch;
  task_status status;
  int64_t started_ms = 0;
  int64_t finish_ms = 0;  // when the bytes land (INT64_MAX: stalled)
};

class sim_mover final : public transfer::async_mover,
                        public std::enable_shared_from_this<sim_mover> {
 public:
  sim_mover(world_impl& world, size_t node, uint64_t incarnation)
      : world_(world), node_(node), incarnation_(incarnation) {}

  std::string name() const override { return "sim"; }

  expected<std::string> submit(const mover_batch& batch) override {
    if (auto it = by_submission_.find(batch.submission_id); it != by_submission_.end())
      return it->second;
    if (batch.files.empty()) return fail(errc::invalid_argument, "a batch with no files");
    auto& p = world_.profile;
    sim_task t;
    t.id = world_.nodes[node_].name + "-task-" + std::to_string(next_++);
    t.batch = batch;
    t.status.files_total = batch.files.size();
    t.started_ms = world_.now_ms();
    uint64_t bytes = 0;
    for (const auto& f : batch.files) bytes += f.size;
    auto bandwidth = std::max<int64_t>(1, p.mover_kbytes_per_ms);
    auto duration = static_cast<int64_t>(world_.chaos.uniform(5, 200)) +
                    static_cast<int64_t>(bytes / 1000 / static_cast<uint64_t>(bandwidth));
    bool stalls = world_.chaos.chance(p.mover_stall);
    t.finish_ms = stalls ? INT64_MAX : t.started_ms + duration;
    world_.trace("mover submit " + t.id + (stalls ? " (stalls)" : ""));
    if (stalls) LIB_PROBE("sim.mover_stall");
    by_submission_[batch.submission_id] = t.id;
    auto id = t.id;
    tasks_[id] = std::move(t);
    if (!stalls) {
      std::weak_ptr<sim_mover> weak = shared_from_this();
      world_.schedule(milliseconds{duration}, [weak, id] {
        if (auto self = weak.lock()) self->land(id);
      });
    }
    if (world_.chaos.chance(p.mover_reply_lost)) {
      LIB_PROBE("sim.mover_submit_reply_lost");
      return fail(errc::unavailable, "the transfer service did not answer (the task started)");
    }
    return id;
  }

  expected<task_status> poll(const std::string& task_id) override {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return task_status{task_state::unknown};
    auto& t = it->second;
    if (t.status.state == task_state::active && world_.chaos.chance(world_.profile.mover_lost)) {
      // The service lost the task (a restart on its side): it answers as if it never had it.
      LIB_PROBE("sim.mover_task_lost");
      world_.trace("mover lost " + task_id);
      by_submission_.erase(t.batch.submission_id);
      tasks_.erase(it);
      return task_status{task_state::unknown};
    }
    if (t.status.state == task_state::active && t.finish_ms != INT64_MAX) {
      uint64_t total = 0;
      for (const auto& f : t.batch.files) total += f.size;
      auto span = std::max<int64_t>(1, t.finish_ms - t.started_ms);
      auto elapsed = std::clamp<int64_t>(world_.now_ms() - t.started_ms, 0, span);
      t.status.bytes_done = total * static_cast<uint64_t>(elapsed) / static_cast<uint64_t>(span);
    }
    return t.status;
  }

  status cancel(const std::string& task_id) override {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || it->second.status.state != task_state::active) return {};
    it->second.status.state = task_state::failed;
    it->second.status.failure = fail(errc::unavailable, "cancelled");
    it->second.status.retryable = true;
    world_.trace("mover cancel " + task_id);
    return {};
  }

 private:
  // The bytes arrive (or do not) at the destination.
  void land(const std::string& id) {
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second.status.state != task_state::active) return;
    auto& t = it->second;
    auto& self_node = world_.nodes[node_];
    if (!self_node.alive || self_node.incarnation != incarnation_) return;  // died with us
    auto& st = t.status;
    auto* dest = world_.find(t.batch.destination);
    if (!dest || !dest->alive || !world_.connected(node_, dest->index)) {
      st.state = task_state::failed;
      st.retryable = true;
      st.failure = fail(errc::unavailable,
                        "lost the connection to " + t.batch.destination + " mid-transfer");
      world_.trace("mover " + id + " failed: destination unreachable");
      return;
    }
    auto& p = world_.profile;
    bool all_retryable = true;
    for (uint32_t i = 0; i < t.batch.files.size(); ++i) {
      const auto& f = t.batch.files[i];
      auto bytes = self_node.files->read_all(f.source_path);
      status written;
      if (!bytes) {
        written = bytes.err();
      } else {
        auto data = std::move(*bytes);
        if (!data.empty() && world_.chaos.chance(p.mover_corrupt)) {
          LIB_PROBE("sim.mover_corrupt");
          data[world_.chaos.uniform(0, data.size() - 1)] ^= 0x5a;
        } else if (!data.empty() && world_.chaos.chance(p.mover_truncate)) {
          LIB_PROBE("sim.mover_truncate");
          data.resize(world_.chaos.uniform(0, data.size() - 1));
        }
        written = dest->files->write_file(f.dest_path, data);
        if (written) st.bytes_done += f.size;
      }
      if (written) {
        ++st.files_done;
        continue;
      }
      st.failed_files.push_back(i);
      // A missing source, a full or missing destination: another attempt will not help.
      all_retryable = false;
      if (!st.failure) st.failure = written.err();
    }
    st.state = st.failed_files.empty() ? task_state::succeeded : task_state::failed;
    st.retryable = !st.failed_files.empty() && all_retryable;
    world_.trace("mover " + id + (st.failed_files.empty() ? " landed" : " failed"));
  }

  world_impl& world_;
  size_t node_;
  uint64_t incarnation_;
  uint64_t next_ = 1;
  std::map<std::string, sim_task> tasks_;
  std::map<std::string, std::string> by_submission_;
};

}  // namespace

std::shared_ptr<transfer::async_mover> make_sim_mover(world_impl& world, size_t node,
                                                      uint64_t incarnation) {
  return std::make_shared<sim_mover>(world, node, incarnation);
}

}  // namespace librarian::sim
