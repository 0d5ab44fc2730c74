// EAP-TLS and PEAP with inner EAP-TLS against the real npsd, driven by eapol_test (wpa_supplicant's RADIUS test peer) with
// the test PKI of scripts/make-pki: TLS 1.2 and 1.3, RSA and ECDSA keys, a client certificate
// from an intermediate CA, small fragments, RRAS's request attributes; each success must bring
// MS-MPPE keys that match the supplicant's MSK. The failures (untrusted issuer, expired, no
// Client Authentication EKU, not in the group, a method the policy does not allow, a disabled
// account) must each end in an Access-Reject with their reason code, never a hang.
#include <doctest/doctest.h>

#include <optional>
#include <sstream>
#include <thread>

#include "eap_client.h"
#include "eapol.h"
#include "harness.h"
#include "radius/crypto.h"

using namespace npsd::test;
using nlohmann::json;
namespace radius = npsd::radius;
using namespace std::chrono_literals;

namespace {


// RRAS's attributes in an IKEv2 Access-Request (../shared/reference/nps-model.md): NAS-Port-Type
// Virtual, Service-Type Framed, Framed-Protocol PPP, NAS-Identifier, Calling/Called-Station-Id,
// MS-RAS-Vendor 311 (vendor 311, type 9, value 311).
const std::vector<std::string> rras_attributes = {
    "61:d:5", "6:d:2", "7:d:1", "32:s:rras1", "31:s:198.51.100.7", "30:s:203.0.113.1",
    "26:x:0000013709060000013" "7"};

json users(bool alice_enabled, bool alice_in_group = true) {
  return {{"schema_version", 1},
          {"groups", {{{"name", "VPN Users"}}}},
          {"users",
           {{{"name", "alice"}, {"upn", "alice@corp.example.com"},
             {"groups", alice_in_group ? json{"VPN Users"} : json::array()},
             {"enabled", alice_enabled}},
            {{"name", "bob"}, {"upn", "bob@corp.example.com"}, {"groups", {"VPN Users"}}},
            {{"name", "carol"}, {"upn", "carol@corp.example.com"}, {"groups", {"VPN Users"}}},
            {{"name", "dave"}, {"upn", "dave@corp.example.com"}},
            // PEAP-MSCHAPv2: the NT hash of "erin-password", as npsctl user set-password
            // --mschapv2 writes it (and as `iconv -t UTF-16LE | openssl dgst -md4 -provider
            // legacy` computes it)
            {{"name", "erin"}, {"groups", {"VPN Users"}},
             {"nt_hash", "06801c7cc85af23694a8bea5dd9540bd"}}}}};
}

// npsd with EAP on the test PKI, JSON logs, and the Always On VPN policies: "VPN Users" on
// NAS-Port-Type Virtual with EAP-TLS only; "Wired" on Ethernet, PAP only.
struct eap_server {
  temp_dir dir;
  const fs::path& pki = test_pki();
  std::unique_ptr<npsd_process> npsd;

  explicit eap_server(json eap_patch = json::object(), json network_policies = nullptr) {
    write_file(dir.path / "users.json", users(true).dump(2));
    json eap = {{"certificate", (pki / "server.pem").string()},
                {"private_key", (pki / "server.key").string()},
                {"ca_file", (pki / "ca.pem").string()}};
    eap.merge_patch(eap_patch);
    const json cfg = {
        {"schema_version", 1},
        {"server",
         {{"threads", 2},
          {"listen", {{{"type", "auth"}, {"address", "127.0.0.1"}, {"port", 0}}}},
          {"control_socket", (dir.path / "control.sock").string()}}},
        {"log", {{"format", "json"}, {"level", "info"}}},
        {"clients",
         {{{"name", "rras1"}, {"address", "127.0.0.1"}, {"secret", secret}},
          {{"name", "rras2"}, {"address", "127.0.0.2"}, {"secret", secret}}}},
        {"directory", {{"backend", "local"}, {"users_file", "users.json"}}},
        {"eap", eap},
        {"network_policies", !network_policies.is_null() ? network_policies :
         json{{{"name", "VPN Users"},
           {"order", 1},
           {"conditions", {{"user_groups", {"VPN Users"}}, {"nas_port_type", {"Virtual"}}}},
           {"access", "grant"},
           {"constraints",
            {{"authentication_methods", {"PEAP-TLS", "EAP-TLS", "PEAP-MSCHAPv2"}},
             {"session_timeout", 3600}}}},
          {{"name", "Wired"},
           {"order", 2},
           {"conditions", {{"nas_port_type", {"Ethernet"}}}},
           {"access", "grant"},
           {"constraints", {{"authentication_methods", {"PAP"}}}}}}}};
    write_file(dir.path / "npsd.json", cfg.dump(2));
    fs::permissions(dir.path / "npsd.json", fs::perms::owner_read | fs::perms::owner_write);
    npsd = std::make_unique<npsd_process>(dir.path / "npsd.json", dir.path);
  }

