#include "ldap/local_directory.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <set>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "ldap/password_hash.h"
#include "radius/ascii.h"

namespace npsd::ldap {

namespace {

using json = nlohmann::json;
using pointer = json::json_pointer;
using db_result = expected<std::shared_ptr<const local_user_db>, std::string>;

npsd::unexpected<std::string> fail(std::string what) {
  return npsd::unexpected<std::string>(std::move(what));
}


constexpr std::size_t max_name_bytes = 253;  // what a RADIUS User-Name can carry

// ---- the parser -------------------------------------------------------------------------

// Problems are reported as "<file>: <pointer>: <what>"; `what` never quotes a value from the
// file except names (user, group, key names), which are not secrets.
struct issue {
  pointer where;
  std::string what;
};

std::string render(const std::string& file, const issue& i) {
  const std::string where = i.where.to_string();
  return where.empty() ? file + ": " + i.what : file + ": " + where + ": " + i.what;
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string expected_type(const json& v, std::string_view what) {
  return "expected " + std::string(what) + ", got " + v.type_name();
}

// Keeps nlohmann's position and reason but drops the "last read: '...'" excerpt, which may
// hold bytes of a password hash.
std::string describe_syntax_error(const json::exception& e) {
  std::string msg = e.what();
  if (const auto p = msg.find("] "); p != std::string::npos) msg.erase(0, p + 2);
  if (const auto lr = msg.find("; last read: '"); lr != std::string::npos) {
    std::string tail;
    if (const auto ex = msg.rfind("; expected "); ex != std::string::npos && ex > lr)
      tail = msg.substr(ex);
    msg.erase(lr);
    msg += tail;
  }
  return msg;
}

// Rejects duplicate object keys, which nlohmann would otherwise resolve silently (last wins).
class duplicate_key_finder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack_.push_back(frame{false, 0, {}, {}});
        break;
      case json::parse_event_t::array_start:
        stack_.push_back(frame{true, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        frame& f = stack_.back();
        f.key = parsed.get<std::string>();
        if (!f.seen.insert(f.key).second && !found_) {
          pointer p;
          for (const frame& g : stack_) {
            if (g.is_array)
              p /= g.index;
            else
              p /= g.key;
          }
          found_ = issue{p, "duplicate key"};
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack_.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  }
  const std::optional<issue>& found() const { return found_; }

 private:
  struct frame {
    bool is_array;
    std::size_t index;  // arrays: elements completed so far
    std::string key;    // objects: the current key
    std::set<std::string> seen;  // objects: keys so far
  };
  void element_done() {
    if (!stack_.empty() && stack_.back().is_array) ++stack_.back().index;
  }
  std::vector<frame> stack_;
  std::optional<issue> found_;
};

std::optional<issue> check_keys(const json& obj, const pointer& where,
                                std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return issue{where / key, "unknown key (expected one of: " + list + ")"};
    }
  }
  return std::nullopt;
}

// A user or group name: non-empty, at most 253 bytes, no control characters, no surrounding
// whitespace.
std::optional<std::string> name_problem(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > max_name_bytes)
    return "is longer than " + std::to_string(max_name_bytes) + " bytes";
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return "must not contain control characters";
  if (s.front() == ' ' || s.back() == ' ') return "must not begin or end with a space";
  return std::nullopt;
}

std::optional<issue> get_string(const json& obj, std::string_view key, const pointer& where,
                                std::string& out) {
  const json& v = obj.at(std::string(key));
  if (!v.is_string()) return issue{where / std::string(key), expected_type(v, "a string")};
  out = v.get<std::string>();
  return std::nullopt;
}

std::optional<issue> get_bool(const json& obj, std::string_view key, const pointer& where,
                              bool& out) {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return std::nullopt;
  if (!it->is_boolean()) return issue{where / std::string(key), expected_type(*it, "true or false")};
  out = it->get<bool>();
  return std::nullopt;
}

// An optional array of declared group names, resolved to indices (duplicates dropped).
std::optional<issue> get_group_refs(const json& obj, std::string_view key, const pointer& where,
                                    const std::unordered_map<std::string, std::size_t>& groups,
                                    std::vector<std::size_t>& out) {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return std::nullopt;
  const pointer here = where / std::string(key);
  if (!it->is_array()) return issue{here, expected_type(*it, "an array of group names")};
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& ref = (*it)[i];
    if (!ref.is_string()) return issue{here / i, expected_type(ref, "a group name (string)")};
    const auto name = ref.get<std::string>();
    const auto g = groups.find(ascii_fold(name));
    if (g == groups.end())
      return issue{here / i, "group " + in_quotes(name) + " is not declared in /groups"};
    bool dup = false;
    for (auto idx : out) dup = dup || idx == g->second;
    if (!dup) out.push_back(g->second);
  }
  return std::nullopt;
}

}  // namespace

