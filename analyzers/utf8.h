// UTF-8 <-> wide strings for Lucene++ (whose strings are std::wstring, UTF-32
// on Linux). Lucene++'s own StringUtils::toUnicode returns "" on invalid
// input; these functions never drop text silently.
#pragma once

#include <string>

namespace xmr {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
// On false, `*bad_offset` (if given) is the byte offset of the first problem.
bool is_valid_utf8(const std::string& s, size_t* bad_offset = nullptr);

// Decodes UTF-8, replacing each invalid byte sequence by U+FFFD.
std::wstring utf8_to_wide(const std::string& s);

// Encodes code points as UTF-8 (invalid code points become U+FFFD).
std::string wide_to_utf8(const std::wstring& w);
void append_utf8(wchar_t c, std::string& out);

// The longest prefix of `s` of at most `max_bytes` bytes that does not end
// inside a multi-byte character.
size_t utf8_prefix_length(const std::string& s, size_t max_bytes);

}  // namespace xmr
