package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/fields"
)

// maxMessages caps the messages of one Validate error.
const maxMessages = 50

// maxSearchedKeys caps the metadata keys whose type Validate searches; the
// others stay String. It bounds the work a large text can cause.
const maxSearchedKeys = 64

// maxMetadataKeys caps the metadata keys a policy set may read: the
// validator's work grows with their number.
const maxMetadataKeys = 256

// Caps on a tenant's policy text, checked before any of it is parsed: the
// parse and the type check cost time and memory in proportion to the text
// (a 1 MB set took seconds of CPU), and a refused text costs them too.
const (
	// MaxTextBytes caps the policy text, in bytes of UTF-8.
	MaxTextBytes = 64 << 10
	// MaxPolicies caps the policies of a text.
	MaxPolicies = 100
)

// Validate checks a tenant's Cedar policy text: it must parse, and every
// policy must type-check against Schema with cedar-go's validator in strict
// mode (unknown entity types, actions and attributes, optional attributes
// read without `has`, operands of the wrong type, …).
//
// The metadata and secure_metadata of a User are the tenant's own JSON
// objects, which the schema cannot describe. Validate lets policies read
// any key of them, at any depth, as an optional attribute (so behind a
// `has` test), and accepts the text when some type for each key read
// (String, Long, Bool, decimal, a Set of String or of Long, or a record)
// makes every policy type-check. It cannot know the values tenants will
// store: a policy that compares a key with a number validates, and fails at
// run time on a user whose key holds a string (Engine then treats a forbid
// policy as matching). It searches the types of at most 64 keys; others
// are taken as Strings.
//
// Validate returns nil, or a *directory.Error validation_failed with one
// FieldError (field "policies", code "invalid_policy") per problem, each
// message starting with the line and column where it is: the offending
// token for a syntax error, the start of the policy for a type error
// (cedar-go does not locate them further). Syntax errors are reported for
// every statement, not only the first. At most 50 messages are listed, the
// last saying how many more there are.
//
// A text longer than MaxTextBytes (code "too_large"), or with more than
// MaxPolicies policies (code "too_many_policies"), is refused with that one
// FieldError before it is parsed. Policies are counted as the semicolons
// that end them, outside strings and comments, in one pass over the text.
func Validate(text string) error {
	if err := checkLimits(text); err != nil {
		return err
	}
	stmts := parseStatements(text)
	var msgs []string
	var parsed []statement
	for _, s := range stmts {
		if s.err != "" {
			msgs = append(msgs, s.err)
			continue
		}
		parsed = append(parsed, s)
	}
	if len(msgs) == 0 {
		// The statements parse one by one; the whole text must too.
		if _, err := cedar.NewPolicyListFromBytes("", []byte(text)); err != nil {
			msgs = append(msgs, parseMessage(err.Error(), 1, 1))
		}
	}
	msgs = append(msgs, typecheck(parsed)...)
	if len(msgs) == 0 {
		return nil
	}
	slices.SortStableFunc(msgs, func(a, b string) int {
		la, ca := messagePosition(a)
		lb, cb := messagePosition(b)
		if la != lb {
			return la - lb
		}
		return ca - cb
	})
	if len(msgs) > maxMessages {
		n := len(msgs) - maxMessages
		l, c := messagePosition(msgs[maxMessages])
		msgs = append(msgs[:maxMessages], fmt.Sprintf("%d:%d: %d more problems are not shown.", l, c, n))
	}
	fe := make([]directory.FieldError, len(msgs))
	for i, m := range msgs {
		fe[i] = directory.FieldError{Field: "policies", Code: "invalid_policy", Message: m}
	}
	return &directory.Error{
		Code:    directory.ECodeValidationFailed,
		Message: "The policies are invalid.",
		Fields:  fe,
	}
}

// checkLimits refuses a text over MaxTextBytes or MaxPolicies, without
// parsing it.
func checkLimits(text string) error {
	var fe directory.FieldError
	switch {
	case len(text) > MaxTextBytes:
		fe = directory.FieldError{Field: "policies", Code: fields.CodeTooLarge,
			Message: fmt.Sprintf("must be at most %d bytes", MaxTextBytes)}
	case len(splitStatements(text)) > MaxPolicies:
		fe = directory.FieldError{Field: "policies", Code: codeTooManyPolicies,
			Message: fmt.Sprintf("must hold at most %d policies", MaxPolicies)}
	default:
		return nil
	}
	return &directory.Error{
		Code:    directory.ECodeValidationFailed,
		Message: "The policies are too large.",
		Fields:  []directory.FieldError{fe},
	}
}

// codeTooManyPolicies is the FieldError code of a text with more than
// MaxPolicies policies.
const codeTooManyPolicies = "too_many_policies"