std::string_view dial_in_name(dial_in d) noexcept {
  switch (d) {
    case dial_in::allow: return "allow";
    case dial_in::deny: return "deny";
    case dial_in::policy: return "policy";
  }
  return "policy";
}

std::optional<dial_in> parse_dial_in(std::string_view s) noexcept {
  if (s == "allow") return dial_in::allow;
  if (s == "deny") return dial_in::deny;
  if (s == "policy") return dial_in::policy;
  return std::nullopt;
}

db_result local_user_db::parse(std::string_view text, std::string name) {
  json doc;
  duplicate_key_finder dups;
  try {
    doc = json::parse(text.begin(), text.end(),
                      [&dups](int depth, json::parse_event_t ev, json& parsed) {
                        return dups(depth, ev, parsed);
                      });
  } catch (const json::exception& e) {
    return fail(name + ": invalid JSON: " + describe_syntax_error(e));
  }
  if (dups.found()) return fail(render(name, *dups.found()));

  auto result = [&]() -> expected<std::shared_ptr<local_user_db>, issue> {
    using bad = npsd::unexpected<issue>;
    const pointer root;
    if (!doc.is_object()) return bad(issue{root, expected_type(doc, "a JSON object at the top level")});
    if (auto i = check_keys(doc, root, {"schema_version", "groups", "users"})) return bad(*i);

    auto sv = doc.find("schema_version");
    if (sv == doc.end()) return bad(issue{root / "schema_version", "missing (expected 1)"});
    if (!sv->is_number_integer())
      return bad(issue{root / "schema_version", expected_type(*sv, "the integer 1")});
    if (*sv != user_file_schema_version)
      return bad(issue{root / "schema_version",
                       "unsupported version " + sv->dump() + " (this npsd reads version 1)"});

    std::shared_ptr<local_user_db> db(new local_user_db());

    // Groups: declare all first (member_of may point forward), then resolve references.
    std::vector<std::vector<std::size_t>> parents;
    const json empty_array = json::array();
    const json* groups = &empty_array;
    if (auto g = doc.find("groups"); g != doc.end()) {
      if (!g->is_array()) return bad(issue{root / "groups", expected_type(*g, "an array")});
      groups = &*g;
    }
    for (std::size_t i = 0; i < groups->size(); ++i) {
      const json& g = (*groups)[i];
      const pointer here = root / "groups" / i;
      if (!g.is_object()) return bad(issue{here, expected_type(g, "an object")});
      if (auto bad_key = check_keys(g, here, {"name", "member_of"})) return bad(*bad_key);
      if (!g.contains("name")) return bad(issue{here / "name", "missing (expected a group name)"});
      local_group grp;
      if (auto e = get_string(g, "name", here, grp.name)) return bad(*e);
      if (auto why = name_problem(grp.name)) return bad(issue{here / "name", "group name " + *why});
      const auto [it, inserted] = db->group_by_name_.emplace(ascii_fold(grp.name), i);
      if (!inserted)
        return bad(issue{here / "name", "duplicate group name " + in_quotes(grp.name) +
                                            " (names are case-insensitive; first declared at " +
                                            (root / "groups" / it->second).to_string() + ")"});
      db->groups_.push_back(std::move(grp));
    }
    parents.resize(db->groups_.size());
    for (std::size_t i = 0; i < groups->size(); ++i) {
      if (auto e = get_group_refs((*groups)[i], "member_of", root / "groups" / i,
                                  db->group_by_name_, parents[i]))
        return bad(*e);
      for (auto p : parents[i]) db->groups_[i].member_of.push_back(db->groups_[p].name);
    }

    auto u = doc.find("users");
    if (u == doc.end()) return bad(issue{root / "users", "missing (expected an array of users)"});
    if (!u->is_array()) return bad(issue{root / "users", expected_type(*u, "an array")});
    for (std::size_t i = 0; i < u->size(); ++i) {
      const json& j = (*u)[i];
      const pointer here = root / "users" / i;
      if (!j.is_object()) return bad(issue{here, expected_type(j, "an object")});
      if (auto e = check_keys(j, here,
                              {"name", "password_hash", "nt_hash", "upn", "groups", "enabled",
                               "locked_out", "dial_in"}))
        return bad(*e);
      local_user user;
      if (!j.contains("name")) return bad(issue{here / "name", "missing (expected a user name)"});
      if (auto e = get_string(j, "name", here, user.acct.name)) return bad(*e);
      if (auto why = name_problem(user.acct.name))
        return bad(issue{here / "name", "user name " + *why});
      if (user.acct.name.find('\\') != std::string::npos)
        return bad(issue{here / "name",
                         "user name must not contain a backslash (DOMAIN\\user identities are "
                         "matched by the part after it)"});
      // Computer accounts, as Windows names them: host/name.example.com or NAME$.
      user.acct.machine = user.acct.name.rfind("host/", 0) == 0 || user.acct.name.back() == '$';
      if (j.contains("upn")) {
        if (auto e = get_string(j, "upn", here, user.acct.upn)) return bad(*e);
        const auto at = user.acct.upn.find('@');
        if (name_problem(user.acct.upn) || at == 0 || at == std::string::npos ||
            at + 1 == user.acct.upn.size())
          return bad(issue{here / "upn", "expected a user principal name of the form user@suffix"});
      }
      if (j.contains("password_hash")) {
        std::string hash;
        if (auto e = get_string(j, "password_hash", here, hash)) return bad(*e);
        std::string why;
        if (!is_valid_password_hash(hash, &why))
          return bad(issue{here / "password_hash", "malformed password hash: " + why});
        user.password_hash = std::move(hash);
      }
      if (j.contains("nt_hash")) {
        std::string hex;
        if (auto e = get_string(j, "nt_hash", here, hex)) return bad(*e);
        std::array<std::uint8_t, 16> h{};
        bool ok = hex.size() == 32;
        for (std::size_t k = 0; ok && k < 16; ++k) {
          const auto nib = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
          };
          const int hi = nib(hex[2 * k]), lo = nib(hex[2 * k + 1]);
          ok = hi >= 0 && lo >= 0;
          h[k] = static_cast<std::uint8_t>(hi << 4 | lo);
        }
        if (!ok)
          return bad(issue{here / "nt_hash", "expected 32 hexadecimal digits (the NT hash, made by "
                                             "npsctl user set-password --mschapv2)"});
        user.nt_hash = h;
      }
      std::vector<std::size_t> direct;
      if (auto e = get_group_refs(j, "groups", here, db->group_by_name_, direct)) return bad(*e);
      if (auto e = get_bool(j, "enabled", here, user.acct.enabled)) return bad(*e);
      if (auto e = get_bool(j, "locked_out", here, user.acct.locked_out)) return bad(*e);
      if (auto d = j.find("dial_in"); d != j.end()) {
        const auto parsed = d->is_string() ? parse_dial_in(d->get<std::string>()) : std::nullopt;
        if (!parsed)
          return bad(issue{here / "dial_in", "expected one of \"allow\", \"deny\", \"policy\""});
        user.acct.dial_in_permission = *parsed;
      }

      // Every group, direct ones first, then inherited ones breadth-first; `seen` stops cycles.
      std::vector<char> seen(db->groups_.size(), 0);
      std::vector<std::size_t> all;
      for (auto g : direct) {
        seen[g] = 1;
        all.push_back(g);
        user.direct_groups.push_back(db->groups_[g].name);
      }
      for (std::size_t k = 0; k < all.size(); ++k)
        for (auto p : parents[all[k]])
          if (!seen[p]) {
            seen[p] = 1;
            all.push_back(p);
          }
      for (auto g : all) user.acct.groups.push_back(group{db->groups_[g].name, {}});

      if (const auto [it, ok] = db->user_by_name_.emplace(ascii_fold(user.acct.name), i); !ok)
        return bad(issue{here / "name", "duplicate user name " + in_quotes(user.acct.name) +
                                            " (names are case-insensitive; first declared at " +
                                            (root / "users" / it->second).to_string() + ")"});
      if (!user.acct.upn.empty()) {
        if (const auto [it, ok] = db->user_by_upn_.emplace(ascii_fold(user.acct.upn), i); !ok)
          return bad(issue{here / "upn", "duplicate user principal name " +
                                             in_quotes(user.acct.upn) + " (also at " +
                                             (root / "users" / it->second).to_string() + ")"});
      }
      db->users_.push_back(std::move(user));
    }
    return db;
  }();
  if (!result) return fail(render(name, result.error()));
  result.value()->source_name_ = std::move(name);
  return std::shared_ptr<const local_user_db>(std::move(result.value()));
}

