// The Globus stand-in: Auth's token endpoint, the Transfer v0.10 routes the librarian calls, and a
// copy thread per task. Handlers only touch in-memory state under one mutex and answer at once
// (the HTTP server's handlers must not block); all file work happens on the task threads.
#include "net/globus/standin.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <variant>

#include "net/data/checksum.hpp"
#include "net/data/confine.hpp"
#include "net/globus/globus_api.hpp"
#include "net/http/router.hpp"
#include "net/http/server.hpp"
#include "net/http/url.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::globus {

namespace fs = std::filesystem;
using nlohmann::json;
using sys_clock = std::chrono::system_clock;  // the stand-in is a tool, not node code

namespace {

constexpr size_t tokens_max = 10'000;
constexpr size_t events_per_task_max = 1'000;
constexpr int verify_attempts_max = 3;  // a verify_checksum mismatch re-copies, then fails

std::string iso_time(sys_clock::time_point when) {
  std::time_t t = sys_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S+00:00", &utc);
  return text.data();
}

std::string new_uuid() {
  std::string bytes = crypto::random_bytes(16);
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    auto b = static_cast<unsigned char>(bytes[i]);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0x0f]);
  }
  return out;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

net::http::response transfer_error(int status, std::string code, std::string message,
                                   const net::http::request& req) {
  return net::http::json_response(status, json{{"code", std::move(code)},
                                               {"message", std::move(message)},
                                               {"request_id", req.request_id},
                                               {"resource", req.path}});
}

struct file_job {
  std::string source_text;  // as submitted (events quote it)
  std::string destination_text;
  fs::path source;  // resolved under the endpoints' roots
  fs::path destination;
  std::string external_checksum;  // lower-case hex or ""
  data::checksum_alg alg = data::checksum_alg::md5;
};

struct task_event_record {
  std::string code, description, details, time;
  bool is_error = false;
};

struct standin_task {
  std::string id, submission_id, label, source_endpoint, destination_endpoint;
  std::string request_time, completion_time;
  std::string status = "ACTIVE";
  std::string nice_status = "Queued";
  std::optional<fatal_error> fatal;
  uint64_t faults = 0, bytes_transferred = 0, bytes_checksummed = 0;
  uint64_t files_transferred = 0, files_skipped = 0;
  int sync = 0;
  bool verify_checksum = false, encrypt_data = false, preserve_timestamp = false;
  bool fail_on_quota_errors = false, skip_source_errors = false;
  std::string injected_fault;
  std::vector<file_job> jobs;
  std::deque<task_event_record> events;  // newest first
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> worker_done{false};  // the worker's very last step: joining it is instant
  std::thread worker;
};

// A fault met while copying one file.
struct copy_fault {
  std::string code, description, details;
};

std::string fault_code_for(int err) {
  switch (err) {
    case ENOENT:
      return "FILE_NOT_FOUND";
    case EACCES:
    case EPERM:
    case EROFS:
      return "PERMISSION_DENIED";
    case ENOSPC:
    case EDQUOT:
      return "QUOTA_EXCEEDED";
    case EISDIR:
      return "IS_A_DIRECTORY";
    default:
      return "ENDPOINT_ERROR";
  }
}

copy_fault errno_fault(int err, std::string_view doing, const std::string& path) {
  return {fault_code_for(err), std::string{doing} + " failed", path + ": " + std::strerror(err)};
}

}  // namespace

struct globus_standin::state {
  standin_options options;
  std::unique_ptr<net::http::server> server;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;  // guards everything below and every task's fields
  struct token_record {
    std::string client_id;
    sys_clock::time_point issued, expires;
  };
  std::map<std::string, token_record> tokens;
  std::map<std::string, std::shared_ptr<standin_task>> tasks;
  std::map<std::string, std::string> task_by_submission;
  std::deque<std::string> task_order;                  // oldest first, for eviction
  std::vector<std::shared_ptr<standin_task>> retired;  // evicted; their threads not joined yet
  std::deque<std::string> fail_next;
  counters stats;

  void add_event(standin_task& t, std::string code, std::string description, std::string details,
                 bool is_error) {
    t.events.push_front({std::move(code), std::move(description), std::move(details),
                         iso_time(sys_clock::now()), is_error});
    if (t.events.size() > events_per_task_max) t.events.pop_back();
  }

  // Under the mutex.
  void record_fault(standin_task& t, const copy_fault& fault, bool fatal) {
    ++t.faults;
    add_event(t, fault.code, fault.description, fault.details, true);
    if (fatal) {
      t.status = "FAILED";
      t.nice_status.clear();
      t.fatal = fatal_error{fault.code, fault.description};
      t.completion_time = iso_time(sys_clock::now());
    } else {
      t.nice_status = fault.code;
    }
  }

  [[nodiscard]] size_t pending_tasks() const {
    return static_cast<size_t>(std::count_if(tasks.begin(), tasks.end(), [](const auto& entry) {
      return entry.second->status == "ACTIVE" || entry.second->status == "INACTIVE";
    }));
  }

