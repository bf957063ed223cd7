// RFC 8941 Dictionaries as Signature-Input and Signature carry them (RFC 9421 §4): the examples
// of RFC 8941 §3.2 and §3.1.2, the failures §4.2 names, and the serialisation §4.1 gives.
#include "core/structured_fields.h"

#include <gtest/gtest.h>

#include <string>

namespace tessera::sf {
namespace {

const Item& item_of(const Dictionary& d, std::string_view key) {
  const Member* m = find(d, key);
  EXPECT_NE(m, nullptr) << key;
  static const Item kNone{false, {}};
  return m != nullptr && std::holds_alternative<Item>(*m) ? std::get<Item>(*m) : kNone;
}

TEST(StructuredFields, DictionaryExamplesOfRfc8941) {
  // §3.2
  auto d = parse_dictionary(R"(en="Applepie", da=:w4ZibGV0w6ZydGU=:)");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2U);
  EXPECT_EQ(item_of(*d, "en").value, BareItem{std::string("Applepie")});
  EXPECT_EQ(item_of(*d, "da").value, BareItem{ByteSequence{"\xc3\x86"
                                                           "blet\xc3\xa6rte"}});

  // A member without a value is Boolean true, with parameters.
  d = parse_dictionary("a=?0, b, c; foo=bar");
  ASSERT_TRUE(d);
  EXPECT_EQ(item_of(*d, "a").value, BareItem{false});
  EXPECT_EQ(item_of(*d, "b").value, BareItem{true});
  EXPECT_EQ(item_of(*d, "c").value, BareItem{true});
  ASSERT_EQ(item_of(*d, "c").params.size(), 1U);
  EXPECT_EQ(*find(item_of(*d, "c").params, "foo"), BareItem{Token{"bar"}});

  d = parse_dictionary("rating=1.5, feelings=(joy sadness)");
  ASSERT_TRUE(d);
  EXPECT_EQ(item_of(*d, "rating").value, BareItem{Decimal{1.5}});
  const auto& feelings = std::get<InnerList>(*find(*d, "feelings"));
  ASSERT_EQ(feelings.items.size(), 2U);
  EXPECT_EQ(feelings.items[1].value, BareItem{Token{"sadness"}});

  d = parse_dictionary("a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 4U);
  const auto& dl = std::get<InnerList>(*find(*d, "d"));
  EXPECT_EQ(*find(dl.params, "valid"), BareItem{true});
  EXPECT_EQ(item_of(*d, "b").value, BareItem{int64_t{3}});
}

TEST(StructuredFields, ALaterMemberOfTheSameNameReplacesTheFirstInItsPlace) {
  auto d = parse_dictionary("a=1, b=2, a=3");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2U);
  EXPECT_EQ((*d)[0].first, "a");
  EXPECT_EQ(item_of(*d, "a").value, BareItem{int64_t{3}});
}

TEST(StructuredFields, WhatRfc8941RefusesFailsTheWholeField) {
  for (const char* bad : {
           "a=1,",                  // trailing comma
           "a=1,,b=2",              // empty member
           "A=1",                   // keys are lowercase
           "a=\"open",              // unterminated string
           "a=\"bad \\x escape\"",  // only \" and \\ escape
           "a=\"tab\there\"",       // control character in a string
           "a=1234567890123456",    // integers have at most 15 digits
           "a=1.2345",              // decimals at most three fractional digits
           "a=1.",                  // and at least one
           "a=1234567890123.5",     // at most 12 integer digits
           "a=:not base64!:",       // byte sequence alphabet
           "a=:AAA",                // unterminated byte sequence
           "a=?2",                  // booleans are ?0 and ?1
           "a=@1618884473",         // a Date is RFC 9651, not RFC 8941
           "a=%\"x\"",              // nor a Display String
           "a=(1 2",                // unterminated inner list
           "a=(1,2)",               // items are space-separated
           "a=1 b=2",               // members are comma-separated
           "a=1;B=2",               // parameter keys are lowercase too
       }) {
    EXPECT_FALSE(parse_dictionary(bad)) << bad;
  }
}

TEST(StructuredFields, SpacesAroundMembersAreAllowedAsTheRfcSays) {
  auto d = parse_dictionary("  a=1 ,\tb=( x  y );p  ");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), 2U);
  EXPECT_EQ(std::get<InnerList>(*find(*d, "b")).items.size(), 2U);
  EXPECT_TRUE(parse_dictionary(""));  // an empty field is an empty dictionary
}

