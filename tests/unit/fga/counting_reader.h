// A TupleReader for tests that counts each kind of call and passes it on (not owned).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fga/tuple.h"

namespace tessera::fga::test_support {

class CountingReader final : public TupleReader {
 public:
  explicit CountingReader(TupleReader& inner) : inner_(inner) {}
  Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                            std::string_view relation) override {
    ++reads;
    return inner_.read(object, relation);
  }
  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user) override {
    ++point_reads;
    return inner_.read_user_tuple(object, relation, user);
  }
  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation) override {
    ++userset_reads;
    auto out = inner_.read_userset_tuples(object, relation);
    if (out.ok()) userset_tuples += static_cast<int>(out->size());
    return out;
  }
  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) override {
    ++reverse_reads;
    return inner_.read_starting_with_user(object_type, relation, users);
  }
  void reset() { reads = point_reads = userset_reads = userset_tuples = reverse_reads = 0; }
  int reads = 0;
  int point_reads = 0;
  int userset_reads = 0;
  int userset_tuples = 0;
  int reverse_reads = 0;

 private:
  TupleReader& inner_;
};

}  // namespace tessera::fga::test_support