  // Forgets the oldest finished tasks beyond tasks_kept_max (pending ones are kept whatever their
  // age), and joins the threads of forgotten tasks that have returned -- never one still running:
  // it may be waiting for this mutex.
  void evict_finished_tasks() {
    for (auto id = task_order.begin();
         id != task_order.end() && tasks.size() > options.tasks_kept_max;) {
      auto it = tasks.find(*id);
      if (it != tasks.end()) {
        if (it->second->status == "ACTIVE" || it->second->status == "INACTIVE") {
          ++id;
          continue;
        }
        task_by_submission.erase(it->second->submission_id);
        retired.push_back(std::move(it->second));
        tasks.erase(it);
      }
      id = task_order.erase(id);
    }
    std::erase_if(retired, [](const std::shared_ptr<standin_task>& t) {
      if (!t->worker_done.load()) return false;
      if (t->worker.joinable()) t->worker.join();
      return true;
    });
  }
};

// ---------------------------------------------------------------- Auth

namespace {

using state = globus_standin::state;

json token_body(const std::string& token, std::chrono::seconds ttl) {
  return json{{"access_token", token},
              {"expires_in", ttl.count()},
              {"resource_server", transfer_resource_server},
              {"token_type", "Bearer"},
              {"scope", transfer_scope},
              {"other_tokens", json::array()}};
}

// Which client the token request authenticates, or an OAuth error response.
std::variant<std::string, net::http::response> authenticate_token_request(
    const state& s, const net::http::request& req, const std::map<std::string, std::string>& form) {
  auto oauth_error = [](int status, std::string code, std::string description) {
    return net::http::json_response(status,
                                    json{{"error", code}, {"error_description", description}});
  };
  auto grant = form.find("grant_type");
  if (grant == form.end()) return oauth_error(400, "invalid_request", "no grant_type");
  if (grant->second == "client_credentials") {
    auto header = req.header("authorization");
    if (!header || !header->starts_with("Basic "))
      return oauth_error(401, "invalid_client", "HTTP Basic client authentication required");
    auto decoded = crypto::base64_decode(header->substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos)
      return oauth_error(401, "invalid_client", "malformed Basic credentials");
    std::string id = decoded->substr(0, colon), secret = decoded->substr(colon + 1);
    auto known = s.options.clients.find(id);
    if (known == s.options.clients.end() || !crypto::constant_time_equal(known->second, secret))
      return oauth_error(401, "invalid_client", "Client authentication failed");
    auto scope = form.find("scope");
    if (scope == form.end() || scope->second.find(transfer_scope) == std::string::npos)
      return oauth_error(400, "invalid_scope", "the Transfer scope must be requested");
    return id;
  }
  if (grant->second == "refresh_token") {
    auto id = form.find("client_id");
    auto token = form.find("refresh_token");
    if (id == form.end() || token == form.end())
      return oauth_error(400, "invalid_request", "client_id and refresh_token are required");
    auto known = s.options.refresh_tokens.find(id->second);
    if (known == s.options.refresh_tokens.end() ||
        !crypto::constant_time_equal(known->second, token->second))
      return oauth_error(400, "invalid_grant", "Invalid refresh token");
    return id->second;
  }
  return oauth_error(400, "unsupported_grant_type", "grant_type " + grant->second);
}

void handle_token(state& s, const net::http::request& req, const net::http::respond_fn& respond) {
  auto form = net::http::parse_query(req.body);
  if (!form) {
    respond(net::http::json_response(
        400, json{{"error", "invalid_request"}, {"error_description", "malformed form body"}}));
    return;
  }
  auto who = authenticate_token_request(s, req, *form);
  if (auto* refusal = std::get_if<net::http::response>(&who)) {
    respond(std::move(*refusal));
    return;
  }
  std::string token = crypto::random_token();
  auto now = sys_clock::now();
  {
    std::lock_guard lock(s.mutex);
    std::erase_if(s.tokens, [&](const auto& entry) { return entry.second.expires <= now; });
    if (s.tokens.size() >= tokens_max) s.tokens.erase(s.tokens.begin());
    s.tokens[token] = {std::get<std::string>(who), now, now + s.options.token_ttl};
    ++s.stats.tokens_issued;
  }
  json body = token_body(token, s.options.token_ttl);
  if (form->at("grant_type") == "refresh_token") body["refresh_token"] = form->at("refresh_token");
  respond(net::http::json_response(200, body));
}

// True when the request carries a live bearer token; otherwise answers 401 itself.
bool authorized(state& s, const net::http::request& req, const net::http::respond_fn& respond) {
  auto header = req.header("authorization");
  std::lock_guard lock(s.mutex);
  if (header && header->starts_with("Bearer ")) {
    auto it = s.tokens.find(std::string{header->substr(7)});
    auto now = sys_clock::now();
    bool revoked = s.options.revoke_tokens_after && it != s.tokens.end() &&
                   now >= it->second.issued + *s.options.revoke_tokens_after;
    if (it != s.tokens.end() && now < it->second.expires && !revoked) return true;
  }
  ++s.stats.unauthorized_requests;
  respond(transfer_error(401, "ClientError.AuthenticationFailed",
                         header ? "Token is not active" : "No credentials supplied", req));
  return false;
}

}  // namespace

