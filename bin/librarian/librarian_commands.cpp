#include "bin/librarian/librarian_commands.hpp"

#include "actors/transfer/movers.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "actors/librarian/file_checksum.hpp"
#include "bin/librarian/local_mover.hpp"
#include "net/data/client.hpp"
#include "net/http/url.hpp"

namespace librarian::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using timeout_t = std::chrono::milliseconds;

struct lib_arguments {
  std::string local_path;
  std::string dest_path;
  std::string name;
  std::string store;
  std::string deletion = "disallowed";
  std::string uploader, source, checksum, has_remote_at, lacks_remote_at, after;
  std::string create_time_start, create_time_end;
  std::optional<uint64_t> size_min, size_max, max_results, id;
  std::string category, severity;
  bool include_resolved = false;
  bool enabled = false, disabled = false;
  bool ping = false;
  std::string url;
  uint32_t port = 0;
  std::string authenticator;
  bool no_check = false;
  bool remove_outgoing = false;
  std::string destination;
  bool disable_store = false;
  bool mark_unavailable = false;
  std::string output;
  std::string manifest_path, store_root;
  bool each = false;
  uint64_t batch = 1000;
  unsigned streams = 2;
  std::string under;
  bool dry_run = false;
  uint64_t files_per_call = 100000;
};

using args_ptr = std::shared_ptr<lib_arguments>;

std::string str(const json& v, const char* key) {
  if (!v.is_object() || !v.contains(key)) return {};
  const auto& x = v.at(key);
  if (x.is_string()) return x.get<std::string>();
  return x.dump();
}

bool truthy(const json& v, const char* key) {
  return v.is_object() && v.contains(key) && v.at(key).is_boolean() && v.at(key).get<bool>();
}

api_reply synthesized(json value) {
  api_reply r;
  r.status = 200;
  r.raw = value.dump();
  r.value = std::move(value);
  return r;
}

std::string query_string(const std::string& key, const std::string& value) {
  return key + "=" + net::http::percent_encode(value);
}

rls_command simple(std::function<expected<api_reply>(const connection&, timeout_t)> run,
                   std::function<std::string(const json&)> human) {
  return {std::move(run), [human](const api_reply& r) { return human(r.value); }, nullptr};
}

CLI::App* sub_with_conn(CLI::App& app, std::string& conn, const std::string& name,
                        const std::string& about) {
  auto* sub = app.add_subcommand(name, about);
  sub->add_option("CONN", conn, "connection name in the client config")->required();
  return sub;
}

// A long commit hashes the whole upload on the node; give it time in proportion.
timeout_t commit_timeout(timeout_t base, uint64_t size) {
  auto hashing = timeout_t{static_cast<int64_t>(size / (50ull << 20)) * 1000 + 60000};
  return std::max(base, hashing);
}

// ------------------------------------------------------------------------------------- upload

std::optional<api_reply> await_commit(const connection& conn, const std::string& name,
                                      const std::string& checksum, timeout_t wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  constexpr int polls_max = 10000;
  for (int i = 0; i < polls_max && std::chrono::steady_clock::now() < deadline; ++i) {
    auto file = call_api(conn, "GET", "/api/v1/files/get?" + query_string("name", name),
                         std::nullopt, timeout_t{10000});
    if (file && str(file->value, "checksum") == checksum) return *file;
    if (!file && file.err().code != errc::not_found && file.err().code != errc::timeout)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  return std::nullopt;
}

expected<lib::content_digest> hash_for_upload(const std::string& path) {
  std::error_code ec;
  auto total = fs::is_regular_file(path, ec) ? fs::file_size(path, ec) : 0;
  progress_bar bar{"checksum", total};
  return lib::digest_path(path, [&](uint64_t d) { bar.update(d); });
}

// A regular file is staged without a checksum and hashed while the native channel sends it (the
// node verifies the same bytes inline and its commit trusts that), so the file is read once. A
// directory, a name already taken (identical or not can only be told by checksum) and a node
// without a data port take the longer way: hash first, stage with the checksum, then send.
expected<api_reply> run_upload(const lib_arguments& a, const connection& conn, timeout_t timeout) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(a.local_path, ec)))
    return fail(errc::not_found, "no such file or directory: " + a.local_path);
  std::optional<lib::content_digest> digest;  // known before sending, or not
  const bool regular = fs::is_regular_file(fs::symlink_status(a.local_path, ec));
  uint64_t size = regular ? fs::file_size(a.local_path, ec) : 0;
  if (ec) return fail(errc::unavailable, "cannot stat " + a.local_path + ": " + ec.message());
  auto stage_with = [&](const std::string& checksum) {
    json stage{{"name", a.dest_path},
               {"size", size},
               {"deletion_policy", a.deletion == "allowed" ? "ALLOWED" : "DISALLOWED"}};
    if (!checksum.empty()) stage["checksum"] = checksum;
    if (!a.store.empty()) stage["store"] = a.store;
    return call_api(conn, "POST", "/api/v1/upload/stage", stage, timeout);
  };
  expected<api_reply> staged = fail(errc::internal, "not staged");
  if (regular) staged = stage_with("");
  if (!regular || (!staged && staged.err().code == errc::conflict)) {
    auto d = hash_for_upload(a.local_path);
    if (!d) return d.err();
    digest = *d;
    size = d->size;
    staged = stage_with(d->checksum);
  }
  if (!staged) return staged.err();
  if (truthy(staged->value, "already_present") && digest)
    return synthesized({{"name", a.dest_path},
                        {"already_present", true},
                        {"checksum", digest->checksum},
                        {"size", digest->size}});
  auto id = staged->value.value("upload_id", uint64_t{0});
  auto staging_file = str(staged->value, "staging_file");
  auto cancel = [&](const error& why) -> error {
    auto st = call_api(conn, "POST", "/api/v1/upload/cancel", json{{"upload_id", id}}, timeout);
    if (!st)
      std::cerr << "warning: could not cancel upload " << id << ": " << st.err().message << '\n';
    return why;
  };
  // The native data channel when the node offers a ticket (a single file; it verifies the
  // declared size and checksum inline); the local mover for directories and nodes without a
  // data port.
  const auto ticket = str(staged->value, "ticket");
  const bool native = !ticket.empty() && regular && staged->value.contains("data_port") &&
                      staged->value["data_port"].is_number_unsigned();
  std::string checksum = digest ? digest->checksum : std::string{};
  if (native) {
    progress_bar bar{"upload", size};
    data::transfer_options opts;
    opts.on_progress = [&](const data::transfer_progress& p) { bar.update(p.bytes_done); };
    data::data_endpoint ep{conn.host, staged->value["data_port"].get<uint16_t>()};
    auto sent = data::put_file(ep, ticket, a.local_path, opts);
    if (!sent) return cancel(sent.err());
    if (checksum.empty()) checksum = sent->checksum;  // what this side read and sent
    if (checksum.empty())
      return cancel(fail(errc::internal, "the data channel reported no checksum"));
  } else {
    if (!digest) {
      auto d = hash_for_upload(a.local_path);
      if (!d) return cancel(d.err());
      digest = *d;
      checksum = d->checksum;
    }
    progress_bar bar{"upload", size};
    auto copied = copy_tree(a.local_path, staging_file, [&](uint64_t d) { bar.update(d); });
    if (!copied) {
      auto err = copied.err();
      if (err.code == errc::unavailable)
        err.message +=
            " (the local mover needs the node's staging directory on this host, and "
            "the node offered no data-channel ticket: is its listen.data_port 0?)";
      return cancel(err);
    }
  }
  auto wait = commit_timeout(timeout, size);
  auto committed = call_api(conn, "POST", "/api/v1/upload/commit",
                            json{{"upload_id", id}, {"checksum", checksum}}, wait);
  if (!committed && committed.err().code == errc::timeout) {
    // The node's HTTP handler gave up (http.request_timeout_ms) while the commit still hashes a
    // large upload; it finishes anyway, so wait for the file to appear.
    if (auto done = await_commit(conn, a.dest_path, checksum, wait)) return *done;
  }
  if (!committed) {
    // A mismatch already ended the upload on the node; anything else is cancelled here.
    if (committed.err().code != errc::checksum_mismatch) return cancel(committed.err());
    return committed.err();
  }
  return committed;
}

