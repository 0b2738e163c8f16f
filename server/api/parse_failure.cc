#include "server/api/parse_failure.h"

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/unknown_field_set.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// Far deeper than any request of ours; bounds the recursion over hostile bytes.
constexpr int kMaxDepth = 64;

std::optional<std::string> FindIn(const Descriptor& type, absl::string_view wire, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) return std::nullopt;
  std::map<int, int> occurrences;  // of each repeated field so far: the index of the next one
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* descriptor = type.FindFieldByNumber(field.number());
    if (descriptor == nullptr) continue;  // unknown fields are kept as bytes, never checked
    std::string path = descriptor->name();
    if (descriptor->is_repeated()) absl::StrAppend(&path, "[", occurrences[field.number()]++, "]");
    const std::string& bytes = field.length_delimited();
    if (descriptor->type() == FieldDescriptor::TYPE_STRING) {
      // The parser's own test, and only where it applies it (proto2 strings are not refused),
      // so the field named is the one the parser refused.
      if (descriptor->file()->syntax() == FileDescriptor::SYNTAX_PROTO3 &&
          !google::protobuf::internal::IsStructurallyValidUTF8(bytes.data(), static_cast<int>(bytes.size()))) {
        return path;
      }
    } else if (descriptor->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (std::optional<std::string> inner = FindIn(*descriptor->message_type(), bytes, depth + 1)) {
        return absl::StrCat(path, ".", *inner);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindInvalidUtf8Field(const Descriptor& type, absl::string_view wire) {
  return FindIn(type, wire, 0);
}

absl::Status ParseFailure(const Descriptor& type, absl::string_view wire) {
  if (std::optional<std::string> field = FindInvalidUtf8Field(type, wire)) {
    return ops::InvalidField(*field, "not valid UTF-8");
  }
  return absl::InvalidArgumentError(absl::StrCat("the request is not a valid ", type.full_name(), " message"));
}

}  // namespace partner::api
