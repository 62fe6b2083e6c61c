// AtomPageReader over the libxml2 SAX2 push parser.
//
// Why SAX and not xmlTextReader: the SAX internalSubset callback fires as
// soon as "<!DOCTYPE name" is read, before a single entity declaration of the
// internal subset is parsed, so a DOCTYPE is refused before any expansion can
// start. No entity declaration handler and no getEntity handler exist, so an
// entity reference other than the five predefined ones is a well-formedness
// error; XML_PARSE_NOENT (substitution), DTDLOAD and HUGE are never set.

#include "fhirsync/feed/atom_page_reader.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "fhirsync/base/text_util.h"
#include "entry_interpretation.h"

namespace fhirsync::feed {
namespace {

constexpr std::string_view kAtomNamespace = "http://www.w3.org/2005/Atom";

std::string_view View(const xmlChar* text) {
  return text == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(text));
}

void InitLibxml2Once() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

// Which element's text is being collected.
enum class TextField {
  kNone,
  kFeedTitle,
  kFeedId,
  kFeedUpdated,
  kEntryTitle,
  kEntryId,
  kEntryUpdated,
  kEntryPublished,
  kEntryContent,
};

}  // namespace

class AtomPageReader::Impl {
 public:
  Impl(std::string page_url, FeedReaderLimits limits, EntryCallback on_entry)
      : page_url_(std::move(page_url)), limits_(limits), on_entry_(std::move(on_entry)) {
    InitLibxml2Once();
    xmlSAXHandler sax;
    std::memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = &Impl::OnStartElement;
    sax.endElementNs = &Impl::OnEndElement;
    sax.characters = &Impl::OnText;
    sax.cdataBlock = &Impl::OnText;
    sax.internalSubset = &Impl::OnDoctype;
    sax.serror = &Impl::OnXmlError;
    ctxt_ = xmlCreatePushParserCtxt(&sax, this, nullptr, 0, nullptr);
    if (ctxt_ == nullptr) {
      error_ = ResourceExhaustedError(Prefix() + "cannot create an XML parser (out of memory)");
      return;
    }
    // NONET: never touch the network. Deliberately absent: NOENT (entity
    // substitution), DTDLOAD, DTDATTR, DTDVALID, HUGE (lifts libxml2's own
    // limits), RECOVER.
    xmlCtxtUseOptions(ctxt_, XML_PARSE_NONET | XML_PARSE_NOCDATA);
  }

  ~Impl() {
    if (ctxt_ != nullptr) xmlFreeParserCtxt(ctxt_);
  }

  Status Append(std::string_view bytes) {
    if (!error_.ok()) return error_;
    if (finished_) {
      FailHere(InvalidArgumentError("Append() after Finish()"));
      return error_;
    }
    if (bytes.size() > limits_.max_page_bytes - total_bytes_) {
      FailHere(ResourceExhaustedError("page is larger than the limit of " +
                                      std::to_string(limits_.max_page_bytes) + " bytes"));
      return error_;
    }
    total_bytes_ += bytes.size();
    // xmlParseChunk takes an int size; feed large buffers in slices.
    constexpr std::size_t kSlice = 1u << 20;
    while (!bytes.empty() && error_.ok()) {
      std::string_view slice = bytes.substr(0, kSlice);
      bytes.remove_prefix(slice.size());
      int rc = xmlParseChunk(ctxt_, slice.data(), static_cast<int>(slice.size()), 0);
      if (rc != 0 && error_.ok()) FailFromParser(/*at_end=*/false);
    }
    return error_;
  }

  StatusOr<AtomPage> Finish() {
    if (!error_.ok()) return error_;
    if (finished_) {
      FailHere(InvalidArgumentError("Finish() called twice"));
      return error_;
    }
    finished_ = true;
    int rc = xmlParseChunk(ctxt_, nullptr, 0, /*terminate=*/1);
    if (!error_.ok()) return error_;
    if (rc != 0 || !ctxt_->wellFormed) {
      FailFromParser(/*at_end=*/true);
      return error_;
    }
    if (!root_closed_) {
      // Not reachable with a well-formed document, kept as a last guard.
      FailHere(DataLossError("page ends before </feed> (truncated)"));
      return error_;
    }
    return std::move(page_);
  }

