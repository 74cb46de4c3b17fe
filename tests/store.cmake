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

flocker_unit_test(test_store_mem ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_mem.c TIMEOUT 120
                  LIBS flocker_store_conformance flocker_util)

add_executable(test_store_rados ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_store_rados.c)
target_link_libraries(test_store_rados PRIVATE flocker_store_conformance flocker_core)
flocker_cluster_test(test_store_rados COMMAND test_store_rados
                     ENVIRONMENT ${FLOCKER_TEST_ENV} LABELS rados TIMEOUT 300)

# The metrics layer over a store (fs/store/store_metrics.c): the conformance
# checks through it on the mem store, and what it counts (label unit).
flocker_unit_test(test_store_metrics ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_metrics.c TIMEOUT 120
                  LIBS flocker_store_conformance flocker_util)
# The layered store of clones (fs/store/store_layer.c) on mem stores: the
# contract through a layer, every op kind on child/parent/both/whited-out
# objects, copy-ups, crash-like states, caches, threads.
flocker_unit_test(test_store_layer ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_layer.c TIMEOUT 120
                  LIBS flocker_store_conformance flocker_util)
