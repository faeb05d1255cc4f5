package patch

// Merge applies an RFC 7396 JSON Merge Patch to target and returns the
// result. If patch is an object, its members are merged into target (which
// is treated as {} when it is not an object): a null member deletes that
// name, an object member is merged recursively, any other member replaces
// the value whole. If patch is not an object, it replaces target whole.
//
// Merge cannot fail. It never mutates target or patch, and the result shares
// no map or slice with either of them, so the caller may modify it freely.
func Merge(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return clone(patch)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = nil // the RFC's "Target = {}"; ranging over a nil map is fine
	}
	out := make(map[string]any, len(t)+len(p))
	for k, v := range t {
		if _, patched := p[k]; !patched {
			out[k] = clone(v)
		}
	}
	for k, pv := range p {
		if pv == nil {
			continue // deleted, or never there
		}
		// A member absent from target merges into nothing: for an object
		// value this strips its nested nulls, as RFC 7396 Appendix A.15 shows.
		out[k] = Merge(t[k], pv)
	}
	return out
}