// ------------------------------------------------------------------------ upload --each

// Every regular file under a directory becomes a file of its own, named DEST/RELATIVE-PATH:
// staged `batch` at a time in one request (no checksums: the channel hashes while sending),
// sent pipelined under one tree ticket (large files with a ticket each), committed in one
// request. A name already taken goes the single-file way (hash, then "identical or conflict").
struct each_item {
  fs::path local;
  std::string name;
  uint64_t size = 0;
};

expected<std::vector<each_item>> walk_for_each(const lib_arguments& a) {
  constexpr size_t files_max = 10'000'000;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(a.local_path, ec)))
    return fail(errc::invalid_argument,
                "--each uploads the files under a directory, and " + a.local_path + " is not one");
  std::vector<each_item> out;
  const fs::path root{a.local_path};
  fs::recursive_directory_iterator it{root, fs::directory_options::none, ec}, end;
  if (ec) return fail(errc::unavailable, "cannot list " + a.local_path + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec)
      return fail(errc::unavailable, "cannot list under " + a.local_path + ": " + ec.message());
    auto st = it->symlink_status(ec);
    if (ec || !fs::is_regular_file(st)) continue;  // directories are walked; links are skipped
    if (out.size() >= files_max)
      return fail(errc::invalid_argument, "more than " + std::to_string(files_max) +
                                              " files under " + a.local_path +
                                              "; upload parts of it");
    auto rel = it->path().lexically_relative(root).generic_string();
    auto size = it->file_size(ec);
    if (ec)
      return fail(errc::unavailable, "cannot stat " + it->path().string() + ": " + ec.message());
    out.push_back({it->path(), a.dest_path + "/" + rel, size});
  }
  std::sort(out.begin(), out.end(),
            [](const each_item& x, const each_item& y) { return x.name < y.name; });
  return out;
}

struct each_totals {
  std::mutex mu;  // the committing thread and the sending one both count
  uint64_t uploaded = 0, present = 0, failed = 0, bytes = 0;
  json errors = json::array();
  void failure(const std::string& name, const std::string& why) {
    std::lock_guard lock(mu);
    ++failed;
    if (errors.size() < 100) errors.push_back({{"name", name}, {"error", why}});
  }
};

// A batch staged and sent, ready for its commit.
struct each_sent {
  std::vector<each_item> files;  // the batch's items being committed
  json uploads = json::array();  // [{"upload_id","checksum"}] in the same order
};