  eapol_options user(const std::string& cert, const std::string& key) const {
    eapol_options o;
    o.identity = "anonymous-outer@corp.example.com";  // the certificate decides who it is
    o.ca_cert = (pki / "ca.pem").string();
    o.client_cert = (pki / cert).string();
    o.private_key = (pki / key).string();
    o.attributes = rras_attributes;
    return o;
  }
  // PEAP with inner EAP-TLS ("Smart Card or other certificate"), as Always On VPN does it.
  eapol_options peap_user(const std::string& cert, const std::string& key) const {
    auto o = user(cert, key);
    o.eap = "PEAP";
    o.ca_cert2 = o.ca_cert;
    o.client_cert2 = o.client_cert;
    o.private_key2 = o.private_key;
    o.client_cert.clear();
    o.private_key.clear();
    return o;
  }
  // npsd logs a decision just after sending its reply: the runs below wait for the line, so
  // that a test reads the decision about its own request.
  eapol_result run(const eapol_options& o) const {
    const auto before = decisions().size();
    auto r = run_eapol_test(o, dir.path, npsd->auth_port, secret);
    wait_for_decisions(before + 1 + static_cast<std::size_t>(o.reauth));
    return r;
  }
  eap_tls_result authenticate(eap_tls_client& c, const std::string& identity) const {
    const auto before = decisions().size();
    auto r = c.authenticate(npsd->auth_port, secret, identity);
    wait_for_decisions(before + 1);
    return r;
  }
  void wait_for_decisions(std::size_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (decisions().size() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // The JSON decision lines of the log, oldest first.
  std::vector<json> decisions() const {
    std::vector<json> out;
    std::istringstream in(npsd->log());
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("msg", "") == "decision") out.push_back(std::move(j));
    }
    return out;
  }
  json last_decision() const {
    auto all = decisions();
    return all.empty() ? json::object() : all.back();
  }
  json status() const {
    const auto r = ::npsd::test::run(std::string(NPSCTL_BINARY) + " status --config " +
                                     (dir.path / "npsd.json").string());
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    return json::parse(r.output);
  }
};

// The first Access-Request of an EAP conversation (EAP-Response/Identity) from `station`:
// npsd answers with the EAP-TLS Start and keeps the conversation until it ends or expires.
radius::bytes identity_request(std::uint8_t id, const std::string& station) {
  radius::packet p;
  p.code = radius::code::access_request;
  p.identifier = id;
  radius::random_bytes(p.authenticator);
  p.add(radius::attr::user_name, std::string_view("someone"));
  p.add(radius::attr::calling_station_id, std::string_view(station));
  p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
  const std::string name = "someone";
  radius::bytes eap = {2, id, 0, static_cast<std::uint8_t>(5 + name.size()), 1};
  eap.insert(eap.end(), name.begin(), name.end());
  p.add(radius::attr::eap_message, radius::byte_view(eap));
  auto wire = radius::encode(p);
  radius::sign_request(*wire, secret);
  return *wire;
}

}  // namespace

