// The `fhirsync` program; everything but the entry point is in program.cc.

#include "program.h"

int main(int argc, char** argv) { return fhirsync::cli::RunProgram(argc, argv); }
