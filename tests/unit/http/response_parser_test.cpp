// The clients' HTTP/1.1 answer parser (src/http/http1_parser.h, Kind::kResponse): RFC 9112 cases
// one by one, any split of the bytes giving the same result, and a differential run against
// Beast's response_parser (which the clients used before) over mutated answers.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "http/http1_parser.h"
#include "support/response_parser_oracle.h"

namespace tessera::http::internal {
namespace {

using Error = Http1Parser::Error;

constexpr size_t kHeaderLimit = 512;
constexpr size_t kBodyLimit = 256;

using Parsed = testing::ParsedResponse;

Parsed parse(std::string_view wire, bool to_head = false, bool eof = false, size_t piece = 0) {
  return testing::parse_response(wire, kHeaderLimit, kBodyLimit, to_head, piece, eof);
}

// The same result whichever way the bytes arrive.
Parsed parse_every_way(std::string_view wire, bool to_head = false, bool eof = false) {
  Parsed whole = parse(wire, to_head, eof);
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}}) {
    Parsed split = parse(wire, to_head, eof, piece);
    const std::string where = std::to_string(piece) + " [" + testing::escaped(wire) + "]";
    EXPECT_EQ(split.done, whole.done) << where;
    EXPECT_EQ(split.error, whole.error) << where;
    EXPECT_EQ(split.header_done, whole.header_done) << where;
    EXPECT_EQ(split.status, whole.status) << where;
    EXPECT_EQ(split.version, whole.version) << where;
    EXPECT_EQ(split.keep_alive, whole.keep_alive) << where;
    EXPECT_EQ(split.fields, whole.fields) << where;
    // The content of a refused answer is what came before the refusal, which depends on the
    // pieces (content that runs to the close is taken as it comes): not compared.
    if (whole.error == Error::kNone) {
      EXPECT_EQ(split.body, whole.body) << where;
    }
    EXPECT_EQ(split.put_eof_called, whole.put_eof_called) << where;
    EXPECT_EQ(split.put_eof_completed, whole.put_eof_completed) << where;
    if (whole.done) {
      EXPECT_EQ(split.consumed, whole.consumed) << where;
    }
  }
  // put_eof() says what done() says.
  if (whole.put_eof_called) {
    EXPECT_EQ(whole.put_eof_completed, whole.done) << testing::escaped(wire);
  }
  return whole;
}

Error error_of(std::string_view wire, bool to_head = false) {
  return parse_every_way(wire, to_head).error;
}