// Sends the tree items over `streams` connections of one tree ticket, side by side.
std::vector<std::pair<std::string, std::string>> send_tree(const data::data_endpoint& ep,
                                                           const std::string& ticket,
                                                           const std::vector<data::tree_item>& tree,
                                                           unsigned streams) {
  std::vector<std::pair<std::string, std::string>> out(tree.size());  // (checksum, error)
  const size_t parts = std::max<size_t>(1, std::min<size_t>(streams, tree.size() / 64 + 1));
  std::vector<std::thread> threads;
  for (size_t p = 0; p < parts; ++p) {
    threads.emplace_back([&, p] {
      std::vector<data::tree_item> mine;
      std::vector<size_t> index;
      for (size_t k = p; k < tree.size(); k += parts) {
        mine.push_back(tree[k]);
        index.push_back(k);
      }
      auto sent = data::put_tree_files(ep, ticket, mine, data::transfer_options{}, 64);
      for (size_t j = 0; j < index.size(); ++j) {
        auto& slot = out[index[j]];
        if (!sent)
          slot.second = sent.err().message;
        else if ((*sent)[j].failure)
          slot.second = (*sent)[j].failure->message;
        else
          slot.first = (*sent)[j].checksum;
      }
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

each_sent stage_and_send_batch(const lib_arguments& a, const connection& conn, timeout_t timeout,
                               const std::vector<each_item>& batch, each_totals& t,
                               std::vector<each_item>& taken) {
  each_sent out;
  json files = json::array();
  for (const auto& f : batch) files.push_back({{"name", f.name}, {"size", f.size}});
  json body{{"files", std::move(files)},
            {"deletion_policy", a.deletion == "allowed" ? "ALLOWED" : "DISALLOWED"}};
  if (!a.store.empty()) body["store"] = a.store;
  auto staged = call_api(conn, "POST", "/api/v1/upload/stage/bulk", body, timeout);
  if (!staged) {
    for (const auto& f : batch) t.failure(f.name, staged.err().message);
    return out;
  }
  const auto& items = staged->value["items"];
  if (!items.is_array() || items.size() != batch.size()) {
    for (const auto& f : batch) t.failure(f.name, "the node's bulk stage reply does not match");
    return out;
  }
  const auto tree_ticket = str(staged->value, "ticket");
  const bool native =
      staged->value.contains("data_port") && staged->value["data_port"].is_number_unsigned();
  data::data_endpoint ep{conn.host,
                         native ? staged->value["data_port"].get<uint16_t>() : uint16_t{0}};
  std::vector<size_t> in_tree, on_own;  // indices into batch
  std::vector<data::tree_item> tree;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& item = items[i];
    if (item.contains("error")) {
      if (str(item, "code") == "conflict" &&
          str(item, "error").find("already exists") != std::string::npos)
        taken.push_back(batch[i]);  // identical or not: the single-file way tells
      else
        t.failure(batch[i].name, str(item, "error"));
    } else if (truthy(item, "already_present")) {
      std::lock_guard lock(t.mu);
      ++t.present;
    } else if (item.contains("relative") && !tree_ticket.empty() && native) {
      in_tree.push_back(i);
      tree.push_back({batch[i].local, str(item, "relative")});
    } else {
      on_own.push_back(i);
    }
  }
  std::vector<std::string> checksum(batch.size());
  std::vector<std::string> send_error(batch.size());
  if (!tree.empty()) {
    auto sent = send_tree(ep, tree_ticket, tree, a.streams);
    for (size_t k = 0; k < in_tree.size(); ++k) {
      checksum[in_tree[k]] = sent[k].first;
      send_error[in_tree[k]] = sent[k].second;
    }
  }
  for (auto i : on_own) {
    const auto& item = items[i];
    if (!native || str(item, "ticket").empty()) {
      // No data channel: the local mover, which needs the checksum first.
      auto d = lib::digest_path(batch[i].local.string());
      if (!d) {
        send_error[i] = d.err().message;
        continue;
      }
      auto copied = copy_tree(batch[i].local.string(), str(item, "staging_file"), nullptr);
      if (!copied)
        send_error[i] = copied.err().message;
      else
        checksum[i] = d->checksum;
      continue;
    }
    auto sent = data::put_file(ep, str(item, "ticket"), batch[i].local, data::transfer_options{});
    if (!sent)
      send_error[i] = sent.err().message;
    else
      checksum[i] = sent->checksum;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!items[i].contains("upload_id")) continue;
    const auto id = items[i]["upload_id"];
    if (!send_error[i].empty()) {
      t.failure(batch[i].name, send_error[i]);
      auto st = call_api(conn, "POST", "/api/v1/upload/cancel", json{{"upload_id", id}}, timeout);
      static_cast<void>(st);  // the reaper removes what a failed cancel leaves
      continue;
    }
    out.uploads.push_back({{"upload_id", id}, {"checksum", checksum[i]}});
    out.files.push_back(batch[i]);
  }
  return out;
}

void commit_batch(const connection& conn, timeout_t timeout, const each_sent& sent, each_totals& t,
                  progress_bar& bar) {
  if (sent.files.empty()) return;
  auto committed = call_api(conn, "POST", "/api/v1/upload/commit/bulk",
                            json{{"uploads", sent.uploads}}, commit_timeout(timeout, 0));
  if (!committed) {
    for (const auto& f : sent.files) t.failure(f.name, committed.err().message);
    return;
  }
  const auto& results = committed->value["items"];
  for (size_t k = 0; k < sent.files.size(); ++k) {
    const auto& f = sent.files[k];
    if (!results.is_array() || k >= results.size()) {
      t.failure(f.name, "the node's bulk commit reply does not match");
    } else if (results[k].contains("error")) {
      t.failure(f.name, str(results[k], "error"));
    } else {
      std::lock_guard lock(t.mu);
      ++t.uploaded;
      t.bytes += f.size;
    }
  }
  std::lock_guard lock(t.mu);
  bar.update(t.bytes);
}

expected<api_reply> run_upload_each(const lib_arguments& a, const connection& conn,
                                    timeout_t timeout) {
  const auto started = std::chrono::steady_clock::now();
  auto all = walk_for_each(a);
  if (!all) return all.err();
  uint64_t total = 0;
  for (const auto& f : *all) total += f.size;
  each_totals t;
  std::vector<each_item> taken;
  {
    progress_bar bar{"upload", total};
    // Batch k is committed while batch k+1 is staged and sent (one commit in flight).
    std::thread committing;
    const size_t batch = static_cast<size_t>(a.batch);
    for (size_t off = 0; off < all->size(); off += batch) {
      std::vector<each_item> part(
          all->begin() + static_cast<ptrdiff_t>(off),
          all->begin() + static_cast<ptrdiff_t>(std::min(all->size(), off + batch)));
      auto sent =
          std::make_shared<each_sent>(stage_and_send_batch(a, conn, timeout, part, t, taken));
      if (committing.joinable()) committing.join();
      committing = std::thread(
          [&conn, timeout, sent, &t, &bar] { commit_batch(conn, timeout, *sent, t, bar); });
    }
    if (committing.joinable()) committing.join();
  }
  for (const auto& f : taken) {
    lib_arguments one = a;
    one.local_path = f.local.string();
    one.dest_path = f.name;
    auto done = run_upload(one, conn, timeout);
    if (!done)
      t.failure(f.name, done.err().message);
    else if (truthy(done->value, "already_present"))
      ++t.present;
    else {
      ++t.uploaded;
      t.bytes += f.size;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return synthesized(
      {{"files", all->size()},
       {"uploaded", t.uploaded},
       {"already_present", t.present},
       {"failed", t.failed},
       {"bytes", t.bytes},
       {"seconds", seconds},
       {"files_per_s", seconds > 0 ? static_cast<double>(all->size()) / seconds : 0.0},
       {"errors", t.errors}});
}

std::string human_upload_each(const json& v) {
  std::string out = "uploaded " + str(v, "uploaded") + " of " + str(v, "files") + " files (" +
                    str(v, "bytes") + " bytes) in " + str(v, "seconds") + " s; " +
                    str(v, "already_present") + " already present, " + str(v, "failed") +
                    " failed\n";
  if (v.contains("errors") && v["errors"].is_array())
    for (const auto& e : v["errors"]) out += "  " + str(e, "name") + ": " + str(e, "error") + "\n";
  return out;
}

std::string human_upload(const json& v) {
  if (truthy(v, "already_present"))
    return "'" + str(v, "name") +
           "' is already in the librarian with the same contents; nothing "
           "to do\n";
  std::string where;
  if (v.contains("instances") && v["instances"].is_array() && !v["instances"].empty())
    where = " at " + str(v["instances"][0], "path");
  return "uploaded " + str(v, "name") + " (" + str(v, "size") + " bytes, " + str(v, "checksum") +
         ")" + where + "\n";
}

// ----------------------------------------------------------------------------------- download

expected<api_reply> run_download(const lib_arguments& a, const connection& conn,
                                 timeout_t timeout) {
  auto file = call_api(conn, "GET", "/api/v1/files/get?" + query_string("name", a.name),
                       std::nullopt, timeout);
  if (!file) return file.err();
  auto inst = call_api(conn, "GET", "/api/v1/files/instance?" + query_string("name", a.name),
                       std::nullopt, timeout);
  if (!inst) return inst.err();
  auto source = str(inst->value, "path");
  auto expected_sum = str(file->value, "checksum");
  uint64_t size = file->value.value("size", uint64_t{0});
  std::error_code ec;
  if (fs::exists(fs::symlink_status(a.local_path, ec)))
    return fail(errc::already_exists, a.local_path + " already exists; choose another path");
  const auto ticket = str(inst->value, "ticket");
  if (!ticket.empty() && inst->value.contains("data_port") &&
      inst->value["data_port"].is_number_unsigned()) {
    // The native channel: resumable, and verified inline against the node's bytes; then the
    // result is checked against the catalog's checksum before it is kept.
    progress_bar bar{"download", size};
    data::transfer_options opts;
    opts.on_progress = [&](const data::transfer_progress& p) { bar.update(p.bytes_done); };
    data::data_endpoint ep{conn.host, inst->value["data_port"].get<uint16_t>()};
    auto got = data::get_file(ep, ticket, a.local_path, opts);
    if (!got) return got.err();
    if (got->checksum != expected_sum || got->bytes_total != size) {
      fs::remove(a.local_path, ec);
      return fail(errc::checksum_mismatch, "the copy of " + a.name + " has " + got->checksum +
                                               ", the catalog says " + expected_sum +
                                               "; nothing was kept (run validate-file)");
    }
    return synthesized({{"name", a.name},
                        {"path", a.local_path},
                        {"size", size},
                        {"checksum", expected_sum},
                        {"verified", true},
                        {"source", source},
                        {"mover", "native"}});
  }
  // Copy to a temporary name and rename only once the checksum verifies.
  auto temp = a.local_path + ".librarian-partial";
  fs::remove_all(temp, ec);
  {
    progress_bar bar{"download", size};
    auto copied = copy_tree(source, temp, [&](uint64_t d) { bar.update(d); });
    if (!copied) {
      auto err = copied.err();
      if (err.code == errc::not_found)
        err = fail(errc::unavailable, "the instance " + source +
                                          " is not reachable from this host (the local mover "
                                          "needs the store on this host)");
      return err;
    }
  }
  auto digest = lib::digest_path(temp);
  if (!digest || digest->checksum != expected_sum || digest->size != size) {
    fs::remove_all(temp, ec);
    if (!digest) return digest.err();
    return fail(errc::checksum_mismatch, "the copy of " + a.name + " has " + digest->checksum +
                                             ", the catalog says " + expected_sum +
                                             "; nothing was kept (run validate-file)");
  }
  fs::rename(temp, a.local_path, ec);
  if (ec) return fail(errc::internal, "cannot rename " + temp + ": " + ec.message());
  return synthesized({{"name", a.name},
                      {"path", a.local_path},
                      {"size", size},
                      {"checksum", expected_sum},
                      {"verified", true},
                      {"source", source}});
}

// -------------------------------------------------------------------------------------- search

expected<json> search_body(const lib_arguments& a) {
  json body = json::object();
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) body[key] = v;
  };
  put("name", a.name);
  put("uploader", a.uploader);
  put("source", a.source);
  put("store", a.store);
  put("checksum", a.checksum);
  put("has_remote_at", a.has_remote_at);
  put("lacks_remote_at", a.lacks_remote_at);
  put("after", a.after);
  if (a.size_min) body["size_min"] = *a.size_min;
  if (a.size_max) body["size_max"] = *a.size_max;
  if (a.max_results) body["max_results"] = *a.max_results;
  for (auto [key, text] : {std::pair{"create_time_start_ms", &a.create_time_start},
                           std::pair{"create_time_end_ms", &a.create_time_end}}) {
    if (text->empty()) continue;
    auto ms = parse_time_ms(*text);
    if (!ms) return ms.err();
    body[key] = *ms;
  }
  return body;
}

void add_search(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
                const args_ptr& a) {
  auto* sub = sub_with_conn(app, conn, "search-files", "search files by name and attributes");
  sub->add_option("-n,--name", a->name, "name or glob (* and ?)");
  sub->add_option("--create-time-start", a->create_time_start, "created at or after (UTC)");
  sub->add_option("--create-time-end", a->create_time_end, "created at or before (UTC)");
  sub->add_option("-u,--uploader", a->uploader, "uploaded by");
  sub->add_option("-s,--source", a->source, "original source");
  sub->add_option("--size-min", a->size_min, "at least this many bytes");
  sub->add_option("--size-max", a->size_max, "at most this many bytes");
  sub->add_option("--store", a->store, "has an instance on this store");
  sub->add_option("--checksum", a->checksum, "this checksum (xxh3:::...)");
  sub->add_option("--has-remote-at", a->has_remote_at, "has a copy at this peer librarian");
  sub->add_option("--lacks-remote-at", a->lacks_remote_at, "has no copy at this peer librarian");
  sub->add_option("--after", a->after, "continue after this cursor (next_after of a page)");
  sub->add_option("--max-results", a->max_results, "page size");
  sub->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) -> expected<api_reply> {
          auto body = search_body(*a);
          if (!body) return body.err();
          return call_api(c, "POST", "/api/v1/files/search", *body, t);
        },
        [](const json& v) {
          if (truthy(v, "more"))
            std::cerr << "note: more results; rerun with --after " << str(v, "next_after") << '\n';
          return format_files(v);
        });
  });
}

