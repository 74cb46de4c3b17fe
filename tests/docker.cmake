# The Docker volume plugin (plugin/): the request parser's fuzz corpus, the
# plugin protocol without dockerd, and real dockerd on one and on two hosts.
#
#   fuzz_replay_plugin_req   tests/docker/corpus/fuzz_plugin_req/ through the parser  (unit)
#   test_trash               the standalone trash (fs/volume/trash.c) on the in-memory store  (unit)
#   docker_plugin_protocol   every endpoint, bad input, restarts, the reply bound     (docker;fuse;rados)
#   docker_one_host          dockerd: create, write/read, inspect, ls, rm, restart    (docker;fuse;rados)
#   docker_two_hosts         two hosts: the volume moves, one writer at a time, races (docker;fuse;rados)
#   docker_crash             host a dies (kill -9 of dockerd, agent, mount daemon, container)
#                            while writing; b takes over after the lease, every fsynced byte
#                            is there                                                    (docker;fuse;rados)
#   docker_cluster_restart   cluster mode: the agent of a host restarts under a running
#                            container; no other host gets the volume, the container
#                            never fails, the agent adopts the mount     (docker;fuse;rados)
#   docker_agent_stop        SIGTERM stops an agent within 8 s while its Ceph cluster is
#                            unreachable (no cluster, no dockerd)                        (unit)
#   docker_cluster_clone     cluster mode: -o from=V and from=V@SNAP (a snapshot made through
#                            control's API) on host b while a container on a writes V; the
#                            clone holds every line written before it, a never sees b's writes
#                                                                         (docker;fuse;rados)
#   fuzz_plugin_req          libFuzzer binary, only with -DFLOCKER_FUZZ=ON and clang; never run by ctest:
#                              ./tests/fuzz_plugin_req -max_len=4096 WORKDIR ../tests/docker/corpus/fuzz_plugin_req
#
# The dockerd tests skip (77) only when dockerd cannot start on the machine,
# and print its log; see tests/docker/README-docker.md.
set(FLOCKER_DOCKER_DIR ${CMAKE_CURRENT_SOURCE_DIR}/docker)

add_executable(fuzz_replay_plugin_req ${FLOCKER_DOCKER_DIR}/fuzz_plugin_req.c
               ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay_main.c)
target_link_libraries(fuzz_replay_plugin_req PRIVATE flocker_plugin)
add_test(NAME fuzz_replay_plugin_req
         COMMAND fuzz_replay_plugin_req ${FLOCKER_DOCKER_DIR}/corpus/fuzz_plugin_req)
set_tests_properties(fuzz_replay_plugin_req PROPERTIES LABELS unit TIMEOUT 120)

flocker_unit_test(test_trash ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_trash.c TIMEOUT 120 LIBS flocker_core)

add_test(NAME docker_agent_stop COMMAND ${FLOCKER_DOCKER_DIR}/agent_stop.sh)
set_tests_properties(docker_agent_stop PROPERTIES
  ENVIRONMENT "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR}"
  LABELS unit
  TIMEOUT 120)

find_program(FLOCKER_PYTHON3 python3)
if(NOT FLOCKER_PYTHON3)
  set(FLOCKER_PYTHON3 python3)
endif()
set(FLOCKER_DOCKER_ENV ${FLOCKER_TEST_ENV} FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR}
    FLOCKER_SOURCE_DIR=${CMAKE_SOURCE_DIR})
flocker_cluster_test(docker_plugin_protocol
  COMMAND ${FLOCKER_PYTHON3} ${FLOCKER_DOCKER_DIR}/plugin_protocol.py
  ENVIRONMENT ${FLOCKER_DOCKER_ENV} LABELS docker fuse rados TIMEOUT 600)
foreach(t one_host two_hosts crash cluster_restart cluster_clone)
  flocker_cluster_test(docker_${t} COMMAND ${FLOCKER_DOCKER_DIR}/docker_${t}.sh
    ENVIRONMENT ${FLOCKER_DOCKER_ENV} LABELS docker fuse rados TIMEOUT 600)
endforeach()
# dockerds with their containerds are heavy for a small machine: one test at a time
set_tests_properties(docker_one_host docker_two_hosts docker_crash docker_cluster_restart
  docker_cluster_clone PROPERTIES RESOURCE_LOCK dockerd)

if(FLOCKER_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FLOCKER_FUZZ needs clang (libFuzzer): configure with -DCMAKE_C_COMPILER=clang")
  endif()
  # the parser carries the fuzzer's coverage instrumentation: compiled again here
  flocker_fuzzer(fuzz_plugin_req ${FLOCKER_DOCKER_DIR}/fuzz_plugin_req.c
                 ${CMAKE_SOURCE_DIR}/plugin/docker.c ${CMAKE_SOURCE_DIR}/plugin/agent_ops.c
                 ${CMAKE_SOURCE_DIR}/plugin/agent_metrics.c
                 LIBS flocker_util PkgConfig::LIBEVENT PkgConfig::JANSSON Threads::Threads)
endif()