// statement is one policy of a text, or the syntax error of its statement.
type statement struct {
	policy    *cedar.Policy
	name      string // @id, else policyN
	line, col int    // where the policy starts
	err       string // the syntax error, with its position
}

// parseStatements cuts text at the semicolons that end policies and parses
// each statement alone, so that a syntax error does not hide the next.
func parseStatements(text string) []statement {
	var out []statement
	n := 0
	var cur cursor
	for _, sp := range splitStatements(text) {
		chunk := text[sp.start:sp.end]
		line, col := cur.advance(text, sp.start)
		list, err := cedar.NewPolicyListFromBytes("", []byte(chunk))
		if err != nil {
			out = append(out, statement{err: parseMessage(err.Error(), line, col)})
			n++ // a broken statement still takes its policy number
			continue
		}
		for _, p := range list {
			pos := p.Position()
			s := statement{policy: p, name: "policy" + strconv.Itoa(n)}
			s.line, s.col = shift(pos.Line, pos.Column, line, col)
			if id := p.Annotations()[annotationID]; id != "" {
				s.name = string(id)
			}
			out = append(out, s)
			n++
		}
	}
	return out
}

type span struct{ start, end int }

// splitStatements returns the spans of text that end with a semicolon
// outside string literals and comments, and the rest of the text after the
// last one when it holds more than blanks and comments. In Cedar such a
// semicolon only ends a policy.
func splitStatements(text string) []span {
	var spans []span
	start := 0
	blank := true // the current span holds only blanks and comments so far
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			blank = false
			for i++; i < len(text) && text[i] != '"'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ';':
			spans = append(spans, span{start, i + 1})
			start, blank = i+1, true
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			blank = false
		}
	}
	if !blank {
		spans = append(spans, span{start, len(text)})
	}
	return spans
}

// cursor tracks the line and column (in characters, from 1) of a byte
// offset of a text, moving forward only, so that positions cost one pass.
type cursor struct {
	off, line, col int
}

func (c *cursor) advance(text string, off int) (line, col int) {
	if c.line == 0 {
		c.line, c.col = 1, 1
	}
	for _, r := range text[c.off:off] {
		if r == '\n' {
			c.line, c.col = c.line+1, 1
		} else {
			c.col++
		}
	}
	c.off = off
	return c.line, c.col
}

// shift maps a position inside a statement that starts at (line0, col0) to
// a position in the whole text.
func shift(line, col, line0, col0 int) (int, int) {
	if line <= 1 {
		return line0, col0 + col - 1
	}
	return line0 + line - 1, col
}

var (
	// parse error at <input>:5:26 ";": invalid primary
	reParseAt = regexp.MustCompile(`^parse error at <input>:(\d+):(\d+) ("(?:[^"\\]|\\.)*"): (.*)$`)
	// <input>:1:45: literal not terminated
	reScanAt = regexp.MustCompile(`^<input>:(\d+):(\d+): (.*)$`)
)

// parseMessage rewrites a cedar-go syntax error of a statement that starts
// at (line0, col0) as "line:column: syntax error …" in the whole text.
func parseMessage(msg string, line0, col0 int) string {
	msg = strings.TrimPrefix(msg, "parser error: ")
	if m := reParseAt.FindStringSubmatch(msg); m != nil {
		l, c := atoiPair(m[1], m[2])
		l, c = shift(l, c, line0, col0)
		near := "at the end of the text"
		if m[3] != `""` {
			near = "near " + m[3]
		}
		return fmt.Sprintf("%d:%d: syntax error %s: %s", l, c, near, m[4])
	}
	if m := reScanAt.FindStringSubmatch(msg); m != nil {
		l, c := atoiPair(m[1], m[2])
		l, c = shift(l, c, line0, col0)
		return fmt.Sprintf("%d:%d: syntax error: %s", l, c, m[3])
	}
	return fmt.Sprintf("%d:%d: syntax error in this policy: %s", line0, col0, msg)
}

// messagePosition reads the "line:column: " that starts every message.
func messagePosition(m string) (line, col int) {
	l, rest, _ := strings.Cut(m, ":")
	c, _, _ := strings.Cut(rest, ":")
	return atoiPair(l, c)
}

func atoiPair(a, b string) (int, int) {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x, y
}

// baseSchema is Schema, resolved once.
var baseSchema = sync.OnceValue(func() *resolved.Schema {
	var s schema.Schema
	if err := s.UnmarshalCedar([]byte(Schema)); err != nil {
		panic(fmt.Sprintf("policy: the schema does not parse: %v", err))
	}
	rs, err := s.Resolve()
	if err != nil {
		panic(fmt.Sprintf("policy: the schema does not resolve: %v", err))
	}
	return rs
})

