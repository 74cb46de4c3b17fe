# Store adapters (fs/store/store_mem.c, fs/store/store_rados.c): one conformance body,
# tests/unit/store_conformance.c, runs against both, so the mem store the
# core's unit tests use behaves as RADOS does.
#
#   test_store_mem     the mem store, plus fault injection        (label unit)
#   test_store_rados   real RADOS on the "ceph" fixture, plus     (label rados)
#                      fencing by blocklist and opening errors
#   test_store_metrics the metrics layer over the mem store     (label unit)

add_library(flocker_store_conformance STATIC ${CMAKE_CURRENT_SOURCE_DIR}/unit/store_conformance.c
            ${CMAKE_CURRENT_SOURCE_DIR}/unit/store_conformance_snap.c)
target_include_directories(flocker_store_conformance PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(flocker_store_conformance PUBLIC Threads::Threads)

add_executable(test_store_mem ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_mem.c)
target_link_libraries(test_store_mem PRIVATE flocker_store_conformance flocker_util)
add_test(NAME test_store_mem COMMAND test_store_mem)
set_tests_properties(test_store_mem PROPERTIES LABELS unit TIMEOUT 120)

add_executable(test_store_rados ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_store_rados.c)
target_link_libraries(test_store_rados PRIVATE flocker_store_conformance flocker_core)
add_test(NAME test_store_rados COMMAND test_store_rados)
set_tests_properties(test_store_rados PROPERTIES
                     FIXTURES_REQUIRED ceph
                     ENVIRONMENT "${FLOCKER_TEST_ENV}"
                     LABELS rados
                     SKIP_RETURN_CODE 77
                     TIMEOUT 300)

# The metrics layer over a store (fs/store/store_metrics.c): the conformance
# checks through it on the mem store, and what it counts (label unit).
add_executable(test_store_metrics ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_metrics.c)
target_link_libraries(test_store_metrics PRIVATE flocker_store_conformance flocker_util)
add_test(NAME test_store_metrics COMMAND test_store_metrics)
set_tests_properties(test_store_metrics PROPERTIES LABELS unit TIMEOUT 120)
# The layered store of clones (fs/store/store_layer.c) on mem stores: the
# contract through a layer, every op kind on child/parent/both/whited-out
# objects, copy-ups, crash-like states, caches, threads.
add_executable(test_store_layer ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_layer.c)
target_link_libraries(test_store_layer PRIVATE flocker_store_conformance flocker_util)
add_test(NAME test_store_layer COMMAND test_store_layer)
set_tests_properties(test_store_layer PROPERTIES LABELS unit TIMEOUT 120)
