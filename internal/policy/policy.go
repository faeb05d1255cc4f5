// Package policy authorizes writes to users with each tenant's Cedar policy
// set (docs/design.md §6), using github.com/cedar-policy/cedar-go.
//
// The model the policies see is published as Schema (Cedar schema text):
// the principal is the request's API key, Key::"key_…", or the acting user,
// User::"usr_…"; the action is one of the directory.CedarAction names; the
// resource is the target User; the context says which fields change, the
// roles after the write, whether a user acts and the key's scopes.
// DefaultPolicies is the set of a tenant that has not written its own.
//
// Engine implements directory.Authorizer; Validate checks a tenant's text
// before it is stored. docs/policies.md is the guide for tenants.
//
// A tenant with the default set is decided natively, without Cedar's
// entities and evaluation (native.go), and only while DefaultPolicies is
// the text that code implements (New compares its SHA-256).
// TestDefaultFastPathMatchesCedar proves the two paths equal on every
// combination of the values the default policies test and on random
// requests over wider values.
package policy

import (
	_ "embed"
)

// Schema is the Cedar schema (human-readable format) of the entities,
// actions and context Roster gives every policy.
//
//go:embed schema.cedarschema
var Schema string

// DefaultPolicies is the Cedar policy set a tenant has while its Policies
// are empty: keys do what their scopes allow, an acting user edits their own
// profile but not their roles, an acting admin manages users, and the owner
// is protected.
//
//go:embed default.cedar
var DefaultPolicies string

// Annotations Roster reads on policies.
const (
	// annotationID names a policy in notices and validation messages.
	annotationID = "id"
	// annotationNotice is the sentence a deny shows the client (§5
	// notices).
	annotationNotice = "notice"
)

// noPermitNotice is the notice of a deny that no forbid policy caused.
const noPermitNotice = "No policy permits this action."