TEST(ResponseParser, AnOkWithContentLengthAndFields) {
  const std::string answer =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
      "Cache-Control:   no-store \t\r\nX-Empty:\r\n\r\n{\"ok\":true}";
  Parsed p = parse_every_way(answer + "HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.error, Error::kNone);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.version, 11);
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(p.fields,
            (std::vector<std::string>{"Content-Type: application/json", "Content-Length: 11",
                                      "Cache-Control: no-store", "X-Empty: "}));
  EXPECT_EQ(p.body, "{\"ok\":true}");
  // The next answer's bytes are left for it.
  EXPECT_EQ(p.consumed, answer.size());
  // With the close right after, still the same answer: put_eof() is not needed.
  Parsed closed = parse_every_way(answer, false, true);
  ASSERT_TRUE(closed.done);
  EXPECT_FALSE(closed.put_eof_called);
  EXPECT_EQ(closed.body, "{\"ok\":true}");
}

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
TEST(ResponseParser, ReasonPhraseVariants) {
  const std::string tail = "\r\nContent-Length: 2\r\n\r\nok";
  for (std::string_view line : {
           "HTTP/1.1 200 OK",
           "HTTP/1.1 200",   // the SP before an empty reason left out, as servers do
           "HTTP/1.1 200 ",  // an empty reason
           "HTTP/1.1 200 Perfectly  Fine, Thanks ",
           "HTTP/1.1 200 \tTab\tSeparated",
           "HTTP/1.1 200 Tr\xc3\xa8s bien",  // obs-text
           "HTTP/1.1 200 200 OK",
       }) {
    Parsed p = parse_every_way(std::string(line) + tail);
    ASSERT_TRUE(p.done) << line;
    EXPECT_EQ(p.status, 200) << line;
    EXPECT_EQ(p.body, "ok") << line;
  }
  for (std::string_view line : {
           std::string_view("HTTP/1.1 200 O\x01K"), std::string_view("HTTP/1.1 200 O\x7fK"),
           std::string_view("HTTP/1.1 200 O\0K", 16), std::string_view("HTTP/1.1 200 O\x1bK"),
           std::string_view("HTTP/1.1 200 O\rK"), std::string_view("HTTP/1.1 200 OK\r"),
           std::string_view("HTTP/1.1 200OK"),    // no SP after the code
           std::string_view("HTTP/1.1 200\tOK"),  // HTAB is not the SP
       }) {
    EXPECT_EQ(error_of(std::string(line) + tail), Error::kMalformed) << testing::escaped(line);
  }
}

TEST(ResponseParser, BadStatusCodesAreRefused) {
  for (std::string_view line : {
           "HTTP/1.1 20 OK",  "HTTP/1.1 20",      "HTTP/1.1 2000 OK", "HTTP/1.1 2O0 OK",
           "HTTP/1.1 abc OK", "HTTP/1.1 099 Low", "HTTP/1.1 000",     "HTTP/1.1 -20 OK",
           "HTTP/1.1 +20 OK", "HTTP/1.1  200 OK", " HTTP/1.1 200 OK", "http/1.1 200 OK",
           "HTTP/1.1",        "HTTP/1.1 ",        "HTTP/1.1 OK",      "HTTP/1.10 200 OK",
           "HTTP/1 200 OK",   "HTTP/1.1\t200 OK", "HTTP/1.1 2 0 0",   "OK",
       }) {
    EXPECT_EQ(error_of(std::string(line) + "\r\nContent-Length: 0\r\n\r\n"), Error::kMalformed)
        << line;
  }
  // RFC 9110 §15: three digits; a client reads a code it does not know by its class (and one
  // over 599 as a 5xx): the code is the client's to judge.
  for (int code : {100, 199, 200, 299, 418, 599, 600, 999}) {
    const bool interim = code < 200;
    Parsed p =
        parse_every_way("HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Length: 1\r\n\r\nx");
    ASSERT_TRUE(p.done) << code;
    EXPECT_EQ(p.status, code);
    EXPECT_EQ(p.body, interim ? "" : "x") << code;
  }
}

TEST(ResponseParser, OnlyHttp1IsSpoken) {
  EXPECT_EQ(error_of("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), Error::kVersionNotSupported);
  EXPECT_EQ(error_of("HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n"), Error::kVersionNotSupported);
  EXPECT_EQ(error_of("HTTP/3.0 200\r\n\r\n"), Error::kVersionNotSupported);
  Parsed old = parse_every_way("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(old.done);
  EXPECT_EQ(old.version, 10);
  Parsed later_minor = parse_every_way("HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(later_minor.done);  // RFC 9110 §2.5: read as the highest minor version we know
  EXPECT_EQ(later_minor.version, 11);
}

// RFC 9112 §9.3.
TEST(ResponseParser, PersistenceFollowsVersionAndConnection) {
  auto keeps = [](const std::string& head) {
    Parsed p = parse_every_way(head + "Content-Length: 0\r\n\r\n");
    EXPECT_TRUE(p.done) << head;
    return p.keep_alive;
  };
  EXPECT_TRUE(keeps("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(keeps("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"));
  EXPECT_FALSE(keeps("HTTP/1.1 200 OK\r\nConnection: x, Close\r\n"));
  EXPECT_FALSE(keeps("HTTP/1.1 200 OK\r\nConnection: x\r\nConnection: close\r\n"));
  EXPECT_FALSE(keeps("HTTP/1.0 200 OK\r\n"));
  EXPECT_TRUE(keeps("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"));
  EXPECT_TRUE(keeps("HTTP/1.0 200 OK\r\nConnection: x,,keep-alive\r\n"));
  EXPECT_FALSE(keeps("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n"));
  EXPECT_FALSE(keeps("HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\n"));
  // The options are tokens.
  EXPECT_EQ(error_of("HTTP/1.1 200 OK\r\nConnection: a b\r\nContent-Length: 0\r\n\r\n"),
            Error::kMalformed);
  // §9.6: content that ends with the connection ends it, whatever Connection says.
  Parsed until_close =
      parse_every_way("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabc", false, true);
  ASSERT_TRUE(until_close.done);
  EXPECT_FALSE(until_close.keep_alive);
  // Interim and bodiless answers say nothing of the content, and keep the connection.
  EXPECT_TRUE(parse_every_way("HTTP/1.1 204 No Content\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse_every_way("HTTP/1.1 200 OK\r\n\r\n", true).keep_alive);
  EXPECT_TRUE(parse_every_way("HTTP/1.1 100 Continue\r\n\r\n").keep_alive);
}

// RFC 9112 §6.3 item 1: an answer to HEAD, a 1xx, 204 or 304 ends with its header section,
// whatever its fields say; what follows is the next answer.
TEST(ResponseParser, NoContentFor1xx204304AndHead) {
  struct Case {
    std::string_view line;
    bool to_head;
  };
  for (const Case& c : {
           Case{"HTTP/1.1 100 Continue", false},
           Case{"HTTP/1.1 101 Switching Protocols", false},
           Case{"HTTP/1.1 103 Early Hints", false},
           Case{"HTTP/1.1 199", false},
           Case{"HTTP/1.1 204 No Content", false},
           Case{"HTTP/1.1 304 Not Modified", false},
           Case{"HTTP/1.0 304 Not Modified", false},
           Case{"HTTP/1.1 200 OK", true},
           Case{"HTTP/1.1 404 Not Found", true},
           Case{"HTTP/1.1 204 No Content", true},
       }) {
    for (std::string_view framing : {"Content-Length: 5\r\n", "Content-Length: 100000\r\n",
                                     "Transfer-Encoding: chunked\r\n", ""}) {
      if (c.line.starts_with("HTTP/1.0") && framing.starts_with("Transfer")) continue;
      const std::string head = std::string(c.line) + "\r\nX: y\r\n" + std::string(framing) + "\r\n";
      for (std::string_view next : {"", "hello", "5\r\nhello\r\n0\r\n\r\n",
                                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}) {
        for (bool eof : {false, true}) {
          Parsed p = parse_every_way(head + std::string(next), c.to_head, eof);
          const std::string what = testing::escaped(head) + " then " + std::string(next);
          ASSERT_TRUE(p.done) << what;
          EXPECT_EQ(p.error, Error::kNone) << what;
          EXPECT_EQ(p.status, std::stoi(std::string(c.line.substr(9, 3)))) << what;
          EXPECT_EQ(p.body, "") << what;
          EXPECT_EQ(p.consumed, head.size()) << what;
          EXPECT_FALSE(p.put_eof_called) << what;
          EXPECT_EQ(p.keep_alive, c.line.starts_with("HTTP/1.1")) << what;
          EXPECT_EQ(p.fields.size(), framing.empty() ? 1u : 2u) << what;
        }
      }
    }
  }
}

// A 100 Continue, then the final answer on the same bytes: the parser starts again.
TEST(ResponseParser, AFinalAnswerFollowsAnInterimOne) {
  const std::string interim = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n";
  const std::string final_answer = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  std::string wire = interim + final_answer;
  Http1Parser parser(Http1Parser::Kind::kResponse, kHeaderLimit, kBodyLimit);
  Headers headers;
  std::string body;
  parser.start(headers, body);
  EXPECT_EQ(parser.put(wire), interim.size());
  ASSERT_TRUE(parser.done());
  EXPECT_EQ(parser.status(), 100);
  EXPECT_EQ(headers.get("X-Interim"), "1");
  wire.erase(0, interim.size());
  parser.start(headers, body);
  EXPECT_FALSE(parser.done());
  EXPECT_EQ(parser.put(wire), wire.size());
  ASSERT_TRUE(parser.done());
  EXPECT_EQ(parser.status(), 201);
  EXPECT_EQ(body, "ok");
  EXPECT_FALSE(headers.get("X-Interim").has_value());
  EXPECT_EQ(parser.put("HTTP/1.1 200 OK\r\n"), 0u);  // done: the rest is not this answer's
}

TEST(ResponseParser, ChunkedAnswerWithExtensionsAndATrailer) {
  const std::string answer =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
      "5;name=value\r\nhello\r\n1A ; x=\"y;z\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "a;q;r = \"\\\"\"\r\n0123456789\r\n000;last\r\nChecksum: abc\r\nX-Other:\r\n\r\n";
  Parsed p = parse_every_way(answer + "HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.status, 200);
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(p.body, "helloabcdefghijklmnopqrstuvwxyz0123456789");
  EXPECT_EQ(p.consumed, answer.size());
  // RFC 9112 §7.1.2: the trailer's fields are not header fields.
  EXPECT_EQ(p.fields,
            (std::vector<std::string>{"Transfer-Encoding: chunked", "Content-Type: text/plain"}));
  // Empty content; the coding named in any case.
  Parsed empty = parse_every_way("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(empty.done);
  EXPECT_EQ(empty.body, "");
}

// RFC 9112 §6.3 item 8: neither Content-Length nor Transfer-Encoding: the content runs to the
// close.
TEST(ResponseParser, ContentUntilTheConnectionCloses) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  const std::string content = "all of this,\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil the close";
  Parsed closed = parse_every_way(head + content, false, true);
  ASSERT_TRUE(closed.done);
  EXPECT_TRUE(closed.put_eof_called);
  EXPECT_TRUE(closed.put_eof_completed);
  EXPECT_EQ(closed.body, content);
  EXPECT_EQ(closed.consumed, head.size() + content.size());
  EXPECT_FALSE(closed.keep_alive);
  EXPECT_EQ(closed.fields, (std::vector<std::string>{"Content-Type: text/plain"}));
  // Before the close, every byte is taken and the answer is not over.
  Parsed open = parse_every_way(head + content);
  EXPECT_FALSE(open.done);
  EXPECT_EQ(open.error, Error::kNone);
  EXPECT_TRUE(open.header_done);
  EXPECT_EQ(open.body, content);
  EXPECT_EQ(open.consumed, head.size() + content.size());
  // No content at all.
  Parsed nothing = parse_every_way(head, false, true);
  ASSERT_TRUE(nothing.done);
  EXPECT_EQ(nothing.body, "");
  // HTTP/1.0 too.
  Parsed old = parse_every_way("HTTP/1.0 200 OK\r\n\r\nabc", false, true);
  ASSERT_TRUE(old.done);
  EXPECT_EQ(old.body, "abc");

  Http1Parser parser(Http1Parser::Kind::kResponse, kHeaderLimit, kBodyLimit);
  Headers headers;
  std::string body;
  parser.start(headers, body);
  EXPECT_EQ(parser.put(head), head.size());
  EXPECT_TRUE(parser.header_done());
  EXPECT_FALSE(parser.content_started());
  EXPECT_EQ(parser.put("abc"), 3u);
  EXPECT_TRUE(parser.content_started());
  EXPECT_EQ(parser.put(""), 0u);
  EXPECT_EQ(parser.put("def"), 3u);
  EXPECT_FALSE(parser.done());
  EXPECT_TRUE(parser.put_eof());
  EXPECT_TRUE(parser.done());
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_EQ(parser.put("ghi"), 0u);
  EXPECT_TRUE(parser.put_eof());
  EXPECT_EQ(body, "abcdef");
}

TEST(ResponseParser, PutEofOnACutAnswerIsNotCompletion) {
  for (std::string_view cut : {
           "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
           "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n",
           "HTTP/1.1 200 OK\r\nContent-Le",
           "HTTP/1.1 200 OK\r\n",
           "HTTP/1.1 20",
           "\r\n",
           "",
       }) {
    Parsed p = parse_every_way(cut, false, true);
    EXPECT_FALSE(p.done) << testing::escaped(cut);
    EXPECT_EQ(p.error, Error::kNone) << testing::escaped(cut);
    EXPECT_TRUE(p.put_eof_called) << testing::escaped(cut);
    EXPECT_FALSE(p.put_eof_completed) << testing::escaped(cut);
  }
  // An answer to HEAD is not cut by a close before the end of its header section.
  Parsed head = parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", true, true);
  EXPECT_FALSE(head.done);
  EXPECT_FALSE(head.put_eof_completed);
}

// RFC 9112 §6.1, §6.3, §11.1: framing that could be read two ways is refused.
TEST(ResponseParser, AmbiguousFramingIsRefused) {
  for (std::string_view head : {
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,",
           "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked",
           "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
       }) {
    EXPECT_EQ(error_of(std::string(head) + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), Error::kMalformed)
        << head;
    // And refused before any content is taken, close or no close.
    Parsed p = parse(std::string(head) + "\r\n\r\nhello", false, true);
    EXPECT_FALSE(p.done) << head;
    EXPECT_EQ(p.body, "") << head;
  }
  for (std::string_view head : {
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
       }) {
    EXPECT_EQ(error_of(std::string(head) + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
              Error::kNotImplemented)
        << head;
  }
}

TEST(ResponseParser, ContentLengthIsOneNumber) {
  EXPECT_EQ(parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc").body, "abc");
  EXPECT_EQ(
      parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc").body,
      "abc");
  EXPECT_EQ(parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 003\r\n\r\nabcd").body, "abc");
  for (std::string_view length :
       {"3, 4", "3\r\nContent-Length: 4", "3\r\nContent-Length:", "-1", ",3", "3,", "+3", "0x3",
        "3 3", "3;", "", "abc", "99999999999999999999"}) {
    EXPECT_EQ(error_of("HTTP/1.1 200 OK\r\nContent-Length: " + std::string(length) + "\r\n\r\nabc"),
              Error::kMalformed)
        << length;
  }
}

TEST(ResponseParser, MalformedLinesAreRefused) {
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& bad : {
           std::string("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),  // bare LF
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"),
           std::string("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n"),  // bare CR
           std::string("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: a\r\n\tfolded\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\n X: a\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX(: a\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: a\x01\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: a\x7f\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: a") + '\0' + "b\r\nContent-Length: 0\r\n\r\n",
           chunked + "z\r\n",                               // not hex
           chunked + "\r\nhello\r\n0\r\n\r\n",              // no size
           chunked + "5\nhello\r\n0\r\n\r\n",               // bare LF
           chunked + "5\r\nhello\n0\r\n\r\n",               //
           chunked + "5\r\nhelloo\r\n0\r\n\r\n",            // more data than the size
           chunked + "5 x\r\nhello\r\n0\r\n\r\n",           // not an extension
           chunked + "5;\r\nhello\r\n0\r\n\r\n",            // no extension name
           chunked + "5;a=\r\nhello\r\n0\r\n\r\n",          // no value
           chunked + "5;a=\"b\r\nhello\r\n0\r\n\r\n",       // an unclosed quoted string
           chunked + "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n",  // a control in one
           chunked + "11111111111111111\r\n",               // over 64 bits
           chunked + "0\r\nbad trailer\r\n\r\n",            //
           chunked + "0\r\nT: 1\r\n folded\r\n\r\n",        // obs-fold in a trailer
           chunked + "0\r\nT: a\x01\r\n\r\n",               //
           chunked + "0\r\nT: 1\n\r\n",                     //
           chunked + "0\r\n\n",                             //
       }) {
    EXPECT_EQ(error_of(bad), Error::kMalformed) << testing::escaped(bad);
  }
  // Values may hold obs-text.
  EXPECT_EQ(
      parse_every_way("HTTP/1.1 200 OK\r\nX: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n").fields,
      (std::vector<std::string>{"X: caf\xc3\xa9", "Content-Length: 0"}));
}

TEST(ResponseParser, LimitsHold) {
  // The header section, its final CRLF included.
  const std::string line = "HTTP/1.1 200 OK\r\n";
  const std::string field = "X: " + std::string(kHeaderLimit - line.size() - 5 - 2, 'v') + "\r\n";
  Parsed at_limit = parse_every_way(line + field + "\r\n", false, true);
  EXPECT_TRUE(at_limit.done);
  EXPECT_EQ(error_of(line + "X: v" + field + "\r\n"), Error::kHeaderTooLarge);
  // A line that never ends is refused once it passes the limit, before any LF.
  EXPECT_EQ(parse(line + "X: " + std::string(kHeaderLimit * 4, 'v')).error, Error::kHeaderTooLarge);
  EXPECT_EQ(parse("HTTP/1.1 200 " + std::string(kHeaderLimit * 4, 'r')).error,
            Error::kHeaderTooLarge);
  // Also for answers without content.
  EXPECT_EQ(error_of("HTTP/1.1 204 No Content\r\nX: v" + field + "\r\n"), Error::kHeaderTooLarge);
  EXPECT_EQ(error_of(line + "X: v" + field + "\r\n", true), Error::kHeaderTooLarge);

  // Content-Length.
  EXPECT_EQ(error_of("HTTP/1.1 200 OK\r\nContent-Length: 257\r\n\r\n"), Error::kContentTooLarge);
  EXPECT_EQ(
      parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n" + std::string(256, 'b'))
          .body,
      std::string(256, 'b'));
  // None to read: no limit to pass.
  EXPECT_TRUE(parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", true).done);
  EXPECT_TRUE(parse_every_way("HTTP/1.1 304 Not Modified\r\nContent-Length: 100000\r\n\r\n").done);

  // Chunked: the chunks together.
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(error_of(chunked + "100\r\n" + std::string(256, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n"),
            Error::kContentTooLarge);
  EXPECT_EQ(error_of(chunked + "101\r\n"), Error::kContentTooLarge);
  EXPECT_EQ(parse_every_way(chunked + "80\r\n" + std::string(128, 'b') + "\r\n80\r\n" +
                            std::string(128, 'b') + "\r\n0\r\n\r\n")
                .body.size(),
            256u);

  // Until the close: refused as soon as it passes, close or no close.
  const std::string until_close = "HTTP/1.1 200 OK\r\n\r\n";
  Parsed full = parse_every_way(until_close + std::string(256, 'b'), false, true);
  ASSERT_TRUE(full.done);
  EXPECT_EQ(full.body.size(), 256u);
  EXPECT_EQ(error_of(until_close + std::string(257, 'b')), Error::kContentTooLarge);
  EXPECT_EQ(parse_every_way(until_close + std::string(257, 'b'), false, true).error,
            Error::kContentTooLarge);

  // Chunk extensions and trailer fields have a limit of their own, apart from the header's.
  const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n";
  const std::string full_head =
      chunked_head + "X: " + std::string(kHeaderLimit - chunked_head.size() - 5 - 2, 'v') +
      "\r\n\r\n";
  ASSERT_EQ(full_head.size(), kHeaderLimit);
  // The trailer section, its final CRLF included, is held to the limit as the header is.
  const size_t trailer_room = kHeaderLimit - 5 - 2;
  Parsed trailer_at_limit = parse_every_way(
      full_head + "1\r\nb\r\n0\r\nT: " + std::string(trailer_room, 't') + "\r\n\r\n");
  EXPECT_TRUE(trailer_at_limit.done);
  EXPECT_EQ(trailer_at_limit.body, "b");
  EXPECT_EQ(
      error_of(full_head + "1\r\nb\r\n0\r\nT: " + std::string(trailer_room + 1, 't') + "\r\n\r\n"),
      Error::kHeaderTooLarge);
  EXPECT_EQ(error_of(chunked + "1;" + std::string(kHeaderLimit, 'e') + "\r\nb\r\n0\r\n\r\n"),
            Error::kMalformed);
}

// ---- Differential: the same verdict and the same answer as Beast's parser --------------------

// Every entry of known_difference_response is a difference (the list does not hide agreement
// that could be tested), and the oracle sees it.
TEST(ResponseParser, KnownDifferencesAreDifferences) {
  struct Case {
    std::string wire;
    bool eof;
  };
  for (
      const Case& c : {
          Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", false},
          Case{"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
               false},
          Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", true},
          Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
               "0\r\n\r\n",
               false},
          Case{"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
          Case{
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"\x01\"\r\nb\r\n0\r\n\r\n",
              false},
          Case{
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n",
              false},
          Case{
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nConnection: close\r\n\r\n",
              false},
          Case{"HTTP/1.1 200 OK\r\nProxy-Connection: a b\r\nContent-Length: 0\r\n\r\n", false},
          Case{"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
               false},
          Case{"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false},
          Case{"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", false},
          Case{"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", false},
          Case{"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false},
          Case{"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", false},
      }) {
    EXPECT_TRUE(testing::known_difference_response(c.wire)) << testing::escaped(c.wire);
    EXPECT_NE(testing::disagreement(c.wire, kHeaderLimit, kBodyLimit, false, c.eof), "")
        << testing::escaped(c.wire);
  }
}

// Answers picked at the edges of the grammar (chunk lines, list syntax, limits, cut answers), each
// to a GET and to a HEAD, with and without the close after it.
TEST(ResponseParser, AgreesWithBeastOnEdgeCases) {
  const std::string c = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string h = "HTTP/1.1 200 OK\r\n";
  for (const std::string& w : {
           c + "00000000000000000005\r\nhello\r\n0\r\n\r\n",
           c + "A\r\n0123456789\r\n0\r\n\r\n",
           c + "5\t\r\nhello\r\n0\r\n\r\n",
           c + "5 \r\nhello\r\n0\r\n\r\n",
           c + "5 ;a\r\nhello\r\n0\r\n\r\n",
           c + "5; a = b\r\nhello\r\n0\r\n\r\n",
           c + "5;a=\"\"\r\nhello\r\n0\r\n\r\n",
           c + "5;a=b c\r\nhello\r\n0\r\n\r\n",
           c + "5;a=b;\r\nhello\r\n0\r\n\r\n",
           c + "5;a=\"\\\x80\"\r\nhello\r\n0\r\n\r\n",
           c + "5;a=\x80\r\nhello\r\n0\r\n\r\n",
           c + "0 \r\n\r\n",
           c + "0\r\nT:\r\n\r\n",
           c + "0\r\nT : 1\r\n\r\n",
           c + "0\r\nT: a\x80\r\n\r\n",
           c + "0\r\n\r\nHTTP/1.1",
           c + "-5\r\nhello\r\n0\r\n\r\n",
           c + "0x5\r\nhello\r\n0\r\n\r\n",
           c + "ffffffffffffffff\r\n",
           h + "Content-Length: 01\r\n\r\nx",
           h + "Content-Length: 18446744073709551615\r\n\r\n",
           h + "Content-Length: 18446744073709551616\r\n\r\n",
           h + "Content-Length:\t3\t\r\n\r\nabc",
           h + "Content-Length: 3,\t3\r\n\r\nabc",
           h + "Content-Length: 3 ,3\r\n\r\nabc",
           h + "X\x80: a\r\nContent-Length: 0\r\n\r\n",
           h + "X: \t \r\nContent-Length: 0\r\n\r\n",
           h + "X:a\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: keep-alive, , close\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: ,\r\nContent-Length: 0\r\n\r\n",
           h + "Connection:\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: close,\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: \"close\"\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: close;x\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: clos\x80"
               "e\r\nContent-Length: 0\r\n\r\n",
           h + "Connection: Keep-Alive\r\n\r\nabc",
           std::string("HTTP/1.1 200    \r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\n\r\n") + std::string(256, 'x'),
           std::string("HTTP/1.1 200 OK\r\n\r\n") + std::string(257, 'x'),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
           std::string("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"),
           std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                       "upgrade\r\n\r\nxyz"),
           std::string("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: "
                       "upgrade\r\nContent-Length: 1\r\n\r\nxyz"),
           std::string("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nxyz"),
           std::string("HTTP/1.1 200 OK\r\n\r"),
           std::string("HTTP/1.1 200 OK\r\nX: 1\r\n\r"),
           std::string("HTTP/1.1 200 OK\r\nX: 1\r\n"),
           std::string("HTTP/1.1 200 OK\r\nX: 1"),
           std::string("HTTP/1.1 200 OK\r"),
           std::string("HTTP/1.1 200 OK"),
           std::string("H"),
           std::string("\x80"),
       }) {
    if (testing::known_difference_response(w)) continue;
    for (bool to_head : {false, true}) {
      for (bool eof : {false, true}) {
        EXPECT_EQ(testing::disagreement(w, kHeaderLimit, kBodyLimit, to_head, eof), "")
            << (to_head ? "(to HEAD) " : "") << (eof ? "(then closed) " : "") << "["
            << testing::escaped(w) << "]";
      }
    }
  }
}

TEST(ResponseParser, AgreesWithBeastOnMutatedAnswers) {
  struct Seed {
    std::string wire;
    bool to_head;
  };
  const std::vector<Seed> seeds = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
       "Cache-Control: no-store\r\n\r\n{\"ok\":true}",
       false},
      {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 5\r\n\r\noops!",
       false},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;e=1\r\nefg\r\n"
       "0\r\nT: 1\r\n\r\n",
       false},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n" + std::string(254, 'x'), false},
      {"HTTP/1.0 302 Found\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nab", false},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
      {"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", false},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false},
      {"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
      {"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nTransfer-Encoding: chunked\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/html\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
  };
  const std::string alphabet = std::string("\r\n :;,\t014aAzZ-/.\x7f\x01\x80\xff", 21) + '\0';
  std::mt19937 rng(20261127);
  int compared = 0, done_both = 0, refused_both = 0, until_close_both = 0, mismatches = 0;
  for (int round = 0; round < 100000; ++round) {
    const Seed& seed = seeds[rng() % seeds.size()];
    std::string wire = seed.wire;
    const bool to_head = seed.to_head || rng() % 8 == 0;
    const bool eof = rng() % 2 == 0;
    testing::mutate(wire, rng, alphabet);
    // Ours gives the same whichever way the bytes come (a piece size chosen each round).
    const Parsed ours = parse(wire, to_head, eof);
    const size_t piece = std::vector<size_t>{1, 2, 3, 7, 64}[rng() % 5];
    const Parsed split = parse(wire, to_head, eof, piece);
    if (split.done != ours.done || split.error != ours.error ||
        (ours.error == Error::kNone && split.body != ours.body) || split.fields != ours.fields ||
        split.keep_alive != ours.keep_alive || (ours.done && split.consumed != ours.consumed)) {
      ADD_FAILURE() << "split in " << piece << " differs: [" << testing::escaped(wire) << "]";
      if (++mismatches > 20) return;
    }
    if (testing::known_difference_response(wire)) continue;
    ++compared;
    const std::string differs = testing::disagreement(wire, kHeaderLimit, kBodyLimit, to_head, eof);
    if (!differs.empty()) {
      ADD_FAILURE() << differs << (to_head ? " (to HEAD)" : "") << (eof ? " (then closed)" : "")
                    << ": [" << testing::escaped(wire) << "]";
      if (++mismatches > 20) return;
      continue;
    }
    if (ours.done) {
      ++done_both;
      if (ours.put_eof_called) ++until_close_both;
    }
    if (ours.error != Error::kNone &&
        testing::beast_parse_response(wire, kHeaderLimit, kBodyLimit, to_head, eof).error !=
            Error::kNone) {
      ++refused_both;
    }
  }
  // The mutations reach every outcome often (not a run that compared nothing).
  EXPECT_GT(compared, 60000);
  EXPECT_GT(done_both, 10000);
  EXPECT_GT(refused_both, 10000);
  EXPECT_GT(until_close_both, 2000);
}

}  // namespace
}  // namespace tessera::http::internal
