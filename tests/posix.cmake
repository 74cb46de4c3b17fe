# POSIX behaviour of flockerfs on real mounts (tests/integration/posix_run.sh):
#
#   posix_conformance  posix_conformance on a fresh volume              (fuse;rados)
#   fsmodel            fsmodel, 20,000 random operations (10,000 in the
#                      sanitizer build) against a tmpfs reference,
#                      remounting the volume every 2,000, a snapshot event
#                      (take, check, clone, rollback) every 2,000 (fuse;rados)
#   posix_sizelimit    a volume created with --size 64M: statvfs shows the
#                      limit, writing past it fails with ENOSPC           (fuse;rados)
#   posix_conformance_min, fsmodel_min   the same (fsmodel: 5,000 operations)
#                      mounted with max_threads=2,spin_us=50               (fuse;rados)
#   posix_local        both programs on tmpfs and an ext4 loop image, no
#                      flockerfs: the checks themselves must pass there    (unit)
#   fsmodel_slow       fsmodel with 1,000,000 operations, only with
#                      -DFLOCKER_SLOW_TESTS=ON                             (slow)
#   stale_enospc       a removed file frees its space at once; its ENOSPC does not fail the
#                      umount helper (tests/integration/hardening.sh)     (fuse;rados)
#   deadmount          a dead flockerfs mount at the mount point is detached;
#                      a dead one of another type is named, nobody fenced (fuse;rados)
#   data_exerciser     dataxer (random writes, reads, truncates, mmap reads and
#                      writes, fallocate and punch) 20 s against a tmpfs
#                      reference, remount, compare, fsck clean           (fuse;rados)
#   data_exerciser_nowb   the same with -o nowriteback_cache              (fuse;rados)
#   meta_stress        metastress: 4 processes create, rename, link, unlink,
#                      mkdir, rmdir in shared directories for 20 s; link
#                      counts, contents, the tree the same after a remount,
#                      fsck clean (tests/integration/exercise_run.sh)    (fuse;rados)
#   *_slow             the three for 10 minutes each                     (slow)
#   huge_dir           1,000,000 entries in one directory: created, listed
#                      after a remount, stat'ed, removed; times and the
#                      daemon's peak RSS printed (hugedir.sh)             (slow)
#   fsck_readonly      fsck without --repair leaves every object of the
#                      namespace as it was (ns_digest: bytes, omap, xattrs,
#                      versions) on a volume whose daemon was killed      (fuse;rados)
#
# All of them mount filesystems, so they need root; otherwise, or without
# /dev/fuse for the flockerfs ones, they exit 77 and ctest reports a skip.
# fsmodel prints its seed; rerun one with FSMODEL_SEED=<seed> in the
# environment, e.g.  FSMODEL_SEED=123 ctest -R '^fsmodel$' --output-on-failure

option(FLOCKER_SLOW_TESTS "Register slow tests (fsmodel with 1,000,000 operations)" OFF)

