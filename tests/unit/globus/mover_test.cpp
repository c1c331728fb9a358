// The globus mover: startup settings (every missing key named), root mapping, the task document
// built from a batch, how Globus task states read as task_status, and the mover's calls over a
// scripted transport.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "net/globus/globus_mover.hpp"
#include "tests/unit/globus/fake_globus.hpp"

using namespace librarian;
using namespace librarian::globus;
using namespace librarian::globus::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A private directory for secret files, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / ("unit_globus_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  [[nodiscard]] std::string write(const std::string& name, const std::string& text,
                                  mode_t mode = 0600) const {
    auto file = path / name;
    std::ofstream(file) << text;
    ::chmod(file.c_str(), mode);
    return file.string();
  }
};

globus_config_keys good_keys(const temp_dir& dir) {
  globus_config_keys keys;
  keys.client_id = "client-1";
  keys.local_endpoint_id = "local-ep";
  keys.client_secret_file = dir.write("secret", "  s3cret\n");
  return keys;
}

transfer::mover_batch sample_batch() {
  transfer::mover_batch batch;
  batch.batch_id = 42;
  batch.submission_id = "11111111-2222-4333-8444-555555555555";
  batch.destination = "site-b";
  batch.destination_endpoint = "dest-ep";
  batch.files.push_back({"/data/store/2459000/a.uvh5", "/globus/staging/u1/a.uvh5", 10,
                         "md5:::d41d8cd98f00b204e9800998ecf8427e", ""});
  batch.files.push_back({"/data/store/2459000/b.uvh5", "/globus/staging/u2/b.uvh5", 20,
                         "xxh3:::99aa06d3014798d86001c324468d497f", ""});
  return batch;
}

task_document task_with(std::string status, uint64_t faults = 0) {
  task_document t;
  t.task_id = "t-1";
  t.status = std::move(status);
  t.faults = faults;
  t.files = 2;
  t.files_transferred = 1;
  t.bytes_transferred = 100;
  return t;
}

}  // namespace

TEST_CASE("settings: a complete configuration reads the secret, trimmed") {
  temp_dir dir;
  auto keys = good_keys(dir);
  keys.local_root = "/data/";
  keys.encrypt_transfers = false;
  auto settings = globus_settings_from(keys);
  REQUIRE(settings);
  CHECK(settings->secret == "s3cret");
  CHECK(settings->client_id == "client-1");
  CHECK(settings->local_endpoint_id == "local-ep");
  CHECK(settings->local_root == "/data");
  CHECK_FALSE(settings->encrypt_data);
  CHECK(settings->transfer_url == "https://transfer.api.globus.org/v0.10");
}

TEST_CASE("settings: each missing key is named in the error") {
  temp_dir dir;
  struct row {
    std::function<void(globus_config_keys&)> change;
    std::string key;
  };
  for (const auto& [change, key] : std::vector<row>{
           {[](auto& k) { k.client_id.clear(); }, "librarian.globus_client_id"},
           {[](auto& k) { k.local_endpoint_id.clear(); }, "librarian.globus_local_endpoint_id"},
           {[](auto& k) { k.client_secret_file.clear(); }, "librarian.globus_client_secret_file"},
           {[](auto& k) { k.local_root = "relative/root"; }, "librarian.globus_local_root"},
           {[](auto& k) { k.local_root = "/a/../b"; }, "librarian.globus_local_root"},
           {[](auto& k) { k.auth_url = "ftp://auth"; }, "librarian.globus_auth_url"},
           {[](auto& k) { k.transfer_url = "http://transfer.example.org"; },
            "librarian.globus_transfer_url"},
       }) {
    CAPTURE(key);
    auto keys = good_keys(dir);
    change(keys);
    auto settings = globus_settings_from(keys);
    REQUIRE_FALSE(settings);
    CHECK(settings.err().code == errc::invalid_argument);
    CHECK(settings.err().message.find(key) != std::string::npos);
  }
}