 private:
  // The errors libxml2 gives when the input stops inside the document. Only
  // these, found when the input ended, mean a cut page: libxml2 holds back
  // other errors too until more input comes, and so reports them at the end
  // only when the bytes happened to stop right there; they are a broken page
  // however the bytes arrive.
  static bool IsPrematureEnd(int code) {
    switch (code) {
      case XML_ERR_DOCUMENT_END:
      case XML_ERR_TAG_NOT_FINISHED:
      case XML_ERR_GT_REQUIRED:
      case XML_ERR_LTSLASH_REQUIRED:
      case XML_ERR_ATTRIBUTE_NOT_STARTED:
      case XML_ERR_ATTRIBUTE_NOT_FINISHED:
      case XML_ERR_ATTRIBUTE_WITHOUT_VALUE:
      case XML_ERR_LT_IN_ATTRIBUTE:
      case XML_ERR_COMMENT_NOT_FINISHED:
      case XML_ERR_CDATA_NOT_FINISHED:
      case XML_ERR_PI_NOT_FINISHED:
      case XML_ERR_NAME_REQUIRED:
      case XML_ERR_SPACE_REQUIRED:
        return true;
      default:
        return false;
    }
  }

  std::string Prefix() const {
    return "feed page '" + EscapeForMessage(page_url_, 200) + "' ";
  }

  std::string Position(int line, int column) const {
    return "line " + std::to_string(line) + " column " + std::to_string(column) + ": ";
  }

  // Records `status` (the first error wins) with the page name and the
  // parser's current position, and stops the parser so that no further SAX
  // event, and so no further entry, is delivered.
  void FailHere(const Status& status) {
    if (error_.ok()) {
      int line = ctxt_ != nullptr ? xmlSAX2GetLineNumber(ctxt_) : 0;
      int column = ctxt_ != nullptr ? xmlSAX2GetColumnNumber(ctxt_) : 0;
      if (finished_ && root_started_ && !root_closed_) {
        // At the end of input libxml2 reports a start tag cut before its '>'
        // with the attributes it got; what looks wrong there is the cut.
        error_ = DataLossError(Prefix() + Position(line, column) +
                               "page ends before </feed> (truncated): " + status.message());
      } else {
        error_ = Status(status.code(), Prefix() + Position(line, column) + status.message());
      }
      if (ctxt_ != nullptr) xmlStopParser(ctxt_);
    }
  }

  // The parser reported an error without our callback seeing one (or only
  // a warning): take libxml2's last error.
  void FailFromParser(bool at_end) {
    if (!error_.ok()) return;
    const xmlError* last = xmlCtxtGetLastError(ctxt_);
    std::string message = last != nullptr && last->message != nullptr
                              ? std::string(last->message)
                              : std::string("not well-formed XML");
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    int line = last != nullptr ? last->line : xmlSAX2GetLineNumber(ctxt_);
    int column = last != nullptr ? last->int2 : xmlSAX2GetColumnNumber(ctxt_);
    SetParserError(message, line, column, at_end, last != nullptr ? last->code : 0);
  }

  void SetParserError(std::string message, int line, int column, bool at_end, int code) {
    // libxml2 quotes names with ' which EscapeForMessage would turn into
    // \x27; its messages are otherwise plain ASCII.
    std::replace(message.begin(), message.end(), '\'', '"');
    std::string text = Prefix() + Position(line, column);
    if (at_end && root_started_ && !root_closed_ && IsPrematureEnd(code)) {
      error_ = DataLossError(text + "page ends before </feed> (truncated): " +
                             EscapeForMessage(message, 200));
    } else {
      error_ = InvalidArgumentError(text + "not well-formed XML: " + EscapeForMessage(message, 200));
    }
    xmlStopParser(ctxt_);
  }

  // --- SAX callbacks (user_data is the Impl) ---

  static void OnXmlError(void* user_data, xmlErrorPtr error) {
    auto* self = static_cast<Impl*>(user_data);
    if (error == nullptr || error->level < XML_ERR_ERROR || !self->error_.ok()) return;
    std::string message = error->message != nullptr ? error->message : "XML error";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    self->SetParserError(message, error->line, error->int2, self->finished_, error->code);
  }

  static void OnDoctype(void* user_data, const xmlChar* name, const xmlChar*, const xmlChar*) {
    auto* self = static_cast<Impl*>(user_data);
    self->FailHere(InvalidArgumentError(
        "a DOCTYPE (<!DOCTYPE " + EscapeForMessage(View(name)) +
        ">) is not allowed in an Atom feed page: no DTD or entity is ever processed"));
  }

  static void OnStartElement(void* user_data, const xmlChar* localname, const xmlChar*,
                             const xmlChar* uri, int, const xmlChar**, int nb_attributes,
                             int, const xmlChar** attributes) {
    static_cast<Impl*>(user_data)->StartElement(View(localname), View(uri), nb_attributes,
                                                attributes);
  }

  static void OnEndElement(void* user_data, const xmlChar*, const xmlChar*, const xmlChar*) {
    static_cast<Impl*>(user_data)->EndElement();
  }

