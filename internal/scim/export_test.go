package scim

// MatchOptions are the caseExact and dateTime attributes of the User
// schema, for tests that evaluate filters with filter.Match.
var MatchOptions = matchOptions

// FilterView is what a filter of Users compares of a user's resource.
var FilterView = filterView