TEST_CASE("EAP-TLS and PEAP-TLS: TLS 1.2 and 1.3, RSA and ECDSA, an intermediate CA, 200-byte fragments: MPPE keys OK") {
  eap_server s;
  struct run_case {
    const char* method;  // EAP-TLS or PEAP-TLS
    const char* what;
    const char* cert;
    const char* key;
    const char* tls;
    int fragment_size;
    const char* identity;  // what the certificate maps to
    const char* version;   // what npsd logs
  };
  const run_case cases[] = {
      {"EAP-TLS", "RSA, TLS 1.2", "alice.pem", "alice.key", "1.2", 0, "alice@corp.example.com", "TLSv1.2"},
      {"EAP-TLS", "RSA, TLS 1.3", "alice.pem", "alice.key", "1.3", 0, "alice@corp.example.com", "TLSv1.3"},
      {"EAP-TLS", "ECDSA, TLS 1.2", "bob.pem", "bob.key", "1.2", 0, "bob@corp.example.com", "TLSv1.2"},
      {"EAP-TLS", "ECDSA, TLS 1.3", "bob.pem", "bob.key", "1.3", 0, "bob@corp.example.com", "TLSv1.3"},
      {"EAP-TLS", "intermediate CA, TLS 1.2", "carol-chain.pem", "carol.key", "1.2", 0,
       "carol@corp.example.com", "TLSv1.2"},
      {"EAP-TLS", "intermediate CA, TLS 1.3, fragment_size=200", "carol-chain.pem", "carol.key",
       "1.3", 200, "carol@corp.example.com", "TLSv1.3"},
      {"EAP-TLS", "fragment_size=200, TLS 1.2", "alice.pem", "alice.key", "1.2", 200,
       "alice@corp.example.com", "TLSv1.2"},
      {"PEAP-TLS", "RSA, TLS 1.2", "alice.pem", "alice.key", "1.2", 0, "alice@corp.example.com", "TLSv1.2"},
      {"PEAP-TLS", "RSA, TLS 1.3", "alice.pem", "alice.key", "1.3", 0, "alice@corp.example.com", "TLSv1.3"},
      {"PEAP-TLS", "ECDSA, TLS 1.3", "bob.pem", "bob.key", "1.3", 0, "bob@corp.example.com", "TLSv1.3"},
      {"PEAP-TLS", "intermediate CA, fragment_size=200", "carol-chain.pem", "carol.key", "1.2", 200,
       "carol@corp.example.com", "TLSv1.2"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.method);
    CAPTURE(c.what);
    auto o = std::string(c.method) == "PEAP-TLS" ? s.peap_user(c.cert, c.key) : s.user(c.cert, c.key);
    o.tls = c.tls;
    o.fragment_size = c.fragment_size;
    const auto r = s.run(o);
    INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
    CHECK(r.success);
    CHECK(r.mppe_ok == 1);
    CHECK(r.mppe_mismatch == 0);
    CHECK(r.accepts == 1);
    if (c.fragment_size == 200) CHECK(r.challenges >= 10);  // the handshake took many rounds
    const auto d = s.last_decision();
    INFO(d.dump());
    CHECK(d.value("result", "") == "Access-Accept");
    CHECK(d.value("np", "") == "VPN Users");
    CHECK(d.value("method", "") == c.method);
    CHECK(d.value("tls", "") == c.version);
    CHECK(d.value("cert_identity", "") == c.identity);
  }
}