db_result local_user_db::load(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return fail(name + ": cannot open: " + std::generic_category().message(errno));
  std::string text;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (text.size() > max_user_file_bytes)
      return fail(name + ": larger than " + std::to_string(max_user_file_bytes >> 20) + " MiB");
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) return fail(name + ": read error: " + std::generic_category().message(errno));
  return parse(text, name);
}

const local_user* local_user_db::find_user(std::string_view name) const {
  const auto it = user_by_name_.find(ascii_fold(name));
  return it == user_by_name_.end() ? nullptr : &users_[it->second];
}

const local_group* local_user_db::find_group(std::string_view name) const {
  const auto it = group_by_name_.find(ascii_fold(name));
  return it == group_by_name_.end() ? nullptr : &groups_[it->second];
}

local_user_db::identity_match local_user_db::resolve_identity(std::string_view identity) const {
  const std::string folded = ascii_fold(identity);
  if (auto it = user_by_name_.find(folded); it != user_by_name_.end())
    return {&users_[it->second], match_kind::name};
  if (auto it = user_by_upn_.find(folded); it != user_by_upn_.end())
    return {&users_[it->second], match_kind::upn};
  if (const auto bs = folded.find('\\'); bs != std::string::npos) {
    if (auto it = user_by_name_.find(folded.substr(bs + 1)); it != user_by_name_.end())
      return {&users_[it->second], match_kind::name_after_domain};
  }
  return {};
}

