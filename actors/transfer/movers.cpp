#include "actors/transfer/movers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "net/data/checksum.hpp"
#include "net/data/client.hpp"
#include "net/gridftp/client.hpp"
#include "runtime/fs.hpp"

namespace librarian::transfer {
namespace {

namespace fs = std::filesystem;

// Files up to this size travel inline on the batch's tree ticket (net/data's limit).
constexpr uint64_t tree_file_bytes_max = 16ull << 20;
constexpr size_t tasks_remembered_max = 10000;

struct task {
  std::mutex mu;
  task_status status;
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<bool> cancelled{false};
};

// Runs one batch per detached thread; remembers tasks by submission id (idempotent submit).
class threaded_mover : public async_mover {
 public:
  expected<std::string> submit(const mover_batch& batch) override {
    if (batch.submission_id.empty())
      return fail(errc::invalid_argument, "a batch needs a submission id");
    if (batch.files.empty()) return fail(errc::invalid_argument, "a batch needs files");
    std::shared_ptr<task> t;
    {
      std::lock_guard lock{shared_->mu};
      if (shared_->tasks.contains(batch.submission_id)) return batch.submission_id;
      if (shared_->tasks.size() >= tasks_remembered_max) forget_finished_locked();
      t = std::make_shared<task>();
      t->status.files_total = batch.files.size();
      shared_->tasks[batch.submission_id] = t;
    }
    auto self = shared_from_mover();
    std::thread([self, t, batch] { self->run(*t, batch); }).detach();
    return batch.submission_id;
  }

  expected<task_status> poll(const std::string& task_id) override {
    std::shared_ptr<task> t;
    {
      std::lock_guard lock{shared_->mu};
      auto it = shared_->tasks.find(task_id);
      if (it == shared_->tasks.end()) {
        task_status unknown;
        unknown.state = task_state::unknown;
        return unknown;
      }
      t = it->second;
    }
    std::lock_guard lock{t->mu};
    auto s = t->status;
    s.bytes_done = std::max(s.bytes_done, t->bytes_done.load());
    if (s.state != task_state::active) {
      // Reported once it is over; a later poll of the same id finds nothing (the replicator
      // has recorded the outcome by then).
      std::lock_guard shared_lock{shared_->mu};
      shared_->tasks.erase(task_id);
    }
    return s;
  }

  status cancel(const std::string& task_id) override {
    std::lock_guard lock{shared_->mu};
    auto it = shared_->tasks.find(task_id);
    if (it != shared_->tasks.end()) it->second->cancelled = true;
    return {};
  }

 protected:
  // Moves the whole batch; fills t.status (state, failures) before returning.
  virtual void run(task& t, const mover_batch& batch) = 0;
  virtual std::shared_ptr<threaded_mover> shared_from_mover() = 0;

  // FTS3's classification for this mover: may another attempt help? By default only for the
  // network's faults (a refused or dropped connection, a stall); a source that does not match
  // its catalog entry, a refused login, a full or missing destination are not helped by another
  // attempt.
  [[nodiscard]] virtual bool retryable(const error& err) const {
    return err.code == errc::unavailable || err.code == errc::timeout;
  }

  void finish(task& t, std::vector<std::pair<uint32_t, error>> failures) const {
    std::lock_guard lock{t.mu};
    t.status.bytes_done = t.bytes_done.load();
    if (failures.empty()) {
      t.status.state = task_state::succeeded;
      t.status.files_done = t.status.files_total;
      return;
    }
    t.status.state = task_state::failed;
    t.status.files_done = t.status.files_total - failures.size();
    t.status.retryable = true;
    for (const auto& [index, err] : failures) {
      t.status.failed_files.push_back(index);
      t.status.retryable = t.status.retryable && retryable(err);
    }
    t.status.failure = failures.front().second;
    if (failures.size() > 1)
      t.status.failure->message += " (and " + std::to_string(failures.size() - 1) + " more)";
  }

 private:
  void forget_finished_locked() {
    for (auto it = shared_->tasks.begin(); it != shared_->tasks.end();) {
      std::lock_guard lock{it->second->mu};
      if (it->second->status.state != task_state::active)
        it = shared_->tasks.erase(it);
      else
        ++it;
    }
  }

