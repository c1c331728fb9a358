// Globus documents: what the librarian sends, how strictly it reads what comes back, and how
// failures are classified.
#include <doctest/doctest.h>

#include <string>

#include "net/globus/globus_api.hpp"
#include "net/globus/http_transport.hpp"

using namespace librarian;
using namespace librarian::globus;
using nlohmann::json;

namespace {

constexpr const char* task_id = "0f1e2d3c-4b5a-4968-8776-655443322110";

json good_task() {
  return json{{"DATA_TYPE", "task"},
              {"task_id", task_id},
              {"status", "ACTIVE"},
              {"nice_status", nullptr},
              {"faults", 0},
              {"bytes_transferred", 10},
              {"files", 2},
              {"files_transferred", 1},
              {"fatal_error", nullptr},
              {"label", "x"}};
}

}  // namespace

TEST_CASE("the transfer document carries the fields Globus expects, with sync_level as an int") {
  transfer_request request;
  request.submission_id = "11111111-2222-4333-8444-555555555555";
  request.source_endpoint = "src-ep";
  request.destination_endpoint = "dst-ep";
  request.label = "librarian batch 7 to b";
  request.encrypt_data = false;
  request.items.push_back({"/data/a", "/staging/u1/a", "0123abcd", "ADLER32"});
  request.items.push_back({"/data/b", "/staging/u2/b", "", ""});
  json doc = transfer_document(request);
  CHECK(doc["DATA_TYPE"] == "transfer");
  CHECK(doc["submission_id"] == request.submission_id);
  CHECK(doc["source_endpoint"] == "src-ep");
  CHECK(doc["destination_endpoint"] == "dst-ep");
  CHECK(doc["sync_level"] == 3);
  CHECK(doc["verify_checksum"] == true);
  CHECK(doc["preserve_timestamp"] == true);
  CHECK(doc["fail_on_quota_errors"] == true);
  CHECK(doc["skip_source_errors"] == false);
  CHECK(doc["encrypt_data"] == false);
  REQUIRE(doc["DATA"].size() == 2);
  CHECK(doc["DATA"][0]["DATA_TYPE"] == "transfer_item");
  CHECK(doc["DATA"][0]["recursive"] == false);
  CHECK(doc["DATA"][0]["external_checksum"] == "0123abcd");
  CHECK(doc["DATA"][0]["checksum_algorithm"] == "ADLER32");
  CHECK_FALSE(doc["DATA"][1].contains("external_checksum"));
  CHECK_FALSE(doc["DATA"][1].contains("checksum_algorithm"));
  request.sync = sync_level::exists;
  CHECK(transfer_document(request)["sync_level"] == 0);
}

TEST_CASE("labels keep to the characters Globus accepts and to 128 characters") {
  CHECK(sanitize_label("librarian batch 3 to site-b") == "librarian batch 3 to site-b");
  CHECK(sanitize_label("a/b:c\n") == "a_b_c_");
  CHECK(sanitize_label(std::string(300, 'x')).size() == 128);
}

TEST_CASE("submission ids must be canonical UUIDs") {
  CHECK(looks_like_uuid("11111111-2222-4333-8444-555555555555"));
  CHECK(looks_like_uuid("ABCDEF01-2222-4333-8444-555555555555"));
  CHECK_FALSE(looks_like_uuid("11111111222243338444555555555555"));
  CHECK_FALSE(looks_like_uuid("11111111-2222-4333-8444-55555555555g"));
  CHECK_FALSE(looks_like_uuid(""));
}

TEST_CASE("a token reply needs a non-empty access_token and a positive expires_in") {
  auto good = parse_token_reply(
      R"({"access_token":"tok","expires_in":172800,"token_type":"Bearer",
          "resource_server":"transfer.api.globus.org","other_tokens":[]})");
  REQUIRE(good);
  CHECK(good->access_token == "tok");
  CHECK(good->expires_in == std::chrono::seconds(172800));
  for (const char* bad :
       {R"({"expires_in":10})", R"({"access_token":"","expires_in":10})", R"({"access_token":"t"})",
        R"({"access_token":"t","expires_in":0})", R"({"access_token":"t","expires_in":-5})",
        R"({"access_token":"t","expires_in":"10"})", R"({"access_token":7,"expires_in":10})",
        R"({"access_token":"t","expires_in":10,"token_type":"MAC"})",
        R"({"access_token":"t","expires_in":10,"resource_server":"auth.globus.org"})", "[]",
        "not json", ""}) {
    CAPTURE(bad);
    auto parsed = parse_token_reply(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.err().code == errc::internal);
    CHECK(parsed.err().message.find("malformed reply from Globus Auth") != std::string::npos);
  }
}

TEST_CASE("deeply nested JSON is refused before it is parsed") {
  std::string deep = R"({"a":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
  auto parsed = parse_task_reply(deep);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.err().message.find("nested too deeply") != std::string::npos);
  // Brackets inside strings do not count.
  auto fine = parse_json_reply(R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})", "x");
  CHECK(fine);
}

