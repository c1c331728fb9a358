// globus_mover: settings validation (startup), root mapping, task documents, and how a Globus
// task's state reads as a task_status.
#include "net/globus/globus_mover.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "net/data/checksum.hpp"

namespace librarian::globus {

namespace {

constexpr size_t secret_file_bytes_max = 64 * 1024;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

error bad_key(std::string_view key, std::string_view why) {
  return fail(errc::invalid_argument,
              "librarian." + std::string{key} + " " + std::string{why} + " (see docs/globus.md)");
}

// Reads the whole secret file through one descriptor, so the checks and the read see one file.
expected<std::string> read_secret_file(const std::string& path) {
  constexpr std::string_view key = "globus_client_secret_file";
  if (path.empty()) return bad_key(key, "is not set: it must name the file holding the secret");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return bad_key(key, "\"" + path + "\" cannot be opened: " + std::strerror(errno));
  struct stat info {};
  std::string text;
  std::string problem;
  if (::fstat(fd, &info) != 0) {
    problem = std::string{"cannot be inspected: "} + std::strerror(errno);
  } else if (!S_ISREG(info.st_mode)) {
    problem = "is not a regular file";
  } else if ((info.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    problem = std::string{"is readable or writable by every user (mode "} + mode +
              "); run chmod 600 on it";
  } else if (static_cast<uint64_t>(info.st_size) > secret_file_bytes_max) {
    problem = "is larger than 64 KiB; it must hold only the secret";
  } else {
    std::array<char, 4096> buffer{};
    for (;;) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        problem = std::string{"cannot be read: "} + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      text.append(buffer.data(), static_cast<size_t>(n));
      if (text.size() > secret_file_bytes_max) {
        problem = "is larger than 64 KiB; it must hold only the secret";
        break;
      }
    }
  }
  ::close(fd);
  if (!problem.empty()) return bad_key(key, "\"" + path + "\" " + problem);
  std::string_view secret = trim(text);
  if (secret.empty()) return bad_key(key, "\"" + path + "\" is empty");
  for (char c : secret)
    if (is_space(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return bad_key(key, "\"" + path +
                              "\" must hold the secret alone on one line (found white space or "
                              "a control character inside it)");
  return std::string{secret};
}

// Endpoint ids are UUIDs at Globus; anything without white space, '/' or control characters is
// accepted so the stand-in can use readable names.
bool endpoint_id_ok(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    return is_space(c) || c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// Absolute, no empty, "." or ".." segments, no control characters; a trailing '/' is refused too
// (a file path never has one).
bool clean_absolute(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 4096) return false;
  if (path == "/") return true;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string_view without_trailing_slash(std::string_view root) {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  return root == "/" ? std::string_view{} : root;
}

}  // namespace

expected<globus_settings> globus_settings_from(const globus_config_keys& keys) {
  globus_settings out;
  if (keys.client_id.empty())
    return bad_key("globus_client_id", "is not set: it must hold the Globus app's client id");
  if (!endpoint_id_ok(keys.client_id))
    return bad_key("globus_client_id", "\"" + keys.client_id + "\" is not a client id");
  if (keys.local_endpoint_id.empty())
    return bad_key("globus_local_endpoint_id",
                   "is not set: it must hold the id of the Globus endpoint (collection) that "
                   "serves this node's stores");
  if (!endpoint_id_ok(keys.local_endpoint_id))
    return bad_key("globus_local_endpoint_id",
                   "\"" + keys.local_endpoint_id + "\" is not an endpoint id");
  if (!keys.local_root.empty() && !clean_absolute(without_trailing_slash(keys.local_root)) &&
      keys.local_root != "/")
    return bad_key("globus_local_root", "\"" + keys.local_root +
                                            "\" must be an absolute path without '.', '..' or "
                                            "'//'");
  if (auto url = parse_service_url(keys.auth_url, "librarian.globus_auth_url"); !url)
    return url.err();
  if (auto url = parse_service_url(keys.transfer_url, "librarian.globus_transfer_url"); !url)
    return url.err();
  auto secret = read_secret_file(keys.client_secret_file);
  if (!secret) return secret.err();
  out.auth_url = keys.auth_url;
  out.transfer_url = keys.transfer_url;
  out.client_id = keys.client_id;
  out.native_app = keys.client_native_app;
  out.secret = std::move(*secret);
  out.local_endpoint_id = keys.local_endpoint_id;
  out.local_root = std::string{without_trailing_slash(keys.local_root)};
  out.encrypt_data = keys.encrypt_transfers;
  return out;
}

expected<std::string> endpoint_path(std::string_view local_path, std::string_view local_root,
                                    std::string_view endpoint_root) {
  if (!clean_absolute(local_path))
    return fail(errc::invalid_argument, "path \"" + std::string{local_path} +
                                            "\" is not absolute and clean (no '.', '..', '//' "
                                            "or trailing '/')");
  std::string_view from = without_trailing_slash(local_root);
  std::string_view to = without_trailing_slash(endpoint_root);
  for (auto root : {from, to})
    if (!root.empty() && !clean_absolute(root))
      return fail(errc::invalid_argument,
                  "Globus root \"" + std::string{root} + "\" is not absolute and clean");
  std::string_view rest;
  if (from.empty()) {
    rest = local_path;
  } else if (local_path == from) {
    rest = "/";
  } else if (local_path.starts_with(from) && local_path[from.size()] == '/') {
    rest = local_path.substr(from.size());
  } else {
    return fail(errc::invalid_argument, "path \"" + std::string{local_path} +
                                            "\" is not under the Globus root \"" +
                                            std::string{from} + "\"");
  }
  if (to.empty()) return std::string{rest};
  return rest == "/" ? std::string{to} : std::string{to} + std::string{rest};
}

expected<std::optional<globus_checksum>> globus_checksum_for(std::string_view checksum) {
  if (checksum.empty()) return std::optional<globus_checksum>{};
  auto parsed = data::parse_checksum(checksum);
  if (!parsed)
    return fail(errc::invalid_argument,
                "checksum \"" + std::string{checksum} + "\": " + parsed.err().message);
  switch (parsed->alg) {
    case data::checksum_alg::md5:
      return std::optional<globus_checksum>{globus_checksum{parsed->hex, "MD5"}};
    case data::checksum_alg::adler32:
      return std::optional<globus_checksum>{globus_checksum{parsed->hex, "ADLER32"}};
    case data::checksum_alg::xxh3:
      break;  // Globus has no xxh3; verify_checksum compares source and destination instead
  }
  return std::optional<globus_checksum>{};
}

expected<transfer_request> build_transfer_request(const globus_settings& settings,
                                                  const transfer::mover_batch& batch,
                                                  std::string submission_id) {
  if (batch.destination_endpoint.empty())
    return fail(errc::invalid_argument,
                "the destination store has no destination_endpoint (stores[].destination_endpoint "
                "at " +
                    (batch.destination.empty() ? std::string{"the peer"} : batch.destination) +
                    ")");
  if (!endpoint_id_ok(batch.destination_endpoint))
    return fail(errc::invalid_argument, "destination_endpoint \"" + batch.destination_endpoint +
                                            "\" is not an endpoint id");
  if (batch.files.empty()) return fail(errc::invalid_argument, "the batch has no files");
  if (batch.files.size() > batch_files_max)
    return fail(errc::invalid_argument, "the batch has " + std::to_string(batch.files.size()) +
                                            " files; a Globus task takes at most " +
                                            std::to_string(batch_files_max));
  transfer_request out;
  out.submission_id = std::move(submission_id);
  out.source_endpoint = settings.local_endpoint_id;
  out.destination_endpoint = batch.destination_endpoint;
  out.label = sanitize_label("librarian batch " + std::to_string(batch.batch_id) + " to " +
                             batch.destination);
  out.sync = sync_level::checksum;
  out.encrypt_data = settings.encrypt_data;
  out.items.reserve(batch.files.size());
  for (size_t i = 0; i < batch.files.size(); ++i) {
    const auto& file = batch.files[i];
    auto source = endpoint_path(file.source_path, settings.local_root);
    if (!source)
      return fail(errc::invalid_argument, "file " + std::to_string(i) + ": source " +
                                              source.err().message +
                                              " (librarian.globus_local_root)");
    if (!clean_absolute(file.dest_path))
      return fail(errc::invalid_argument, "file " + std::to_string(i) + ": destination path \"" +
                                              file.dest_path + "\" is not absolute and clean");
    auto checksum = globus_checksum_for(file.checksum);
    if (!checksum)
      return fail(errc::invalid_argument,
                  "file " + std::to_string(i) + ": " + checksum.err().message);
    transfer_item item;
    item.source_path = std::move(*source);
    item.destination_path = file.dest_path;
    if (*checksum) {
      item.external_checksum = (*checksum)->hex;
      item.checksum_algorithm = (*checksum)->algorithm;
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

namespace {

// The most telling reason a task gives: its fatal error, else its newest error event, else its
// nice_status.
std::pair<std::string, std::string> failure_reason(const task_document& task,
                                                   const std::vector<task_event>& events) {
  if (task.fatal) return {task.fatal->code, task.fatal->description};
  for (const auto& event : events)
    if (event.is_error) {
      std::string text = event.description;
      if (!event.details.empty()) {
        // Details can be a whole server transcript; the first part says enough.
        std::string details = event.details.substr(0, 300);
        text += text.empty() ? details : " (" + details + ")";
      }
      return {event.code, text};
    }
  if (!task.nice_status.empty()) return {task.nice_status, ""};
  return {"", ""};
}

}  // namespace

transfer::task_status task_status_from(const task_document& task,
                                       const std::vector<task_event>& error_events) {
  transfer::task_status out;
  out.bytes_done = task.bytes_transferred;
  out.files_done = task.files_transferred + task.files_skipped;
  out.files_total = task.files;
  if (task.status == "SUCCEEDED") {
    out.state = transfer::task_state::succeeded;
    return out;
  }
  if (task.status == "ACTIVE" && task.faults == 0) {
    out.state = transfer::task_state::active;
    return out;
  }
  out.state = transfer::task_state::failed;
  auto [code, text] = failure_reason(task, error_events);
  std::string message = "Globus task " + task.task_id + " is " + task.status;
  if (task.faults > 0) message += " with " + std::to_string(task.faults) + " fault(s)";
  if (!code.empty()) message += ": " + code;
  if (!text.empty()) message += ": " + text;
  if (task.status == "INACTIVE") {
    // INACTIVE: Globus paused the task because an endpoint's credentials expired (or consent is
    // missing). It will not move until an administrator acts, so another attempt cannot help.
    out.failure = fail(errc::unauthenticated,
                       message +
                           "; an endpoint's credentials expired or consent is missing: an "
                           "administrator must reactivate the endpoint");
    out.retryable = false;
    return out;
  }
  auto kind = classify_fault(code);
  out.failure = fail(kind.code, std::move(message));
  out.retryable = kind.retryable;
  return out;
}

expected<std::unique_ptr<globus_mover>> globus_mover::create(globus_settings settings,
                                                             http_transport transport,
                                                             monotonic_now_fn now) {
  if (!endpoint_id_ok(settings.local_endpoint_id))
    return bad_key("globus_local_endpoint_id", "is not set or not an endpoint id");
  auto client = globus_client::create(std::move(settings), std::move(transport), std::move(now));
  if (!client) return client.err();
  return std::make_unique<globus_mover>(std::move(*client));
}

expected<std::string> globus_mover::submit(const transfer::mover_batch& batch) {
  std::string submission_id = batch.submission_id;
  if (submission_id.empty()) {
    auto fresh = client_.submission_id();
    if (!fresh) return fresh.err();
    submission_id = std::move(*fresh);
  } else if (!looks_like_uuid(submission_id)) {
    return fail(errc::invalid_argument,
                "submission id \"" + submission_id + "\" is not a UUID (8-4-4-4-12 hex)");
  }
  auto request = build_transfer_request(client_.settings(), batch, std::move(submission_id));
  if (!request) return request.err();
  auto reply = client_.submit(*request);
  if (!reply) return reply.err();
  return std::move(reply->task_id);
}

expected<transfer::task_status> globus_mover::poll(const std::string& task_id) {
  auto task = client_.task(task_id);
  if (!task) {
    if (task.err().code == errc::not_found) {
      transfer::task_status unknown;
      unknown.state = transfer::task_state::unknown;
      unknown.failure = task.err();
      return unknown;
    }
    return task.err();
  }
  if (task->status == "SUCCEEDED" || (task->status == "ACTIVE" && task->faults == 0))
    return task_status_from(*task, {});
  // Failed: ask why. Without the events the task's own fields still explain something.
  std::vector<task_event> events;
  if (!task->fatal) {
    auto listed = client_.error_events(task_id);
    if (listed) events = std::move(*listed);
  }
  auto out = task_status_from(*task, events);
  if (task->status != "FAILED") {
    // Best effort: if this fails the next poll reports the same failure and cancels again.
    (void)client_.cancel(task_id);
  }
  return out;
}

status globus_mover::cancel(const std::string& task_id) {
  auto over = client_.cancel(task_id);
  if (over) return {};
  // A task Globus no longer knows is not running either.
  if (over.err().code == errc::not_found) return {};
  return over.err();
}

}  // namespace librarian::globus
