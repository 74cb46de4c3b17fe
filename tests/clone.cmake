# Clones (fs/volume/clone.c, fs/store/store_layer.c) on real RADOS and FUSE
# mounts (tests/integration/clone_run.sh); the unit tests are test_clone
# (fs.cmake) and test_store_layer (store.cmake).
#
#   clone_fuse   a parent of 300 small files, a sparse file and a 72 MiB
#                file, cloned; identical checksums; changes on either side
#                stay there; ~one object stored after 1 MiB written; fsck;
#                flatten; the parent's snapshot and the parent removed;
#                clone time and read speeds printed                (fuse;rados)
#   clone_fuse_slow   the same with 10,000 files of 100 KiB and a 1 GiB file
#                (the figures README quotes)                           (slow)
set(FLOCKER_CLONE_ENV ${FLOCKER_TEST_ENV} "FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR}")
flocker_cluster_test(clone_fuse COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/clone_run.sh
                     ENVIRONMENT ${FLOCKER_CLONE_ENV} LABELS fuse rados TIMEOUT 600)
if(FLOCKER_SLOW_TESTS)
  flocker_cluster_test(clone_fuse_slow COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/clone_run.sh
                       ENVIRONMENT ${FLOCKER_CLONE_ENV} CLONE_FILES=10000 CLONE_FILE_KB=100
                                   CLONE_BIG_MB=1024
                       LABELS slow TIMEOUT 3600)
endif()