// ---- credential_cache ---------------------------------------------------------------------

std::size_t credential_cache::key_hash::operator()(const key_type& k) const noexcept {
  std::size_t h;
  std::memcpy(&h, k.data(), sizeof h);  // the key is an HMAC output: already uniform
  return h;
}

credential_cache::credential_cache(credential_cache_options options)
    : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  key_ok_ = RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) == 1;
}

credential_cache::~credential_cache() { OPENSSL_cleanse(hmac_key_.data(), hmac_key_.size()); }

bool credential_cache::enabled() const noexcept {
  return key_ok_ && options_.max_entries > 0 && options_.ttl.count() > 0;
}

bool credential_cache::make_key(std::string_view account_name, std::string_view password,
                                std::string_view stored_hash, key_type& out) const {
  std::string msg;
  msg.reserve(account_name.size() + password.size() + stored_hash.size() + 2);
  msg.append(account_name).push_back('\0');
  msg.append(password).push_back('\0');
  msg.append(stored_hash);
  unsigned int len = 0;
  const bool ok = HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
                       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(),
                       &len) != nullptr &&
                  len == out.size();
  OPENSSL_cleanse(msg.data(), msg.size());
  return ok;
}

void credential_cache::expire_locked(std::chrono::steady_clock::time_point now) {
  while (!order_.empty() && order_.front().expires <= now) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
}

