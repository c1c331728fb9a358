// Reading verbs from a RocksDB snapshot, outside the actor (see reader.hpp).
#include "actors/mcs/reader.hpp"

#include <rocksdb/db.h>

#include "actors/mcs/dispatch.hpp"

namespace librarian::mcs {
namespace {

// Releases the request's snapshot and detaches it from the view, however the read ends.
class snapshot_guard {
 public:
  snapshot_guard(storage::db& db, mcs_state& view)
      : db_(db), view_(view), snapshot_(db.raw()->GetSnapshot()) {
    view_.set_snapshot(snapshot_);
  }
  ~snapshot_guard() {
    view_.set_snapshot(nullptr);
    db_.raw()->ReleaseSnapshot(snapshot_);
  }
  snapshot_guard(const snapshot_guard&) = delete;
  snapshot_guard& operator=(const snapshot_guard&) = delete;

 private:
  storage::db& db_;
  mcs_state& view_;
  const rocksdb::Snapshot* snapshot_;
};

}  // namespace

mcs_reader::mcs_reader(storage::db& db, mcs_limits limits, std::shared_ptr<object_cache> cache)
    : db_(db), limits_(limits), cache_(std::move(cache)) {}

std::unique_ptr<mcs_state> mcs_reader::take_view() {
  {
    std::lock_guard lock{mutex_};
    if (!idle_.empty()) {
      auto view = std::move(idle_.back());
      idle_.pop_back();
      return view;
    }
  }
  auto view = std::make_unique<mcs_state>(db_, limits_, mcs_state::read_only_t{});
  view->use_object_cache(cache_);
  return view;
}

void mcs_reader::return_view(std::unique_ptr<mcs_state> view) {
  std::lock_guard lock{mutex_};
  if (idle_.size() < idle_views_max) idle_.push_back(std::move(view));
}

expected<std::string> mcs_reader::read(const principal& who, const std::string& verb,
                                       const std::string& args_json) {
  auto view = take_view();
  expected<std::string> reply = fail(errc::internal, "unanswered");
  {
    snapshot_guard snapshot{db_, *view};
    // Reads take no timestamp: now_us is used only by writes.
    reply = dispatch_read(*view, call_ctx{who, 0}, verb, args_json);
  }
  return_view(std::move(view));
  return reply;
}

}  // namespace librarian::mcs