// ---------------------------------------------------------------- task submission

namespace {

// Why a submission is refused, as Globus would say it.
struct refusal {
  int status = 400;
  std::string code = "ClientError.BadRequest";
  std::string message;
};

// The endpoint-side path resolved under the endpoint's root and confined to it.
expected<fs::path> resolve_endpoint_path(const std::string& root, const std::string& path) {
  if (path.empty() || path.front() != '/')
    return fail(errc::invalid_argument, "path \"" + path + "\" is not absolute");
  std::string joined = root == "/" ? path : root + path;
  return data::confine_path({root}, joined);
}

std::string string_field(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// Reads an optional boolean field; false when absent.
bool optional_bool(const json& doc, const char* key, std::string& problem) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    problem = std::string{"\""} + key + "\" must be a boolean";
    return false;
  }
  return it->get<bool>();
}

std::variant<file_job, refusal> parse_item(const json& item, const std::string& source_root,
                                           const std::string& destination_root) {
  auto bad = [](std::string why) { return refusal{400, "ClientError.BadRequest", std::move(why)}; };
  if (!item.is_object() || string_field(item, "DATA_TYPE") != "transfer_item")
    return bad("every DATA item must be a transfer_item object");
  if (auto r = item.find("recursive"); r != item.end() && r->is_boolean() && r->get<bool>())
    return bad("recursive items are not supported by the stand-in");
  file_job job;
  job.source_text = string_field(item, "source_path");
  job.destination_text = string_field(item, "destination_path");
  auto source = resolve_endpoint_path(source_root, job.source_text);
  if (!source) return bad("source_path: " + source.err().message);
  auto destination = resolve_endpoint_path(destination_root, job.destination_text);
  if (!destination) return bad("destination_path: " + destination.err().message);
  job.source = *source;
  job.destination = *destination;
  job.external_checksum = lower(string_field(item, "external_checksum"));
  std::string algorithm = string_field(item, "checksum_algorithm");
  if (!algorithm.empty()) {
    auto alg = data::parse_checksum_alg(algorithm);
    if (!alg) return bad("checksum_algorithm \"" + algorithm + "\" is not MD5, ADLER32 or XXH3");
    job.alg = *alg;
  }
  if (!job.external_checksum.empty()) {
    auto parsed = data::parse_checksum(data::format_checksum(job.alg, job.external_checksum));
    if (!parsed) return bad("external_checksum: " + parsed.err().message);
  }
  return job;
}

// The task's options from the document's top level.
std::optional<refusal> parse_task_options(const json& doc, standin_task& task) {
  task.submission_id = string_field(doc, "submission_id");
  if (!looks_like_uuid(task.submission_id))
    return refusal{400, "ClientError.BadRequest", "submission_id must be a UUID"};
  task.source_endpoint = string_field(doc, "source_endpoint");
  task.destination_endpoint = string_field(doc, "destination_endpoint");
  task.label = string_field(doc, "label");
  if (auto sync = doc.find("sync_level"); sync != doc.end() && !sync->is_null()) {
    if (!sync->is_number_integer() || sync->get<int64_t>() < 0 || sync->get<int64_t>() > 3)
      return refusal{400, "ClientError.BadRequest", "sync_level must be an integer 0..3"};
    task.sync = static_cast<int>(sync->get<int64_t>());
  }
  std::string problem;
  task.verify_checksum = optional_bool(doc, "verify_checksum", problem);
  task.encrypt_data = optional_bool(doc, "encrypt_data", problem);
  task.preserve_timestamp = optional_bool(doc, "preserve_timestamp", problem);
  task.fail_on_quota_errors = optional_bool(doc, "fail_on_quota_errors", problem);
  task.skip_source_errors = optional_bool(doc, "skip_source_errors", problem);
  if (!problem.empty()) return refusal{400, "ClientError.BadRequest", problem};
  return std::nullopt;
}

