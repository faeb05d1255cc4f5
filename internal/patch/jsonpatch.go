package patch

import (
	"fmt"
	"slices"
)

// Op is one operation of an RFC 6902 JSON Patch.
type Op struct {
	Op    string // "add", "remove", "replace", "move", "copy" or "test"
	Path  string // RFC 6901 JSON Pointer to the target location
	From  string // JSON Pointer to the source location; move and copy only
	Value any    // add, replace and test only; nil is JSON null
}

// An OpError reports an invalid JSON Patch document: not an array of
// objects, an operation with a missing, mistyped or unknown member, or a
// pointer that is not RFC 6901 syntax. The request cannot be understood
// (HTTP 400). Msg is safe to show to a client.
type OpError struct {
	Index int // position of the operation in the patch; -1 if the patch is not an array
	Msg   string
}

func (e *OpError) Error() string {
	if e.Index < 0 {
		return "invalid json patch: " + e.Msg
	}
	return fmt.Sprintf("invalid json patch: operation %d: %s", e.Index, e.Msg)
}

// A ConflictError reports a well-formed JSON Patch operation that cannot
// be applied to the document as it is: a location that does not exist, an
// array index that does not select an element, a failed test, a move into
// the moved value's own child (HTTP 409). Msg is safe to show to a client:
// it names pointers from the patch but never quotes document values.
type ConflictError struct {
	Index int    // position of the operation in the patch
	Op    string // the operation, e.g. "test"
	Path  string // the operation's pointer that failed: its path, or its from
	Msg   string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("json patch conflict: operation %d (%s): %s", e.Index, e.Op, e.Msg)
}