void add_errors(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
                const args_ptr& a) {
  auto* sub = sub_with_conn(app, conn, "search-errors", "search the error log (ADMIN)");
  sub->add_option("--id", a->id, "one error by id");
  sub->add_option("-c,--category", a->category, "data_integrity, store_full, transfer, ...");
  sub->add_option("-s,--severity", a->severity, "critical, error, warning, info");
  sub->add_option("--create-time-start", a->create_time_start, "raised at or after (UTC)");
  sub->add_option("--create-time-end", a->create_time_end, "raised at or before (UTC)");
  sub->add_flag("--include-resolved", a->include_resolved, "also cleared errors");
  sub->add_option("--max-results", a->max_results, "at most this many (64)");
  sub->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) -> expected<api_reply> {
          json body{{"include_resolved", a->include_resolved}};
          if (a->id) body["id"] = *a->id;
          if (!a->category.empty()) body["category"] = a->category;
          if (!a->severity.empty()) body["severity"] = a->severity;
          if (a->max_results) body["max_results"] = *a->max_results;
          for (auto [key, text] : {std::pair{"create_time_start_ms", &a->create_time_start},
                                   std::pair{"create_time_end_ms", &a->create_time_end}}) {
            if (text->empty()) continue;
            auto ms = parse_time_ms(*text);
            if (!ms) return ms.err();
            body[key] = *ms;
          }
          return call_api(c, "POST", "/api/v1/errors/search", body, t);
        },
        format_errors);
  });
  auto* clear = sub_with_conn(app, conn, "clear-error", "mark an error resolved (ADMIN)");
  clear->add_option("ERROR-ID", a->id, "the error's id")->required();
  clear->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) {
          return call_api(c, "POST", "/api/v1/errors/clear", json{{"id", *a->id}}, t);
        },
        [](const json& v) { return "cleared error " + str(v, "id") + "\n"; });
  });
}