// Builds the task from a transfer document without touching shared state.
std::variant<std::shared_ptr<standin_task>, refusal> parse_transfer_document(const state& s,
                                                                             const json& doc) {
  if (string_field(doc, "DATA_TYPE") != "transfer")
    return refusal{400, "ClientError.BadRequest", "DATA_TYPE must be \"transfer\""};
  auto task = std::make_shared<standin_task>();
  if (auto refused = parse_task_options(doc, *task)) return *refused;
  const auto& endpoints = s.options.endpoints;
  auto source_root = endpoints.find(task->source_endpoint);
  auto destination_root = endpoints.find(task->destination_endpoint);
  if (source_root == endpoints.end() || destination_root == endpoints.end())
    return refusal{
        404, "ClientError.NotFound",
        "endpoint " +
            (source_root == endpoints.end() ? task->source_endpoint : task->destination_endpoint) +
            " not found"};
  auto data = doc.find("DATA");
  if (data == doc.end() || !data->is_array() || data->empty())
    return refusal{400, "ClientError.BadRequest.NoTransferItems",
                   "A transfer requires at least one item"};
  for (const auto& item : *data) {
    auto job = parse_item(item, source_root->second, destination_root->second);
    if (auto* refused = std::get_if<refusal>(&job)) return *refused;
    task->jobs.push_back(std::move(std::get<file_job>(job)));
  }
  return task;
}

void handle_submission_id(state& s, const net::http::request& req,
                          const net::http::respond_fn& respond) {
  if (!authorized(s, req, respond)) return;
  respond(
      net::http::json_response(200, json{{"DATA_TYPE", "submission_id"}, {"value", new_uuid()}}));
}

json transfer_result(const std::string& code, const standin_task& task, std::string message) {
  return json{{"DATA_TYPE", "transfer_result"},
              {"code", code},
              {"message", std::move(message)},
              {"task_id", task.id},
              {"submission_id", task.submission_id},
              {"task_link",
               {{"DATA_TYPE", "link"},
                {"href", "/v0.10/task/" + task.id + "?format=json"},
                {"rel", "related"},
                {"resource", "task"}}}};
}

}  // namespace

// ---------------------------------------------------------------- copying

namespace {

struct unique_fd {
  int fd = -1;
  explicit unique_fd(int f) : fd(f) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr size_t copy_chunk_bytes_max = 256 * 1024;
constexpr auto throttle_slice = std::chrono::milliseconds(50);

enum class file_outcome : uint8_t { copied, skipped, cancelled };

// Runs one task's copies on its own thread.
class task_runner {
 public:
  task_runner(state& s, std::shared_ptr<standin_task> task) : s_(s), t_(std::move(task)) {}

  void run() {
    if (!t_->injected_fault.empty()) {
      inject(t_->injected_fault);
    } else {
      run_files();
    }
    t_->worker_done.store(true);  // last: evict_finished_tasks may join from now on
  }

 private:
  [[nodiscard]] bool stopped() const { return t_->cancel_requested.load() || s_.stopping.load(); }

  void inject(const std::string& code) {
    std::lock_guard lock(s_.mutex);
    if (t_->status != "ACTIVE") return;
    if (code == "INACTIVE") {
      t_->status = "INACTIVE";
      t_->nice_status = "AUTH";
      s_.add_event(*t_, "AUTH", "the endpoint's credentials expired (stand-in fault)", "", true);
      return;
    }
    s_.record_fault(*t_, {code, "injected fault (--fail-next-task)", ""}, is_fatal(code));
  }

  [[nodiscard]] bool is_fatal(const std::string& code) const {
    return (code == "QUOTA_EXCEEDED" && t_->fail_on_quota_errors) || code == "CHECKSUM_MISMATCH";
  }

  void run_files() {
    {
      std::lock_guard lock(s_.mutex);
      t_->nice_status = "OK";
      s_.add_event(*t_, "STARTED", "started", "", false);
    }
    for (const auto& job : t_->jobs) {
      auto outcome = transfer_file(job);
      if (auto* fault = std::get_if<copy_fault>(&outcome)) {
        bool source_fault = fault->code == "FILE_NOT_FOUND" || fault->code == "PERMISSION_DENIED";
        std::lock_guard lock(s_.mutex);
        if (t_->skip_source_errors && source_fault && fault->description.starts_with("reading")) {
          ++t_->files_skipped;
          s_.add_event(*t_, fault->code, "skipped: " + fault->description, fault->details, true);
          continue;
        }
        if (t_->status == "ACTIVE") s_.record_fault(*t_, *fault, is_fatal(fault->code));
        return;  // a non-fatal fault stalls the task until it is cancelled
      }
      if (std::get<file_outcome>(outcome) == file_outcome::cancelled) return;
    }
    std::lock_guard lock(s_.mutex);
    if (t_->status != "ACTIVE") return;
    t_->status = "SUCCEEDED";
    t_->nice_status.clear();
    t_->completion_time = iso_time(sys_clock::now());
    s_.add_event(*t_, "SUCCEEDED", "succeeded", "", false);
  }

  // Whether the destination already matches the source at the task's sync level.
  [[nodiscard]] bool already_there(const file_job& job, const struct stat& source) const {
    struct stat dest {};
    if (::stat(job.destination.c_str(), &dest) != 0 || !S_ISREG(dest.st_mode)) return false;
    switch (t_->sync) {
      case 0:
        return true;
      case 1:
        return dest.st_size == source.st_size;
      case 2:
        return dest.st_size == source.st_size && dest.st_mtim.tv_sec >= source.st_mtim.tv_sec;
      default: {
        if (dest.st_size != source.st_size) return false;
        auto a = data::checksum_file(job.source, job.alg);
        auto b = data::checksum_file(job.destination, job.alg);
        return a && b && *a == *b;
      }
    }
  }