// ParseOps converts a decoded JSON Patch document into operations. The
// document must be an array of objects. Each needs "op", one of add, remove,
// replace, move, copy and test; "path", a JSON Pointer string; "from", a
// JSON Pointer string, for move and copy; and "value" for add, replace and
// test, where an explicit null counts as present. Other members are ignored,
// as RFC 6902 §4 requires.
//
// It returns an *OpError naming the first invalid operation. Whether the
// operations apply to a given document is only known to Apply.
func ParseOps(doc any) ([]Op, error) {
	list, ok := doc.([]any)
	if !ok {
		return nil, &OpError{Index: -1, Msg: "a JSON Patch document must be an array of operations"}
	}
	ops := make([]Op, 0, len(list))
	for i, x := range list {
		obj, ok := x.(map[string]any)
		if !ok {
			return nil, &OpError{Index: i, Msg: "an operation must be a JSON object"}
		}
		op, msg := parseOp(obj)
		if msg != "" {
			return nil, &OpError{Index: i, Msg: msg}
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// parseOp returns the operation held by obj, or a message saying what is
// wrong with it.
func parseOp(obj map[string]any) (Op, string) {
	var op Op
	var msg string
	if op.Op, msg = stringMember(obj, "op"); msg != "" {
		return Op{}, msg
	}
	if !validOp(op.Op) {
		return Op{}, fmt.Sprintf("unknown op %s", quoteShort(op.Op))
	}
	if op.Path, msg = pointerMember(obj, "path"); msg != "" {
		return Op{}, msg
	}
	if op.Op == "move" || op.Op == "copy" {
		if op.From, msg = pointerMember(obj, "from"); msg != "" {
			return Op{}, msg
		}
	}
	if op.Op == "add" || op.Op == "replace" || op.Op == "test" {
		v, ok := obj["value"]
		if !ok {
			return Op{}, fmt.Sprintf(`missing "value" member for %s`, op.Op)
		}
		op.Value = v
	}
	return op, ""
}

func stringMember(obj map[string]any, name string) (string, string) {
	v, ok := obj[name]
	if !ok {
		return "", fmt.Sprintf("missing %q member", name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Sprintf("%q must be a string", name)
	}
	return s, ""
}

func pointerMember(obj map[string]any, name string) (string, string) {
	s, msg := stringMember(obj, name)
	if msg != "" {
		return "", msg
	}
	if _, err := ParsePointer(s); err != nil {
		return "", fmt.Sprintf("invalid %q %s: %v", name, quoteShort(s), err)
	}
	return s, ""
}

func validOp(op string) bool {
	switch op {
	case "add", "remove", "replace", "move", "copy", "test":
		return true
	}
	return false
}

// Apply applies ops in order to a deep copy of doc and returns the result.
// It is atomic: on error the result is nil and nothing is half-applied; doc
// and the ops' values are never mutated, and the result shares no map or
// slice with them.
//
// It returns a *ConflictError, carrying the failing operation's index, when
// an operation cannot apply to the document as it stands at that point, and
// an *OpError when an operation is itself invalid (only possible for Ops not
// built by ParseOps: an unknown op or a malformed pointer).
func Apply(doc any, ops []Op) (any, error) {
	doc = clone(doc)
	for i, op := range ops {
		var err error
		doc, err = applyOp(doc, op)
		switch e := err.(type) {
		case nil:
		case *OpError:
			e.Index = i
			return nil, e
		case *ConflictError:
			e.Index = i
			return nil, e
		default:
			return nil, err
		}
	}
	return doc, nil
}

// applyOp applies one operation to doc, which it owns and may mutate; the
// returned errors lack only the operation index.
func applyOp(doc any, op Op) (any, error) {
	if !validOp(op.Op) {
		return nil, &OpError{Msg: fmt.Sprintf("unknown op %s", quoteShort(op.Op))}
	}
	path, err := ParsePointer(op.Path)
	if err != nil {
		return nil, &OpError{Msg: fmt.Sprintf(`invalid "path" %s: %v`, quoteShort(op.Path), err)}
	}
	var from []string
	if op.Op == "move" || op.Op == "copy" {
		if from, err = ParsePointer(op.From); err != nil {
			return nil, &OpError{Msg: fmt.Sprintf(`invalid "from" %s: %v`, quoteShort(op.From), err)}
		}
	}
	conflict := func(pointer, msg string) *ConflictError {
		return &ConflictError{Op: op.Op, Path: pointer, Msg: msg}
	}

	switch op.Op {
	case "add":
		doc, msg := add(doc, path, clone(op.Value))
		if msg != "" {
			return nil, conflict(op.Path, msg)
		}
		return doc, nil
	case "remove":
		doc, _, msg := remove(doc, path)
		if msg != "" {
			return nil, conflict(op.Path, msg)
		}
		return doc, nil
	case "replace":
		doc, msg := replace(doc, path, clone(op.Value))
		if msg != "" {
			return nil, conflict(op.Path, msg)
		}
		return doc, nil
	case "test":
		v, msg := get(doc, path)
		if msg != "" {
			return nil, conflict(op.Path, msg)
		}
		if !Equal(v, op.Value) {
			return nil, conflict(op.Path, fmt.Sprintf("test failed: the value at %s is not the expected value", quotePointer(path)))
		}
		return doc, nil
	case "copy":
		v, msg := get(doc, from)
		if msg != "" {
			return nil, conflict(op.From, msg)
		}
		doc, msg := add(doc, path, clone(v))
		if msg != "" {
			return nil, conflict(op.Path, msg)
		}
		return doc, nil
	default: // "move"
		if slices.Equal(from, path) {
			// A no-op, but the location must still exist (RFC 6902 §4.4).
			if _, msg := get(doc, from); msg != "" {
				return nil, conflict(op.From, msg)
			}
			return doc, nil
		}
		if len(from) < len(path) && slices.Equal(from, path[:len(from)]) {
			return nil, conflict(op.Path, fmt.Sprintf("cannot move %s into its own child %s", quotePointer(from), quotePointer(path)))
		}
		doc, v, msg := remove(doc, from)
		if msg != "" {
			return nil, conflict(op.From, msg)
		}
		doc, msg = add(doc, path, v)
		if msg != "" {
			return nil, conflict(op.Path, msg)
		}
		return doc, nil
	}
}

// The primitives below work on a document Apply owns. Each returns a
// non-empty message, naming the offending location, when the pointer does
// not fit the document. Arrays are mutated in place where their length
// stays the same; a container whose slice header changes is stored back
// into its parent by walk.

// get returns the value at path.
func get(doc any, path []string) (any, string) {
	cur := doc
	for i, tok := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, notExist(path[:i+1])
			}
			cur = v
		case []any:
			idx, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, indexMessage(path[:i+1], err)
			}
			cur = c[idx]
		default:
			return nil, notExist(path[:i+1])
		}
	}
	return cur, ""
}