// typecheck validates the parsed policies against Schema, extended with
// the metadata keys they read, and returns the messages of the problems.
func typecheck(stmts []statement) []string {
	if len(stmts) == 0 {
		return nil
	}
	meta := collectMetadata(stmts)
	if meta.size > maxMetadataKeys {
		s := stmts[meta.overflow]
		return []string{fmt.Sprintf("%d:%d: for policy `%s`, the policies read more than %d metadata keys",
			s.line, s.col, s.name, maxMetadataKeys)}
	}
	check := func(i int) []string { return checkPolicy(meta.schema(i), stmts[i]) }

	// Every metadata key starts as a String; a key read by a policy that
	// does not type-check tries the other types, one key at a time, and
	// keeps the type that leaves the fewest problems.
	problems := make([][]string, len(stmts))
	for i := range stmts {
		problems[i] = check(i)
	}
	searched := 0
	var notes []string
	for _, leaf := range meta.leaves() {
		if searched == maxSearchedKeys {
			break
		}
		users := leaf.affected()
		if !slices.ContainsFunc(users, func(i int) bool { return len(problems[i]) > 0 }) {
			continue
		}
		searched++
		best, bestCount := leaf.typ, count(problems, users)
		bestProblems := collect(problems, users)
		// fits[i] has bit t when statement i has no problem with type t.
		fits := make(map[int]uint, len(users))
		for _, i := range users {
			if len(problems[i]) == 0 {
				fits[i] |= 1 << best
			}
		}
		for t := range leafTypes {
			if bestCount == 0 {
				break
			}
			if t == best {
				continue
			}
			leaf.typ = t
			trial := make(map[int][]string, len(users))
			total := 0
			for _, i := range users {
				trial[i] = check(i)
				total += len(trial[i])
				if len(trial[i]) == 0 {
					fits[i] |= 1 << t
				}
			}
			if total < bestCount {
				best, bestCount, bestProblems = t, total, trial
			}
		}
		leaf.typ = best
		for i, p := range bestProblems {
			problems[i] = p
		}
		if bestCount > 0 && conflicting(fits) {
			first := stmts[slices.Min(leaf.users)]
			notes = append(notes, fmt.Sprintf("%d:%d: for policy `%s`, %s is read as different types by the policies: no single type (%s) suits them all; the messages that follow take it as %s",
				first.line, first.col, first.name, leaf.path, strings.Join(leafTypeNames, ", "), leafTypeNames[best]))
		}
	}
	out := notes
	for i := range stmts {
		if searched > 0 {
			// Report what the final types give, whatever the search saw.
			problems[i] = check(i)
		}
		out = append(out, problems[i]...)
	}
	return out
}

// conflicting reports whether two statements could each be valid with
// some type of a metadata key, but no type suits both.
func conflicting(fits map[int]uint) bool {
	all, n := ^uint(0), 0
	for _, f := range fits {
		if f != 0 {
			all &= f
			n++
		}
	}
	return n >= 2 && all == 0
}

func count(problems [][]string, idx []int) int {
	n := 0
	for _, i := range idx {
		n += len(problems[i])
	}
	return n
}

func collect(problems [][]string, idx []int) map[int][]string {
	m := make(map[int][]string, len(idx))
	for _, i := range idx {
		m[i] = problems[i]
	}
	return m
}

// reContextAction is the action that cedar-go names in each copy of a
// context error; every action has the same context, so the copies are one
// problem.
var reContextAction = regexp.MustCompile(` in context for Action::"[^"]*"`)

