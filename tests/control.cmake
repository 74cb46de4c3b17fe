# The control service: flocker-control, flockerctl's ca and cluster commands,
# the agent's cluster mode, and their tests.
set(FLOCKER_CTL_DIR ${CMAKE_CURRENT_LIST_DIR}/control)
set(FLOCKER_CTL_SRC ${CMAKE_SOURCE_DIR}/cluster)

# cluster/ and plugin/CMakeLists.txt build the library and the programs
set(FLOCKER_CTL_CONTROL flocker-control)
set(FLOCKER_CTL_CLI flockerctl)
set(FLOCKER_CTL_AGENT flocker-agent)

# --- unit: frames, fuzz corpus replay ---
flocker_unit_test(test_proto ${FLOCKER_CTL_DIR}/test_proto.c TEST control_test_proto TIMEOUT 120
                  LIBS flocker_cluster)

flocker_unit_test(test_tls_text ${FLOCKER_CTL_DIR}/test_tls_text.c TEST control_test_tls_text TIMEOUT 120
                  LIBS flocker_cluster)

flocker_unit_test(test_ctl_state ${FLOCKER_CTL_DIR}/test_ctl_state.c TEST control_test_ctl_state TIMEOUT 120
                  LIBS flocker_cluster)

flocker_unit_test(test_net_helpers ${FLOCKER_CTL_DIR}/test_net_helpers.c TEST control_test_net_helpers
                  TIMEOUT 120 LIBS flocker_cluster)

# --- control on real Ceph (FLOCKER_TEST_ENV: tests/cluster.cmake) ---
set(FLOCKER_CTL_TEST_ENV
    "${FLOCKER_TEST_ENV};FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR};FLOCKER_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    "FLOCKER_CONTROL_BIN=$<TARGET_FILE:${FLOCKER_CTL_CONTROL}>"
    "FLOCKERCTL_BIN=$<TARGET_FILE:${FLOCKER_CTL_CLI}>")

add_library(flocker_ctltest STATIC ${FLOCKER_CTL_DIR}/ctltest.c)
target_include_directories(flocker_ctltest PUBLIC ${FLOCKER_CTL_DIR})
target_link_libraries(flocker_ctltest PUBLIC flocker_cluster Threads::Threads)

add_executable(test_control ${FLOCKER_CTL_DIR}/test_control.c ${FLOCKER_CTL_DIR}/test_control_api.c
                            ${FLOCKER_CTL_DIR}/test_control_leases.c)
target_link_libraries(test_control PRIVATE flocker_ctltest)
add_dependencies(test_control ${FLOCKER_CTL_CONTROL} ${FLOCKER_CTL_CLI})
foreach(area tls api leases slow_rados watch_gap failover snapshots)
  flocker_cluster_test(control_${area} COMMAND test_control ${area}
                       ENVIRONMENT ${FLOCKER_CTL_TEST_ENV} LABELS rados TIMEOUT 300)
endforeach()