  static void OnText(void* user_data, const xmlChar* text, int length) {
    auto* self = static_cast<Impl*>(user_data);
    if (self->field_ == TextField::kNone || !self->error_.ok()) return;
    if (static_cast<std::size_t>(length) > self->limits_.max_text_bytes - self->text_.size()) {
      self->FailHere(ResourceExhaustedError("element text is longer than the limit of " +
                                            std::to_string(self->limits_.max_text_bytes) +
                                            " bytes"));
      return;
    }
    self->text_.append(reinterpret_cast<const char*>(text), static_cast<std::size_t>(length));
  }

  // --- element handling ---

  // libxml2 passes attributes as 5-tuples: localname, prefix, URI, value
  // start, value end. Only un-namespaced attributes matter in Atom.
  static std::string Attribute(int count, const xmlChar** attributes, std::string_view name) {
    for (int i = 0; i < count; ++i) {
      const xmlChar** attribute = attributes + 5 * i;
      if (View(attribute[0]) == name && attribute[2] == nullptr) {
        return std::string(reinterpret_cast<const char*>(attribute[3]),
                           static_cast<std::size_t>(attribute[4] - attribute[3]));
      }
    }
    return std::string();
  }

  void StartElement(std::string_view name, std::string_view ns, int count,
                    const xmlChar** attributes) {
    if (!error_.ok()) return;
    ++depth_;
    if (depth_ > limits_.max_depth) {
      FailHere(ResourceExhaustedError("elements nest deeper than the limit of " +
                                      std::to_string(limits_.max_depth)));
      return;
    }
    if (depth_ == 1) {
      if (name != "feed" || ns != kAtomNamespace) {
        std::string found = "<" + EscapeForMessage(name) + ">";
        if (!ns.empty()) found += " in namespace '" + EscapeForMessage(ns) + "'";
        FailHere(InvalidArgumentError("root element is " + found + ", expected <feed> in the Atom "
                                      "namespace " + std::string(kAtomNamespace)));
        return;
      }
      // Feed pages are UTF-8 (RFC 4287 allows any, atomfeed writes UTF-8).
      // Another declared encoding goes through iconv, whose failures
      // libxml2 reports at different points depending on how the bytes
      // were chunked; refusing it keeps the answer the same either way.
      const xmlChar* declared = ctxt_->input != nullptr ? ctxt_->input->encoding : nullptr;
      if (declared == nullptr) declared = ctxt_->encoding;
      if (declared != nullptr && xmlStrcasecmp(declared, BAD_CAST "UTF-8") != 0 &&
          xmlStrcasecmp(declared, BAD_CAST "UTF8") != 0) {
        FailHere(InvalidArgumentError(
            "page declares encoding '" +
            EscapeForMessage(reinterpret_cast<const char*>(declared), 40) +
            "'; feed pages must be UTF-8"));
        return;
      }
      root_started_ = true;
      return;
    }
    // Text is collected only directly below <feed> or <entry>; anything in
    // another namespace (extensions) is skipped but still depth-limited.
    if (ns != kAtomNamespace || field_ != TextField::kNone) return;
    if (depth_ == 2) {
      if (name == "entry") {
        in_entry_ = true;
        entry_ = AtomEntry();
        content_src_.clear();
      } else if (name == "link") {
        AddLink(Attribute(count, attributes, "rel"), Attribute(count, attributes, "href"));
      } else if (name == "title") {
        BeginText(TextField::kFeedTitle);
      } else if (name == "id") {
        BeginText(TextField::kFeedId);
      } else if (name == "updated") {
        BeginText(TextField::kFeedUpdated);
      }
    } else if (depth_ == 3 && in_entry_) {
      if (name == "title") {
        BeginText(TextField::kEntryTitle);
      } else if (name == "id") {
        BeginText(TextField::kEntryId);
      } else if (name == "updated") {
        BeginText(TextField::kEntryUpdated);
      } else if (name == "published") {
        BeginText(TextField::kEntryPublished);
      } else if (name == "category") {
        entry_.categories.push_back(AtomCategory{Attribute(count, attributes, "term"),
                                                 Attribute(count, attributes, "scheme")});
      } else if (name == "content") {
        entry_.content_type = Attribute(count, attributes, "type");
        content_src_ = Attribute(count, attributes, "src");
        BeginText(TextField::kEntryContent);
      }
    }
  }

  void BeginText(TextField field) {
    field_ = field;
    field_depth_ = depth_;
    text_.clear();
  }

  void EndElement() {
    if (!error_.ok()) return;
    if (field_ != TextField::kNone && depth_ == field_depth_) EndText();
    if (depth_ == 2 && in_entry_) EndEntry();
    if (depth_ == 1) root_closed_ = true;
    --depth_;
  }