TEST_CASE("settings: a missing, empty, multi-word or world-readable secret file is refused") {
  temp_dir dir;
  auto keys = good_keys(dir);
  auto refused = [&](const std::string& file, const std::string& why) {
    CAPTURE(why);
    keys.client_secret_file = file;
    auto settings = globus_settings_from(keys);
    REQUIRE_FALSE(settings);
    CHECK(settings.err().message.find("librarian.globus_client_secret_file") != std::string::npos);
    CHECK(settings.err().message.find(file) != std::string::npos);
    CHECK(settings.err().message.find(why) != std::string::npos);
  };
  refused((dir.path / "absent").string(), "cannot be opened");
  refused(dir.write("empty", " \n\t"), "is empty");
  refused(dir.write("two", "one two\n"), "one line");
  refused(dir.write("open", "s3cret", 0644), "chmod 600");
  refused(dir.path.string(), "not a regular file");
  keys.client_secret_file = dir.write("group", "s3cret", 0640);
  CHECK(globus_settings_from(keys));  // group-readable is the operator's choice
}

TEST_CASE("root mapping: the same absolute path, a local root cut off, an endpoint root put on") {
  CHECK(*endpoint_path("/data/store/a", "") == "/data/store/a");
  CHECK(*endpoint_path("/data/store/a", "/") == "/data/store/a");
  CHECK(*endpoint_path("/data/store/a", "/data") == "/store/a");
  CHECK(*endpoint_path("/data/store/a", "/data/") == "/store/a");
  CHECK(*endpoint_path("/data", "/data") == "/");
  CHECK(*endpoint_path("/mnt/staging/u1/f", "/mnt/staging", "/globus/staging") ==
        "/globus/staging/u1/f");
  CHECK(*endpoint_path("/mnt/staging", "/mnt/staging", "/globus/staging") == "/globus/staging");
  auto outside = endpoint_path("/database/x", "/data");
  REQUIRE_FALSE(outside);
  CHECK(outside.err().message.find("not under the Globus root \"/data\"") != std::string::npos);
  for (const char* bad :
       {"relative/x", "/data/../etc/passwd", "/data//x", "/data/./x", "/data/x/", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(endpoint_path(bad, "/data"));
  }
  CHECK_FALSE(endpoint_path("/data/x", "/da/../ta"));
}

TEST_CASE("checksums Globus knows travel as external checksums; xxh3 does not") {
  auto md5 = globus_checksum_for("md5:::d41d8cd98f00b204e9800998ecf8427e");
  REQUIRE(md5);
  REQUIRE(*md5);
  CHECK((*md5)->algorithm == "MD5");
  CHECK((*md5)->hex == "d41d8cd98f00b204e9800998ecf8427e");
  auto adler = globus_checksum_for("adler32:::00000001");
  REQUIRE(adler);
  REQUIRE(*adler);
  CHECK((*adler)->algorithm == "ADLER32");
  auto xxh3 = globus_checksum_for("xxh3:::99aa06d3014798d86001c324468d497f");
  REQUIRE(xxh3);
  CHECK_FALSE(*xxh3);
  auto none = globus_checksum_for("");
  REQUIRE(none);
  CHECK_FALSE(*none);
  CHECK_FALSE(globus_checksum_for("md5:::xyz"));
  CHECK_FALSE(globus_checksum_for("sha1:::00"));
}

TEST_CASE("a batch becomes one task document: sources mapped, destinations verbatim") {
  auto settings = test_settings();
  settings.local_root = "/data";
  auto request = build_transfer_request(settings, sample_batch(), "sub-1");
  REQUIRE(request);
  CHECK(request->submission_id == "sub-1");
  CHECK(request->source_endpoint == "local-ep");
  CHECK(request->destination_endpoint == "dest-ep");
  CHECK(request->label == "librarian batch 42 to site-b");
  CHECK(request->sync == sync_level::checksum);
  REQUIRE(request->items.size() == 2);
  CHECK(request->items[0].source_path == "/store/2459000/a.uvh5");
  CHECK(request->items[0].destination_path == "/globus/staging/u1/a.uvh5");
  CHECK(request->items[0].external_checksum == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(request->items[0].checksum_algorithm == "MD5");
  CHECK(request->items[1].external_checksum.empty());
  CHECK(request->items[1].checksum_algorithm.empty());
}

TEST_CASE("a batch the mover cannot express is refused before anything is sent") {
  auto settings = test_settings();
  settings.local_root = "/data";
  auto batch = sample_batch();
  batch.destination_endpoint.clear();
  auto no_endpoint = build_transfer_request(settings, batch, "s");
  REQUIRE_FALSE(no_endpoint);
  CHECK(no_endpoint.err().code == errc::invalid_argument);
  CHECK(no_endpoint.err().message.find("the destination store has no destination_endpoint") !=
        std::string::npos);
  batch = sample_batch();
  batch.files[1].source_path = "/elsewhere/b";
  auto outside = build_transfer_request(settings, batch, "s");
  REQUIRE_FALSE(outside);
  CHECK(outside.err().message.find("file 1") != std::string::npos);
  CHECK(outside.err().message.find("librarian.globus_local_root") != std::string::npos);
  batch = sample_batch();
  batch.files[0].dest_path = "staging/relative";
  CHECK_FALSE(build_transfer_request(settings, batch, "s"));
  batch = sample_batch();
  batch.files[0].checksum = "md5:::short";
  CHECK_FALSE(build_transfer_request(settings, batch, "s"));
  batch.files.clear();
  CHECK_FALSE(build_transfer_request(settings, batch, "s"));
}

TEST_CASE("task states: SUCCEEDED succeeds, a fault-free ACTIVE is active") {
  auto done = task_status_from(task_with("SUCCEEDED", 2), {});
  CHECK(done.state == transfer::task_state::succeeded);  // faults Globus retried past
  CHECK(done.bytes_done == 100);
  CHECK(done.files_total == 2);
  CHECK_FALSE(done.failure);
  auto moving = task_status_from(task_with("ACTIVE"), {});
  CHECK(moving.state == transfer::task_state::active);
  CHECK(moving.files_done == 1);
}

TEST_CASE("task states: an ACTIVE task with a transient fault failed and may be retried") {
  std::vector<task_event> events{{"CONNECTION_RESET", "connection reset", "by peer", "", true}};
  auto status = task_status_from(task_with("ACTIVE", 1), events);
  CHECK(status.state == transfer::task_state::failed);
  CHECK(status.retryable);
  REQUIRE(status.failure);
  CHECK(status.failure->message.find("CONNECTION_RESET") != std::string::npos);
  CHECK(status.failure->message.find("1 fault") != std::string::npos);
}

TEST_CASE("task states: quota, permission and checksum faults fail the batch for good") {
  auto quota = task_with("FAILED", 1);
  quota.fatal = fatal_error{"QUOTA_EXCEEDED", "over quota"};
  auto status = task_status_from(quota, {});
  CHECK(status.state == transfer::task_state::failed);
  CHECK_FALSE(status.retryable);
  REQUIRE(status.failure);
  CHECK(status.failure->code == errc::storage_full);
  CHECK(status.failure->message.find("over quota") != std::string::npos);
  auto denied =
      task_status_from(task_with("ACTIVE", 1), {{"PERMISSION_DENIED", "denied", "/x", "", true}});
  CHECK_FALSE(denied.retryable);
  CHECK(denied.failure->code == errc::forbidden);
}

TEST_CASE("task states: INACTIVE needs an administrator, FAILED without a reason is retried") {
  auto inactive = task_with("INACTIVE");
  inactive.nice_status = "AUTH";
  auto status = task_status_from(inactive, {});
  CHECK(status.state == transfer::task_state::failed);
  CHECK_FALSE(status.retryable);
  CHECK(status.failure->code == errc::unauthenticated);
  CHECK(status.failure->message.find("reactivate") != std::string::npos);
  auto bare = task_status_from(task_with("FAILED"), {});
  CHECK(bare.state == transfer::task_state::failed);
  CHECK(bare.retryable);
}

namespace {

std::unique_ptr<globus_mover> make_mover(fake_globus& fake) {
  auto settings = test_settings();
  settings.local_root = "/data";
  auto mover = globus_mover::create(settings, fake.transport(), fake.clock());
  REQUIRE(mover);
  CHECK((*mover)->name() == "globus");
  return std::move(*mover);
}

}  // namespace

TEST_CASE("submit uses the batch's submission id, and a Duplicate answer returns the task") {
  fake_globus fake;
  fake.on_transfer = [](const http_call& call) -> expected<http_reply> {
    auto doc = json::parse(call.body);
    return http_reply{
        200,
        json{{"code", "Duplicate"}, {"task_id", "task-9"}, {"submission_id", doc["submission_id"]}}
            .dump()};
  };
  auto mover = make_mover(fake);
  auto task = mover->submit(sample_batch());
  REQUIRE(task);
  CHECK(*task == "task-9");
  REQUIRE(fake.transfer_calls() == 1);
  CHECK(fake.calls.back().target == "/v0.10/transfer");
  CHECK(json::parse(fake.calls.back().body)["submission_id"] ==
        "11111111-2222-4333-8444-555555555555");
}

TEST_CASE("submit without a submission id asks Globus for one first") {
  fake_globus fake;
  fake.on_transfer = [](const http_call& call) -> expected<http_reply> {
    if (call.target == "/v0.10/submission_id")
      return http_reply{200, R"({"value":"aaaaaaaa-2222-4333-8444-555555555555"})"};
    return http_reply{202, R"({"code":"Accepted","task_id":"task-1"})"};
  };
  auto mover = make_mover(fake);
  auto batch = sample_batch();
  batch.submission_id.clear();
  REQUIRE(mover->submit(batch));
  REQUIRE(fake.transfer_calls() == 2);
  CHECK(json::parse(fake.calls.back().body)["submission_id"] ==
        "aaaaaaaa-2222-4333-8444-555555555555");
  batch.submission_id = "not-a-uuid";
  auto refused = mover->submit(batch);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::invalid_argument);
}

TEST_CASE("poll: an unknown task reads as unknown; a faulted ACTIVE task is cancelled") {
  fake_globus fake;
  std::vector<std::string> targets;
  fake.on_transfer = [&](const http_call& call) -> expected<http_reply> {
    targets.push_back(call.method + " " + call.target);
    if (call.target == "/v0.10/task/gone") return http_reply{404, R"({"code":"NotFound"})"};
    if (call.target == "/v0.10/task/t-1")
      return http_reply{200, R"({"task_id":"t-1","status":"ACTIVE","faults":1,
        "bytes_transferred":0,"files":1,"files_transferred":0})"};
    if (call.target.starts_with("/v0.10/task/t-1/event_list"))
      return http_reply{200, R"({"DATA":[{"code":"PERMISSION_DENIED","is_error":true,
        "description":"denied","details":"/x"}]})"};
    return http_reply{200, R"({"code":"Canceled"})"};
  };
  auto mover = make_mover(fake);
  auto gone = mover->poll("gone");
  REQUIRE(gone);
  CHECK(gone->state == transfer::task_state::unknown);
  auto faulted = mover->poll("t-1");
  REQUIRE(faulted);
  CHECK(faulted->state == transfer::task_state::failed);
  CHECK_FALSE(faulted->retryable);
  CHECK(faulted->failure->message.find("PERMISSION_DENIED") != std::string::npos);
  REQUIRE(targets.size() == 4);
  CHECK(targets[2] == "GET /v0.10/task/t-1/event_list?filter=is_error:1&limit=10");
  CHECK(targets[3] == "POST /v0.10/task/t-1/cancel");
}

TEST_CASE("cancel is best effort: a finished or unknown task is fine, a network error is not") {
  fake_globus fake;
  fake.on_transfer = [](const http_call& call) -> expected<http_reply> {
    if (call.target == "/v0.10/task/done/cancel")
      return http_reply{200, R"({"code":"TaskComplete"})"};
    if (call.target == "/v0.10/task/gone/cancel") return http_reply{404, "{}"};
    return fail(errc::unavailable, "connection refused");
  };
  auto mover = make_mover(fake);
  CHECK(mover->cancel("done"));
  CHECK(mover->cancel("gone"));
  auto down = mover->cancel("other");
  REQUIRE_FALSE(down);
  CHECK(retryable(down.err()));
}
