# Sourced by the build scripts after ROOT is set: lets ccache (used by
# CMakeLists.txt when installed) share compiled objects between checkouts
# of fhirsync in different folders, such as a CI clone beside a working
# copy. Paths under the checkout's parent (the checkout and ../shared) are
# hashed relative to the build folder, and the build folder's own path is
# left out of the hash. Either setting can be overridden from outside.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$ROOT")}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
