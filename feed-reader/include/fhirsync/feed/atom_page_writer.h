// The Atom page writer a parent uses: renders an AtomFeedPage (fhirsync/feed/atom_feed_page.h)
// as an Atom document in the OpenMRS/ICT4H atomfeed layout (architecture §6):
//
//   <feed xmlns="http://www.w3.org/2005/Atom">
//     <title/> <link rel="self|via|first|prev-archive|next-archive"
//     type="application/atom+xml" href=".."/> <author><name/></author> <id/>
//     <generator uri=".."/> <updated/>
//     <entry><title/><category term="Patient"/><category term="UPDATED"/>
//       <id>tag:atomfeed.ict4h.org:..</id><updated/>
//       <content type="application/vnd.atomfeed+xml"><![CDATA[{"fhir":".."}]]></content>
//     </entry>...
//   </feed>
//
// Text is escaped by libxml2's xmlTextWriter; content containing "]]>" is
// split across CDATA sections so it survives intact. NodeServer writes its
// /feed pages with it.
//
// Thread safety: WriteAtomPage is thread-safe (no shared state).

#ifndef FHIRSYNC_FEED_ATOM_PAGE_WRITER_H_
#define FHIRSYNC_FEED_ATOM_PAGE_WRITER_H_

#include <string>

#include "fhirsync/feed/atom_feed_page.h"
#include "fhirsync/status.h"

namespace fhirsync::feed {

// The UTF-8 XML document. Internal if libxml2 fails (out of memory); the
// page's text is not validated beyond what XML requires.
StatusOr<std::string> WriteAtomPage(const ::fhirsync::AtomFeedPage& page);

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_ATOM_PAGE_WRITER_H_
