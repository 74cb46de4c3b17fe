# Record codecs (fs/format/*.c, fs/util/buf.c): unit tests and fuzz-corpus replay.
#
#   test_record, test_buf        plain-assert unit tests              (label unit)
#   fuzz_replay_<h>              harness <h> over tests/fuzz/corpus/fuzz_<h>/ (label unit)
#   fuzz_gen_corpus              writes the seed inputs: fuzz_gen_corpus OUTDIR
#   fuzz_<h>                     libFuzzer binaries, only with -DFLOCKER_FUZZ=ON and clang;
#                                built, never run by ctest.  Run one with e.g.
#                                  ./fuzz_inode -max_len=4096 ../tests/fuzz/corpus/fuzz_inode

set(FLOCKER_FUZZ_HARNESSES super inode dirent volreg trash jtxn jframe snap parent)
set(FLOCKER_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)

flocker_unit_test(test_record ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_record.c LIBS flocker_util)
target_sources(test_record PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_record_volume.c
                                   ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_record_inode.c
                                   ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_record_journal.c)
flocker_unit_test(test_buf ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_buf.c LIBS flocker_util)

add_executable(fuzz_gen_corpus ${FLOCKER_FUZZ_DIR}/gen_corpus.c)
target_link_libraries(fuzz_gen_corpus PRIVATE flocker_util)

foreach(h ${FLOCKER_FUZZ_HARNESSES})
  add_executable(fuzz_replay_${h} ${FLOCKER_FUZZ_DIR}/fuzz_${h}.c ${FLOCKER_FUZZ_DIR}/replay_main.c)
  target_link_libraries(fuzz_replay_${h} PRIVATE flocker_util)
  add_test(NAME fuzz_replay_${h}
           COMMAND fuzz_replay_${h} ${FLOCKER_FUZZ_DIR}/corpus/fuzz_${h})
  set_tests_properties(fuzz_replay_${h} PROPERTIES LABELS unit)
endforeach()

if(FLOCKER_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FLOCKER_FUZZ needs clang (libFuzzer): configure with -DCMAKE_C_COMPILER=clang")
  endif()
  # The code under test must carry the fuzzer's coverage instrumentation, so
  # the codecs are compiled again here rather than taken from flocker_util.
  add_library(flocker_record_fuzz STATIC ${CMAKE_SOURCE_DIR}/fs/util/buf.c ${CMAKE_SOURCE_DIR}/fs/util/uuid.c
              ${CMAKE_SOURCE_DIR}/fs/format/record.c ${CMAKE_SOURCE_DIR}/fs/format/jframe.c
              ${CMAKE_SOURCE_DIR}/fs/format/oid.c ${CMAKE_SOURCE_DIR}/fs/format/bmap.c
              ${CMAKE_SOURCE_DIR}/fs/format/record_snap.c)
  target_compile_options(flocker_record_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_libraries(flocker_record_fuzz PUBLIC PkgConfig::MSGPACK PkgConfig::UUID)
  foreach(h ${FLOCKER_FUZZ_HARNESSES})
    flocker_fuzzer(fuzz_${h} ${FLOCKER_FUZZ_DIR}/fuzz_${h}.c LIBS flocker_record_fuzz)
  endforeach()
endif()