// Calls stores/import until the walk is complete, summing the reports.
expected<api_reply> run_import(const lib_arguments& a, const connection& conn, timeout_t timeout) {
  const auto started = std::chrono::steady_clock::now();
  json total{{"files_seen", 0},      {"imported", 0}, {"already_present", 0},
             {"instances_added", 0}, {"failed", 0},   {"bytes_hashed", 0}};
  json problems = json::array();
  std::string after;
  const uint64_t per_call = a.files_per_call;
  // A call hashes up to per_call files: give it time for that (and for big ones).
  const auto wait = std::max(timeout, timeout_t{600000});
  constexpr int calls_max = 100000;
  for (int call = 0; call < calls_max; ++call) {
    json body{{"store", a.store}, {"files_max", per_call}, {"dry_run", a.dry_run}};
    if (!a.under.empty()) body["under"] = a.under;
    if (!after.empty()) body["after"] = after;
    auto r = call_api(conn, "POST", "/api/v1/admin/stores/import", body, wait);
    if (!r) return r.err();
    for (auto& [key, value] : total.items())
      value = value.get<uint64_t>() + r->value.value(key, uint64_t{0});
    if (r->value.contains("problems") && r->value["problems"].is_array())
      for (const auto& p : r->value["problems"])
        if (problems.size() < 100) problems.push_back(p);
    if (truthy(r->value, "complete")) break;
    auto next = str(r->value, "next_after");
    if (next.empty() || next == after)
      return fail(errc::internal, "the node's import made no progress after '" + after + "'");
    after = next;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  total["problems"] = problems;
  total["seconds"] = seconds;
  total["files_per_s"] =
      seconds > 0 ? static_cast<double>(total["files_seen"].get<uint64_t>()) / seconds : 0.0;
  total["store"] = a.store;
  return synthesized(std::move(total));
}

void add_stores(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
                const args_ptr& a) {
  auto* list = sub_with_conn(app, conn, "get-store-list", "list the stores (ADMIN)");
  list->callback([&chosen] {
    chosen = simple(
        [](const connection& c, timeout_t t) {
          return call_api(c, "GET", "/api/v1/admin/stores", std::nullopt, t);
        },
        format_stores);
  });
  auto* set = sub_with_conn(app, conn, "set-store-state", "enable or disable a store (ADMIN)");
  set->add_option("--store", a->store, "store name")->required();
  auto* en = set->add_flag("--enabled", a->enabled, "take uploads");
  auto* dis = set->add_flag("--disabled", a->disabled, "take no uploads");
  en->excludes(dis);
  set->callback([&chosen, a] {
    if (a->enabled == a->disabled) throw CLI::ValidationError("give --enabled or --disabled");
    chosen = simple(
        [a](const connection& c, timeout_t t) {
          return call_api(c, "POST", "/api/v1/admin/stores/state",
                          json{{"store", a->store}, {"enabled", a->enabled}}, t);
        },
        [](const json& v) {
          return "store " + str(v, "name") + " is now " +
                 (truthy(v, "enabled") ? "enabled" : "disabled") + "\n";
        });
  });
  auto* imp = sub_with_conn(app, conn, "import-store-tree",
                            "record files already under a store's path, checksums computed on "
                            "the node (ADMIN)");
  imp->add_option("--store", a->store, "store name")->required();
  imp->add_option("--under", a->under, "only this directory below the store path");
  imp->add_option("--files-per-call", a->files_per_call,
                  "files walked per request (default 100000)")
      ->check(CLI::Range(1, 1000000));
  imp->add_flag("--dry-run", a->dry_run, "walk and hash, record nothing");
  imp->callback([&chosen, a] {
    chosen = simple([a](const connection& c, timeout_t t) { return run_import(*a, c, t); },
                    [](const json& v) {
                      std::string out = "imported " + str(v, "imported") + " files and " +
                                        str(v, "instances_added") + " instances of known files (" +
                                        str(v, "files_seen") + " seen, " +
                                        str(v, "already_present") + " already recorded, " +
                                        str(v, "failed") + " failed, " + str(v, "bytes_hashed") +
                                        " bytes hashed) in " + str(v, "seconds") + " s\n";
                      if (v.contains("problems") && v["problems"].is_array())
                        for (const auto& p : v["problems"])
                          out += "  " + p.get<std::string>() + "\n";
                      return out;
                    });
    chosen->exit_status = [](const api_reply& r) {
      return r.value.value("failed", uint64_t{0}) == 0 ? 0 : 1;
    };
  });
}

// Pages through /admin/stores/manifest and writes one manifest: {librarian_name, store_name,
// destination_librarian, store_files}. The flags apply with the first page (disable) and to
// every listed instance (mark unavailable).
expected<api_reply> run_manifest(const lib_arguments& a, const connection& conn, timeout_t t) {
  json manifest;
  json files = json::array();
  std::string after;
  constexpr int pages_max = 100000;
  for (int page = 0; page < pages_max; ++page) {
    json body{{"store", a.store},
              {"disable_store", a.disable_store},
              {"mark_local_instances_as_unavailable", a.mark_unavailable}};
    if (!a.destination.empty()) body["destination_librarian"] = a.destination;
    if (!after.empty()) body["after"] = after;
    auto reply = call_api(conn, "POST", "/api/v1/admin/stores/manifest", body, t);
    if (!reply) return reply.err();
    for (auto& f : reply->value.value("store_files", json::array())) files.push_back(f);
    manifest = {{"librarian_name", str(reply->value, "librarian_name")},
                {"store_name", str(reply->value, "store_name")},
                {"destination_librarian", str(reply->value, "destination_librarian")}};
    if (!truthy(reply->value, "more")) break;
    after = str(reply->value, "next_after");
  }
  // With a destination: one outgoing transfer per file at this librarian, in ONGOING (the bytes
  // travel on the drive); the destination's ingest-manifest names them and its callbacks complete
  // them. A re-run finds the same transfers.
  if (!a.destination.empty()) {
    constexpr size_t chunk = 1000;
    for (size_t start = 0; start < files.size(); start += chunk) {
      json part = json::array();
      for (size_t i = start; i < std::min(files.size(), start + chunk); ++i)
        part.push_back({{"name", files[i].value("name", "")},
                        {"size", files[i].value("size", uint64_t{0})},
                        {"checksum", files[i].value("checksum", "")},
                        {"instance_path", files[i].value("instance_path", "")}});
      auto ids = call_api(conn, "POST", "/api/v1/replication/sneakernet/outgoing",
                          json{{"destination", a.destination}, {"files", part}}, t);
      if (!ids) return ids.err();
      auto got = ids->value.value("files", json::array());
      if (got.size() != part.size())
        return fail(errc::internal, "the node answered for " + std::to_string(got.size()) +
                                        " files, not " + std::to_string(part.size()));
      for (size_t i = 0; i < got.size(); ++i)
        files[start + i]["outgoing_transfer_id"] = got[i].value("outgoing_transfer_id", 0);
    }
  }
  manifest["store_files"] = std::move(files);
  if (!a.output.empty()) {
    std::error_code ec;
    if (fs::exists(a.output, ec))
      return fail(errc::already_exists, a.output + " already exists; choose another --output");
    std::ofstream out{a.output};
    out << manifest.dump(2) << '\n';
    if (!out) return fail(errc::internal, "cannot write " + a.output);
  }
  return synthesized(std::move(manifest));
}

void add_manifest(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
                  const args_ptr& a) {
  auto* sub =
      sub_with_conn(app, conn, "get-store-manifest", "list a store's files for SneakerNet (ADMIN)");
  sub->add_option("--store", a->store, "the store (usually a removable drive)")->required();
  sub->add_option("--destination-librarian", a->destination, "the librarian the drive goes to");
  sub->add_flag("--disable-store", a->disable_store, "disable the store first");
  sub->add_flag("--mark-instances-as-unavailable", a->mark_unavailable,
                "mark the listed instances unavailable (the drive leaves)");
  sub->add_option("--output", a->output, "write the manifest here (must not exist)");
  sub->callback([&chosen, a] {
    chosen = simple([a](const connection& c, timeout_t t) { return run_manifest(*a, c, t); },
                    [a](const json& v) {
                      auto n = v.value("store_files", json::array()).size();
                      std::string where = a->output.empty() ? "" : " written to " + a->output;
                      if (a->output.empty()) return v.dump(2) + "\n";
                      return "manifest of store " + str(v, "store_name") + ": " +
                             std::to_string(n) + " files" + where + "\n";
                    });
  });
}

// ingest-manifest: at the destination, on the host where the drive is mounted. Stages the drive's
// files here (in calls of `chunk`), copies each from --store-root with its checksum verified, then
// marks them copied; recv_clone ingests them and calls the source back. A re-run skips what is
// already here and copies again what was staged but not finished.
expected<api_reply> run_ingest_manifest(const lib_arguments& a, const connection& conn,
                                        timeout_t t) {
  std::ifstream in{a.manifest_path};
  if (!in) return fail(errc::not_found, "cannot read the manifest " + a.manifest_path);
  json manifest;
  try {
    manifest = json::parse(in);
  } catch (const json::parse_error& e) {
    return fail(errc::invalid_argument, a.manifest_path + " is not JSON: " + e.what());
  }
  if (!manifest.is_object() || !manifest.contains("store_files") ||
      !manifest["store_files"].is_array() || str(manifest, "librarian_name").empty())
    return fail(errc::invalid_argument,
                a.manifest_path + " is not a manifest (librarian_name and store_files needed)");
  std::error_code ec;
  if (!fs::is_directory(a.store_root, ec))
    return fail(errc::not_found, "--store-root " + a.store_root + " is not a directory");
  const auto source = str(manifest, "librarian_name");
  const auto& entries = manifest["store_files"];
  uint64_t staged = 0, present = 0, failed = 0, bytes = 0;
  json problems = json::array();
  constexpr size_t chunk = 200;
  progress_bar bar{"ingest", entries.size()};
  for (size_t start = 0; start < entries.size(); start += chunk) {
    json part = json::array();
    std::map<uint64_t, json> by_id;
    for (size_t i = start; i < std::min(entries.size(), start + chunk); ++i) {
      const auto& e = entries[i];
      if (!e.is_object() || !e.contains("outgoing_transfer_id"))
        return fail(errc::invalid_argument,
                    "entry " + std::to_string(i) +
                        " has no outgoing_transfer_id: make the manifest with get-store-manifest "
                        "--destination-librarian");
      part.push_back({{"outgoing_transfer_id", e["outgoing_transfer_id"]},
                      {"name", e.value("name", "")},
                      {"size", e.value("size", uint64_t{0})},
                      {"checksum", e.value("checksum", "")}});
      by_id[e.value("outgoing_transfer_id", uint64_t{0})] = e;
    }
    auto reply = call_api(conn, "POST", "/api/v1/replication/sneakernet/stage",
                          json{{"source", source}, {"files", part}}, t);
    if (!reply) return reply.err();
    json copied = json::array();
    for (const auto& item : reply->value.value("items", json::array())) {
      auto id = item.value("outgoing_transfer_id", uint64_t{0});
      const auto& e = by_id[id];
      auto name = e.value("name", "");
      auto result = item.value("result", "");
      if (result == "already_exists") {
        ++present;
        continue;
      }
      if (result != "staged") {
        ++failed;
        problems.push_back({{"name", name}, {"problem", result + ": " + str(item, "message")}});
        continue;
      }
      transfer::mover_file f{(fs::path(a.store_root) / name).string(), str(item, "staging_path"),
                             e.value("size", uint64_t{0}), e.value("checksum", ""), ""};
      std::atomic<uint64_t> done{0};
      if (auto st = transfer::copy_verified(f, done); !st) {
        ++failed;
        problems.push_back({{"name", name}, {"problem", st.err().describe()}});
        continue;
      }
      bytes += f.size;
      copied.push_back({{"outgoing_transfer_id", id}, {"incoming_id", item["incoming_id"]}});
    }
    if (!copied.empty()) {
      auto marked = call_api(conn, "POST", "/api/v1/replication/sneakernet/staged",
                             json{{"source", source}, {"items", copied}}, t);
      if (!marked) return marked.err();
      for (const auto& item : marked->value.value("items", json::array())) {
        auto status = item.value("status", "");
        if (status == "STAGED" || status == "COMPLETED") {
          ++staged;
        } else {
          ++failed;
          problems.push_back({{"outgoing_transfer_id", item["outgoing_transfer_id"]},
                              {"problem", status + ": " + str(item, "message")}});
        }
      }
    }
    bar.update(std::min(entries.size(), start + chunk));
  }
  bar.finish();
  json out{{"source", source},        {"files", entries.size()}, {"staged", staged},
           {"already_here", present}, {"failed", failed},        {"bytes_copied", bytes},
           {"problems", problems}};
  if (failed > 0) {
    std::ostringstream msg;
    msg << failed << " of " << entries.size() << " files failed";
    for (const auto& p : problems) msg << "\n  " << p.dump();
    return fail(errc::conflict, msg.str());
  }
  return synthesized(std::move(out));
}

void add_ingest_manifest(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
                         const args_ptr& a) {
  auto* sub = sub_with_conn(app, conn, "ingest-manifest",
                            "ingest a SneakerNet drive by its manifest, on the host it is mounted "
                            "on (ADMIN)");
  sub->add_option("--manifest", a->manifest_path, "the manifest get-store-manifest wrote")
      ->required();
  sub->add_option("--store-root", a->store_root, "where the drive's store directory is mounted")
      ->required();
  sub->callback([&chosen, a] {
    chosen = simple([a](const connection& c, timeout_t t) { return run_ingest_manifest(*a, c, t); },
                    [](const json& v) {
                      return "ingest-manifest from " + str(v, "source") + ": " + str(v, "staged") +
                             " staged for ingest, " + str(v, "already_here") + " already here, " +
                             str(v, "bytes_copied") + " bytes copied\n";
                    });
  });
}

void add_peers(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
               const args_ptr& a) {
  auto* list = sub_with_conn(app, conn, "get-librarian-list", "list peer librarians (ADMIN)");
  list->add_flag("--ping", a->ping, "ping each peer: availability and round-trip time");
  list->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) {
          return call_api(
              c, "GET",
              std::string{"/api/v1/admin/librarians?ping="} + (a->ping ? "true" : "false"),
              std::nullopt, t);
        },
        format_librarians);
  });
  auto* add = sub_with_conn(app, conn, "add-librarian", "register a peer librarian (ADMIN)");
  add->add_option("--name", a->name, "the peer's name (its node name)")->required();
  add->add_option("--url", a->url, "http://HOST (no port)")->required();
  add->add_option("--port", a->port, "the peer's HTTP port")
      ->required()
      ->check(CLI::Range(1, 65535));
  add->add_option("--authenticator", a->authenticator,
                  "USER:PASSWORD this librarian uses to call the peer")
      ->required();
  add->add_flag("--do-not-check-connection", a->no_check, "do not ping the peer after adding it");
  add->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) {
          return call_api(c, "POST", "/api/v1/admin/librarians/add",
                          json{{"name", a->name},
                               {"url", a->url},
                               {"port", a->port},
                               {"authenticator", a->authenticator},
                               {"check_connection", !a->no_check}},
                          t);
        },
        [](const json& v) {
          std::string ping = str(v, "ping");
          return "added librarian " + str(v, "name") +
                 (ping == "unknown" ? std::string{} : " (ping: " + ping + ")") + "\n";
        });
  });
  auto* remove = sub_with_conn(app, conn, "remove-librarian", "forget a peer librarian (ADMIN)");
  remove->add_option("--name", a->name, "the peer's name")->required();
  remove->add_flag("--remove-outgoing-transfers", a->remove_outgoing,
                   "first cancel every live outgoing transfer to it");
  remove->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) -> expected<api_reply> {
          std::optional<uint64_t> cancelled;
          if (a->remove_outgoing) {
            auto r = call_api(c, "POST", "/api/v1/replication/cancel", json{{"peer", a->name}}, t);
            if (!r) return r.err();
            cancelled = r->value.value("cancelled", uint64_t{0});
          }
          auto removed =
              call_api(c, "POST", "/api/v1/admin/librarians/remove", json{{"name", a->name}}, t);
          if (!removed) return removed.err();
          if (cancelled) removed->value["cancelled"] = *cancelled;
          return removed;
        },
        [](const json& v) {
          return "removed librarian " + str(v, "name") +
                 (v.contains("cancelled")
                      ? " (cancelled " + std::to_string(v["cancelled"].get<uint64_t>()) +
                            " outgoing transfers)"
                      : std::string{}) +
                 "\n";
        });
  });
  auto* cancel = sub_with_conn(app, conn, "cancel-transfers",
                               "cancel every live outgoing transfer to a peer (ADMIN)");
  cancel->add_option("--name", a->name, "the peer's name")->required();
  cancel->callback([&chosen, a] {
    chosen = simple(
        [a](const connection& c, timeout_t t) {
          return call_api(c, "POST", "/api/v1/replication/cancel", json{{"peer", a->name}}, t);
        },
        [](const json& v) {
          return "cancelled " + std::to_string(v.value("cancelled", uint64_t{0})) +
                 " outgoing transfers to " + str(v, "peer") + "\n";
        });
  });
  auto* transfer = sub_with_conn(app, conn, "set-librarian-transfer",
                                 "enable or disable transfers to a peer (ADMIN)");
  transfer->add_option("--name", a->name, "the peer's name")->required();
  auto* en = transfer->add_flag("--enabled", a->enabled, "allow transfers");
  auto* dis = transfer->add_flag("--disabled", a->disabled, "stop transfers");
  en->excludes(dis);
  transfer->callback([&chosen, a] {
    if (a->enabled == a->disabled) throw CLI::ValidationError("give --enabled or --disabled");
    chosen = simple(
        [a](const connection& c, timeout_t t) {
          return call_api(c, "POST", "/api/v1/admin/librarians/transfer_status",
                          json{{"name", a->name}, {"transfers_enabled", a->enabled}}, t);
        },
        [](const json& v) {
          return "transfers to " + str(v, "name") + " are now " +
                 (truthy(v, "transfers_enabled") ? "enabled" : "disabled") + "\n";
        });
  });
}