// add implements RFC 6902 §4.1: it sets an object member (replacing any
// value already there) or inserts into an array ("-" or len appends). An
// empty path replaces the whole document.
func add(doc any, path []string, v any) (any, string) {
	if len(path) == 0 {
		return v, ""
	}
	return walk(doc, path, 0, func(parent any, last string) (any, string) {
		switch c := parent.(type) {
		case map[string]any:
			c[last] = v
			return c, ""
		case []any:
			idx, err := arrayIndex(last, len(c), true)
			if err != nil {
				return nil, indexMessage(path, err)
			}
			return slices.Insert(c, idx, v), ""
		default:
			return nil, fmt.Sprintf("cannot add %s: %s is neither an object nor an array", quotePointer(path), quotePointer(path[:len(path)-1]))
		}
	})
}

// remove implements RFC 6902 §4.2 and also returns the removed value.
func remove(doc any, path []string) (any, any, string) {
	if len(path) == 0 {
		return nil, nil, "cannot remove the whole document"
	}
	var removed any
	doc, msg := walk(doc, path, 0, func(parent any, last string) (any, string) {
		switch c := parent.(type) {
		case map[string]any:
			v, ok := c[last]
			if !ok {
				return nil, notExist(path)
			}
			removed = v
			delete(c, last)
			return c, ""
		case []any:
			idx, err := arrayIndex(last, len(c), false)
			if err != nil {
				return nil, indexMessage(path, err)
			}
			removed = c[idx]
			return slices.Delete(c, idx, idx+1), ""
		default:
			return nil, notExist(path)
		}
	})
	return doc, removed, msg
}

// replace implements RFC 6902 §4.3: the target must exist.
func replace(doc any, path []string, v any) (any, string) {
	if len(path) == 0 {
		return v, ""
	}
	return walk(doc, path, 0, func(parent any, last string) (any, string) {
		switch c := parent.(type) {
		case map[string]any:
			if _, ok := c[last]; !ok {
				return nil, notExist(path)
			}
			c[last] = v
			return c, ""
		case []any:
			idx, err := arrayIndex(last, len(c), false)
			if err != nil {
				return nil, indexMessage(path, err)
			}
			c[idx] = v
			return c, ""
		default:
			return nil, notExist(path)
		}
	})
}

// walk descends node along path[i:len(path)-1], calls edit on the parent of
// the last location, and stores each returned container back into its own
// parent on the way up. It returns node's replacement.
func walk(node any, path []string, i int, edit func(parent any, last string) (any, string)) (any, string) {
	if i == len(path)-1 {
		return edit(node, path[i])
	}
	tok := path[i]
	switch c := node.(type) {
	case map[string]any:
		child, ok := c[tok]
		if !ok {
			return nil, notExist(path[:i+1])
		}
		child, msg := walk(child, path, i+1, edit)
		if msg != "" {
			return nil, msg
		}
		c[tok] = child
		return c, ""
	case []any:
		idx, err := arrayIndex(tok, len(c), false)
		if err != nil {
			return nil, indexMessage(path[:i+1], err)
		}
		child, msg := walk(c[idx], path, i+1, edit)
		if msg != "" {
			return nil, msg
		}
		c[idx] = child
		return c, ""
	default:
		return nil, notExist(path[:i+1])
	}
}

func notExist(path []string) string {
	return fmt.Sprintf("%s does not exist", quotePointer(path))
}

// indexMessage words an arrayIndex error about the last token of path.
func indexMessage(path []string, err error) string {
	tok := path[len(path)-1]
	switch err {
	case errNoEnd:
		return fmt.Sprintf(`%s: "-" refers to the nonexistent element after the last`, quotePointer(path))
	case errOutOfRange:
		return fmt.Sprintf("%s: array index %s is out of range", quotePointer(path), quoteShort(tok))
	default:
		return fmt.Sprintf("%s: %s is not a valid array index", quotePointer(path), quoteShort(tok))
	}
}

// quotePointer formats path for a message.
func quotePointer(path []string) string {
	if len(path) == 0 {
		return "the whole document"
	}
	return quoteShort(formatPointer(path))
}
