# Crashes, fencing, Ceph faults and fsck damage (tests/crash/).
#
#   crash_trials        kill -9 of the daemon at random instants under a
#                       workload, 100 trials, 40 in the sanitizer build (one in four a database:
#                       fdatasync'd and O_DSYNC overwrites in preallocated
#                       files, synced appends): acknowledged data, atomic
#                       renames, a tree the workload passed through, fsck
#                       clean; plus a fixed check of fsync, fdatasync, fsync
#                       of a directory, and 5 s without a call (fuse;rados)
#   crash_snapshots     8 crash trials (4 in the sanitizer build) that each
#                       take a snapshot of the live volume halfway, then
#                       are killed while taking another:
#                       the first reads the same after the crash, the second
#                       exists whole or not at all, fsck VOL@SNAP clean on
#                       both before and after; about 90 s   (fuse;rados)
#   fencing_stop        the writer SIGSTOPped past its lease, another "host"
#                       takes over: the old one never writes again (fuse;rados)
#   fencing_stop_in_lease  the same, taken over while the lease runs (fuse;rados)
#   fencing_partition   the same with the old writer in a network namespace
#                       cut off by nft; runs its own cluster on a veth
#                       address                               (fuse;rados)
#   ceph_faults         kill -9 of an OSD, then a restart of the mon and all
#                       OSDs, under writers: no error, nothing lost; its own
#                       3-OSD bluestore cluster; about 100s  (fuse;rados)
#   fsck_damage         each kind of damage made with rados: fsck finds
#                       exactly it and --repair fixes it      (fuse;rados)
#   lease_load          lease=3 under four fsyncing writers and a metadata
#                       churner for 20 s: every renewal succeeds, the unmount
#                       writes everything, fsck clean        (fuse;rados)
#   crash_trials_slow   2,000 crash trials, with FLOCKER_SLOW_TESTS (slow)
#
# Each test prints why it fails and ends with "N passed, N failed"; 77 means
# skipped (no root, no /dev/fuse, or for the partition no ip/nsenter).  A
# call stuck in the mount is detected by the tests themselves (60s), which
# then keep the daemon's stacks and kill it; the TIMEOUTs leave room for that.

if(NOT DEFINED FLOCKER_SLOW_TESTS)
  option(FLOCKER_SLOW_TESTS "Register the slow tests (thousands of crash trials)" OFF)
endif()

set(FLOCKER_CRASH_DIR ${CMAKE_CURRENT_SOURCE_DIR}/crash)
set(FLOCKER_CRASH_ENV
    "${FLOCKER_TEST_ENV};FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR};FLOCKER_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
# Without the fixture: the tests that run their own cluster.
set(FLOCKER_CRASH_OWN_ENV
    "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR};FLOCKER_SOURCE_DIR=${CMAKE_SOURCE_DIR}")

add_executable(crash_workload ${FLOCKER_CRASH_DIR}/crash_workload.c ${FLOCKER_CRASH_DIR}/crash_model.c
                              ${FLOCKER_CRASH_DIR}/crash_run.c ${FLOCKER_CRASH_DIR}/crash_check.c)
# paths and names are cut to fixed buffers on purpose
target_compile_options(crash_workload PRIVATE -Wno-format-truncation)

# 100 trials: about 235 s on 2 cores.  The sanitizer build runs 25 (40 took
# 300 s there): its daemons look for memory errors, the normal build's 100
# for ordering.  The same halving for the snapshot trials (about 95 s for 4
# under ASan).
if(FLOCKER_SANITIZE)
  set(FLOCKER_CRASH_TRIALS 25)
  set(FLOCKER_CRASH_SNAP_TRIALS 4)
else()
  set(FLOCKER_CRASH_TRIALS 100)
  set(FLOCKER_CRASH_SNAP_TRIALS 8)
endif()
flocker_cluster_test(crash_trials
                     COMMAND ${FLOCKER_CRASH_DIR}/crash_trials.sh $<TARGET_FILE:crash_workload>
                             --trials ${FLOCKER_CRASH_TRIALS} --db-every 4
                     ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS fuse rados TIMEOUT 1800)
flocker_cluster_test(crash_snapshots
                     COMMAND ${FLOCKER_CRASH_DIR}/crash_trials.sh $<TARGET_FILE:crash_workload>
                             --trials ${FLOCKER_CRASH_SNAP_TRIALS} --snap-every 1 --no-scenarios
                     ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS fuse rados TIMEOUT 900)

flocker_cluster_test(lease_load COMMAND ${FLOCKER_CRASH_DIR}/lease_load.sh
                     ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS fuse rados TIMEOUT 300)

flocker_cluster_test(fencing_stop COMMAND ${FLOCKER_CRASH_DIR}/fencing_test.sh stop
                     ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS fuse rados TIMEOUT 600)

flocker_cluster_test(fencing_stop_in_lease COMMAND ${FLOCKER_CRASH_DIR}/fencing_test.sh stop-in-lease
                     ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS fuse rados TIMEOUT 600)

add_test(NAME fencing_partition COMMAND ${FLOCKER_CRASH_DIR}/fencing_test.sh partition)
set_tests_properties(fencing_partition PROPERTIES
                     ENVIRONMENT "${FLOCKER_CRASH_OWN_ENV}"
                     LABELS "fuse;rados"
                     SKIP_RETURN_CODE 77
                     TIMEOUT 800)

flocker_cluster_test(fsck_damage COMMAND ${FLOCKER_CRASH_DIR}/fsck_damage.sh
                     ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS fuse rados TIMEOUT 300)

# Its own cluster: 3 bluestore OSDs (OSDs restart with their data), started
# from scratch; about 100s on 2 cores (under 3 minutes, so in the default
# run), alone because it loads the machine.
add_test(NAME ceph_faults
         COMMAND ${FLOCKER_CRASH_DIR}/ceph_faults.sh $<TARGET_FILE:crash_workload>)
set_tests_properties(ceph_faults PROPERTIES
                     ENVIRONMENT "${FLOCKER_CRASH_OWN_ENV}"
                     LABELS "fuse;rados"
                     SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE
                     TIMEOUT 900)

if(FLOCKER_SLOW_TESTS)
  flocker_cluster_test(crash_trials_slow
                       COMMAND ${FLOCKER_CRASH_DIR}/crash_trials.sh $<TARGET_FILE:crash_workload>
                               --trials 2000 --db-every 4 --snap-every 10
                       ENVIRONMENT ${FLOCKER_CRASH_ENV} LABELS slow TIMEOUT 7200)
endif()
