// The stand-in for the Globus API, in-process on loopback: what it refuses (options, paths,
// documents, tokens), its event list, and that it forgets old finished tasks but never pending
// ones. Every wait is bounded.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "net/globus/globus_mover.hpp"
#include "net/globus/standin.hpp"

using namespace librarian;
using namespace librarian::globus;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct standin_fixture {
  fs::path root = fs::temp_directory_path() / ("unit_globus_standin_" + std::to_string(::getpid()));
  std::unique_ptr<globus_standin> standin;
  std::unique_ptr<globus_client> client;

  explicit standin_fixture(standin_options options = {}) {
    fs::create_directories(root / "a");
    fs::create_directories(root / "b");
    std::ofstream(root / "a" / "f") << "payload";
    options.endpoints = {{"a", (root / "a").string()}, {"b", (root / "b").string()}};
    options.clients = {{"app", "secret"}};
    auto started = globus_standin::start(options);
    REQUIRE(started);
    standin = std::move(*started);
    globus_settings settings;
    settings.auth_url = base();
    settings.transfer_url = base() + "/v0.10";
    settings.client_id = "app";
    settings.secret = "secret";
    settings.local_endpoint_id = "a";
    settings.timeout = 5s;
    auto made = globus_client::create(settings);
    REQUIRE(made);
    client = std::make_unique<globus_client>(std::move(*made));
  }
  ~standin_fixture() {
    standin->stop();
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  [[nodiscard]] std::string base() const {
    return "http://127.0.0.1:" + std::to_string(standin->port());
  }

  transfer_request request(unsigned n, std::string destination = "/out") {
    transfer_request r;
    char id[40];
    std::snprintf(id, sizeof id, "%08x-0000-4000-8000-000000000000", n);
    r.submission_id = id;
    r.source_endpoint = "a";
    r.destination_endpoint = "b";
    r.items.push_back({"/f", std::move(destination) + std::to_string(n), "", ""});
    return r;
  }

  // Waits (bounded) until the task is no longer ACTIVE.
  task_document settle(const std::string& task_id) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto task = client->task(task_id);
      REQUIRE(task);
      if (task->status != "ACTIVE") return *task;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(10ms);
    }
  }
};

}  // namespace

TEST_CASE("the stand-in refuses options it cannot serve, naming the option") {
  auto refused = [](standin_options options, const std::string& option) {
    CAPTURE(option);
    auto started = globus_standin::start(std::move(options));
    REQUIRE_FALSE(started);
    CHECK(started.err().message.find(option) != std::string::npos);
  };
  standin_options options;
  options.clients = {{"app", "secret"}};
  refused(options, "--endpoint");
  options.endpoints = {{"a", "/definitely/not/a/dir"}};
  refused(options, "--endpoint");
  options.endpoints = {{"a", "relative"}};
  refused(options, "--endpoint");
  options.endpoints = {{"a", fs::temp_directory_path().string()}};
  options.fail_next_tasks = {"lower_case"};
  refused(options, "--fail-next-task");
  options.fail_next_tasks.clear();
  options.clients.clear();
  refused(options, "--client");
}

TEST_CASE("the stand-in refuses paths that leave an endpoint's root and malformed documents") {
  standin_fixture f;
  auto escape = f.client->submit(f.request(1, "/../escape"));
  REQUIRE_FALSE(escape);
  CHECK(escape.err().code == errc::invalid_argument);
  auto relative = f.request(2);
  relative.items[0].source_path = "f";
  CHECK(f.client->submit(relative).err().code == errc::invalid_argument);
  auto unknown = f.request(3);
  unknown.destination_endpoint = "nowhere";
  CHECK(f.client->submit(unknown).err().code == errc::not_found);
  auto bad_checksum = f.request(4);
  bad_checksum.items[0].external_checksum = "zz";
  bad_checksum.items[0].checksum_algorithm = "MD5";
  CHECK(f.client->submit(bad_checksum).err().code == errc::invalid_argument);
  auto no_items = f.request(5);
  no_items.items.clear();
  auto refused = f.client->submit(no_items);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().message.find("NoTransferItems") != std::string::npos);
  CHECK(f.standin->stats().tasks_created == 0);
  CHECK_FALSE(fs::exists(f.root / "escape3"));
}

TEST_CASE("the stand-in's token endpoint wants the Transfer scope and a known client") {
  standin_fixture f;
  http_call call;
  call.method = "POST";
  call.server = *parse_base_url(f.base());
  call.target = "/v2/oauth2/token";
  call.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Authorization", "Basic YXBwOnNlY3JldA=="}};  // app:secret
  call.timeout = 5s;
  call.body = "grant_type=client_credentials&scope=openid";
  auto reply = beast_transport(call);
  REQUIRE(reply);
  CHECK(reply->status == 400);
  CHECK(parse_error_body(reply->body).code == "invalid_scope");
  call.body = "grant_type=password&username=x";
  reply = beast_transport(call);
  REQUIRE(reply);
  CHECK(reply->status == 400);
  call.target = "/v0.10/submission_id";
  call.method = "GET";
  call.headers = {{"Authorization", "Bearer made-up"}};
  reply = beast_transport(call);
  REQUIRE(reply);
  CHECK(reply->status == 401);
}

TEST_CASE("the event list is newest first and filters errors") {
  standin_options options;
  options.fail_next_tasks = {"CONNECTION_RESET"};
  standin_fixture f(options);
  auto submitted = f.client->submit(f.request(1));
  REQUIRE(submitted);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.client->task(submitted->task_id)->faults == 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
  auto events = f.client->error_events(submitted->task_id);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].code == "CONNECTION_RESET");
  CHECK((*events)[0].is_error);
  auto task = f.client->task(submitted->task_id);
  CHECK(task->status == "ACTIVE");
  CHECK(task->nice_status == "CONNECTION_RESET");
}

TEST_CASE("the stand-in forgets the oldest finished tasks, never a pending one") {
  standin_options options;
  options.tasks_kept_max = 2;
  options.active_tasks_max = 2;
  options.fail_next_tasks = {"PERMISSION_DENIED"};  // the first task stays pending, faulted
  standin_fixture f(options);
  auto pending = f.client->submit(f.request(1));
  REQUIRE(pending);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.client->task(pending->task_id)->faults == 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
  std::vector<std::string> done;
  for (unsigned n = 3; n < 6; ++n) {
    auto task = f.client->submit(f.request(n));
    REQUIRE(task);
    CHECK(f.settle(task->task_id).status == "SUCCEEDED");
    done.push_back(task->task_id);
  }
  auto oldest = f.client->task(pending->task_id);
  REQUIRE(oldest);
  CHECK(oldest->status == "ACTIVE");
  CHECK(f.client->task(done[0]).err().code == errc::not_found);
  CHECK(f.client->task(done[1]).err().code == errc::not_found);
  CHECK(f.client->task(done[2]));
  // The stand-in keeps no record of a forgotten task, so its submission id is free again.
  CHECK(f.client->submit(f.request(3)));
}
