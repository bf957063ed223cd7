// The server's own HTTP/1.1 request parser (src/http/http1_parser.h): RFC 9112 cases one by
// one, any split of the bytes giving the same result, and a differential run against Beast's
// parser (which the server used before) over mutated requests.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "http/http1_parser.h"
#include "support/request_parser_oracle.h"

namespace tessera::http::internal {
namespace {

using Error = Http1Parser::Error;

constexpr size_t kHeaderLimit = 512;
constexpr size_t kBodyLimit = 256;

using Parsed = testing::ParsedRequest;

Parsed parse(std::string_view wire, size_t piece = 0) {
  return testing::parse_request(wire, kHeaderLimit, kBodyLimit, piece);
}

// The same result whichever way the bytes arrive.
Parsed parse_every_way(std::string_view wire) {
  Parsed whole = parse(wire);
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}}) {
    Parsed split = parse(wire, piece);
    EXPECT_EQ(split.done, whole.done) << piece << " " << wire;
    EXPECT_EQ(split.error, whole.error) << piece << " " << wire;
    EXPECT_EQ(split.fields, whole.fields) << piece;
    EXPECT_EQ(split.body, whole.body) << piece;
    if (whole.done) {
      EXPECT_EQ(split.consumed, whole.consumed) << piece;
    }
  }
  return whole;
}

Error error_of(std::string_view wire) { return parse_every_way(wire).error; }

TEST(RequestParser, AGetWithFields) {
  Parsed p = parse_every_way(
      "GET /a/b?c=d HTTP/1.1\r\nHost: api.example\r\nAuthorization:   Bearer x.y.z \t\r\n"
      "X-Empty:\r\n\r\n");
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.target, "/a/b?c=d");
  EXPECT_EQ(p.version, 11);
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(p.fields, (std::vector<std::string>{"Host: api.example", "Authorization: Bearer x.y.z",
                                                "X-Empty: "}));
  EXPECT_EQ(p.body, "");
}

TEST(RequestParser, StopsAtTheEndOfARequestAndLeavesTheNext) {
  const std::string first = "POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  Parsed p = parse_every_way(first + "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.body, "hello");
  EXPECT_EQ(p.consumed, first.size());
}

TEST(RequestParser, ChunkedContentWithExtensionsAndATrailer) {
  Parsed p = parse_every_way(
      "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n1A ; x=\"y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n"
      "Checksum: abc\r\n\r\n");
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.body, "helloabcdefghijklmnopqrstuvwxyz");
  // RFC 9112 §7.1.2: the trailer's fields are not header fields.
  EXPECT_EQ(p.fields, (std::vector<std::string>{"Host: h", "Transfer-Encoding: chunked"}));
}

TEST(RequestParser, PersistenceFollowsVersionAndConnection) {
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, Close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  Parsed later_minor = parse("GET / HTTP/1.7\r\nHost: h\r\n\r\n");  // RFC 9110 §2.5
  ASSERT_TRUE(later_minor.done);
  EXPECT_EQ(later_minor.version, 11);
}

TEST(RequestParser, EmptyLinesBeforeTheRequestLineAreIgnored) {
  Parsed p = parse_every_way("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");  // RFC 9112 §2.2
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.method, "GET");
}

TEST(RequestParser, ContentLengthListsOfOneValue) {
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc").body, "abc");
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc").body,
            "abc");
  for (std::string_view length : {"3, 4", "3\r\nContent-Length: 4", "3\r\nContent-Length:", "-1",
                                  ",3", "3,", "+3", "99999999999999999999"}) {
    EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: " + std::string(length) + "\r\n\r\nabc"),
              Error::kMalformed)
        << length;
  }
}

// RFC 9112 §6.1, §6.3, §11.2: framing that could be read two ways is refused.
TEST(RequestParser, AmbiguousFramingIsRefused) {
  for (std::string_view head : {
           "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:",
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked",
       }) {
    EXPECT_EQ(error_of(std::string(head) + "\r\n\r\n0\r\n\r\n"), Error::kMalformed) << head;
  }
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
            Error::kNotImplemented);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n").body,
            "x");
}

TEST(RequestParser, LinesMustEndInCrlf) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\nHost: h\r\n\r\n"), Error::kMalformed);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\n\r\n"), Error::kMalformed);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\n\n"), Error::kMalformed);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), Error::kMalformed);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n"),
            Error::kMalformed);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n"),
            Error::kMalformed);
}

TEST(RequestParser, MalformedLinesAreRefused) {
  for (std::string_view bad : {
           "GET /  HTTP/1.1\r\n\r\n",             // two spaces
           "GET / HTTP/1.1 \r\n\r\n",             // trailing space
           "G(T / HTTP/1.1\r\n\r\n",              // method not a token
           " GET / HTTP/1.1\r\n\r\n",             // leading space
           "GET /a\x7f HTTP/1.1\r\n\r\n",         // DEL in the target
           "GET / http/1.1\r\n\r\n",              // the name is case-sensitive
           "GET / HTTP/1.10\r\n\r\n",             // one digit each
           "GET / HTTP/1\r\n\r\n",                //
           "GET / HTTP/1.1\r\nHost : h\r\n\r\n",  // RFC 9112 §5.1: space before the colon
           "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",  // §5.2 obs-fold
           "GET / HTTP/1.1\r\n Host: h\r\n\r\n",            // whitespace before the first field
           "GET / HTTP/1.1\r\nNo colon\r\n\r\n",            //
           "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",  // a control character in a value
           "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",   //
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",  // not hex
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\nx\r\n0\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;e=\"a\x01\"\r\nx\r\n0\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
       }) {
    EXPECT_EQ(error_of(bad), Error::kMalformed) << bad;
  }
  EXPECT_EQ(parse("GET /caf\xc3\xa9 HTTP/1.1\r\nX: \xc3\xa9\r\n\r\n").target, "/caf\xc3\xa9");
}

