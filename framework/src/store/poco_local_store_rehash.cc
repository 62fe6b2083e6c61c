// Schema version 4: the canonical content hash (see poco_local_store.h).
//
// Hashes written by older builds were of the body's text in its member
// order; they are recomputed from the stored bodies so that this node's
// digests, agreements and conflicts compare with a parent or child that
// hashes canonically. Runs inside the migration's write transaction: a store
// is either wholly migrated or not at all.

#include <Poco/Data/Statement.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fhirsync/base/canonical_json.h"
#include "store/poco_local_store.h"

namespace fhirsync::store {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

void PocoLocalStore::RehashContentLocked() {
  // Rows are read a slice at a time, so memory stays flat on a large store.
  constexpr Poco::Int64 kSlice = 2000;
  Poco::Int64 after_seq = 0;
  for (;;) {
    std::vector<Poco::Int64> seqs, versions;
    std::vector<std::string> types, ids, formats, bodies, old_hashes;
    Poco::Int64 limit = kSlice;
    Statement select(write_session_);
    select << sql_.rehash_select, use(after_seq), use(limit), into(seqs), into(types),
        into(ids), into(versions), into(formats), into(bodies), into(old_hashes);
    select.execute();
    if (seqs.empty()) break;
    std::vector<std::string> new_hashes;
    new_hashes.reserve(seqs.size());
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      const ResourceFormat format =
          ParseResourceFormat(formats[i]).value_or(ResourceFormat::kFhirJson);
      new_hashes.push_back(ContentHashOf(format, bodies[i]));
    }
    bodies.clear();
    bodies.shrink_to_fit();
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      if (new_hashes[i] == old_hashes[i]) continue;
      write_session_ << sql_.rehash_update_change, use(new_hashes[i]), use(seqs[i]), now;
      write_session_ << sql_.rehash_update_agreed, use(new_hashes[i]), use(types[i]),
          use(ids[i]), use(versions[i]), use(old_hashes[i]), now;
    }
    after_seq = seqs.back();
  }
  for (const std::string& ddl : sql_.rehash_finish) write_session_ << ddl, now;
}

}  // namespace fhirsync::store