TEST_CASE("EAP-TLS failures end in Access-Reject with their reason code, never a hang") {
  eap_server s;
  struct run_case {
    const char* what;
    const char* cert;
    const char* key;
    std::vector<std::string> attributes;  // empty: RRAS's
    int reason;
    bool peap = false;
  };
  const run_case cases[] = {
      {"issuer not trusted", "rogue.pem", "rogue.key", {}, 265},
      {"PEAP-TLS, inner certificate's issuer not trusted", "rogue.pem", "rogue.key", {}, 265, true},
      {"PEAP-TLS, inner certificate expired", "expired.pem", "expired.key", {}, 288, true},
      {"expired", "expired.pem", "expired.key", {}, 288},
      {"no Client Authentication EKU", "noeku.pem", "noeku.key", {}, 283},
      {"not in the policy's group", "dave.pem", "dave.key", {}, 48},
      {"a method the matching policy does not allow", "alice.pem", "alice.key", {"61:d:15"}, 66},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto o = c.peap ? s.peap_user(c.cert, c.key) : s.user(c.cert, c.key);
    if (!c.attributes.empty()) o.attributes = c.attributes;
    const auto before = s.decisions().size();
    const auto r = s.run(o);
    INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
    CHECK_FALSE(r.success);
    CHECK_FALSE(r.timed_out);
    CHECK(r.rejects == 1);
    CHECK(r.accepts == 0);
    REQUIRE(s.decisions().size() == before + 1);
    const auto d = s.last_decision();
    INFO(d.dump());
    CHECK(d.value("result", "") == "Access-Reject");
    CHECK(d.value("reason", -1) == c.reason);
    // Every certificate failure names the certificate.
    CHECK(d.value("cert_subject", "") != "");
    CHECK(d.value("cert_serial", "") != "");
  }

  SUBCASE("a disabled account is rejected with 34 after a reload") {
    write_file(s.dir.path / "users.json", users(false).dump(2));
    s.npsd->signal(SIGHUP);
    REQUIRE(s.npsd->wait_for_log("configuration reloaded"));
    const auto r = s.run(s.user("alice.pem", "alice.key"));
    CHECK(r.rejects == 1);
    CHECK(s.last_decision().value("reason", -1) == 34);
  }
}

namespace {

// VmRSS of a process, in KiB (0 when unknown).
}  // namespace

TEST_CASE("EAP: a conversation started by one RADIUS client cannot be continued by another") {
  eap_server s;
  const auto request = [&](const radius::bytes& eap, const radius::bytes& state) {
    radius::packet p;
    p.identifier = 7;
    radius::random_bytes(p.authenticator);
    p.add(radius::attr::user_name, std::string_view("someone"));
    p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
    p.add(radius::attr::eap_message, radius::byte_view(eap));
    if (!state.empty()) p.add(radius::attr::state, radius::byte_view(state));
    auto wire = *radius::encode(p);
    radius::sign_request(wire, secret);
    return wire;
  };
  udp_client rras1("127.0.0.1"), rras2("127.0.0.2");
  rras1.send(s.npsd->auth_port, request({2, 1, 0, 12, 1, 's', 'o', 'm', 'e', 'o', 'n', 'e'}, {}));
  const auto challenge = rras1.receive(std::chrono::milliseconds(2000));
  REQUIRE(challenge);
  const auto c = *radius::decode(*challenge);
  REQUIRE(c.code == radius::code::access_challenge);
  const auto* state = c.find(radius::attr::state);
  REQUIRE(state != nullptr);
  const auto eap = c.concat(radius::attr::eap_message);
  // The answer to the EAP-TLS Start, from the other client with the first one's State.
  rras2.send(s.npsd->auth_port, request({2, eap[1], 0, 6, 13, 0}, state->value));
  const auto reply = rras2.receive(std::chrono::milliseconds(2000));
  REQUIRE(reply);
  CHECK(radius::decode(*reply)->code == radius::code::access_reject);
  s.wait_for_decisions(1);
  const auto d = s.last_decision();
  CHECK(d.value("client", "") == "rras2");
  CHECK(d.value("reason", -1) == 3);
  CHECK(d.value("reason_text", "").find("another RADIUS client") != std::string::npos);
}

