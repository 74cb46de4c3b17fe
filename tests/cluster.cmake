# The dev cluster: the "ceph" test fixture every RADOS-backed test uses, the
# cluster's own tests, and the source format check. Included from
# tests/CMakeLists.txt before the other areas, so the variables below are
# visible to them.
#
# How a test uses the cluster:
#
#   flocker_cluster_test(store_rados COMMAND store_rados_test
#                        ENVIRONMENT ${FLOCKER_TEST_ENV} LABELS rados TIMEOUT 300)
#
# The test then finds the cluster through CEPH_CONF and the client id through
# CEPH_ARGS (="--id flocker"). librados ignores --id in CEPH_ARGS: a C program
# reads it itself and passes it to rados_create() (see
# tests/integration/dev_cluster_test.c, ceph_id_from_env). Pool: "flocker".
# The fixture cluster is memstore and starts empty on every ctest run; it is
# shared by all tests of the run, so tests use their own object names or
# namespaces (for volumes: their own volume names).

set(FLOCKER_SOURCE_DIR ${PROJECT_SOURCE_DIR})
set(FLOCKER_BINARY_DIR ${PROJECT_BINARY_DIR})
set(FLOCKER_DEV_CLUSTER ${FLOCKER_SOURCE_DIR}/contrib/dev-cluster.sh)
# One directory (hence one mon port) per build tree, so the normal and the
# sanitizer build trees never share a cluster.
set(FLOCKER_TEST_CLUSTER_DIR ${PROJECT_BINARY_DIR}/testcluster)

set(FLOCKER_TEST_ENV
    "CEPH_CONF=${FLOCKER_TEST_CLUSTER_DIR}/ceph.conf"
    "CEPH_ARGS=--id flocker"
    "FLOCKER_POOL=flocker"
    "FLOCKER_SOURCE_DIR=${FLOCKER_SOURCE_DIR}"
    "FLOCKER_BINARY_DIR=${FLOCKER_BINARY_DIR}"
    "FLOCKER_TEST_CLUSTER_DIR=${FLOCKER_TEST_CLUSTER_DIR}")

# Every test on the fixture runs under the guard (flocker_cluster_test).
set(FLOCKER_CLUSTER_GUARD ${FLOCKER_SOURCE_DIR}/tests/lib/cluster_guard.sh)
set(FLOCKER_GUARD_ENV "FLOCKER_SOURCE_DIR=${FLOCKER_SOURCE_DIR}"
                      "FLOCKER_TEST_CLUSTER_DIR=${FLOCKER_TEST_CLUSTER_DIR}")

# Fixture "ceph": a fresh memstore cluster, started before the first test
# that requires it and stopped after the last one.
add_test(NAME ceph_cluster_start
         COMMAND ${FLOCKER_DEV_CLUSTER} start --fresh --memstore --timeout 60
                 --dir ${FLOCKER_TEST_CLUSTER_DIR})
set_tests_properties(ceph_cluster_start PROPERTIES
                     FIXTURES_SETUP ceph
                     LABELS "rados"
                     TIMEOUT 180)
add_test(NAME ceph_cluster_stop
         COMMAND ${FLOCKER_DEV_CLUSTER} stop --dir ${FLOCKER_TEST_CLUSTER_DIR})
set_tests_properties(ceph_cluster_stop PROPERTIES
                     FIXTURES_CLEANUP ceph
                     LABELS "rados"
                     TIMEOUT 60)

# A librados client for the cluster's own tests.
add_executable(dev_cluster_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/dev_cluster_test.c)
target_link_libraries(dev_cluster_test PRIVATE rados::rados Threads::Threads)

# The fixture's cluster gives client.flocker what flockerfs needs.
flocker_cluster_test(dev_cluster_caps COMMAND dev_cluster_test check
                     ENVIRONMENT ${FLOCKER_TEST_ENV} LABELS rados TIMEOUT 120)

# Bluestore data survives stop/start; stop leaves no process. Runs its own
# cluster in a temporary directory, not the fixture.
add_test(NAME dev_cluster_restart
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/dev_cluster_test.sh
                 $<TARGET_FILE:dev_cluster_test>)
set_tests_properties(dev_cluster_restart PROPERTIES
                     LABELS "rados"
                     SKIP_RETURN_CODE 77
                     TIMEOUT 300)

# Every tracked C file follows .clang-format.
add_test(NAME format_check COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/format_check.sh
                                   ${FLOCKER_SOURCE_DIR})
set_tests_properties(format_check PROPERTIES
                     LABELS "unit"
                     SKIP_RETURN_CODE 77
                     TIMEOUT 120)