  std::variant<file_outcome, copy_fault> transfer_file(const file_job& job) {
    struct stat source {};
    if (::stat(job.source.c_str(), &source) != 0)
      return errno_fault(errno, "reading the source", job.source_text);
    if (!S_ISREG(source.st_mode))
      return copy_fault{"IS_A_DIRECTORY", "reading the source failed",
                        job.source_text + " is not a regular file"};
    if (already_there(job, source)) {
      std::lock_guard lock(s_.mutex);
      ++t_->files_skipped;
      ++s_.stats.files_skipped;
      return file_outcome::skipped;
    }
    fs::path temp =
        job.destination.parent_path() / ("." + job.destination.filename().string() +
                                         ".globus-standin-" + t_->id.substr(0, 8) + ".part");
    for (int attempt = 1;; ++attempt) {
      auto outcome = copy_and_verify(job, source, temp);
      std::error_code ignored;
      if (auto* fault = std::get_if<copy_fault>(&outcome)) {
        fs::remove(temp, ignored);
        if (fault->code != "VERIFY_CHECKSUM") return *fault;
        std::lock_guard lock(s_.mutex);
        if (attempt == verify_attempts_max)
          return copy_fault{"CHECKSUM_MISMATCH",
                            "checksum verification failed " + std::to_string(attempt) + " times",
                            fault->details};
        ++t_->faults;  // Globus re-transfers a file whose checksums differ
        s_.add_event(*t_, fault->code, fault->description, fault->details, true);
        continue;
      }
      if (std::get<file_outcome>(outcome) == file_outcome::cancelled) {
        fs::remove(temp, ignored);
        return file_outcome::cancelled;
      }
      return commit(job, temp);
    }
  }

  // Renames into place unless the task was cancelled meanwhile (checked under the mutex, so a
  // cancelled task never leaves a file at its destination).
  std::variant<file_outcome, copy_fault> commit(const file_job& job, const fs::path& temp) {
    std::unique_lock lock(s_.mutex);
    std::error_code ec;
    if (t_->cancel_requested.load() || t_->status != "ACTIVE") {
      lock.unlock();
      fs::remove(temp, ec);
      return file_outcome::cancelled;
    }
    if (::rename(temp.c_str(), job.destination.c_str()) != 0)
      return errno_fault(errno, "writing the destination", job.destination_text);
    ++t_->files_transferred;
    ++s_.stats.files_copied;
    lock.unlock();
    unique_fd dir(::open(job.destination.parent_path().c_str(), O_RDONLY | O_DIRECTORY));
    if (dir.fd >= 0) ::fsync(dir.fd);  // the rename itself survives a crash
    return file_outcome::copied;
  }

  std::variant<file_outcome, copy_fault> copy_and_verify(const file_job& job,
                                                         const struct stat& source,
                                                         const fs::path& temp) {
    data::checksum_stream source_sum(job.alg);
    auto copied = copy_bytes(job, source, temp, source_sum);
    if (!std::holds_alternative<file_outcome>(copied)) return copied;
    if (std::get<file_outcome>(copied) == file_outcome::cancelled) return copied;
    if (!t_->verify_checksum && job.external_checksum.empty()) return file_outcome::copied;
    auto written = data::checksum_file(temp, job.alg);  // read back, as a verifier must
    if (!written) return copy_fault{"ENDPOINT_ERROR", "verifying failed", written.err().message};
    {
      std::lock_guard lock(s_.mutex);
      t_->bytes_checksummed += static_cast<uint64_t>(source.st_size);
    }
    if (!job.external_checksum.empty() && *written != job.external_checksum)
      return copy_fault{
          "CHECKSUM_MISMATCH", "the external checksum does not match",
          job.destination_text + ": expected " + job.external_checksum + ", got " + *written};
    if (t_->verify_checksum && *written != source_sum.hex_digest())
      return copy_fault{"VERIFY_CHECKSUM", "source and destination checksums differ",
                        job.destination_text};
    return file_outcome::copied;
  }