TEST_CASE("EAP: thousands of abandoned conversations stay within the bounds, and their memory returns") {
  eap_server s({{"max_conversations", 1000}, {"max_conversations_per_station", 5},
                {"conversation_timeout_seconds", 2}});
  udp_client c;
  const long pid = s.status().at("pid").get<long>();
  const long rss_before = rss_kib(pid);
  // 3000 conversations started from 500 stations, then 500 from one station: none finished.
  int challenges = 0;
  for (int i = 0; i < 3500; ++i) {
    const auto station = i < 3000 ? "station-" + std::to_string(i % 500) : std::string("one");
    c.send(s.npsd->auth_port, identity_request(static_cast<std::uint8_t>(i), station));
    if (const auto reply = c.receive(std::chrono::milliseconds(2000)); reply && (*reply)[0] == 11)
      ++challenges;
  }
  CHECK(challenges == 3500);  // each was answered with the EAP-TLS start
  auto st = s.status().at("eap");
  INFO(st.dump());
  CHECK(st.at("conversations").get<int>() <= 1000);
  CHECK(st.at("conversations_evicted").get<int>() >= 2500);
  const long rss_peak = rss_kib(pid);
  // A real user still authenticates meanwhile.
  const auto r = s.run(s.user("alice.pem", "alice.key"));
  CHECK(r.success);
  CHECK(r.mppe_ok == 1);
  // Their time is up: npsd drops them by itself, with no further request, and frees them.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  st = s.status().at("eap");
  INFO(st.dump());
  CHECK(st.at("conversations").get<int>() == 0);
  CHECK(st.at("conversations_expired").get<int>() >= 900);
  const long rss_after = rss_kib(pid);
  INFO("RSS KiB before " << rss_before << ", with the conversations " << rss_peak << ", after "
                         << rss_after);
#ifndef NPSD_SANITIZED  // ASan keeps freed memory in quarantine; TSan's shadow memory is RSS
  // Handed back (the replies stay in the duplicate cache for its TTL), and bounded all along.
  CHECK(rss_after < rss_peak);
  CHECK(rss_peak - rss_before < 64 * 1024);
  CHECK(rss_after - rss_before < 16 * 1024);
#endif
}

