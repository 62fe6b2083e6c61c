#include "fhirsync/feed/atom_page_writer.h"

#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include <memory>
#include <string_view>

namespace fhirsync::feed {

namespace {

constexpr char kAtomNamespace[] = "http://www.w3.org/2005/Atom";
constexpr char kAtomXml[] = "application/atom+xml";
constexpr char kAtomfeedContent[] = "application/vnd.atomfeed+xml";

const xmlChar* X(const char* text) { return reinterpret_cast<const xmlChar*>(text); }
const xmlChar* X(const std::string& text) { return X(text.c_str()); }

struct BufferDeleter {
  void operator()(xmlBuffer* buffer) const { xmlBufferFree(buffer); }
};
struct WriterDeleter {
  void operator()(xmlTextWriter* writer) const { xmlFreeTextWriter(writer); }
};

// Collects the first failure of a run of libxml2 calls (they return < 0).
class Checked {
 public:
  explicit Checked(xmlTextWriterPtr writer) : writer_(writer) {}
  bool ok() const { return ok_; }
  void Check(int rc) { ok_ = ok_ && rc >= 0; }

  void Element(const char* name, const std::string& text) {
    Check(xmlTextWriterWriteElement(writer_, X(name), X(text)));
  }
  void Start(const char* name) { Check(xmlTextWriterStartElement(writer_, X(name))); }
  void End() { Check(xmlTextWriterEndElement(writer_)); }
  void Attribute(const char* name, const std::string& value) {
    Check(xmlTextWriterWriteAttribute(writer_, X(name), X(value)));
  }
  // CDATA cannot contain "]]>"; split it into "]]" + ">" across sections.
  void Cdata(std::string_view text) {
    std::size_t start = 0;
    while (true) {
      std::size_t end = text.find("]]>", start);
      std::string part(text.substr(start, end == std::string_view::npos ? end : end + 2 - start));
      Check(xmlTextWriterWriteCDATA(writer_, X(part)));
      if (end == std::string_view::npos) break;
      start = end + 2;
    }
  }

 private:
  xmlTextWriterPtr writer_;
  bool ok_ = true;
};

}  // namespace

StatusOr<std::string> WriteAtomPage(const ::fhirsync::AtomFeedPage& page) {
  std::unique_ptr<xmlBuffer, BufferDeleter> buffer(xmlBufferCreate());
  if (!buffer) return InternalError("libxml2 could not allocate a buffer for the Atom page");
  std::unique_ptr<xmlTextWriter, WriterDeleter> writer(xmlNewTextWriterMemory(buffer.get(), 0));
  if (!writer) return InternalError("libxml2 could not create an XML writer for the Atom page");
  xmlTextWriterSetIndent(writer.get(), 1);
  xmlTextWriterSetIndentString(writer.get(), X("  "));

  Checked w(writer.get());
  w.Check(xmlTextWriterStartDocument(writer.get(), "1.0", "UTF-8", nullptr));
  w.Start("feed");
  w.Attribute("xmlns", kAtomNamespace);
  w.Element("title", page.title);
  for (const ::fhirsync::AtomFeedLink& link : page.links) {
    w.Start("link");
    w.Attribute("rel", link.rel);
    w.Attribute("type", kAtomXml);
    w.Attribute("href", link.href);
    w.End();
  }
  w.Start("author");
  w.Element("name", page.author);
  w.End();
  w.Element("id", page.id);
  w.Start("generator");
  if (!page.generator_uri.empty()) w.Attribute("uri", page.generator_uri);
  w.Check(xmlTextWriterWriteString(writer.get(), X(page.generator)));
  w.End();
  w.Element("updated", page.updated);
  for (const ::fhirsync::AtomFeedEntry& entry : page.entries) {
    w.Start("entry");
    w.Element("title", entry.title);
    for (const std::string& term : entry.categories) {
      w.Start("category");
      w.Attribute("term", term);
      w.End();
    }
    w.Element("id", entry.id);
    w.Element("updated", entry.updated);
    w.Start("content");
    w.Attribute("type", kAtomfeedContent);
    w.Cdata(entry.content);
    w.End();
    w.End();
  }
  w.End();
  w.Check(xmlTextWriterEndDocument(writer.get()));
  writer.reset();  // flushes into the buffer
  if (!w.ok()) return InternalError("libxml2 failed while writing the Atom page");
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buffer.get())),
                     static_cast<std::size_t>(xmlBufferLength(buffer.get())));
}

}  // namespace fhirsync::feed