  std::variant<file_outcome, copy_fault> copy_bytes(const file_job& job, const struct stat& source,
                                                    const fs::path& temp,
                                                    data::checksum_stream& sum) {
    unique_fd in(::open(job.source.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) return errno_fault(errno, "reading the source", job.source_text);
    std::error_code ec;
    fs::create_directories(job.destination.parent_path(), ec);
    if (ec)
      return errno_fault(ec.value(), "creating the destination directory", job.destination_text);
    unique_fd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out.fd < 0) return errno_fault(errno, "writing the destination", job.destination_text);
    uint64_t rate = s_.options.slow_bytes_per_s;
    size_t chunk =
        rate == 0 ? copy_chunk_bytes_max
                  : static_cast<size_t>(std::clamp<uint64_t>(rate / 20, 1, copy_chunk_bytes_max));
    std::vector<char> buffer(chunk);
    uint64_t total = 0;
    auto start = std::chrono::steady_clock::now();
    for (;;) {
      if (stopped()) return file_outcome::cancelled;
      ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_fault(errno, "reading the source", job.source_text);
      if (n == 0) break;
      sum.update(std::string_view{buffer.data(), static_cast<size_t>(n)});
      if (auto fault = write_all(out.fd, buffer.data(), static_cast<size_t>(n), job)) return *fault;
      total += static_cast<uint64_t>(n);
      {
        std::lock_guard lock(s_.mutex);
        t_->bytes_transferred += static_cast<uint64_t>(n);
        s_.stats.bytes_copied += static_cast<uint64_t>(n);
      }
      if (rate != 0) throttle(start, total, rate);
    }
    if (total != static_cast<uint64_t>(source.st_size))
      return copy_fault{"FILE_SIZE_CHANGED", "the source changed size while copying",
                        job.source_text};
    if (t_->preserve_timestamp) {
      std::array<struct timespec, 2> times{source.st_atim, source.st_mtim};
      ::futimens(out.fd, times.data());
    }
    if (::fsync(out.fd) != 0)
      return errno_fault(errno, "writing the destination", job.destination_text);
    return file_outcome::copied;
  }

  std::optional<copy_fault> write_all(int fd, const char* data, size_t size, const file_job& job) {
    while (size > 0) {
      ssize_t n = ::write(fd, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_fault(errno, "writing the destination", job.destination_text);
      data += n;
      size -= static_cast<size_t>(n);
    }
    return std::nullopt;
  }

  // Sleeps until `total` bytes fit the rate, in short slices so a cancel is seen quickly.
  void throttle(std::chrono::steady_clock::time_point start, uint64_t total, uint64_t rate) const {
    auto due =
        start +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(static_cast<double>(total) / static_cast<double>(rate)));
    for (auto now = std::chrono::steady_clock::now(); now < due && !stopped();
         now = std::chrono::steady_clock::now())
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(due - now, throttle_slice));
  }

  state& s_;
  std::shared_ptr<standin_task> t_;
};

}  // namespace

// ---------------------------------------------------------------- Transfer routes