# --- fuzz harnesses: frame decoder and API request parsers; saved corpora replay (unit) ---
foreach(h frame api)
  add_executable(fuzz_replay_ctl_${h} ${FLOCKER_CTL_DIR}/fuzz_${h}.c
                 ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
  target_link_libraries(fuzz_replay_ctl_${h} PRIVATE flocker_cluster)
  add_test(NAME control_fuzz_replay_${h}
           COMMAND fuzz_replay_ctl_${h} ${FLOCKER_CTL_DIR}/corpus/fuzz_${h})
  set_tests_properties(control_fuzz_replay_${h} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
if(FLOCKER_FUZZ)
  # the code under test carries the fuzzer's instrumentation: compiled again here
  add_library(flocker_cluster_fuzz STATIC
    ${FLOCKER_CTL_SRC}/net/proto.c ${FLOCKER_CTL_SRC}/net/tls.c ${FLOCKER_CTL_SRC}/net/ca.c
    ${FLOCKER_CTL_SRC}/control/ctl_state.c ${FLOCKER_CTL_SRC}/control/ctl_state_trash.c
    ${FLOCKER_CTL_SRC}/control/ctl_state_async.c ${FLOCKER_CTL_SRC}/control/ctl_state_rec.c
    ${FLOCKER_CTL_SRC}/control/ctl_server.c ${FLOCKER_CTL_SRC}/control/ctl_lease.c
    ${FLOCKER_CTL_SRC}/control/ctl_worker.c
    ${FLOCKER_CTL_SRC}/control/ctl_voljob.c ${FLOCKER_CTL_SRC}/control/api_snap.c
    ${FLOCKER_CTL_SRC}/control/api.c ${FLOCKER_CTL_SRC}/control/ctl_metrics.c)
  target_compile_options(flocker_cluster_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_libraries(flocker_cluster_fuzz PUBLIC flocker_core PkgConfig::LIBEVENT
                        PkgConfig::JANSSON PkgConfig::MSGPACK OpenSSL::SSL OpenSSL::Crypto m)
  foreach(h frame api)
    flocker_fuzzer(fuzz_ctl_${h} ${FLOCKER_CTL_DIR}/fuzz_${h}.c LIBS flocker_cluster_fuzz)
  endforeach()
endif()

# --- load: 100 simulated agents + 1,000 volume operations a minute, 50 s ---
add_executable(control_loadgen ${FLOCKER_CTL_DIR}/loadgen.c)
target_link_libraries(control_loadgen PRIVATE flocker_ctltest)
add_dependencies(control_loadgen ${FLOCKER_CTL_CONTROL})
# The sanitizer build runs 20 s (its control service is slower: the test's
# latency figures are the normal build's); the normal build 50 s.
if(FLOCKER_SANITIZE)
  set(FLOCKER_LOAD_SECONDS 20)
else()
  set(FLOCKER_LOAD_SECONDS 50)
endif()
flocker_cluster_test(control_load
                     COMMAND control_loadgen --agents 100 --ops-per-min 1000
                             --seconds ${FLOCKER_LOAD_SECONDS}
                     ENVIRONMENT ${FLOCKER_CTL_TEST_ENV} LABELS rados slow TIMEOUT 300)

# --- cluster-mode agents end to end (real mounts) ---
set(FLOCKER_CTL_AGENT_ENV ${FLOCKER_CTL_TEST_ENV} "FLOCKER_AGENT_BIN=$<TARGET_FILE:${FLOCKER_CTL_AGENT}>"
    "FLOCKER_MOUNT_BIN=$<TARGET_FILE:mount.flockerfs>")
flocker_cluster_test(control_agents COMMAND ${FLOCKER_CTL_DIR}/agent_cluster_test.sh
                     ENVIRONMENT ${FLOCKER_CTL_AGENT_ENV} LABELS rados fuse TIMEOUT 300)

# --- the agent's health check of its mounts: a mount daemon killed by kill -9 ---
flocker_cluster_test(control_mount_health COMMAND ${FLOCKER_CTL_DIR}/agent_mount_health_test.sh
                     ENVIRONMENT ${FLOCKER_CTL_AGENT_ENV} LABELS rados fuse TIMEOUT 300)

# --- three hosts in network namespaces (control, A, B) on their own cluster ---
add_test(NAME control_three_hosts COMMAND ${FLOCKER_CTL_DIR}/three_hosts_test.sh)
set_tests_properties(control_three_hosts PROPERTIES
                     ENVIRONMENT "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR};FLOCKER_SOURCE_DIR=${CMAKE_SOURCE_DIR};FLOCKER_CONTROL_BIN=$<TARGET_FILE:${FLOCKER_CTL_CONTROL}>;FLOCKERCTL_BIN=$<TARGET_FILE:${FLOCKER_CTL_CLI}>;FLOCKER_AGENT_BIN=$<TARGET_FILE:${FLOCKER_CTL_AGENT}>;FLOCKER_MOUNT_BIN=$<TARGET_FILE:mount.flockerfs>"
                     LABELS "rados;fuse;slow"
                     SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE
                     TIMEOUT 400)

# --- the agent's connection: back-to-back runs keep the heartbeats, refusals say why ---
flocker_cluster_test(control_agent_conn COMMAND ${FLOCKER_CTL_DIR}/agent_conn_test.sh
                     ENVIRONMENT ${FLOCKER_CTL_AGENT_ENV} LABELS rados fuse TIMEOUT 300)

# --- flockerctl and curl against refusals; FLOCKER_CONTROL for every command ---
flocker_cluster_test(control_cli_refusal COMMAND ${FLOCKER_CTL_DIR}/cli_refusal_test.sh
                     ENVIRONMENT ${FLOCKER_CTL_TEST_ENV} LABELS rados TIMEOUT 300)