TEST(RequestParser, OnlyHttp1IsSpoken) {
  EXPECT_EQ(error_of("GET / HTTP/2.0\r\n\r\n"), Error::kVersionNotSupported);
  EXPECT_EQ(error_of("GET / HTTP/0.9\r\n\r\n"), Error::kVersionNotSupported);
}

TEST(RequestParser, LimitsHold) {
  const std::string line = "GET / HTTP/1.1\r\n";
  const std::string field = "X: " + std::string(kHeaderLimit - line.size() - 5 - 2, 'v') + "\r\n";
  // Exactly at the limit, the final CRLF included.
  EXPECT_TRUE(parse(line + field + "\r\n").done);
  EXPECT_EQ(error_of(line + "X: v" + field + "\r\n"), Error::kHeaderTooLarge);
  // A line that never ends is refused once it passes the limit, before any LF.
  EXPECT_EQ(parse(line + "X: " + std::string(kHeaderLimit * 4, 'v')).error, Error::kHeaderTooLarge);
  EXPECT_EQ(parse(std::string(kHeaderLimit * 2, '\r')).error, Error::kHeaderTooLarge);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nContent-Length: 257\r\n\r\n"), Error::kContentTooLarge);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 256\r\n\r\n" + std::string(256, 'b')).body,
            std::string(256, 'b'));
  const std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(error_of(chunked + "100\r\n" + std::string(256, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n"),
            Error::kContentTooLarge);
  EXPECT_EQ(parse(chunked + "100\r\n" + std::string(256, 'b') + "\r\n0\r\n\r\n").body.size(), 256u);
  EXPECT_EQ(error_of(chunked + "1;" + std::string(kHeaderLimit, 'e') + "\r\nb\r\n0\r\n\r\n"),
            Error::kMalformed);
  EXPECT_EQ(error_of(chunked + "0\r\nT: " + std::string(kHeaderLimit, 't') + "\r\n\r\n"),
            Error::kHeaderTooLarge);
}

TEST(RequestParser, ProgressIsReported) {
  Http1Parser parser(Http1Parser::Kind::kRequest, kHeaderLimit, kBodyLimit);
  Headers headers;
  std::string body;
  parser.start(headers, body);
  EXPECT_FALSE(parser.got_some());
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(parser.put(head.substr(0, 5)), 0u);
  EXPECT_TRUE(parser.got_some());
  EXPECT_FALSE(parser.header_done());
  EXPECT_EQ(parser.put(head), head.size());
  EXPECT_TRUE(parser.header_done());
  EXPECT_FALSE(parser.content_started());
  EXPECT_FALSE(parser.done());
  EXPECT_EQ(parser.put("a"), 1u);
  EXPECT_TRUE(parser.content_started());
  EXPECT_EQ(parser.put("bGET"), 1u);
  EXPECT_TRUE(parser.done());
  EXPECT_EQ(parser.put("GET"), 0u);
  EXPECT_EQ(body, "ab");
}

// ---- Differential: the same verdict and the same request as Beast's parser ------------------

TEST(RequestParser, AgreesWithBeastOnMutatedRequests) {
  const std::vector<std::string> seeds = {
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): adjacent literals make one seed
      "GET /invoices/1?x=y HTTP/1.1\r\nHost: api.example\r\nAuthorization: Bearer abc.def\r\n"
      "Accept: */*\r\n\r\n",
      "POST /token HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 29\r\n\r\ngrant_type=client_credentials",
      "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"
      "3;e=1\r\nefg\r\n0\r\nT: 1\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\nX-Y: z\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
  };
  const std::string alphabet = std::string("\r\n :;,\t0aAzZ-/.\x7f\x01\x80\xff", 19) + '\0';
  std::mt19937 rng(20261126);
  int compared = 0, done_both = 0, refused_both = 0, mismatches = 0;
  for (int round = 0; round < 200000; ++round) {
    std::string wire = seeds[rng() % seeds.size()];
    testing::mutate(wire, rng, alphabet);
    if (testing::known_difference(wire)) continue;
    ++compared;
    const std::string differs = testing::disagreement(wire, kHeaderLimit, kBodyLimit);
    if (!differs.empty()) {
      ADD_FAILURE() << differs << ": [" << testing::escaped(wire) << "]";
      if (++mismatches > 20) return;
      continue;
    }
    const Parsed ours = parse(wire);
    if (ours.done) ++done_both;
    if (ours.error != Error::kNone &&
        testing::beast_parse(wire, kHeaderLimit, kBodyLimit).error != Error::kNone) {
      ++refused_both;
    }
  }
  // The mutations reach both outcomes often (not a run that compared nothing).
  EXPECT_GT(compared, 120000);
  EXPECT_GT(done_both, 15000);
  EXPECT_GT(refused_both, 15000);
}

}  // namespace
}  // namespace tessera::http::internal
