// The store section of the configuration, as the store layer takes it; shared by `serve` and the
// administration commands so they open the same database the same way.
#pragma once

#include "app/config.h"
#include "store/store.h"

namespace tessera::app {

store::StoreConfig store_config(const StoreConfigYaml& c);

}  // namespace tessera::app
