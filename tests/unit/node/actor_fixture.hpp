// Actor tests under CAF's deterministic test coordinator, on a real DB: a committer that holds
// every batch until the test releases (or fails) it, like a slow disk, and the node environment
// around it.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>

#include "actors/node/node_env.hpp"
#include "runtime/caf/system_config.hpp"
#include "runtime/clock.hpp"
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

struct actor_fixture {
  std::filesystem::path dir;
  std::unique_ptr<storage::db> db;
  std::unique_ptr<held_committer> committer;
  manual_wall_clock clock{1'700'000'000'000};
  std::shared_ptr<node::node_env> env = std::make_shared<node::node_env>();
  system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

  static system_options options() {
    system_options o;
    o.load_middleman = false;
    o.testing_scheduler = true;
    return o;
  }

  explicit actor_fixture(const std::string& name)
      : dir(std::filesystem::temp_directory_path() /
            ("librarian-" + name + "-test-" + std::to_string(::getpid()))),
        db(open_db(dir)),
        committer(std::make_unique<held_committer>(*db)),
        cfg(options()),
        sys(cfg),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    env->db = db.get();
    env->committer = committer.get();
    env->clock = &clock;
  }
  ~actor_fixture() {
    sched.run();
    std::filesystem::remove_all(dir);
  }
  static std::unique_ptr<storage::db> open_db(const std::filesystem::path& dir) {
    std::filesystem::remove_all(dir);
    auto opened = storage::db::open({(dir / "db").string(), nullptr, node::node_tables()});
    REQUIRE(opened.has_value());
    return std::move(*opened);
  }
};

}  // namespace librarian::test
