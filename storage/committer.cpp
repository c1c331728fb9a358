// Group and inline committers (see committer.hpp).
#include "storage/committer.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/assert.hpp"
#include "runtime/log.hpp"

namespace librarian::storage {
namespace {

error stopped_error() {
  return fail(errc::unavailable, "the storage committer is stopped (node shutting down)");
}

class group_committer final : public committer {
 public:
  group_committer(db& d, size_t max_batches, size_t max_bytes)
      : db_(d),
        max_batches_(max_batches),
        max_bytes_(max_bytes),
        // Every queue has a bound: past it, callers learn they are overloading the disk.
        max_queued_batches_(64 * max_batches) {
    LIB_ASSERT(max_batches >= 1 && max_bytes >= 1);
    thread_ = std::thread([this] { run(); });
  }

  ~group_committer() override {
    LIB_ASSERT_MSG(std::this_thread::get_id() != thread_.get_id(),
                   "a group committer was destroyed from its own done callback");
    stop();
  }

  void submit(batch b, done_fn done) override {
    LIB_ASSERT_MSG(done != nullptr, "committer::submit needs a done callback");
    std::unique_lock lock{mutex_};
    if (stopping_ || queue_.size() >= max_queued_batches_) {
      const bool overloaded = !stopping_;
      ++stats_.failed_batches;
      lock.unlock();
      done(overloaded ? fail(errc::unavailable, "the commit queue is full (" +
                                                    std::to_string(max_queued_batches_) +
                                                    " batches); the disk is too slow, retry")
                      : stopped_error());
      return;
    }
    queue_.push_back(pending{std::move(b), std::move(done)});
    lock.unlock();
    wake_.notify_one();
  }

  void stop() override {
    {
      std::lock_guard lock{mutex_};
      stopping_ = true;
    }
    wake_.notify_one();
    // stop() from a done callback runs on the committer thread, which cannot join itself; it
    // exits on its own once the queue is drained.
    if (std::this_thread::get_id() == thread_.get_id()) return;
    std::lock_guard join_lock{join_mutex_};
    if (thread_.joinable()) thread_.join();
  }

  committer_stats stats() const override {
    std::lock_guard lock{mutex_};
    return stats_;
  }

 private:
  struct pending {
    batch b;
    done_fn done;
  };

  void run() {
    for (;;) {
      std::vector<pending> group;
      {
        std::unique_lock lock{mutex_};
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        take_group(group);
      }
      commit_group(group);
    }
  }

  // Called with mutex_ held. Takes at least one batch, so an oversized batch still commits.
  void take_group(std::vector<pending>& group) {
    size_t group_bytes = 0;
    while (!queue_.empty() && group.size() < max_batches_) {
      const size_t next_bytes = queue_.front().b.bytes();
      if (!group.empty() && group_bytes + next_bytes > max_bytes_) break;
      group_bytes += next_bytes;
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }

  void commit_group(std::vector<pending>& group) {
    std::vector<batch> parts;
    parts.reserve(group.size());
    for (auto& p : group) parts.push_back(std::move(p.b));
    batch merged = batch::concat(parts);
    const size_t merged_bytes = merged.bytes();
    // One WriteBatch, one WAL fdatasync: the whole group becomes durable (and visible) at once.
    status result = db_.write(merged, durability::sync);
    {
      std::lock_guard lock{mutex_};
      ++stats_.commits;
      if (result) {
        ++stats_.synced_groups;
        stats_.batches += group.size();
        stats_.bytes += merged_bytes;
      } else {
        stats_.failed_batches += group.size();
      }
      stats_.largest_group_batches = std::max<uint64_t>(stats_.largest_group_batches, group.size());
    }
    if (!result) {
      LIB_LOG_ERROR("storage") << "group commit of " << group.size()
                               << " batches failed: " << result.err().describe();
    }
    for (auto& p : group) p.done(result);
  }

  db& db_;
  const size_t max_batches_;
  const size_t max_bytes_;
  const size_t max_queued_batches_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  committer_stats stats_;
  std::mutex join_mutex_;
  std::thread thread_;  // last: starts after every member it uses exists
};

class inline_committer final : public committer {
 public:
  explicit inline_committer(db& d) : db_(d) {}

  void submit(batch b, done_fn done) override {
    LIB_ASSERT_MSG(done != nullptr, "committer::submit needs a done callback");
    std::unique_lock lock{mutex_};
    if (stopped_) {
      ++stats_.failed_batches;
      lock.unlock();
      done(stopped_error());
      return;
    }
    const size_t batch_bytes = b.bytes();
    status result = db_.write(b, durability::sync);
    ++stats_.commits;
    if (result) {
      ++stats_.batches;
      ++stats_.synced_groups;
      stats_.bytes += batch_bytes;
      stats_.largest_group_batches = 1;
    } else {
      ++stats_.failed_batches;
    }
    lock.unlock();
    done(result);
  }

  void stop() override {
    std::lock_guard lock{mutex_};
    stopped_ = true;
  }

  committer_stats stats() const override {
    std::lock_guard lock{mutex_};
    return stats_;
  }

 private:
  db& db_;
  mutable std::mutex mutex_;  // guards stopped_ and stats_, and serializes writes
  bool stopped_ = false;
  committer_stats stats_;
};

}  // namespace

std::unique_ptr<committer> make_group_committer(db& d, size_t max_batches, size_t max_bytes) {
  return std::make_unique<group_committer>(d, max_batches, max_bytes);
}

std::unique_ptr<committer> make_inline_committer(db& d) {
  return std::make_unique<inline_committer>(d);
}

}  // namespace librarian::storage
