package scim

// MatchOptions are the caseExact and dateTime attributes of the User
// schema, for tests that evaluate filters with filter.Match.
var MatchOptions = matchOptions