TEST_CASE("EAP: 100,000 conversations started and abandoned, from many stations and from one, "
          "stay within the default bounds while alice authenticates") {
  eap_server s;  // the default limits: 4,096 conversations, 16 per Calling-Station-Id
#ifdef NPSD_SANITIZED
  constexpr int total = 20'000;  // sanitized code runs several times slower
#else
  constexpr int total = 100'000;
#endif
  const long pid = s.status().at("pid").get<long>();
  const long rss_before = rss_kib(pid);
  long rss_peak = rss_before;
  // Four fifths from 10,000 stations, the rest from one; 64 requests outstanding at a time.
  udp_client c;
  int challenges = 0, outstanding = 0, lost = 0;
  const auto reap = [&](std::chrono::milliseconds wait) {
    if (const auto reply = c.receive(wait)) {
      if ((*reply)[0] == 11) ++challenges;
      --outstanding;
      return true;
    }
    return false;
  };
  std::optional<eapol_result> alice;
  std::thread legitimate;
  for (int i = 0; i < total; ++i) {
    const auto station = i < total * 4 / 5 ? "station-" + std::to_string(i % 10'000) : "one";
    c.send(s.npsd->auth_port, identity_request(static_cast<std::uint8_t>(i), station));
    ++outstanding;
    while (outstanding >= 64)
      if (!reap(2000ms)) {
        lost += outstanding;
        outstanding = 0;
      }
    if (i == total / 2)  // alice, in the middle of the flood
      legitimate = std::thread([&] { alice = s.run(s.user("alice.pem", "alice.key")); });
    if (i % 5000 == 0) rss_peak = std::max(rss_peak, rss_kib(pid));
  }
  while (outstanding > 0 && reap(2000ms)) {
  }
  legitimate.join();
  rss_peak = std::max(rss_peak, rss_kib(pid));
  CHECK(s.npsd->alive());
  CHECK(lost == 0);
  CHECK(challenges == total);  // every one was answered with the EAP-TLS Start
  REQUIRE(alice.has_value());
  CHECK(alice->success);
  CHECK(alice->mppe_ok == 1);
  const auto st = s.status().at("eap");
  INFO(st.dump());
  CHECK(st.at("conversations").get<int>() <= 4096);
  CHECK(st.at("conversations_evicted").get<int>() >= total - 4096);
#ifndef NPSD_SANITIZED  // ASan keeps freed memory in quarantine; TSan's shadow memory is RSS
  // Bounded by the limits: 4,096 conversations kept, the duplicate cache's 65,536 replies.
  CHECK(rss_peak - rss_before < 96 * 1024);
#endif
  MESSAGE(total << " abandoned conversations: " << st.at("conversations") << " kept, "
          << st.at("conversations_evicted") << " evicted; npsd RSS +" << (rss_peak - rss_before)
          << " KiB; alice authenticated meanwhile");
}

TEST_CASE("EAP-TLS revocation: CRLs per CA in require, best_effort and off modes, re-read when they change") {
  const auto& pki = test_pki();
  SUBCASE("require: a revoked certificate is 289, a CA without a CRL 258; a new CRL is picked up") {
    temp_dir crls;
    const auto crl = crls.path / "root.crl";
    fs::copy_file(pki / "ca-empty.crl", crl);
    eap_server s(json{{"revocation",
                   {{"crl_files", {crl.string()}},
                    {"default_mode", "require"},
                    {"check_interval_seconds", 1}}}});
    auto r = s.run(s.user("revoked.pem", "revoked.key"));  // not on the empty CRL yet
    CHECK(r.success);
    r = s.run(s.user("carol-chain.pem", "carol.key"));  // the intermediate has no CRL here
    CHECK(r.rejects == 1);
    CHECK(s.last_decision().value("reason", -1) == 258);
    fs::copy_file(pki / "ca.crl", crl, fs::copy_options::overwrite_existing);
    REQUIRE(s.npsd->wait_for_log("CRL files reloaded", 1, std::chrono::milliseconds(5000)));
    r = s.run(s.user("revoked.pem", "revoked.key"));
    CHECK(r.rejects == 1);
    CHECK(s.last_decision().value("reason", -1) == 289);
    r = s.run(s.user("alice.pem", "alice.key"));
    CHECK(r.success);
    CHECK(r.mppe_ok == 1);
  }
  SUBCASE("best_effort accepts a CA without a CRL but still refuses a revoked certificate") {
    eap_server s(json{{"revocation",
                   {{"crl_files", {(pki / "ca.crl").string()}}, {"default_mode", "best_effort"}}}});
    auto r = s.run(s.user("carol-chain.pem", "carol.key"));
    CHECK(r.success);
    r = s.run(s.peap_user("revoked.pem", "revoked.key"));
    CHECK(r.rejects == 1);
    CHECK(s.last_decision().value("reason", -1) == 289);
  }
  SUBCASE("off for one CA (as for Entra ID's VPN CA) checks nothing of its certificates") {
    eap_server s(json{{"revocation",
                   {{"crl_files", {(pki / "ca.crl").string()}},
                    {"default_mode", "require"},
                    {"cas", {{{"certificate", (pki / "ca.pem").string()}, {"mode", "off"}}}}}}});
    auto r = s.run(s.user("revoked.pem", "revoked.key"));
    CHECK(r.success);
    r = s.run(s.user("carol-chain.pem", "carol.key"));  // the intermediate: require, no CRL
    CHECK(r.rejects == 1);
    CHECK(s.last_decision().value("reason", -1) == 258);
  }
}

TEST_CASE("EAP fast reconnect: eapol_test's second authentication resumes, EAP-TLS and PEAP-TLS, and is decided by policy") {
  eap_server s;
  for (const bool peap : {false, true}) {
    for (const char* tls : {"1.2", "1.3", "1.2 carol"}) {
      CAPTURE(peap);
      CAPTURE(tls);
      // carol's certificate comes from the intermediate CA, which only her chain carries: the
      // resumed session (whose ticket holds only the leaf) must still verify
      const bool carol = std::string(tls) == "1.2 carol";
      const auto cert = carol ? "carol-chain.pem" : "alice.pem";
      const auto key = carol ? "carol.key" : "alice.key";
      auto o = peap ? s.peap_user(cert, key) : s.user(cert, key);
      if (carol) tls = "1.2";
      o.tls = tls;
      o.session_resumption = true;
      o.reauth = 1;
      const auto before = s.decisions().size();
      const auto r = s.run(o);
      INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
      CHECK(r.success);
      CHECK(r.mppe_ok == 2);
      CHECK(r.mppe_mismatch == 0);
      const auto d = s.decisions();
      REQUIRE(d.size() == before + 2);
      CHECK_FALSE(d[before].contains("resumed"));
      CHECK(d[before + 1].value("resumed", false));
      CHECK(d[before + 1].value("np", "") == "VPN Users");
      CHECK(d[before + 1].value("cert_identity", "") ==
            (carol ? "carol@corp.example.com" : "alice@corp.example.com"));
    }
  }
}

TEST_CASE("EAP-TLS fast reconnect is authorised again: removed from the group in between -> rejected 48") {
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(version);
    eap_server s;
    eap_tls_client c(s.pki / "ca.pem", s.pki / "alice.pem", s.pki / "alice.key", version);
    auto r = s.authenticate(c, "alice");
    CHECK(r.code == "Access-Accept");
    CHECK(r.mppe_match);
    CHECK_FALSE(r.resumed);
    r = s.authenticate(c, "alice");
    CHECK(r.code == "Access-Accept");
    CHECK(r.mppe_match);
    CHECK(r.resumed);
    CHECK(s.last_decision().value("resumed", false));
    // alice leaves VPN Users; npsd reloads its configuration (the session stays resumable)
    write_file(s.dir.path / "users.json", users(true, false).dump(2));
    s.npsd->signal(SIGHUP);
    REQUIRE(s.npsd->wait_for_log("configuration reloaded"));
    r = s.authenticate(c, "alice");
    CHECK(r.code == "Access-Reject");
    const auto d = s.last_decision();
    INFO(d.dump());
    CHECK(d.value("resumed", false));
    CHECK(d.value("reason", -1) == 48);
  }
}