TEST_CASE("a submission reply is Accepted or Duplicate with a task id") {
  auto accepted = parse_submit_reply(
      R"({"DATA_TYPE":"transfer_result","code":"Accepted","task_id":"t-1","submission_id":"s"})");
  REQUIRE(accepted);
  CHECK(accepted->task_id == "t-1");
  CHECK_FALSE(accepted->duplicate);
  auto duplicate = parse_submit_reply(R"({"code":"Duplicate","task_id":"t-1"})");
  REQUIRE(duplicate);
  CHECK(duplicate->duplicate);
  CHECK_FALSE(parse_submit_reply(R"({"code":"Queued","task_id":"t-1"})"));
  CHECK_FALSE(parse_submit_reply(R"({"code":"Accepted"})"));
  CHECK_FALSE(parse_submit_reply(R"({"code":"Accepted","task_id":"../etc"})"));
  CHECK_FALSE(parse_submit_reply(R"({"code":"Accepted","task_id":""})"));
  CHECK_FALSE(parse_submit_reply(R"({"code":"Accepted","task_id":5})"));
}

TEST_CASE("a submission id reply holds a UUID") {
  auto id = parse_submission_id_reply(R"({"value":"11111111-2222-4333-8444-555555555555"})");
  REQUIRE(id);
  CHECK(*id == "11111111-2222-4333-8444-555555555555");
  CHECK_FALSE(parse_submission_id_reply(R"({"value":"abc"})"));
  CHECK_FALSE(parse_submission_id_reply(R"({"value":null})"));
  CHECK_FALSE(parse_submission_id_reply(R"({})"));
}

TEST_CASE("a task document is read with its counters, nice_status and fatal_error") {
  auto doc = good_task();
  auto task = parse_task_reply(doc.dump());
  REQUIRE(task);
  CHECK(task->task_id == task_id);
  CHECK(task->status == "ACTIVE");
  CHECK(task->nice_status.empty());
  CHECK(task->bytes_transferred == 10);
  CHECK(task->files == 2);
  CHECK_FALSE(task->fatal);
  doc["status"] = "FAILED";
  doc["fatal_error"] = {{"code", "QUOTA_EXCEEDED"}, {"description", "over quota"}};
  doc["nice_status"] = "QUOTA_EXCEEDED";
  task = parse_task_reply(doc.dump());
  REQUIRE(task);
  REQUIRE(task->fatal);
  CHECK(task->fatal->code == "QUOTA_EXCEEDED");
  CHECK(task->nice_status == "QUOTA_EXCEEDED");
}

TEST_CASE("a task document with a missing, mistyped or unknown field is an error, not a crash") {
  auto broken = [](auto change) {
    json doc = good_task();
    change(doc);
    return parse_task_reply(doc.dump());
  };
  CHECK_FALSE(broken([](json& d) { d.erase("status"); }));
  CHECK_FALSE(broken([](json& d) { d["status"] = "PAUSED"; }));
  CHECK_FALSE(broken([](json& d) { d["status"] = 3; }));
  CHECK_FALSE(broken([](json& d) { d.erase("faults"); }));
  CHECK_FALSE(broken([](json& d) { d["faults"] = -1; }));
  CHECK_FALSE(broken([](json& d) { d["bytes_transferred"] = 1.5; }));
  CHECK_FALSE(broken([](json& d) { d["files"] = "2"; }));
  CHECK_FALSE(broken([](json& d) { d["task_id"] = nullptr; }));
  CHECK_FALSE(broken([](json& d) { d["DATA_TYPE"] = "endpoint"; }));
  CHECK_FALSE(broken([](json& d) { d["fatal_error"] = "QUOTA"; }));
  CHECK_FALSE(broken([](json& d) { d["fatal_error"] = json::object(); }));
  CHECK_FALSE(broken([](json& d) { d["nice_status"] = 4; }));
  CHECK_FALSE(parse_task_reply("[1,2]"));
  CHECK_FALSE(parse_task_reply("{\"status\":"));
}

TEST_CASE("an event list is an array of events with a boolean is_error") {
  auto events = parse_event_list_reply(
      R"({"DATA_TYPE":"event_list","DATA":[
         {"DATA_TYPE":"event","code":"PERMISSION_DENIED","description":"denied",
          "details":"/x: Permission denied","is_error":true,"time":"2024-01-01T00:00:00+00:00"},
         {"DATA_TYPE":"event","code":"STARTED","is_error":false,"description":null}]})");
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  CHECK((*events)[0].code == "PERMISSION_DENIED");
  CHECK((*events)[0].is_error);
  CHECK((*events)[1].description.empty());
  CHECK_FALSE(parse_event_list_reply(R"({"DATA":{}})"));
  CHECK_FALSE(parse_event_list_reply(R"({"DATA":[{"code":"X"}]})"));
  CHECK_FALSE(parse_event_list_reply(R"({"DATA":[{"code":"X","is_error":"yes"}]})"));
  CHECK_FALSE(parse_event_list_reply(R"({"DATA":[3]})"));
}

