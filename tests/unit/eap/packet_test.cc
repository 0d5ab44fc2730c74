// eap/packet.h: EAP packets (RFC 3748 4) and their carriage in RADIUS EAP-Message (RFC 3579 3.1).
#include "eap/packet.h"

#include <doctest/doctest.h>

#include <numeric>

using namespace npsd;
using eap::bytes;

namespace {

bytes counting(std::size_t n, std::uint8_t start = 0) {
  bytes b(n);
  std::iota(b.begin(), b.end(), start);
  return b;
}

// A RADIUS packet whose EAP-Message attributes carry `eap` in pieces of `piece` bytes.
radius::packet radius_with_pieces(const bytes& eap, std::size_t piece) {
  radius::packet p;
  p.add(radius::attr::user_name, std::string_view("alice"));
  for (std::size_t off = 0; off < eap.size(); off += piece)
    p.add(radius::attr::eap_message,
          eap::byte_view(eap).subspan(off, std::min(piece, eap.size() - off)));
  p.add(radius::attr::nas_port, std::string_view("x"));
  return p;
}

}  // namespace

TEST_CASE("parse then encode round-trips Request, Response, Success and Failure byte for byte") {
  const bytes request = {1, 7, 0, 10, eap::type::tls, 0x20, 'a', 'b', 'c', 'd'};
  const bytes response = {2, 7, 0, 6, eap::type::tls, 0x00};
  const bytes identity = {2, 0, 0, 10, eap::type::identity, 'a', 'l', 'i', 'c', 'e'};
  const bytes success = {3, 9, 0, 4};
  const bytes failure = {4, 255, 0, 4};

  const auto rq = eap::parse(request);
  REQUIRE(rq);
  CHECK(rq->code == eap::code::request);
  CHECK(rq->identifier == 7);
  CHECK(rq->type == eap::type::tls);
  CHECK(rq->data == bytes{0x20, 'a', 'b', 'c', 'd'});
  CHECK(eap::encode(*rq) == request);

  const auto rs = eap::parse(response);
  REQUIRE(rs);
  CHECK(rs->code == eap::code::response);
  CHECK(rs->data == bytes{0x00});
  CHECK(eap::encode(*rs) == response);

  const auto id = eap::parse(identity);
  REQUIRE(id);
  CHECK(id->type == eap::type::identity);
  CHECK(std::string(id->data.begin(), id->data.end()) == "alice");
  CHECK(eap::encode(*id) == identity);

  const auto s = eap::parse(success);
  REQUIRE(s);
  CHECK(s->code == eap::code::success);
  CHECK(s->identifier == 9);
  CHECK(s->data.empty());
  CHECK(eap::encode(*s) == success);

  const auto f = eap::parse(failure);
  REQUIRE(f);
  CHECK(f->code == eap::code::failure);
  CHECK(f->identifier == 255);
  CHECK(eap::encode(*f) == failure);
}

TEST_CASE("a Request or Response with a type and no data is 5 bytes and round-trips") {
  const bytes ack = {2, 3, 0, 5, eap::type::tls};
  const auto p = eap::parse(ack);
  REQUIRE(p);
  CHECK(p->type == eap::type::tls);
  CHECK(p->data.empty());
  CHECK(eap::encode(*p) == ack);
}

TEST_CASE("encode writes the length field, Success and Failure drop type and data") {
  eap::packet p{eap::code::request, 42, eap::type::tls, counting(300)};
  const auto wire = eap::encode(p);
  REQUIRE(wire.size() == 305);
  CHECK(wire[2] == 0x01);
  CHECK(wire[3] == 0x31);  // 305
  const auto back = eap::parse(wire);
  REQUIRE(back);
  CHECK(back->data == p.data);

  eap::packet s{eap::code::success, 5, eap::type::tls, {1, 2, 3}};
  CHECK(eap::encode(s) == bytes{3, 5, 0, 4});
  eap::packet f{eap::code::failure, 6, eap::type::tls, {1, 2, 3}};
  CHECK(eap::encode(f) == bytes{4, 6, 0, 4});
}

TEST_CASE("parse refuses fewer than 4 bytes and a Request or Response of 4 bytes without a type") {
  for (const bytes& b : {bytes{}, bytes{1}, bytes{2, 1}, bytes{3, 1, 0}}) {
    CAPTURE(b.size());
    const auto p = eap::parse(b);
    REQUIRE_FALSE(p);
    CHECK(p.error() == eap::parse_error::too_short);
  }
  for (const std::uint8_t c : {1, 2}) {
    CAPTURE(c);
    const auto p = eap::parse(bytes{c, 1, 0, 4});
    REQUIRE_FALSE(p);
    CHECK(p.error() == eap::parse_error::too_short);
  }
  CHECK_FALSE(eap::parse_error_text(eap::parse_error::too_short).empty());
}