# posix_conformance.c: the runner and helpers; one file per POSIX area.
set(FLOCKER_POSIX_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_executable(posix_conformance
               ${FLOCKER_POSIX_DIR}/posix_conformance.c ${FLOCKER_POSIX_DIR}/posix_names.c
               ${FLOCKER_POSIX_DIR}/posix_attrs.c ${FLOCKER_POSIX_DIR}/posix_readdir.c
               ${FLOCKER_POSIX_DIR}/posix_data.c ${FLOCKER_POSIX_DIR}/posix_xattr.c
               ${FLOCKER_POSIX_DIR}/posix_locks.c)
add_executable(fsmodel ${FLOCKER_POSIX_DIR}/fsmodel.c ${FLOCKER_POSIX_DIR}/fsmodel_ops.c
                       ${FLOCKER_POSIX_DIR}/fsmodel_compare.c)

set(FLOCKER_POSIX_RUN ${CMAKE_CURRENT_SOURCE_DIR}/integration/posix_run.sh)
set(FLOCKER_POSIX_PROGS
    "POSIX_CONFORMANCE=$<TARGET_FILE:posix_conformance>"
    "FSMODEL=$<TARGET_FILE:fsmodel>")
set(FLOCKER_POSIX_ENV
    ${FLOCKER_TEST_ENV}
    "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR}"
    ${FLOCKER_POSIX_PROGS})

flocker_cluster_test(posix_conformance COMMAND ${FLOCKER_POSIX_RUN} conformance
                     ENVIRONMENT ${FLOCKER_POSIX_ENV} LABELS fuse rados TIMEOUT 900)
flocker_cluster_test(posix_sizelimit COMMAND ${FLOCKER_POSIX_RUN} sizelimit
                     ENVIRONMENT ${FLOCKER_POSIX_ENV} LABELS fuse rados TIMEOUT 900)
# The sanitizer build runs half the operations (its run took about 240 s with
# the snapshot events): each kind of snapshot event still comes at least once.
if(FLOCKER_SANITIZE)
  set(FLOCKER_FSMODEL_OPS 10000)
else()
  set(FLOCKER_FSMODEL_OPS 20000)
endif()
flocker_cluster_test(fsmodel COMMAND ${FLOCKER_POSIX_RUN} model
                     ENVIRONMENT ${FLOCKER_POSIX_ENV} FSMODEL_OPS=${FLOCKER_FSMODEL_OPS}
                                 FSMODEL_SNAP_EVERY=2000
                     LABELS fuse rados TIMEOUT 900)

# The same checks with the fewest FUSE workers, the worker that owns
# /dev/fuse handing it over for every data request, and spinning on it
# (default 0) between requests (fs/fuse/fuse_loop.c).
set(FLOCKER_POSIX_MIN_ENV ${FLOCKER_POSIX_ENV} FSMODEL_OPS=5000
    FLOCKER_POSIX_MOUNT_OPTS=max_threads=2,spin_us=50)
flocker_cluster_test(posix_conformance_min COMMAND ${FLOCKER_POSIX_RUN} conformance
                     ENVIRONMENT ${FLOCKER_POSIX_MIN_ENV} LABELS fuse rados TIMEOUT 900)
flocker_cluster_test(fsmodel_min COMMAND ${FLOCKER_POSIX_RUN} model
                     ENVIRONMENT ${FLOCKER_POSIX_MIN_ENV} LABELS fuse rados TIMEOUT 900)

# Error reporting and the read-only fsck (tests/integration/hardening.sh).
add_executable(ns_digest ${CMAKE_CURRENT_SOURCE_DIR}/integration/ns_digest.c)
target_link_libraries(ns_digest PRIVATE rados::rados)
set(FLOCKER_HARDENING ${CMAKE_CURRENT_SOURCE_DIR}/integration/hardening.sh)
foreach(mode stale_enospc deadmount fsck_readonly)
  flocker_cluster_test(${mode} COMMAND ${FLOCKER_HARDENING} ${mode}
                       ENVIRONMENT ${FLOCKER_POSIX_ENV} NS_DIGEST=$<TARGET_FILE:ns_digest>
                       LABELS fuse rados TIMEOUT 300)
endforeach()

# Data-integrity exerciser and metadata stress (tests/integration/exercise_run.sh).
add_executable(dataxer ${CMAKE_CURRENT_SOURCE_DIR}/integration/dataxer.c)
add_executable(metastress ${CMAKE_CURRENT_SOURCE_DIR}/integration/metastress.c)
set(FLOCKER_EXERCISE ${CMAKE_CURRENT_SOURCE_DIR}/integration/exercise_run.sh)
set(FLOCKER_EXERCISE_ENV ${FLOCKER_POSIX_ENV}
    "DATAXER=$<TARGET_FILE:dataxer>" "METASTRESS=$<TARGET_FILE:metastress>")
# exercise_tests(SUFFIX SECONDS LABELS TIMEOUT): data_exerciser, the same
# without the writeback cache, and meta_stress, each for SECONDS
function(exercise_tests suffix seconds labels timeout)
  set(env ${FLOCKER_EXERCISE_ENV} EXERCISE_SECONDS=${seconds})
  flocker_cluster_test(data_exerciser${suffix} COMMAND ${FLOCKER_EXERCISE} data
                       ENVIRONMENT ${env} LABELS ${labels} TIMEOUT ${timeout})
  flocker_cluster_test(data_exerciser_nowb${suffix} COMMAND ${FLOCKER_EXERCISE} data
                       ENVIRONMENT ${env} FLOCKER_POSIX_MOUNT_OPTS=nowriteback_cache
                       LABELS ${labels} TIMEOUT ${timeout})
  flocker_cluster_test(meta_stress${suffix} COMMAND ${FLOCKER_EXERCISE} meta
                       ENVIRONMENT ${env} LABELS ${labels} TIMEOUT ${timeout})
endfunction()
exercise_tests("" 20 "fuse;rados" 300)
if(FLOCKER_SLOW_TESTS)
  exercise_tests(_slow 600 slow 1800)
  flocker_cluster_test(huge_dir COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/hugedir.sh
                       ENVIRONMENT ${FLOCKER_POSIX_ENV} HUGEDIR_ENTRIES=1000000
                       LABELS slow TIMEOUT 10800)
endif()

add_test(NAME posix_local COMMAND ${FLOCKER_POSIX_RUN} local)
set_tests_properties(posix_local PROPERTIES
                     ENVIRONMENT "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR};${FLOCKER_POSIX_PROGS}"
                     LABELS unit
                     SKIP_RETURN_CODE 77
                     TIMEOUT 900)

if(FLOCKER_SLOW_TESTS)
  flocker_cluster_test(fsmodel_slow COMMAND ${FLOCKER_POSIX_RUN} model
                       ENVIRONMENT ${FLOCKER_POSIX_ENV} FSMODEL_OPS=1000000 FSMODEL_CHECK_EVERY=1000
                                   FSMODEL_REMOUNT_EVERY=25000
                       LABELS slow TIMEOUT 28800)
endif()