TEST_CASE("PEAP-MSCHAPv2 with the NT hash of the local user file: MPPE keys OK; a wrong password or no NT hash is 16") {
  eap_server s;
  const auto peap_password = [&](const std::string& user, const std::string& password) {
    eapol_options o;
    o.eap = "PEAP";
    o.identity = user;
    o.password = password;
    o.ca_cert = (s.pki / "ca.pem").string();
    o.attributes = rras_attributes;
    return o;
  };
  auto r = s.run(peap_password("erin", "erin-password"));
  INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
  CHECK(r.success);
  CHECK(r.mppe_ok == 1);
  CHECK(r.mppe_mismatch == 0);
  auto d = s.last_decision();
  CHECK(d.value("result", "") == "Access-Accept");
  CHECK(d.value("method", "") == "PEAP-MSCHAPv2");
  CHECK(d.value("np", "") == "VPN Users");

  r = s.run(peap_password("CORP\\erin", "erin-password"));  // DOMAIN\user, as Windows sends it
  CHECK(r.success);

  r = s.run(peap_password("erin", "not-erins-password"));
  CHECK(r.rejects == 1);
  CHECK_FALSE(r.timed_out);
  d = s.last_decision();
  CHECK(d.value("reason", -1) == 16);

  r = s.run(peap_password("alice", "whatever"));  // an account without an NT hash
  CHECK(r.rejects == 1);
  d = s.last_decision();
  CHECK(d.value("reason", -1) == 16);
  CHECK(d.value("reason_text", "").find("NT hash") != std::string::npos);

  r = s.run(peap_password("nobody", "whatever"));
  CHECK(r.rejects == 1);
  CHECK(s.last_decision().value("reason", -1) == 8);
}