  void EndText() {
    std::string text = std::move(text_);
    text_.clear();
    TextField field = field_;
    field_ = TextField::kNone;
    switch (field) {
      case TextField::kFeedTitle: page_.info.title = Trimmed(text); break;
      case TextField::kFeedId: page_.info.id = Trimmed(text); break;
      case TextField::kFeedUpdated: page_.info.updated = Trimmed(text); break;
      case TextField::kEntryTitle: entry_.title = Trimmed(text); break;
      case TextField::kEntryId: entry_.id = Trimmed(text); break;
      case TextField::kEntryUpdated: entry_.updated = Trimmed(text); break;
      case TextField::kEntryPublished: entry_.published = Trimmed(text); break;
      case TextField::kEntryContent: entry_.content = std::move(text); break;
      case TextField::kNone: break;
    }
  }

  static std::string Trimmed(const std::string& text) {
    std::size_t begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return std::string();
    std::size_t end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
  }

  void EndEntry() {
    in_entry_ = false;
    ++entry_count_;
    std::string which = "entry " + std::to_string(entry_count_);
    if (entry_.id.empty()) {
      FailHere(InvalidArgumentError(which + " has no <id>"));
      return;
    }
    which += " ('" + EscapeForMessage(entry_.id) + "')";
    if (entry_count_ > limits_.max_entries) {
      FailHere(ResourceExhaustedError("page has more entries than the limit of " +
                                      std::to_string(limits_.max_entries)));
      return;
    }
    InterpretCategories(entry_);
    Status content = InterpretContent(entry_, content_src_);
    if (!content.ok()) {
      FailHere(content.WithContext(which));
      return;
    }
    if (on_entry_) {
      Status taken = on_entry_(std::move(entry_));
      if (!taken.ok()) FailHere(taken.WithContext(which + " refused by the caller"));
    } else {
      page_.entries.push_back(std::move(entry_));
    }
    entry_ = AtomEntry();
  }

  void AddLink(const std::string& rel, const std::string& href) {
    std::string* target = nullptr;
    if (rel == "self") target = &page_.info.self;
    else if (rel == "via") target = &page_.info.via;
    else if (rel == "first") target = &page_.info.first;
    else if (rel == "last") target = &page_.info.last;
    else if (rel == "prev-archive") target = &page_.info.prev_archive;
    else if (rel == "next-archive") target = &page_.info.next_archive;
    if (target == nullptr || !target->empty()) return;  // other rel, or a repeat: first wins
    if (href.empty()) {
      FailHere(InvalidArgumentError("link rel=\"" + rel + "\" has no href"));
      return;
    }
    xmlChar* resolved = xmlBuildURI(reinterpret_cast<const xmlChar*>(href.c_str()),
                                    reinterpret_cast<const xmlChar*>(page_url_.c_str()));
    if (resolved == nullptr) {
      FailHere(InvalidArgumentError("link rel=\"" + rel + "\" has an invalid href '" +
                                    EscapeForMessage(href) + "'"));
      return;
    }
    *target = reinterpret_cast<const char*>(resolved);
    xmlFree(resolved);
  }

  const std::string page_url_;
  const FeedReaderLimits limits_;
  const EntryCallback on_entry_;
  xmlParserCtxtPtr ctxt_ = nullptr;
  Status error_;
  bool finished_ = false;
  std::size_t total_bytes_ = 0;

  int depth_ = 0;
  bool root_started_ = false;
  bool root_closed_ = false;
  bool in_entry_ = false;
  TextField field_ = TextField::kNone;
  int field_depth_ = 0;
  std::string text_;
  std::string content_src_;
  std::size_t entry_count_ = 0;
  AtomEntry entry_;
  AtomPage page_;
};

AtomPageReader::AtomPageReader(std::string page_url, FeedReaderLimits limits,
                               EntryCallback on_entry)
    : impl_(std::make_unique<Impl>(std::move(page_url), limits, std::move(on_entry))) {}

AtomPageReader::~AtomPageReader() = default;

Status AtomPageReader::Append(std::string_view bytes) { return impl_->Append(bytes); }

StatusOr<AtomPage> AtomPageReader::Finish() { return impl_->Finish(); }

StatusOr<AtomPage> ReadAtomPage(std::string_view page_url, std::string_view bytes,
                                const FeedReaderLimits& limits) {
  AtomPageReader reader{std::string(page_url), limits};
  FHIRSYNC_RETURN_IF_ERROR(reader.Append(bytes));
  return reader.Finish();
}

}  // namespace fhirsync::feed
