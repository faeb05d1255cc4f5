// Package filter reads the SCIM 2.0 filter language (RFC 7644 §3.4.2.2)
// and PATCH paths (§3.5.2), and evaluates filters over JSON resources. It
// knows no schema and no store: callers say which attributes exist, which
// are caseExact or dateTime, and how an Expr becomes a query.
//
// # Filters
//
// Parse accepts the ABNF of RFC 7644 Figure 1:
//
//	userName eq "bjensen"
//	urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"
//	title pr and not (userType eq "Intern" or meta.lastModified lt "2011-05-13T04:42:34Z")
//	emails[type eq "work" and value co "@example.com"]
//
// An attribute path is [schema URI ":"] name ["." sub]: the URI ends at the
// last colon, a name starts with a letter and holds letters, digits, "-"
// and "_" (or is "$ref"), and a path has at most one sub-attribute. Names,
// operators (eq ne co sw ew gt ge lt le pr), "and", "or", "not" and the
// literals true, false and null are case-insensitive; the tree keeps names
// as written and AttrPath.Normalized folds them. A value is JSON: a string
// in double quotes with JSON's escapes (invalid UTF-8 and unpaired
// surrogates are refused), a number (kept as its text, a json.Number;
// numbers beyond float64 are refused), true, false or null.
//
// Precedence is not, then and, then or: "a or b and c" is "a or (b and
// c)", and chains of either operator are left-associative. "not" always
// takes a parenthesized filter, with or without a space before the "("
// (the RFC's grammar omits it, its examples have it). Whitespace is
// spaces, tabs, CR and LF: one or more of them separate words; next to
// parentheses and brackets it is optional; leading and trailing
// whitespace is ignored. A PATCH path takes none outside its brackets.
//
// A value filter attr[…] matches when one value of attr (one element of a
// multi-valued attribute) passes the whole bracketed filter; inside the
// brackets, paths are bare sub-attribute names and value filters do not
// nest. Beyond the RFC, attr[f].sub op value, which Microsoft Entra ID
// sends, is read as attr[f and sub op value]; attr[f] followed by an
// operator is refused with a hint.
//
// Parse refuses what can never match: co, sw and ew with anything but a
// string; gt, ge, lt and le with null or a boolean (the RFC makes ordering
// booleans an error). Everything else that is well-formed parses, whether
// or not the attribute exists: that check is the caller's, with its schema.
//
// Errors are *Error, with the byte offset of the problem and a message for
// the client; its Kind maps to scimType invalidFilter or invalidPath.
// Inputs are bounded by MaxLength, MaxDepth and MaxTerms.
//
// # Trees
//
// An Expr is one of *Or, *And, *Not, *Compare, *Present and *ValuePath,
// with no positions in it, so trees compare with reflect.DeepEqual. String
// prints the canonical form: single spaces, lower-case operators and
// literals, the fewest parentheses that keep the tree, JSON-quoted strings
// escaping only what JSON requires, and "not (…)". Parse of String is the
// same tree, unless the canonical form, which can be a few bytes longer
// than the input (the "and" of an Entra value path, the space in "not ("),
// crosses MaxLength or MaxDepth. Walk visits a tree in written order.
//
// # PATCH paths
//
// ParsePath reads "attrPath" or "attr[valFilter]" with an optional ".sub":
// "name.givenName", `emails[type eq "work"].value`, the value filter
// following the rules above and the rest taking no whitespace. Errors
// inside the brackets are InvalidFilter, the others InvalidPath, as RFC
// 7644 Table 9 assigns them. A path made of a schema URI alone cannot be
// told from a URI ending in an attribute name: "urn:…:2.0:User" parses as
// the attribute "User" of "urn:…:2.0", which a caller that knows its
// extensions may rejoin.
//
// # Evaluation
//
// Match evaluates over a resource as encoding/json decodes it, and
// MatchValue over one value of an attribute (what a PATCH value filter
// selects). The semantics:
//
//   - Names are looked up case-insensitively. A URI prefix selects the
//     extension object of that name when the resource has one, and the top
//     level otherwise, where the core schema's attributes are.
//   - A multi-valued attribute matches when any of its values does, for
//     every operator, ne included: `emails.type ne "work"` matches a user
//     with one home and one work address. An absent attribute matches no
//     comparison, so `title ne "x"` is false without a title (as SQL's
//     NULL <> 'x' is); "not (title eq "x")" is true.
//   - A complex value compared directly stands for its "value"
//     sub-attribute: `emails co "example.com"`, `members eq "2819c223"`.
//   - pr: the value is not null, not "", not an empty array, and not an
//     object whose members are all absent by this rule. "eq null" is the
//     opposite of pr, "ne null" the same (RFC 7643 §2.5 makes null and
//     absence one state).
//   - Strings compare case-insensitively (strings.ToLower on both sides)
//     unless the CaseExact option names the attribute; gt, ge, lt and le
//     order them by code point.
//   - Date-times (RFC 3339) compare as instants under eq, ne, gt, ge, lt
//     and le: for the attributes the DateTime option names, or, without
//     it, whenever both strings parse as date-times.
//   - Numbers compare by value: exactly between integers that fit an
//     int64, as float64 otherwise.
//   - Booleans compare with eq and ne only.
//   - Values of different types never match: a comparison across types is
//     false, not an error. The RFC's error for ordering a boolean attribute
//     needs the schema, so it is the caller's; Parse already refuses a
//     boolean operand of gt, ge, lt and le.
package filter
