// A committer for actor tests: holds every batch until the test releases (or fails) it, like a
// slow disk.
#pragma once

#include <deque>

#include "runtime/error.hpp"
#include "storage/committer.hpp"
#include "storage/db.hpp"

namespace librarian::test {

class held_committer final : public storage::committer {
 public:
  explicit held_committer(storage::db& db) : db_(db) {}
  void submit(storage::batch b, done_fn done) override {
    held_.push_back({std::move(b), std::move(done)});
  }
  void stop() override {}
  [[nodiscard]] storage::committer_stats stats() const override { return {}; }
  size_t held() const { return held_.size(); }
  void release_one() {
    auto item = std::move(held_.front());
    held_.pop_front();
    item.done(db_.write(item.rows, storage::durability::sync));
  }
  // The disk fails this batch: nothing is written.
  void fail_one(error err) {
    auto item = std::move(held_.front());
    held_.pop_front();
    item.done(std::move(err));
  }

 private:
  struct item {
    storage::batch rows;
    done_fn done;
  };
  storage::db& db_;
  std::deque<item> held_;
};

}  // namespace librarian::test