namespace {

void handle_transfer(state& s, const net::http::request& req,
                     const net::http::respond_fn& respond) {
  if (!authorized(s, req, respond)) return;
  auto doc = parse_json_reply(req.body, "the transfer document");
  if (!doc) {
    respond(transfer_error(400, "ClientError.BadRequest", doc.err().message, req));
    return;
  }
  auto parsed = parse_transfer_document(s, *doc);
  if (auto* refused = std::get_if<refusal>(&parsed)) {
    respond(transfer_error(refused->status, refused->code, refused->message, req));
    return;
  }
  auto task = std::get<std::shared_ptr<standin_task>>(std::move(parsed));
  std::lock_guard lock(s.mutex);
  if (s.stopping.load()) {
    respond(transfer_error(503, "ServiceUnavailable", "the stand-in is stopping", req));
    return;
  }
  if (auto known = s.task_by_submission.find(task->submission_id);
      known != s.task_by_submission.end()) {
    ++s.stats.duplicate_submissions;
    respond(net::http::json_response(
        200, transfer_result("Duplicate", *s.tasks.at(known->second),
                             "A transfer with this submission id was already submitted")));
    return;
  }
  if (s.pending_tasks() >= s.options.active_tasks_max) {
    // The code string of Globus's own refusal could not be verified; the status is what the
    // librarian's client classifies.
    respond(transfer_error(409, "ClientError.Conflict.PendingTaskLimit",
                           "You have " + std::to_string(s.options.active_tasks_max) +
                               " pending tasks; wait for some to complete before submitting more",
                           req));
    return;
  }
  task->id = new_uuid();
  task->request_time = iso_time(sys_clock::now());
  if (!s.fail_next.empty()) task->injected_fault = s.fail_next.front();
  try {
    // The worker waits for this mutex before it touches the task, so it may start first.
    task->worker = std::thread([&s, task] { task_runner(s, task).run(); });
  } catch (const std::system_error& e) {
    respond(transfer_error(503, "ServiceUnavailable",
                           std::string{"cannot start a copy thread: "} + e.what(), req));
    return;
  }
  if (!task->injected_fault.empty()) s.fail_next.pop_front();
  s.tasks[task->id] = task;
  s.task_by_submission[task->submission_id] = task->id;
  s.task_order.push_back(task->id);
  ++s.stats.tasks_created;
  s.evict_finished_tasks();
  respond(net::http::json_response(
      202, transfer_result("Accepted", *task,
                           "The transfer has been accepted and a task has been created and "
                           "queued for execution")));
}

json task_json(const standin_task& t) {
  auto or_null = [](const std::string& text) { return text.empty() ? json(nullptr) : json(text); };
  json fatal = t.fatal ? json{{"code", t.fatal->code}, {"description", t.fatal->description}}
                       : json(nullptr);
  return json{{"DATA_TYPE", "task"},
              {"task_id", t.id},
              {"type", "TRANSFER"},
              {"status", t.status},
              {"nice_status", or_null(t.nice_status)},
              {"label", or_null(t.label)},
              {"source_endpoint_id", t.source_endpoint},
              {"destination_endpoint_id", t.destination_endpoint},
              {"request_time", t.request_time},
              {"completion_time", or_null(t.completion_time)},
              {"bytes_transferred", t.bytes_transferred},
              {"bytes_checksummed", t.bytes_checksummed},
              {"files", t.jobs.size()},
              {"directories", 0},
              {"files_transferred", t.files_transferred},
              {"files_skipped", t.files_skipped},
              {"faults", t.faults},
              {"fatal_error", fatal},
              {"is_paused", false},
              {"sync_level", t.sync},
              {"verify_checksum", t.verify_checksum},
              {"encrypt_data", t.encrypt_data},
              {"preserve_timestamp", t.preserve_timestamp},
              {"fail_on_quota_errors", t.fail_on_quota_errors},
              {"skip_source_errors", t.skip_source_errors}};
}

// The task named by the route, or nullptr after answering 404.
std::shared_ptr<standin_task> find_task(state& s, const net::http::path_params& params,
                                        const net::http::request& req,
                                        const net::http::respond_fn& respond) {
  auto id = params.find("id");
  if (id != params.end())
    if (auto it = s.tasks.find(id->second); it != s.tasks.end()) return it->second;
  respond(transfer_error(404, "ClientError.NotFound",
                         "Task " + (id == params.end() ? std::string{} : id->second) + " not found",
                         req));
  return nullptr;
}

void handle_task(state& s, const net::http::request& req, const net::http::path_params& params,
                 const net::http::respond_fn& respond) {
  if (!authorized(s, req, respond)) return;
  std::lock_guard lock(s.mutex);
  if (auto t = find_task(s, params, req, respond))
    respond(net::http::json_response(200, task_json(*t)));
}

// A non-negative integer query parameter, or `fallback` when absent; nullopt when malformed.
std::optional<size_t> query_count(const net::http::request& req, const char* key, size_t fallback,
                                  size_t max) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return fallback;
  size_t value = 0;
  const auto& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

void handle_event_list(state& s, const net::http::request& req,
                       const net::http::path_params& params, const net::http::respond_fn& respond) {
  if (!authorized(s, req, respond)) return;
  auto limit = query_count(req, "limit", 10, 1000);
  auto offset = query_count(req, "offset", 0, 1'000'000);
  std::string filter = req.query.count("filter") ? req.query.at("filter") : "";
  if (!limit || !offset || (!filter.empty() && filter != "is_error:1" && filter != "is_error:0")) {
    respond(transfer_error(400, "ClientError.BadRequest",
                           "limit (0..1000), offset or filter (is_error:1|is_error:0) is invalid",
                           req));
    return;
  }
  std::lock_guard lock(s.mutex);
  auto t = find_task(s, params, req, respond);
  if (!t) return;
  json data = json::array();
  size_t total = 0;
  for (const auto& event : t->events) {
    if (filter == "is_error:1" && !event.is_error) continue;
    if (filter == "is_error:0" && event.is_error) continue;
    if (total++ < *offset || data.size() >= *limit) continue;
    data.push_back({{"DATA_TYPE", "event"},
                    {"code", event.code},
                    {"description", event.description},
                    {"details", event.details},
                    {"is_error", event.is_error},
                    {"time", event.time}});
  }
  respond(net::http::json_response(200, json{{"DATA_TYPE", "event_list"},
                                             {"DATA", std::move(data)},
                                             {"limit", *limit},
                                             {"offset", *offset},
                                             {"total", total}}));
}

void handle_cancel(state& s, const net::http::request& req, const net::http::path_params& params,
                   const net::http::respond_fn& respond) {
  if (!authorized(s, req, respond)) return;
  std::lock_guard lock(s.mutex);
  auto t = find_task(s, params, req, respond);
  if (!t) return;
  if (t->status == "SUCCEEDED" || t->status == "FAILED") {
    respond(net::http::json_response(
        200, json{{"DATA_TYPE", "result"},
                  {"code", "TaskComplete"},
                  {"message", "The task completed before the cancel request was processed"}}));
    return;
  }
  t->cancel_requested.store(true);
  t->status = "FAILED";
  t->nice_status.clear();
  t->fatal = fatal_error{"CANCELED", "canceled"};
  t->completion_time = iso_time(sys_clock::now());
  s.add_event(*t, "CANCELED", "canceled", "", false);
  respond(net::http::json_response(200,
                                   json{{"DATA_TYPE", "result"},
                                        {"code", "Canceled"},
                                        {"message", "The task has been cancelled successfully."}}));
}

}  // namespace

