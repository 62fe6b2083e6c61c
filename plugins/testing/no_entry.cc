// A valid shared library that is not a fhirsync plugin: no entry symbol.
extern "C" __attribute__((visibility("default"))) int fhirsync_testing_not_a_plugin(int x) {
  return x + 1;
}
