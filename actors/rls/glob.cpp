// Wildcard parsing and matching for RLS queries (see glob.hpp).
#include "actors/rls/glob.hpp"

namespace librarian::rls {

expected<glob> parse_glob(std::string_view pattern, size_t pattern_bytes_max) {
  if (pattern.empty()) return fail(errc::invalid_argument, "BADARG: a pattern must not be empty");
  if (pattern.size() > pattern_bytes_max)
    return fail(errc::invalid_argument, "BADARG: a pattern has at most " +
                                            std::to_string(pattern_bytes_max) + " bytes (got " +
                                            std::to_string(pattern.size()) + ")");
  glob out;
  out.tokens.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\0')
      return fail(errc::invalid_argument, "BADARG: a pattern must not contain a NUL byte");
    glob_token token;
    if (c == '\\') {
      if (i + 1 == pattern.size())
        return fail(errc::invalid_argument,
                    "BADARG: a pattern must not end with a lone backslash; write \\\\ for one");
      token.byte = pattern[++i];
      if (token.byte == '\0')
        return fail(errc::invalid_argument, "BADARG: a pattern must not contain a NUL byte");
    } else if (c == '*') {
      token.what = glob_token::kind::any_run;
    } else if (c == '?') {
      token.what = glob_token::kind::any_byte;
    } else {
      token.byte = c;
    }
    if (token.what != glob_token::kind::literal) out.has_wildcard = true;
    if (token.what == glob_token::kind::literal && !out.has_wildcard)
      out.literal_prefix.push_back(token.byte);
    // Consecutive stars are one star; keeping one keeps the matcher's backtracking short.
    bool repeated_star = token.what == glob_token::kind::any_run && !out.tokens.empty() &&
                         out.tokens.back().what == glob_token::kind::any_run;
    if (!repeated_star) out.tokens.push_back(token);
  }
  return out;
}

bool glob_match(const glob& pattern, std::string_view name) {
  const auto& tokens = pattern.tokens;
  constexpr size_t none = static_cast<size_t>(-1);
  size_t t = 0;
  size_t n = 0;
  size_t star_t = none;  // the last star seen, to retry from when a later token fails
  size_t star_n = 0;
  // Each step advances n, or t within one retry; bounded by name.size() * (tokens.size() + 1).
  while (n < name.size()) {
    if (t < tokens.size() && tokens[t].what == glob_token::kind::any_run) {
      star_t = t++;
      star_n = n;
    } else if (t < tokens.size() &&
               (tokens[t].what == glob_token::kind::any_byte || tokens[t].byte == name[n])) {
      ++t;
      ++n;
    } else if (star_t != none) {
      t = star_t + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (t < tokens.size() && tokens[t].what == glob_token::kind::any_run) ++t;
  return t == tokens.size();
}

}  // namespace librarian::rls
