// Commit before announce (DESIGN.md §5) for actor shells: rows go to the committer, and the
// continuation that replies or sends runs only once they are durable, in submission order.
// Continuations of requests that wrote nothing still wait behind earlier pending commits, so no
// reply ever shows state that is not yet on disk; if one of those commits fails, they get its
// failure instead, so none shows state that never will be.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "runtime/caf/error.hpp"
#include "runtime/expected.hpp"
#include "runtime/planted.hpp"
#include "runtime/probe.hpp"
#include "runtime/type_ids.hpp"
#include "storage/committer.hpp"

namespace librarian {

class commit_tracker {
 public:
  using then_fn = std::function<void(const status&)>;

  // `self` must handle (committed_atom, uint64_t token, uint8_t code, std::string message) by
  // calling on_committed.
  template <class Self>
  void submit(Self* self, storage::committer& committer, storage::batch rows, then_fn then) {
    if (rows.empty()) {
      if (!queue_.empty()) LIB_PROBE("commit.reply_waited");
      queue_.push_back({next_token_++, true, false, {}, std::move(then)});
      drain();
      return;
    }
    enqueue(self, committer, std::move(rows), std::move(then));
  }

  // Like submit() with no rows, but through the committer's queue: `then` runs once every batch
  // handed to the committer before this call is durable -- also batches of another actor, or of
  // this actor's previous incarnation, which this tracker never saw.
  template <class Self>
  void barrier(Self* self, storage::committer& committer, then_fn then) {
    enqueue(self, committer, storage::batch{}, std::move(then));
  }

  void on_committed(uint64_t token, uint8_t code, std::string message) {
    for (auto& entry : queue_) {
      if (entry.token != token) continue;
      entry.done = true;
      if (code != 0) {
        LIB_PROBE("commit.failed");
        entry.result = fail(static_cast<errc>(code), std::move(message));
      }
      break;
    }
    drain();
  }

  [[nodiscard]] size_t pending() const { return queue_.size(); }

 private:
  template <class Self>
  void enqueue(Self* self, storage::committer& committer, storage::batch rows, then_fn then) {
    auto token = next_token_++;
    queue_.push_back({token, false, !rows.empty(), {}, std::move(then)});
    auto handle = caf::actor_cast<caf::actor>(self);
    committer.submit(std::move(rows), [handle, token](status st) {
      auto code = st ? uint8_t{0} : static_cast<uint8_t>(st.err().code);
      auto text = st ? std::string{} : st.err().message;
      caf::anon_send(handle, atoms::committed_atom_v, token, code, std::move(text));
    });
  }

  struct entry {
    uint64_t token;
    bool done;
    bool wrote;  // handed rows to the committer
    status result;
    then_fn then;
  };

  void drain() {
    while (!queue_.empty() && queue_.front().done) {
      auto front = std::move(queue_.front());
      queue_.pop_front();
      if (!front.result) fail_readers_behind(front.result.err());
      front.then(front.result);
    }
  }

  // The continuations queued behind a failed commit that wrote nothing were computed on memory
  // that held its rows (a read of what it created, say): they get the failure, not their answer.
  // Those that wrote rows keep their own commit's outcome; those submitted later were computed
  // after the failure's continuation ran (which stops or reloads the actor).
  void fail_readers_behind(const error& cause) {
    for (auto& e : queue_) {
      if (e.wrote || !e.result) continue;
      e.result = fail(cause.code, "an earlier change failed to commit: " + cause.message);
    }
  }

  std::deque<entry> queue_;
  uint64_t next_token_ = 1;
};

// The actor shells' one way to answer a request that may have written rows: the reply goes out
// once the rows are durable (after `on_durable`, which tells the state machine); a failed commit
// fails the reply and stops the actor, which its supervisor restarts from what is on disk.
// A request that wrote nothing still waits behind earlier pending commits.
template <class T, class Self>
caf::typed_response_promise<T> reply_after_commit(Self* self, commit_tracker& tracker,
                                                  storage::committer& committer,
                                                  storage::batch rows, expected<T> outcome,
                                                  std::function<void()> on_durable = {}) {
  auto promise = self->template make_response_promise<T>();
  auto deliver = [promise, outcome]() mutable {
    if (outcome)
      promise.deliver(*outcome);
    else
      promise.deliver(to_caf(outcome.err()));
  };
  if (planted::on("announce_before_commit") && !rows.empty()) {
    // The planted bug (tests of the simulator's checkers): reply while the rows may be lost.
    deliver();
    tracker.submit(self, committer, std::move(rows), [on_durable](const status& st) {
      if (st && on_durable) on_durable();
    });
    return promise;
  }
  tracker.submit(self, committer, std::move(rows),
                 [self, promise, deliver, on_durable](const status& st) mutable {
                   if (!st) {
                     promise.deliver(to_caf(st.err()));
                     self->quit(to_caf(st.err()));
                     return;
                   }
                   if (on_durable) on_durable();
                   deliver();
                 });
  return promise;
}

}  // namespace librarian