TEST_CASE("certificate constraints on a policy: required EKU (283) and issuing CA (265)") {
  const json policies = {
      {{"name", "Issued by the issuing CA, with Client Authentication"},
       {"order", 1},
       {"conditions", {{"nas_port_type", {"Virtual"}}}},
       {"access", "grant"},
       {"constraints",
        {{"certificate_ekus", {"1.3.6.1.5.5.7.3.2"}},
         {"certificate_issuer", "^CN=npsd Test Issuing CA"}}}},
      {{"name", "Entra ID conditional access"},
       {"order", 2},
       {"conditions", {{"nas_port_type", {"Ethernet"}}}},
       {"access", "grant"},
       {"constraints", {{"certificate_ekus", {"1.3.6.1.4.1.311.87"}}}}}};
  eap_server s(json::object(), policies);
  auto r = s.run(s.user("carol-chain.pem", "carol.key"));  // issued by the issuing CA
  CHECK(r.success);
  CHECK(r.mppe_ok == 1);
  r = s.run(s.user("alice.pem", "alice.key"));  // issued by the root
  CHECK(r.rejects == 1);
  auto d = s.last_decision();
  CHECK(d.value("reason", -1) == 265);
  CHECK(d.value("np", "") == "Issued by the issuing CA, with Client Authentication");
  auto o = s.user("alice.pem", "alice.key");
  o.attributes = {"61:d:15"};  // Ethernet: the Entra ID policy, whose EKU alice lacks
  r = s.run(o);
  CHECK(r.rejects == 1);
  d = s.last_decision();
  CHECK(d.value("reason", -1) == 283);

  // npsctl policy test predicts the same, given the certificate's issuer and EKUs
  const auto dry = [&](const std::string& args) {
    return ::npsd::test::run(std::string(NPSCTL_BINARY) + " policy test --config " +
                             (s.dir.path / "npsd.json").string() +
                             " --client rras1 --user alice --auth-method EAP-TLS " + args);
  };
  auto t = dry("--nas-port-type Virtual --cert-issuer 'CN=npsd Test Root CA,O=npsd test'");
  CHECK_MESSAGE(t.output.find("Decision: Access-Reject, reason 265") != std::string::npos, t.output);
  t = dry("--nas-port-type Virtual --cert-issuer 'CN=npsd Test Issuing CA,O=npsd test'");
  CHECK_MESSAGE(t.output.find("Decision: Access-Accept") != std::string::npos, t.output);
  t = dry("--nas-port-type Ethernet --cert-issuer 'CN=npsd Test Root CA,O=npsd test'");
  CHECK_MESSAGE(t.output.find("Decision: Access-Reject, reason 283") != std::string::npos, t.output);
}

TEST_CASE("EAP: the method offered first is the one the identity's network policy allows") {
  const json policies = {{{"name", "PEAP-TLS only"},
                          {"order", 1},
                          {"conditions", {{"user_groups", {"VPN Users"}}}},
                          {"access", "grant"},
                          {"constraints", {{"authentication_methods", {"PEAP-TLS"}}}}}};
  eap_server s(json::object(), policies);
  auto o = s.peap_user("alice.pem", "alice.key");
  o.identity = "alice@corp.example.com";  // known to the directory: its policy is known
  auto r = s.run(o);
  CHECK(r.success);
  CHECK(r.output.find("CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=25") != std::string::npos);
  CHECK(r.output.find("-> NAK") == std::string::npos);  // no round lost to a NAK
  // An unknown outer identity gets the configured order (EAP-TLS first) and NAKs to PEAP.
  o.identity = "anonymous@corp.example.com";
  r = s.run(o);
  CHECK(r.success);
  CHECK(r.output.find("method=13 -> NAK") != std::string::npos);
  // EAP-TLS is still refused by the policy, whatever was offered: 66.
  auto t = s.user("alice.pem", "alice.key");
  t.identity = "alice@corp.example.com";
  r = s.run(t);
  CHECK(r.rejects == 1);
  CHECK(s.last_decision().value("reason", -1) == 66);
}
