// doctest entry point of unit_http (crypto, auth, router, HTTP server, CLI config and replies).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