void add_files(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen,
               const args_ptr& a) {
  auto* up = sub_with_conn(app, conn, "upload", "upload a file or directory");
  up->add_option("LOCAL-PATH", a->local_path, "file or directory to upload")->required();
  up->add_option("DEST-PATH", a->dest_path, "its unique name in the librarian (relative)")
      ->required();
  up->add_option("--deletion", a->deletion, "allowed or disallowed (default)")
      ->check(CLI::IsMember({"allowed", "disallowed"}));
  up->add_option("--store", a->store, "a particular store (default: the first with room)");
  up->add_flag("--each", a->each,
               "LOCAL-PATH is a directory: upload every file under it as its own file, named "
               "DEST-PATH/RELATIVE-PATH (bulk requests; exit status 1 when any file failed)");
  up->add_option("--batch", a->batch, "with --each: files per bulk request (default 1000)")
      ->check(CLI::Range(1, 10000));
  up->add_option("--connections", a->streams,
                 "with --each: data connections sending small files side by side (default 2)")
      ->check(CLI::Range(1, 16));
  up->callback([&chosen, a] {
    if (a->each) {
      chosen = simple([a](const connection& c, timeout_t t) { return run_upload_each(*a, c, t); },
                      human_upload_each);
      chosen->exit_status = [](const api_reply& r) {
        if (r.value.value("failed", uint64_t{0}) == 0) return 0;
        return 1;
      };
      return;
    }
    chosen = simple([a](const connection& c, timeout_t t) { return run_upload(*a, c, t); },
                    human_upload);
  });
  auto* down = sub_with_conn(app, conn, "download", "copy a file out, checksum verified");
  down->add_option("NAME", a->name, "the file's name")->required();
  down->add_option("LOCAL-PATH", a->local_path, "where to put it (must not exist)")->required();
  down->callback([&chosen, a] {
    chosen = simple([a](const connection& c, timeout_t t) { return run_download(*a, c, t); },
                    [](const json& v) {
                      return "downloaded " + str(v, "name") + " to " + str(v, "path") + " (" +
                             str(v, "size") + " bytes, checksum verified)\n";
                    });
  });
  auto* validate = sub_with_conn(app, conn, "validate-file",
                                 "recompute the checksum of every instance of a file");
  validate->add_option("FILE-NAME", a->name, "the file's name")->required();
  validate->callback([&chosen, a] {
    chosen = rls_command{[a](const connection& c, timeout_t t) {
                           return call_api(c, "POST", "/api/v1/files/validate",
                                           json{{"name", a->name}}, std::max(t, timeout_t{600000}));
                         },
                         [](const api_reply& r) { return format_validation(r.value); },
                         [](const api_reply& r) {
                           // Scripts can tell: 0 every instance matches, checksum_mismatch's code
                           // otherwise.
                           for (const auto& item : r.value.value("items", json::array()))
                             if (!item.value("match", false))
                               return exit_code(errc::checksum_mismatch);
                           return 0;
                         }};
  });
}