bool credential_cache::lookup(std::string_view account_name, std::string_view password,
                              std::string_view stored_hash) {
  key_type key;
  if (!enabled() || !make_key(account_name, password, stored_hash, key)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const auto now = options_.clock();
  bool hit = false;
  {
    std::lock_guard lock(mutex_);
    expire_locked(now);
    const auto it = index_.find(key);
    hit = it != index_.end() && it->second->expires > now;
  }
  (hit ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return hit;
}

void credential_cache::insert(std::string_view account_name, std::string_view password,
                              std::string_view stored_hash) {
  key_type key;
  if (!enabled() || !make_key(account_name, password, stored_hash, key)) return;
  const auto now = options_.clock();
  std::lock_guard lock(mutex_);
  expire_locked(now);
  if (const auto it = index_.find(key); it != index_.end()) {
    order_.erase(it->second);
    index_.erase(it);
  }
  while (!order_.empty() && order_.size() >= options_.max_entries) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(entry{key, now + options_.ttl});
  index_.emplace(key, std::prev(order_.end()));
}

void credential_cache::clear() {
  std::lock_guard lock(mutex_);
  order_.clear();
  index_.clear();
}

std::size_t credential_cache::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

// ---- local_directory ----------------------------------------------------------------------

namespace {

// The password and the completion of one verification. `done` runs exactly once: with the
// result, or with `unavailable` if the job is destroyed without having run.
class verify_state {
 public:
  verify_state(std::string password, std::function<void(password_status)> done)
      : password_(std::move(password)), done_(std::move(done)) {}
  ~verify_state() {
    OPENSSL_cleanse(password_.data(), password_.size());
    if (!fired_.exchange(true)) {
      try {
        done_(password_status::unavailable);
      } catch (...) {  // a destructor must not throw; the caller's handler is at fault
      }
    }
  }
  verify_state(const verify_state&) = delete;
  verify_state& operator=(const verify_state&) = delete;

  const std::string& password() const { return password_; }
  void complete(password_status s) {
    if (fired_.exchange(true)) return;
    auto done = std::move(done_);
    done(s);
  }

 private:
  std::string password_;
  std::function<void(password_status)> done_;
  std::atomic<bool> fired_{false};
};

}  // namespace

local_directory::local_directory(std::shared_ptr<const local_user_db> db, offload_fn offload,
                                 credential_cache_options cache_options)
    : db_(std::move(db)),
      offload_(std::move(offload)),
      cache_(std::make_shared<credential_cache>(std::move(cache_options))) {
  assert(db_);
}

db_result local_directory::load_user_file(const std::filesystem::path& path) {
  return local_user_db::load(path);
}

db_result local_directory::parse_user_file(std::string_view json_text, std::string name) {
  return local_user_db::parse(json_text, std::move(name));
}

void local_directory::replace_db(std::shared_ptr<const local_user_db> db) {
  assert(db);
  std::lock_guard lock(db_mutex_);
  db_ = std::move(db);
}

std::shared_ptr<const local_user_db> local_directory::db() const {
  std::lock_guard lock(db_mutex_);
  return db_;
}

void local_directory::find_account(std::string identity,
                                   std::function<void(lookup_result)> done) {
  const auto db = this->db();
  const auto m = db->resolve_identity(identity);
  lookup_result r;
  if (!m.user) {
    r.status = lookup_status::not_found;
    r.detail = "no account in " + db->source_name() + " matches";
  } else {
    r.status = lookup_status::found;
    r.acct = m.user->acct;
    const char* how = m.kind == local_user_db::match_kind::name  ? "name"
                      : m.kind == local_user_db::match_kind::upn ? "user principal name"
                                                                  : "name after DOMAIN\\";
    r.detail = "matched " + m.user->acct.name + " by " + how + " in " + db->source_name();
  }
  done(std::move(r));
}

void local_directory::verify_password(const account& acct, std::string password,
                                      std::function<void(password_status)> done) {
  auto db = this->db();
  const local_user* user = db->find_user(acct.name);
  auto state = std::make_shared<verify_state>(std::move(password), std::move(done));
  if (!user || !user->password_hash) {
    state->complete(password_status::no_password);
    return;
  }
  if (cache_->lookup(user->acct.name, state->password(), *user->password_hash)) {
    state->complete(password_status::ok);
    return;
  }
  auto job = [state, db = std::move(db), user, cache = cache_]() {
    const auto outcome = verify_password_hash(*user->password_hash, state->password());
    switch (outcome) {
      case verify_outcome::match:
        cache->insert(user->acct.name, state->password(), *user->password_hash);
        state->complete(password_status::ok);
        break;
      case verify_outcome::mismatch:
        state->complete(password_status::mismatch);
        break;
      case verify_outcome::malformed:  // validated at load; cannot happen
        state->complete(password_status::no_password);
        break;
    }
  };
  if (!offload_) {
    job();
    return;
  }
  try {
    offload_(std::move(job));
  } catch (...) {  // the pool refused the job (e.g. shutting down)
    state->complete(password_status::unavailable);
  }
}

void local_directory::nt_hash(const account& acct, std::function<void(nt_hash_result)> done) {
  const auto current = db();
  const auto* u = current->find_user(acct.name);
  nt_hash_result r;
  if (u != nullptr && u->nt_hash) {
    r.status = password_status::ok;
    r.hash = *u->nt_hash;
  }
  done(r);
}

}  // namespace npsd::ldap
