// The SQL implementations of the narrow stores; one each, running on both dialects.
#pragma once

#include <memory>

#include "core/clock.h"
#include "store/client_store.h"
#include "store/database.h"
#include "store/grant_store.h"
#include "store/replay_cache.h"
#include "store/session_store.h"
#include "store/setting_store.h"
#include "store/signing_key_store.h"
#include "store/user_store.h"

namespace tessera::store {

std::unique_ptr<SigningKeyStore> make_sql_signing_key_store(Database& database);
std::unique_ptr<ReplayCache> make_sql_replay_cache(Database& database, const Clock& clock);
std::unique_ptr<SettingStore> make_sql_setting_store(Database& database, const Clock& clock);
std::unique_ptr<ClientStore> make_sql_client_store(Database& database, const Clock& clock);
std::unique_ptr<UserStore> make_sql_user_store(Database& database, const Clock& clock);
std::unique_ptr<SessionStore> make_sql_session_store(Database& database, const Clock& clock);
std::unique_ptr<ConsentStore> make_sql_consent_store(Database& database, const Clock& clock);
std::unique_ptr<GrantStore> make_sql_grant_store(Database& database, const Clock& clock);

}  // namespace tessera::store