TEST_CASE("parse refuses a length field longer or shorter than the bytes given") {
  const bytes longer = {2, 1, 0, 9, eap::type::tls, 0};          // says 9, has 6
  const bytes shorter = {2, 1, 0, 5, eap::type::tls, 0, 0xff};   // says 5, has 7
  const bytes huge = {1, 1, 0xff, 0xff, eap::type::tls};         // says 65535, has 5
  const bytes zero = {3, 1, 0, 0};                               // says 0, has 4
  for (const bytes* b : {&longer, &shorter, &huge, &zero}) {
    const auto p = eap::parse(*b);
    REQUIRE_FALSE(p);
    CHECK(p.error() == eap::parse_error::bad_length);
  }
  CHECK_FALSE(eap::parse_error_text(eap::parse_error::bad_length).empty());
}

TEST_CASE("parse refuses codes 0 and 5 and every code above 4") {
  for (int c : {0, 5, 6, 100, 255}) {
    CAPTURE(c);
    const auto p = eap::parse(bytes{static_cast<std::uint8_t>(c), 1, 0, 5, 1});
    REQUIRE_FALSE(p);
    CHECK(p.error() == eap::parse_error::unknown_code);
    const auto q = eap::parse(bytes{static_cast<std::uint8_t>(c), 1, 0, 4});
    REQUIRE_FALSE(q);
    CHECK(q.error() == eap::parse_error::unknown_code);
  }
  CHECK_FALSE(eap::parse_error_text(eap::parse_error::unknown_code).empty());
}

TEST_CASE("parse refuses a Success or Failure carrying data") {
  for (const std::uint8_t c : {3, 4}) {
    CAPTURE(c);
    const auto p = eap::parse(bytes{c, 1, 0, 6, 0xaa, 0xbb});
    REQUIRE_FALSE(p);
    CHECK(p.error() == eap::parse_error::bad_length);
  }
}

TEST_CASE("from_radius gives nullopt for a RADIUS packet without EAP-Message") {
  radius::packet p;
  p.add(radius::attr::user_name, std::string_view("alice"));
  CHECK_FALSE(eap::from_radius(p).has_value());
  CHECK_FALSE(eap::from_radius(radius::packet{}).has_value());
}

TEST_CASE("from_radius reassembles an EAP packet split over EAP-Message attributes of 1, 2, 5, "
          "10, 100 and 253 bytes") {
  for (const std::size_t size : {5u, 6u, 253u, 254u, 600u, 1400u}) {
    const eap::packet original{eap::code::response, 17, eap::type::tls, counting(size - 5, 3)};
    const auto wire = eap::encode(original);
    REQUIRE(wire.size() == size);
    for (const std::size_t piece : {1u, 2u, 5u, 10u, 100u, 253u}) {
      CAPTURE(size);
      CAPTURE(piece);
      const auto p = radius_with_pieces(wire, piece);
      CHECK(p.count(radius::attr::eap_message) == (size + piece - 1) / piece);
      const auto got = eap::from_radius(p);
      REQUIRE(got.has_value());
      REQUIRE(got->has_value());
      CHECK(eap::encode(**got) == wire);
      CHECK((*got)->identifier == 17);
      CHECK((*got)->data == original.data);
    }
  }
}

TEST_CASE("from_radius reports a malformed EAP packet as an error, not nullopt") {
  radius::packet p;
  p.add(radius::attr::eap_message, eap::byte_view(bytes{2, 1, 0, 20, 13}));
  const auto got = eap::from_radius(p);
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK(got->error() == eap::parse_error::bad_length);

  // Two EAP packets in one Access-Request are one malformed packet (RFC 3579 3.1).
  radius::packet two;
  const bytes ack = {2, 1, 0, 5, 13};
  eap::add_to_radius(two, ack);
  eap::add_to_radius(two, ack);
  const auto both = eap::from_radius(two);
  REQUIRE(both.has_value());
  REQUIRE_FALSE(both->has_value());
  CHECK(both->error() == eap::parse_error::bad_length);
}

TEST_CASE("add_to_radius splits 600 bytes into EAP-Message attributes of 253, 253 and 94 that "
          "reassemble byte-identical") {
  const eap::packet original{eap::code::request, 4, eap::type::tls, counting(595, 9)};
  const auto wire = eap::encode(original);
  REQUIRE(wire.size() == 600);
  radius::packet p;
  p.add(radius::attr::user_name, std::string_view("alice"));
  eap::add_to_radius(p, wire);
  std::vector<std::size_t> sizes;
  for (const auto& a : p.attributes)
    if (a.type == radius::attr::eap_message) sizes.push_back(a.value.size());
  CHECK(sizes == std::vector<std::size_t>{253, 253, 94});
  CHECK(p.concat(radius::attr::eap_message) == wire);
  const auto got = eap::from_radius(p);
  REQUIRE(got.has_value());
  REQUIRE(got->has_value());
  CHECK(eap::encode(**got) == wire);

  // Exactly 253 bytes is one attribute; 4 bytes (a Success) is one attribute.
  radius::packet q;
  eap::add_to_radius(q, bytes(253, 1));
  CHECK(q.count(radius::attr::eap_message) == 1);
  radius::packet s;
  eap::add_to_radius(s, eap::encode({eap::code::success, 4, 0, {}}));
  REQUIRE(s.count(radius::attr::eap_message) == 1);
  CHECK(s.find(radius::attr::eap_message)->value == bytes{3, 4, 0, 4});
}