json to_json(const globus_standin::counters& c) {
  return json{{"tokens_issued", c.tokens_issued},
              {"tasks_created", c.tasks_created},
              {"duplicate_submissions", c.duplicate_submissions},
              {"files_copied", c.files_copied},
              {"files_skipped", c.files_skipped},
              {"bytes_copied", c.bytes_copied},
              {"unauthorized_requests", c.unauthorized_requests}};
}

// ---------------------------------------------------------------- start and stop

namespace {

// Validated and normalized options; errors name the command-line option.
expected<standin_options> checked_options(standin_options options) {
  if (options.endpoints.empty())
    return fail(errc::invalid_argument, "--endpoint ID=ROOT: at least one endpoint is needed");
  for (auto& [id, root] : options.endpoints) {
    std::error_code ec;
    if (id.empty() || root.empty() || root.front() != '/')
      return fail(errc::invalid_argument,
                  "--endpoint " + id + "=" + root + ": ROOT must be an absolute directory");
    fs::path canonical = fs::canonical(root, ec);
    if (ec || !fs::is_directory(canonical, ec))
      return fail(errc::invalid_argument,
                  "--endpoint " + id + "=" + root + ": ROOT is not an existing directory");
    root = canonical.string();
  }
  if (options.clients.empty() && options.refresh_tokens.empty())
    return fail(errc::invalid_argument,
                "at least one --client ID:SECRET or --refresh-token ID:TOKEN is needed");
  if (options.token_ttl.count() < 1)
    return fail(errc::invalid_argument, "--token-ttl-s must be at least 1");
  for (const auto& code : options.fail_next_tasks)
    if (code.empty() || !std::all_of(code.begin(), code.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        }))
      return fail(errc::invalid_argument,
                  "--fail-next-task \"" + code + "\": a code is upper case, like QUOTA_EXCEEDED");
  if (options.active_tasks_max == 0 || options.tasks_kept_max < options.active_tasks_max)
    return fail(errc::invalid_argument, "the task limits are inconsistent");
  return options;
}

net::http::router make_router(state& s) {
  using net::http::path_params;
  using net::http::request;
  using net::http::respond_fn;
  net::http::router r;
  r.add("POST", "/v2/oauth2/token",
        [&s](request req, path_params, respond_fn done) { handle_token(s, req, done); });
  r.add("GET", "/v0.10/submission_id",
        [&s](request req, path_params, respond_fn done) { handle_submission_id(s, req, done); });
  r.add("POST", "/v0.10/transfer",
        [&s](request req, path_params, respond_fn done) { handle_transfer(s, req, done); });
  r.add("GET", "/v0.10/task/{id}",
        [&s](request req, path_params p, respond_fn done) { handle_task(s, req, p, done); });
  r.add("GET", "/v0.10/task/{id}/event_list",
        [&s](request req, path_params p, respond_fn done) { handle_event_list(s, req, p, done); });
  r.add("POST", "/v0.10/task/{id}/cancel",
        [&s](request req, path_params p, respond_fn done) { handle_cancel(s, req, p, done); });
  // Not part of Globus: what the stand-in did, for tests.
  r.add("GET", "/standin/stats", [&s](request, path_params, respond_fn done) {
    std::lock_guard lock(s.mutex);
    done(net::http::json_response(200, to_json(s.stats)));
  });
  return r;
}

}  // namespace

expected<std::unique_ptr<globus_standin>> globus_standin::start(standin_options options) {
  auto checked = checked_options(std::move(options));
  if (!checked) return checked.err();
  auto s = std::make_unique<state>();
  s->options = std::move(*checked);
  s->fail_next.assign(s->options.fail_next_tasks.begin(), s->options.fail_next_tasks.end());
  net::http::server_options server_options;
  server_options.bind_address = "127.0.0.1";
  server_options.port = s->options.port;
  server_options.body_max_bytes = size_t{16} << 20;  // a 10,000-item task document fits
  auto server = net::http::server::start(server_options, make_router(*s).as_handler());
  if (!server) return server.err();
  s->server = std::move(*server);
  return std::make_unique<globus_standin>(std::move(s));
}

globus_standin::globus_standin(std::unique_ptr<state> s) : state_(std::move(s)) {}

globus_standin::~globus_standin() {
  stop();
}

uint16_t globus_standin::port() const {
  return state_->server ? state_->server->port() : 0;
}

globus_standin::counters globus_standin::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void globus_standin::stop() {
  state_->stopping.store(true);
  if (state_->server) state_->server->stop();
  std::vector<std::shared_ptr<standin_task>> all;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [id, task] : state_->tasks) all.push_back(task);
    all.insert(all.end(), state_->retired.begin(), state_->retired.end());
    state_->retired.clear();
  }
  // Outside the mutex: a worker may be waiting for it before it sees `stopping`.
  for (auto& task : all)
    if (task->worker.joinable()) task->worker.join();
}

}  // namespace librarian::globus
