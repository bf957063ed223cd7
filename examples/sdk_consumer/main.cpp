// Validates one access token the way an API built on the SDK does, and prints what it learned:
//   sdk_consumer ISSUER AUDIENCE < token
// Exit 0 and the principal as JSON when the token is valid; exit 1 and the HTTP answer the API
// would give (status, WWW-Authenticate, body) when it is not.
#include <tessera/validator.h>

#include <iostream>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: sdk_consumer ISSUER AUDIENCE < token\n";
    return 2;
  }
  tessera::resource::ValidatorOptions options;
  options.issuer = argv[1];
  options.audiences = {argv[2]};
  options.http_timeout_ms = 2'000;
  auto validator = std::make_shared<tessera::resource::Validator>(options);
  auto cache = std::make_shared<tessera::resource::ClaimsCache>();
  tessera::resource::Authenticator api(validator, cache, [](const tessera::resource::Principal& p) {
    return nlohmann::json{{"tenant", p.subject.empty() ? "none" : "tenant-of-" + p.subject}};
  });

  std::string token;
  std::getline(std::cin, token);
  auto v = api.authenticate_header("Bearer " + token);
  if (!v.ok()) {
    auto c = tessera::resource::challenge_for("api", v.error);
    std::cout << c.status << "\n" << c.www_authenticate << "\n" << c.body << "\n";
    return 1;
  }
  const auto& p = *v.principal;
  std::cout << nlohmann::json{{"sub", p.subject},
                              {"client_id", p.client_id},
                              {"scopes", p.scopes},
                              {"domain_claims", p.domain_claims}}
                   .dump()
            << "\n";
  return 0;
}
