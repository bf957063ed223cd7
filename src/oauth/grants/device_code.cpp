// Device access token request (RFC 8628 §3.4, §3.5): the device polls with its device_code until
// the user has decided on the verification page. Pending: authorization_pending, or slow_down
// when it polls faster than the interval (which then grows by 5 seconds); denied: access_denied;
// past expires_in: expired_token; approved: the tokens, once. The CIBA token request (CIBA
// §10.1, §11) is the same poll with auth_req_id and the same errors.
#include "oauth/ciba.h"
#include "oauth/device.h"
#include "oauth/grant.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

using PollOutcome = store::GrantStore::PollOutcome;

// RFC 8628 §3.5: these errors are 400 with the RFC 6749 §5.2 body.
OAuthError device_error(std::string code, std::string description) {
  return OAuthError{400, std::move(code), std::move(description)};
}

// The device grant (backchannel false: codes of /device_authorization, by device_code) or the
// CIBA grant (true: requests of /bc-authorize, by auth_req_id); neither takes the other's codes.
class DeviceCodeGrant final : public Grant {
 public:
  DeviceCodeGrant(const GrantContext& context, bool backchannel)
      : context_(context),
        backchannel_(backchannel),
        parameter_(backchannel ? "auth_req_id" : "device_code") {}

  std::string_view grant_type() const override {
    return backchannel_ ? kCibaGrantType : kDeviceCodeGrantType;
  }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    auto device_code = request.params.get(parameter_);
    if (!device_code || device_code->empty()) {
      return Err(OAuthError::invalid_request(parameter_ + " is missing"));
    }
    const std::string unknown = "unknown " + parameter_;
    if (device_code->size() > 256) return Err(OAuthError::invalid_grant(unknown));
    auto poll = context_.grants.poll_device(token_hash(*device_code), request.client.client_id);
    if (!poll) return Err(OAuthError::server_error("the store is unavailable"));
    if (poll->device) {
      auto asked = DeviceRequest::from_json(poll->device->params_json);
      if (!asked || asked->backchannel() != backchannel_) {
        return Err(OAuthError::invalid_grant(unknown));
      }
    }
    switch (poll->outcome) {
      case PollOutcome::kUnknown:
        return Err(OAuthError::invalid_grant(unknown));
      case PollOutcome::kExpired:
        return Err(device_error("expired_token", "the " + parameter_ + " has expired"));
      case PollOutcome::kPending:
        return Err(device_error("authorization_pending", "the user has not decided yet"));
      case PollOutcome::kSlowDown:
        return Err(device_error(
            "slow_down", "poll every " + std::to_string(poll->device->interval) + " seconds"));
      case PollOutcome::kDenied:
        return Err(device_error("access_denied", "the user denied the request"));
      case PollOutcome::kRedeemed:
        return Err(OAuthError::invalid_grant("the " + parameter_ + " was already used"));
      case PollOutcome::kApproved:
        break;
    }
    if (!poll->device->grant_id) return Err(OAuthError::server_error("approval without a grant"));
    auto grant = context_.grants.find_grant(*poll->device->grant_id);
    if (!grant) return Err(OAuthError::server_error("the store is unavailable"));
    if (!*grant || (*grant)->revoked_at || (*grant)->client_id != request.client.client_id) {
      return Err(OAuthError::invalid_grant("the authorization was revoked"));
    }
    // Minted first, spent second: a request refused while minting (a resource outside the
    // grant, a disabled user) leaves the approval for the next poll; of concurrent polls, the
    // one whose redeem_device wins answers the tokens.
    auto minted = mint_for_grant(context_, request, **grant, std::nullopt);
    if (!minted) return Err(minted.error());
    auto spent = context_.grants.redeem_device(token_hash(*device_code), request.client.client_id);
    if (!spent) return Err(OAuthError::server_error("the store is unavailable"));
    if (!*spent) return Err(OAuthError::invalid_grant("the " + parameter_ + " was already used"));
    if (auto refused = store_minted(context_, minted->records)) return Err(std::move(*refused));
    return std::move(minted->response);
  }

 private:
  GrantContext context_;
  bool backchannel_;
  std::string parameter_;
};

}  // namespace

std::unique_ptr<Grant> make_device_code_grant(const GrantContext& context) {
  return std::make_unique<DeviceCodeGrant>(context, false);
}

std::unique_ptr<Grant> make_ciba_grant(const GrantContext& context) {
  return std::make_unique<DeviceCodeGrant>(context, true);
}

}  // namespace tessera::oauth
