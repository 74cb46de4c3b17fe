# Benchmarks (label "bench"), see tests/bench/RESULTS.md:
#   flocker_rados_bench  the raw librados column (tests/bench/rados_bench.c)
#   bench_quick          tests/bench/compare.sh --quick: raw librados, ceph-fuse
#                        and flockerfs on a dev cluster of its own (not the
#                        "ceph" fixture); fails only on a gross regression
# The full comparison is run by hand: tests/bench/compare.sh (about 8 min).
# flockerctl bench (cluster/cli/bench.c) is built with flockerctl.

add_executable(flocker_rados_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/rados_bench.c)
target_link_libraries(flocker_rados_bench PRIVATE rados::rados Threads::Threads)
# compare.sh looks for it here
set_target_properties(flocker_rados_bench PROPERTIES
                      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/bench)

if(FLOCKER_SANITIZE)
  set(FLOCKER_BENCH_SANITIZED 1)
else()
  set(FLOCKER_BENCH_SANITIZED 0)
endif()

# In the default run: the quick comparison fails only on rows below half
# their target in two runs in a row (tests/bench/bench_quick.sh);
# -DFLOCKER_BENCH_TESTS=OFF leaves it out (a machine too busy for timings).
option(FLOCKER_BENCH_TESTS "Register the quick benchmark (label bench)" ON)
if(FLOCKER_BENCH_TESTS)
add_test(NAME bench_quick COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bench/bench_quick.sh)
set_tests_properties(bench_quick PROPERTIES
                     LABELS "bench;fuse;rados"
                     ENVIRONMENT "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR};FLOCKER_BENCH_SANITIZED=${FLOCKER_BENCH_SANITIZED}"
                     SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE
                     TIMEOUT 900)
endif()
