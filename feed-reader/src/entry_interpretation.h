// Turning the raw fields of a parsed <entry> into its meaning (internal).

#ifndef FHIRSYNC_FEED_ENTRY_INTERPRETATION_H_
#define FHIRSYNC_FEED_ENTRY_INTERPRETATION_H_

#include <string_view>

#include "fhirsync/feed/atom_entry.h"
#include "fhirsync/status.h"

namespace fhirsync::feed {

// Sets action, action_term and resource_type from entry.categories, whatever
// their order: the first category whose term names an action gives the
// action, the first other category gives the resource type.
void InterpretCategories(AtomEntry& entry);

// Trims entry.content and sets content_kind, url and client_urls. `src` is
// the <content src> attribute (empty when absent). InvalidArgument when the
// text starts like JSON but does not parse, or is neither JSON nor a URL.
Status InterpretContent(AtomEntry& entry, std::string_view src);

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_ENTRY_INTERPRETATION_H_