TEST_CASE("error bodies are read in Transfer's and Auth's shapes") {
  auto transfer = parse_error_body(R"({"code":"ClientError.NotFound","message":"no task"})");
  CHECK(transfer.code == "ClientError.NotFound");
  CHECK(transfer.message == "no task");
  auto oauth = parse_error_body(R"({"error":"invalid_client","error_description":"bad"})");
  CHECK(oauth.code == "invalid_client");
  CHECK(oauth.message == "bad");
  auto auth = parse_error_body(R"({"errors":[{"code":"UNAUTHORIZED","detail":"who"}]})");
  CHECK(auth.code == "UNAUTHORIZED");
  CHECK(auth.message == "who");
  CHECK(parse_error_body("<html>Bad gateway</html>").code.empty());
}

TEST_CASE("Transfer's HTTP errors: client mistakes are permanent, the rest retryable") {
  std::string body = R"({"code":"ClientError.X","message":"why"})";
  CHECK(transfer_http_error(400, body, "POST /transfer").code == errc::invalid_argument);
  CHECK(transfer_http_error(401, body, "GET /task/x").code == errc::unauthenticated);
  CHECK(transfer_http_error(403, body, "POST /transfer").code == errc::forbidden);
  CHECK(transfer_http_error(404, body, "GET /task/x").code == errc::not_found);
  for (int status : {409, 429, 500, 502, 503}) {
    CAPTURE(status);
    auto err = transfer_http_error(status, body, "POST /transfer");
    CHECK(err.code == errc::unavailable);
    CHECK(retryable(err));
  }
  CHECK(transfer_http_error(302, "", "GET /task/x").code == errc::internal);
  auto err = transfer_http_error(404, body, "GET /task/x");
  CHECK(err.message.find("ClientError.X: why") != std::string::npos);
  CHECK(err.message.find("GET /task/x") != std::string::npos);
  CHECK_FALSE(retryable(err));
}

TEST_CASE("fault codes: quota, checksum, permission, not found and credentials are permanent") {
  CHECK(classify_fault("QUOTA_EXCEEDED").code == errc::storage_full);
  CHECK_FALSE(classify_fault("QUOTA_EXCEEDED").retryable);
  CHECK(classify_fault("CHECKSUM_MISMATCH").code == errc::checksum_mismatch);
  CHECK(classify_fault("VERIFY_CHECKSUM").code == errc::checksum_mismatch);
  CHECK(classify_fault("PERMISSION_DENIED").code == errc::forbidden);
  CHECK(classify_fault("FILE_NOT_FOUND").code == errc::not_found);
  CHECK(classify_fault("ENDPOINT_NOT_FOUND").code == errc::not_found);
  CHECK(classify_fault("AUTH").code == errc::unauthenticated);
  CHECK(classify_fault("CANCELED").code == errc::conflict);
  for (const char* permanent : {"QUOTA_EXCEEDED", "CHECKSUM_MISMATCH", "PERMISSION_DENIED",
                                "FILE_NOT_FOUND", "AUTH", "CANCELED"})
    CHECK_FALSE(classify_fault(permanent).retryable);
  for (const char* transient : {"CONNECTION_RESET", "CONNECT_FAILED", "ENDPOINT_ERROR",
                                "GC_NOT_CONNECTED", "SOMETHING_NEW", ""}) {
    CAPTURE(transient);
    CHECK(classify_fault(transient).retryable);
  }
  CHECK(classify_fault("TIMEOUT").code == errc::timeout);
  CHECK(classify_fault("quota_exceeded").code == errc::storage_full);
}

TEST_CASE("base URLs: https by default, http only as asked, no user info or query") {
  auto url = parse_base_url("https://transfer.api.globus.org/v0.10/");
  REQUIRE(url);
  CHECK(url->tls);
  CHECK(url->host == "transfer.api.globus.org");
  CHECK(url->port == 443);
  CHECK(url->path == "/v0.10");
  CHECK_FALSE(url->is_loopback());
  auto local = parse_base_url("http://127.0.0.1:8123");
  REQUIRE(local);
  CHECK_FALSE(local->tls);
  CHECK(local->port == 8123);
  CHECK(local->path.empty());
  CHECK(local->is_loopback());
  auto v6 = parse_base_url("http://[::1]:9/v0.10");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->is_loopback());
  for (const char* bad : {"ftp://x", "https://", "https://user:pw@host", "https://h/p?q=1",
                          "https://h:0", "https://h:70000", "https://h:12x", "https://[::1",
                          "https://ho st", "transfer.api.globus.org"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_base_url(bad));
  }
}
