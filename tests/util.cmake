# fs/util: uuids, the mount table, formatting, pid files (label unit).
flocker_unit_test(test_util ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_util.c TIMEOUT 60 LIBS flocker_util)

# fs/util/metrics: registry, exposition text (escaping), parser, merge (label unit).
flocker_unit_test(test_metrics ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_metrics.c TIMEOUT 60
                  LIBS flocker_util m)