std::string ms_text(const json& v, const char* key) {
  if (!v.is_object() || !v.contains(key) || !v.at(key).is_number_integer()) return "-";
  return format_unix_ms(v.at(key).get<int64_t>());
}

}  // namespace

expected<int64_t> parse_time_ms(const std::string& text) {
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits && text.size() <= 15) return static_cast<int64_t>(std::stoll(text));
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail);
  if (n == 1 || n == 2 || n <= 0 || (n == 7 && tail != 'Z') || mo < 1 || mo > 12 || d < 1 ||
      d > 31 || h > 23 || mi > 59 || s > 60)
    return fail(errc::invalid_argument, "cannot read the time '" + text +
                                            "'; use 2026-11-22, 2026-11-22T07:00:00Z (UTC) or "
                                            "unix milliseconds");
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string format_files(const json& reply) {
  std::ostringstream out;
  const auto files = reply.value("files", json::array());
  if (files.empty()) out << "no files found\n";
  for (const auto& f : files) {
    out << str(f, "name") << "  " << str(f, "size") << " bytes  " << ms_text(f, "create_unix_ms")
        << "  uploader=" << str(f, "uploader") << "  source=" << str(f, "source") << "  "
        << str(f, "checksum") << '\n';
    for (const auto& i : f.value("instances", json::array()))
      out << "    instance " << str(i, "path") << " [" << str(i, "store") << "]"
          << (i.value("available", false) ? " AVAILABLE" : " UNAVAILABLE") << '\n';
    for (const auto& r : f.value("remote_instances", json::array()))
      out << "    remote at " << str(r, "librarian") << '\n';
  }
  return out.str();
}

