package fields

var (
	errRoleUnknown   = fail(CodeInvalidRole, "must name only roles of the tenant's role catalog")
	errRoleDuplicate = fail(CodeDuplicateRole, "must not name the same role twice")
)

// Roles validates a list of role names against the tenant's role catalog.
//
// Names are compared exactly (case-sensitive, no trimming). If any name is
// not in catalog, Roles returns those names, each once and in the order of
// roles, with CodeInvalidRole: the caller answers 422 invalid_role and may
// list them. Otherwise, if a name appears twice, it returns CodeDuplicateRole.
// An empty list is valid.
func Roles(roles, catalog []string) (missing []string, err *Error) {
	inCatalog := func(r string) bool {
		for _, c := range catalog {
			if c == r {
				return true
			}
		}
		return false
	}
	if len(catalog) > 16 {
		set := make(map[string]struct{}, len(catalog))
		for _, c := range catalog {
			set[c] = struct{}{}
		}
		inCatalog = func(r string) bool { _, ok := set[r]; return ok }
	}

	// seen holds the names met so far; lists are short, so a linear scan
	// beats a map until they are not.
	var seenMap map[string]struct{}
	if len(roles) > 16 {
		seenMap = make(map[string]struct{}, len(roles))
	}
	duplicate := false
	for i, r := range roles {
		dup := false
		if seenMap != nil {
			_, dup = seenMap[r]
			seenMap[r] = struct{}{}
		} else {
			for _, prev := range roles[:i] {
				if prev == r {
					dup = true
					break
				}
			}
		}
		if dup {
			duplicate = true
			continue
		}
		if !inCatalog(r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return missing, new(errRoleUnknown)
	}
	if duplicate {
		return nil, new(errRoleDuplicate)
	}
	return nil, nil
}