TEST(StructuredFields, InnerListsSerialiseAsRfc9421SignsThem) {
  // RFC 9421 §2.3's example of signature parameters.
  auto d = parse_dictionary(
      R"(sig1=("@target-uri" "@authority" "date" "cache-control");keyid="test-key-rsa-pss";alg="rsa-pss-sha512";created=1618884475;expires=1618884775)");
  ASSERT_TRUE(d);
  const auto& list = std::get<InnerList>(*find(*d, "sig1"));
  EXPECT_EQ(
      serialize(list),
      R"(("@target-uri" "@authority" "date" "cache-control");keyid="test-key-rsa-pss";alg="rsa-pss-sha512";created=1618884475;expires=1618884775)");
  // Whitespace is not kept; a true parameter is its key alone; strings escape " and \.
  d = parse_dictionary(R"(s=(  "a\"b"   "c\\d" );flag;n=-7;t=tok/en:x;d=2.50)");
  ASSERT_TRUE(d);
  EXPECT_EQ(serialize(std::get<InnerList>(*find(*d, "s"))),
            R"(("a\"b" "c\\d");flag;n=-7;t=tok/en:x;d=2.5)");
}

TEST(StructuredFields, WhatCannotBeSerialisedIsRefused) {
  EXPECT_FALSE(serialize(BareItem{std::string("line\nbreak")}));
  EXPECT_FALSE(serialize(BareItem{int64_t{1'000'000'000'000'000}}));
  EXPECT_FALSE(serialize(BareItem{Token{"9lives"}}));
  EXPECT_FALSE(serialize(Parameters{{"Upper", BareItem{true}}}));
  EXPECT_EQ(serialize(BareItem{ByteSequence{"hello"}}), ":aGVsbG8=:");
  EXPECT_EQ(serialize(BareItem{Decimal{-0.25}}), "-0.25");
  EXPECT_EQ(serialize(BareItem{Decimal{-0.0001}}), "0.0") << "rounds to zero, unsigned";
}

TEST(StructuredFields, AByteSequenceWithoutPaddingIsRead) {
  // §4.2.7: "parsers SHOULD NOT fail when '=' padding is not present".
  auto d = parse_dictionary("a=:aGVsbG8:");
  ASSERT_TRUE(d);
  EXPECT_EQ(item_of(*d, "a").value, BareItem{ByteSequence{"hello"}});
  // Nor on non-zero pad bits: "aGVsbG9=" is "hello" with the last 2 bits set.
  d = parse_dictionary("a=:aGVsbG9=:, b=::, c=:w4ZibGV0w6ZydGU=:");
  ASSERT_TRUE(d);
  EXPECT_EQ(item_of(*d, "a").value, BareItem{ByteSequence{"hello"}});
  EXPECT_EQ(item_of(*d, "b").value, BareItem{ByteSequence{""}});
  EXPECT_EQ(item_of(*d, "c").value, BareItem{ByteSequence{"\xc3\x86"
                                                          "blet\xc3\xa6rte"}});
  EXPECT_FALSE(parse_dictionary("a=:aG=VsbG8:")) << "'=' inside";
  EXPECT_FALSE(parse_dictionary("a=:aGVsb:")) << "a length no base64 has";
}

}  // namespace
}  // namespace tessera::sf