// checkPolicy type-checks one policy and returns its problems, each
// prefixed with the position of the policy.
func checkPolicy(sch *resolved.Schema, s statement) (msgs []string) {
	at := fmt.Sprintf("%d:%d: ", s.line, s.col)
	defer func() {
		// x/exp code: a panic on an input it did not foresee must not
		// take the server down with it.
		if r := recover(); r != nil {
			msgs = []string{at + fmt.Sprintf("for policy `%s`, the validator failed: %v", s.name, r)}
		}
	}()
	v := validate.New(sch, validate.WithStrict())
	err := v.Policy(s.name, (*xast.Policy)(s.policy.AST()))
	if err == nil {
		return nil
	}
	for _, e := range flatten(err) {
		m := at + reContextAction.ReplaceAllString(e.Error(), " in context")
		if !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	slices.Sort(msgs)
	return msgs
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// leafTypes are the types a metadata key may take, String first.
var leafTypes = []resolved.IsType{
	resolved.StringType{},
	resolved.LongType{},
	resolved.BoolType{},
	resolved.ExtensionType("decimal"),
	resolved.SetType{Element: resolved.StringType{}},
	resolved.SetType{Element: resolved.LongType{}},
	resolved.RecordType{},
}

// leafTypeNames name leafTypes in messages.
var leafTypeNames = []string{"String", "Long", "Bool", "decimal", "Set<String>", "Set<Long>", "record"}

// metaTree holds the keys of metadata and secure_metadata that policies
// read, as nested records.
type metaTree struct {
	roots map[types.String]*metaNode // "metadata", "secure_metadata"
	// size counts the keys; overflow is the statement that read the one
	// past maxMetadataKeys.
	size, overflow int
}

type metaNode struct {
	path     string
	parent   *metaNode
	children map[types.String]*metaNode
	typ      int   // of a leaf: an index in leafTypes
	users    []int // statements that read this key
}

var metaAttrs = []types.String{"metadata", "secure_metadata"}

// collectMetadata finds every chain of attribute reads and `has` tests
// that starts with .metadata or .secure_metadata: in
// `resource.metadata.address has city`, the keys address (a record) and
// address.city.
func collectMetadata(stmts []statement) *metaTree {
	t := &metaTree{roots: make(map[types.String]*metaNode)}
	for _, a := range metaAttrs {
		t.roots[a] = &metaNode{path: string(a), children: make(map[types.String]*metaNode)}
	}
	for i, s := range stmts {
		for _, c := range s.policy.AST().Conditions {
			xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
				var chain []types.String
				switch n := n.(type) {
				case xast.NodeTypeAccess:
					chain = attrChain(n.Arg, n.Value)
				case xast.NodeTypeHas:
					chain = attrChain(n.Arg, n.Value)
				}
				if len(chain) >= 2 {
					if root, ok := t.roots[chain[0]]; ok {
						added := root.add(chain[1:], i)
						if t.size <= maxMetadataKeys && t.size+added > maxMetadataKeys {
							t.overflow = i
						}
						t.size += added
					}
				}
				return true
			})
		}
	}
	return t
}

// attrChain returns the attribute names read from the innermost
// non-access expression up to last.
func attrChain(arg xast.IsNode, last types.String) []types.String {
	chain := []types.String{last}
	for {
		a, ok := arg.(xast.NodeTypeAccess)
		if !ok {
			break
		}
		chain = append(chain, a.Value)
		arg = a.Arg
	}
	slices.Reverse(chain)
	return chain
}

// add records that statement user reads keys, and returns how many of
// them are new.
func (n *metaNode) add(keys []types.String, user int) (added int) {
	for _, k := range keys {
		c, ok := n.children[k]
		if !ok {
			added++
			c = &metaNode{path: n.path + "." + string(k), parent: n, children: make(map[types.String]*metaNode)}
			n.children[k] = c
		}
		if !slices.Contains(c.users, user) {
			c.users = append(c.users, user)
		}
		n = c
	}
	return added
}

// affected returns the statements that read n or a record that holds it.
func (n *metaNode) affected() []int {
	var out []int
	for ; n != nil; n = n.parent {
		for _, u := range n.users {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// leaves returns the keys that hold values (not records of other keys), in
// path order.
func (t *metaTree) leaves() []*metaNode {
	var out []*metaNode
	var walk func(n *metaNode)
	walk = func(n *metaNode) {
		if len(n.children) == 0 {
			out = append(out, n)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(n.children)) {
			walk(n.children[k])
		}
	}
	for _, a := range metaAttrs {
		for _, k := range slices.Sorted(maps.Keys(t.roots[a].children)) {
			walk(t.roots[a].children[k])
		}
	}
	return out
}

// schema returns Schema with the User attributes metadata and
// secure_metadata declared as records of the keys that statement user
// reads, each optional. A policy's types depend only on the keys it reads,
// and the validator's work grows with the size of a record type.
func (t *metaTree) schema(user int) *resolved.Schema {
	base := baseSchema()
	u := base.Entities[typeUser]
	shape := maps.Clone(u.Shape)
	for _, a := range metaAttrs {
		attr := shape[a]
		attr.Type = t.roots[a].record(user)
		shape[a] = attr
	}
	u.Shape = shape
	s := *base
	s.Entities = maps.Clone(base.Entities)
	s.Entities[typeUser] = u
	return &s
}

func (n *metaNode) record(user int) resolved.RecordType {
	r := make(resolved.RecordType)
	for k, c := range n.children {
		if !slices.Contains(c.users, user) {
			continue
		}
		t := leafTypes[c.typ]
		if len(c.children) > 0 {
			t = c.record(user)
		}
		r[k] = resolved.Attribute{Type: t, Optional: true}
	}
	return r
}
