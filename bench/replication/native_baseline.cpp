// Submits the baseline batches to a native mover and polls them to the end.
#include "bench/replication/native_baseline.hpp"

#include <thread>

#include "actors/transfer/movers.hpp"
#include "bench/replication/interruption.hpp"

namespace librarian::bench {
namespace {

using nlohmann::json;
using steady = std::chrono::steady_clock;

// Adds at most this much to the measured time; the batches take seconds to minutes.
constexpr auto poll_interval = std::chrono::milliseconds(10);

std::vector<transfer::mover_batch> split_batches(const json& ticket,
                                                 const std::vector<source_file>& files,
                                                 const std::vector<std::string>& sources,
                                                 unsigned batches) {
  std::vector<transfer::mover_batch> out(std::max(1u, batches));
  const size_t per = (files.size() + out.size() - 1) / out.size();
  for (size_t k = 0; k < out.size(); ++k) {
    auto& b = out[k];
    b.batch_id = k + 1;
    b.submission_id = "native-baseline-" + std::to_string(k);
    b.destination = "b";
    b.host = ticket.value("host", std::string{"127.0.0.1"});
    b.port = ticket.value("data_port", uint16_t{0});
    b.tree_ticket = ticket.value("ticket", std::string{});
    // Contiguous runs of files, as the replicator's batches are cut from its search pages.
    for (size_t i = k * per; i < std::min(files.size(), (k + 1) * per); ++i)
      b.files.push_back({sources[i], files[i].name, files[i].size, files[i].checksum, {}});
  }
  std::erase_if(out, [](const transfer::mover_batch& b) { return b.files.empty(); });
  return out;
}

}  // namespace

expected<double> native_copy_seconds(const replication_node& b,
                                     const std::vector<source_file>& files,
                                     const std::vector<std::string>& sources,
                                     const std::filesystem::path& dest_dir, unsigned batches,
                                     std::chrono::seconds limit) {
  auto ticket = call_node(
      b, "POST", "/api/v1/data/tickets",
      json{{"mode", "put"}, {"path", dest_dir.string()}, {"tree", true}, {"create_dirs", true}});
  if (!ticket) return ticket.err();
  auto mover = transfer::make_native_mover(transfer::native_mover_options{});
  auto work = split_batches(*ticket, files, sources, batches);
  std::vector<std::string> tasks;
  // Nothing may keep writing into B after this function has returned.
  auto abandon = [&](error why) {
    for (const auto& t : tasks) static_cast<void>(mover->cancel(t));
    return why;
  };
  const auto start = steady::now();
  for (const auto& batch : work) {
    auto task = mover->submit(batch);
    if (!task) return abandon(task.err());
    tasks.push_back(*task);
  }
  std::vector<bool> finished(tasks.size(), false);
  size_t left = tasks.size();
  while (left > 0) {
    if (interruption_requested()) return abandon(fail(errc::unavailable, "interrupted"));
    if (steady::now() - start > limit)
      return abandon(fail(errc::timeout, "the native baseline did not finish within " +
                                             std::to_string(limit.count()) + " s"));
    std::this_thread::sleep_for(poll_interval);
    for (size_t k = 0; k < tasks.size(); ++k) {
      if (finished[k]) continue;
      auto st = mover->poll(tasks[k]);
      if (!st) return abandon(st.err());
      if (st->state == transfer::task_state::active) continue;
      if (st->state != transfer::task_state::succeeded)
        return abandon(st->failure.value_or(fail(errc::internal, "a baseline batch was lost")));
      finished[k] = true;
      --left;
    }
  }
  return std::chrono::duration<double>(steady::now() - start).count();
}

}  // namespace librarian::bench
