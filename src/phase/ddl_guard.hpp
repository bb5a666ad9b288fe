/*
 * ddl_guard.hpp — refusing DDL on the tables of an open migration made
 * outside the extension; see ddl_guard.cpp.
 */
#pragma once

#include "pg.hpp"

namespace ec {

/* expand_contract.guard_ddl */
void define_ddl_guard_settings();

} // namespace ec