  struct shared_tasks {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<task>> tasks;
  };
  std::shared_ptr<shared_tasks> shared_ = std::make_shared<shared_tasks>();
};

void fault_delay() {
  if (auto ms = mover_fault_delay_ms(); ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// ---------------------------------------------------------------------------------- native

class native_mover final : public threaded_mover,
                           public std::enable_shared_from_this<native_mover> {
 public:
  explicit native_mover(native_mover_options options) : options_(options) {}
  std::string name() const override { return "native"; }
  // The network's faults, corruption on the wire, and a ticket the peer forgot (it restarted) or
  // that expired: each attempt asks for fresh tickets.
  bool retryable(const error& err) const override {
    return data::retryable(err) || err.code == errc::unauthenticated;
  }

 protected:
  std::shared_ptr<threaded_mover> shared_from_mover() override { return shared_from_this(); }

  void run(task& t, const mover_batch& batch) override {
    std::vector<std::pair<uint32_t, error>> failures;
    data::data_endpoint to{batch.host, batch.port};
    data::transfer_options opts;
    opts.streams = options_.streams;
    opts.stall_timeout = std::chrono::milliseconds(options_.stall_timeout_ms);
    std::vector<data::tree_item> small;
    std::vector<uint32_t> small_index;
    for (uint32_t i = 0; i < batch.files.size(); ++i) {
      const auto& f = batch.files[i];
      if (f.size <= tree_file_bytes_max && f.ticket.empty()) {
        small.push_back({f.source_path, f.dest_path});
        small_index.push_back(i);
      }
    }
    // Small files: pipelined on the tree ticket, in slices so progress shows and a fault delay
    // (tests) spreads over the batch.
    constexpr size_t slice = 64;
    for (size_t start = 0; start < small.size() && !t.cancelled; start += slice) {
      fault_delay();
      auto end = std::min(small.size(), start + slice);
      std::vector<data::tree_item> part(small.begin() + static_cast<long>(start),
                                        small.begin() + static_cast<long>(end));
      if (batch.tree_ticket.empty()) {
        for (size_t k = start; k < end; ++k)
          failures.push_back({small_index[k], fail(errc::invalid_argument, "no tree ticket")});
        continue;
      }
      auto results = data::put_tree_files(to, batch.tree_ticket, part, opts);
      if (!results) {
        for (size_t k = start; k < end; ++k) failures.push_back({small_index[k], results.err()});
        continue;
      }
      for (size_t k = start; k < end; ++k) {
        const auto& r = (*results)[k - start];
        const auto& f = batch.files[small_index[k]];
        if (r.failure) {
          failures.push_back({small_index[k], *r.failure});
        } else if (!f.checksum.empty() && r.checksum != f.checksum) {
          // Corrupted on the way (or at the source): the receiver recomputes it at ingest too.
          failures.push_back(
              {small_index[k],
               fail(errc::timeout, "checksum " + r.checksum + " arrived, expected " + f.checksum)});
        } else {
          t.bytes_done += r.bytes;
        }
      }
    }
    for (uint32_t i = 0; i < batch.files.size() && !t.cancelled; ++i) {
      const auto& f = batch.files[i];
      if (f.size <= tree_file_bytes_max && f.ticket.empty()) continue;
      fault_delay();
      if (f.ticket.empty()) {
        failures.push_back({i, fail(errc::invalid_argument, "no ticket for a large file")});
        continue;
      }
      auto before = t.bytes_done.load();
      auto o = opts;
      o.on_progress = [&t, before](const data::transfer_progress& p) {
        t.bytes_done = before + p.bytes_done;
      };
      auto r = data::put_file(to, f.ticket, f.source_path, o);
      if (!r) {
        failures.push_back({i, r.err()});
        t.bytes_done = before;
        continue;
      }
      t.bytes_done = before + r->bytes_total;
    }
    if (t.cancelled) failures.push_back({0, fail(errc::unavailable, "cancelled")});
    finish(t, std::move(failures));
  }

 private:
  native_mover_options options_;
};

}  // namespace

// ----------------------------------------------------------------------------------- local

status copy_verified(const mover_file& f, std::atomic<uint64_t>& bytes_done) {
  auto parsed = data::parse_checksum(f.checksum);
  if (!parsed) return parsed.err();
  if (f.dest_path.empty() || f.dest_path.front() != '/')
    return fail(errc::invalid_argument, "the local mover needs an absolute destination path");
  int in = ::open(f.source_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return fail(errno == ENOENT ? errc::not_found : errc::forbidden,
                "cannot open " + f.source_path + ": " + std::strerror(errno));
  auto part = f.dest_path + ".librarian-part";
  int out = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    auto e = errno;
    ::close(in);
    return fail(e == ENOENT ? errc::not_found : errc::forbidden,
                "cannot create " + part + ": " + std::strerror(e));
  }
  data::checksum_stream sum{parsed->alg};
  std::vector<char> buf(1 << 20);
  status st;
  uint64_t total = 0;
  for (;;) {
    auto n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = fail(errc::internal, "reading " + f.source_path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    sum.update(std::string_view{buf.data(), static_cast<size_t>(n)});
    for (ssize_t off = 0; off < n;) {
      auto w = ::write(out, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        st = fail(errno == ENOSPC ? errc::storage_full : errc::internal,
                  "writing " + part + ": " + std::strerror(errno));
        break;
      }
      off += w;
    }
    if (!st) break;
    total += static_cast<uint64_t>(n);
    bytes_done += static_cast<uint64_t>(n);
  }
  ::close(in);
  if (st && ::fsync(out) != 0)
    st = fail(errno == ENOSPC ? errc::storage_full : errc::internal,
              "syncing " + part + ": " + std::strerror(errno));
  ::close(out);
  if (st && total != f.size)
    st = fail(errc::checksum_mismatch, f.source_path + " has " + std::to_string(total) +
                                           " bytes, the catalog says " + std::to_string(f.size));
  if (st) {
    auto got = data::format_checksum(parsed->alg, sum.hex_digest());
    if (got != f.checksum)
      st = fail(errc::checksum_mismatch,
                f.source_path + " reads as " + got + ", the catalog says " + f.checksum);
  }
  if (st && ::rename(part.c_str(), f.dest_path.c_str()) != 0)
    st = fail(errc::internal, "renaming " + part + ": " + std::strerror(errno));
  if (!st) ::unlink(part.c_str());
  return st;
}

namespace {

class local_mover final : public threaded_mover, public std::enable_shared_from_this<local_mover> {
 public:
  std::string name() const override { return "local"; }

 protected:
  std::shared_ptr<threaded_mover> shared_from_mover() override { return shared_from_this(); }

  void run(task& t, const mover_batch& batch) override {
    std::vector<std::pair<uint32_t, error>> failures;
    for (uint32_t i = 0; i < batch.files.size() && !t.cancelled; ++i) {
      fault_delay();
      // A source that does not match its catalog entry, a full or forbidden destination: not
      // the network's fault (finish() classifies).
      if (auto st = copy_verified(batch.files[i], t.bytes_done); !st)
        failures.push_back({i, st.err()});
    }
    if (t.cancelled) failures.push_back({0, fail(errc::unavailable, "cancelled")});
    finish(t, std::move(failures));
  }
};

// Third-party GridFTP: each file goes from the server that serves this node's stores straight to
// the one that serves the peer's staging area (RETR/STOR with PORT/PASV, MODE E streams), the
// two servers' CKSM compared, and -- when they speak xxh3 -- the result checked against the
// catalog's checksum.
class gridftp_mover final : public threaded_mover,
                            public std::enable_shared_from_this<gridftp_mover> {
 public:
  explicit gridftp_mover(gridftp_mover_options o) : o_(std::move(o)) {}
  std::string name() const override { return "gridftp"; }

 protected:
  std::shared_ptr<threaded_mover> shared_from_mover() override { return shared_from_this(); }

  void run(task& t, const mover_batch& batch) override {
    std::vector<std::pair<uint32_t, error>> failures;
    if (!batch.destination_endpoint.starts_with("ftp://")) {
      for (uint32_t i = 0; i < batch.files.size(); ++i)
        failures.push_back(
            {i, fail(errc::invalid_argument,
                     batch.destination + " offers no GridFTP server for its staging area (its "
                                         "gridftp.enabled, or stores[].gridftp_url)")});
      return finish(t, std::move(failures));
    }
    auto login = o_.user.empty() ? std::string{} : o_.user + ":" + o_.password + "@";
    auto with_login = [&](const std::string& endpoint, const std::string& path) {
      return "ftp://" + login + endpoint.substr(6) + path;
    };
    for (uint32_t i = 0; i < batch.files.size() && !t.cancelled; ++i) {
      fault_delay();
      const auto& f = batch.files[i];
      data::transfer_options opts;
      opts.streams = o_.streams;
      opts.verify_checksum = true;
      opts.stall_timeout = std::chrono::milliseconds{o_.stall_timeout_ms};
      auto before = t.bytes_done.load();
      opts.on_progress = [&t, before](const data::transfer_progress& p) {
        t.bytes_done = before + p.bytes_done;
      };
      auto report = gridftp::third_party(with_login(o_.source_url, f.source_path),
                                         with_login(batch.destination_endpoint, f.dest_path), opts);
      t.bytes_done = before + f.size;
      if (!report) {
        failures.push_back({i, report.err()});
        continue;
      }
      // Both servers agreed; if they agreed in xxh3, the bytes are also what the catalog says.
      if (report->checksum.starts_with("xxh3:::") && report->checksum != f.checksum)
        failures.push_back(
            {i, fail(errc::checksum_mismatch, f.source_path + " reads as " + report->checksum +
                                                  ", the catalog says " + f.checksum)});
    }
    if (t.cancelled) failures.push_back({0, fail(errc::unavailable, "cancelled")});
    finish(t, std::move(failures));
  }

 private:
  gridftp_mover_options o_;
};

}  // namespace

expected<std::shared_ptr<async_mover>> make_gridftp_mover(gridftp_mover_options options) {
  if (options.source_url.empty())
    return fail(errc::invalid_argument,
                "the gridftp mover needs a source server: enable this node's GridFTP server "
                "(gridftp.enabled) or set replication.gridftp_source_url");
  return std::shared_ptr<async_mover>{std::make_shared<gridftp_mover>(std::move(options))};
}

expected<std::pair<std::string, std::string>> read_gridftp_credentials(const std::string& path) {
  auto text = read_whole_file(*posix_file_system(), path, 4096);
  if (!text)
    return fail(text.err().code, "replication.gridftp_credentials_file: " + text.err().message);
  auto line = *text;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  auto colon = line.find(':');
  auto user = line.substr(0, colon);
  auto password = colon == std::string::npos ? std::string{} : line.substr(colon + 1);
  auto bad = [](const std::string& s, const char* forbidden) {
    for (char c : s)
      if (static_cast<unsigned char>(c) < 0x20 || std::strchr(forbidden, c)) return true;
    return false;
  };
  if (colon == std::string::npos || user.empty() || password.empty() || bad(user, ":/@") ||
      bad(password, "/"))
    return fail(errc::invalid_argument,
                "replication.gridftp_credentials_file " + path +
                    " must hold one line USER:PASSWORD (no '/', '@' or ':' in the user, no '/' in "
                    "the password)");
  return std::make_pair(user, password);
}

int64_t mover_fault_delay_ms() {
  static const int64_t ms = [] {
    const char* v = std::getenv("LIBRARIAN_FAULT_MOVER_DELAY_MS");
    if (!v || !*v) return int64_t{0};
    char* end = nullptr;
    auto n = std::strtoll(v, &end, 10);
    return (end && *end == '\0' && n > 0 && n < 3'600'000) ? static_cast<int64_t>(n) : 0;
  }();
  return ms;
}

std::shared_ptr<async_mover> make_native_mover(native_mover_options options) {
  return std::make_shared<native_mover>(options);
}

std::shared_ptr<async_mover> make_local_mover() {
  return std::make_shared<local_mover>();
}

}  // namespace librarian::transfer
