# Operating on real hosts: logs, systemd units, man pages, Debian packages.
#
#   test_log           the logging module: timestamps, tags, journal format, log files  (unit)
#   units_verify       systemd-analyze verify on the installed units, their key properties,
#                      the fstab example through systemd-fstab-generator                (unit)
#   help_vs_man        each program's --help and its man page list the same options      (unit)
#   completion         bash completion of flockerctl: commands, options, volume names        (unit)
#   daemon_log         --daemon on a host without /dev/log: agent, control and mount daemon
#                      keep their log lines, with timestamps and tags            (rados;fuse)
#   package_debs       contrib/build-deb.sh, the .debs' exact contents, lintian, the units
#                      and programs from the packages (dpkg -x into a throwaway root); a few
#                      minutes; not in sanitizer builds (it builds its own tree); leaves
#                      the .debs in build/debs                                   (package)
#   package_systemd    the .debs under a real systemd (systemd-nspawn boots this machine's
#                      root through a throwaway overlay): install, enable --now, agent
#                      restart / kill -9 / upgrade with a mount kept, fstab mount unit,
#                      control service, purge                     (package;fuse;rados)
set(FLOCKER_PACKAGE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/package)

flocker_unit_test(test_log ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_log.c TIMEOUT 60 LIBS flocker_util)

flocker_cluster_test(daemon_log COMMAND ${FLOCKER_PACKAGE_DIR}/daemon_log_test.sh
  ENVIRONMENT ${FLOCKER_TEST_ENV} FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR} FLOCKER_SOURCE_DIR=${CMAKE_SOURCE_DIR}
  LABELS rados fuse TIMEOUT 180)

add_test(NAME units_verify COMMAND ${FLOCKER_PACKAGE_DIR}/units_test.sh --build ${CMAKE_BINARY_DIR})
set_tests_properties(units_verify PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77)

find_program(FLOCKER_PYTHON3 python3)
add_test(NAME help_vs_man
         COMMAND ${FLOCKER_PYTHON3} ${FLOCKER_PACKAGE_DIR}/help_vs_man.py ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(help_vs_man PROPERTIES LABELS unit TIMEOUT 60)

add_test(NAME completion COMMAND ${FLOCKER_PACKAGE_DIR}/completion_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(completion PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77)

if(NOT FLOCKER_SANITIZE)
  add_test(NAME package_debs COMMAND ${FLOCKER_PACKAGE_DIR}/package_test.sh ${CMAKE_SOURCE_DIR}
                                     ${CMAKE_BINARY_DIR}/debs)
  set_tests_properties(package_debs PROPERTIES LABELS package TIMEOUT 900 SKIP_RETURN_CODE 77
                       FIXTURES_SETUP debs)
  flocker_cluster_test(package_systemd
    COMMAND ${FLOCKER_PACKAGE_DIR}/nspawn_test.sh ${CMAKE_BINARY_DIR}/debs FIXTURES debs
    ENVIRONMENT ${FLOCKER_TEST_ENV} FLOCKER_BINARY_DIR=${CMAKE_BINARY_DIR}
    LABELS package fuse rados TIMEOUT 600)
endif()