std::string format_stores(const json& reply) {
  std::ostringstream out;
  for (const auto& s : reply.value("stores", json::array()))
    out << str(s, "name") << " (" << str(s, "type") << ") [" << str(s, "free_bytes")
        << " bytes free] - " << (s.value("ingestable", false) ? "Ingestable" : "Not ingestable")
        << " - " << (s.value("enabled", false) ? "Enabled" : "Disabled") << " - "
        << str(s, "instances") << " instances\n";
  return out.str();
}

std::string format_librarians(const json& reply) {
  std::ostringstream out;
  const auto peers = reply.value("librarians", json::array());
  if (peers.empty()) out << "no peer librarians\n";
  for (const auto& p : peers) {
    out << str(p, "name") << "  " << str(p, "url") << ":" << str(p, "port") << "  transfers "
        << (p.value("transfers_enabled", false) ? "enabled" : "disabled") << "  ";
    auto ping = str(p, "ping");
    if (ping == "up")
      out << "up (" << str(p, "rtt_ms") << " ms)";
    else if (ping == "down")
      out << "DOWN: " << str(p, "ping_error");
    else
      out << "availability not checked (use --ping)";
    out << '\n';
  }
  return out.str();
}

std::string format_errors(const json& reply) {
  std::ostringstream out;
  const auto errors = reply.value("errors", json::array());
  if (errors.empty()) out << "no errors\n";
  for (const auto& e : errors)
    out << str(e, "id") << "  " << ms_text(e, "raised_unix_ms") << "  " << str(e, "severity")
        << "  " << str(e, "category") << "  " << (e.value("cleared", false) ? "(cleared) " : "")
        << str(e, "message") << '\n';
  return out.str();
}

std::string format_validation(const json& reply) {
  std::ostringstream out;
  out << "Librarian  Store  Instance  Checksum Match  Original  Current\n";
  for (const auto& v : reply.value("items", json::array())) {
    out << str(v, "librarian") << "  " << str(v, "store") << "  " << str(v, "instance_id") << "  "
        << (v.value("match", false) ? "yes" : "NO") << "  " << str(v, "original_checksum") << "  "
        << str(v, "current_checksum");
    if (v.contains("problem")) out << "  (" << str(v, "problem") << ")";
    out << '\n';
  }
  return out.str();
}

// `librarian transfer-status CONN`: the replication pipeline at a glance.
std::string format_replication(const json& r) {
  std::ostringstream out;
  auto line = [&](const char* what, const json& counts) {
    out << what << ":";
    if (!counts.is_object() || counts.empty()) out << " none";
    if (counts.is_object())
      for (const auto& [k, v] : counts.items()) out << ' ' << k << '=' << v.dump();
    out << '\n';
  };
  out << "node " << str(r, "node") << '\n';
  line("live outgoing transfers", r.value("outgoing", json::object()));
  line("live incoming transfers", r.value("incoming", json::object()));
  line("open batches", r.value("batches", json::object()));
  const auto batches = r.value("active_batches", json::array());
  for (const auto& b : batches) {
    out << "  batch " << b.value("id", 0) << " -> " << str(b, "destination") << " ("
        << str(b, "mover") << ", " << str(b, "state") << "): " << b.value("files", 0) << " files, "
        << b.value("bytes_done", 0) << "/" << b.value("bytes_total", 0) << " bytes";
    if (b.value("rate_bytes_per_s", 0.0) > 0)
      out << ", " << static_cast<uint64_t>(b.value("rate_bytes_per_s", 0.0) / 1e6) << " MB/s";
    out << ", retries " << b.value("retries", 0) << ", age " << b.value("age_ms", 0) / 1000 << " s";
    if (!str(b, "message").empty()) out << " -- " << str(b, "message");
    out << '\n';
  }
  const auto overdue = r.value("overdue", json::array());
  out << "older than their hypervisor's age: " << overdue.size() << '\n';
  for (const auto& t : overdue)
    out << "  " << str(t, "direction") << " transfer " << t.value("id", 0) << " (" << str(t, "file")
        << ", peer " << str(t, "peer") << ", " << str(t, "status") << ", "
        << t.value("age_ms", 0) / 1000 << " s)\n";
  const auto tasks = r.value("tasks", json::array());
  if (!tasks.empty()) out << "task runs:\n";
  for (const auto& t : tasks) {
    auto runs = t.value("runs", uint64_t{0});
    out << "  " << str(t, "task") << ": " << runs << " runs";
    if (runs > 0)
      out << ", mean " << t.value("seconds_total", 0.0) * 1000.0 / static_cast<double>(runs)
          << " ms, max " << t.value("seconds_max", 0.0) * 1000.0 << " ms";
    const auto outcomes = t.value("outcomes", json::object());
    for (const auto& [k, v] : outcomes.items()) out << ", " << k << '=' << v.dump();
    out << '\n';
  }
  line("counters", r.value("counters", json::object()));
  return out.str();
}

void add_replication(CLI::App& app, std::string& conn, std::optional<rls_command>& chosen) {
  auto* sub = sub_with_conn(app, conn, "transfer-status",
                            "replication queues, active batches and overdue transfers (READONLY)");
  sub->callback([&chosen] {
    chosen = simple(
        [](const connection& c, timeout_t t) {
          return call_api(c, "GET", "/api/v1/replication", std::nullopt, t);
        },
        format_replication);
  });
}

void add_librarian_commands(CLI::App& app, std::string& connection_name,
                            std::optional<rls_command>& chosen) {
  auto a = std::make_shared<lib_arguments>();
  add_files(app, connection_name, chosen, a);
  add_search(app, connection_name, chosen, a);
  add_errors(app, connection_name, chosen, a);
  add_stores(app, connection_name, chosen, a);
  add_manifest(app, connection_name, chosen, a);
  add_peers(app, connection_name, chosen, a);
  add_replication(app, connection_name, chosen);
  add_ingest_manifest(app, connection_name, chosen, a);
}

}  // namespace librarian::cli
