package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/roster-dev/roster/client"
)

// The users commands talk to a running server through the Go client, never
// to the database: the server's rules, policies, webhooks, quotas and audit
// apply to what they do exactly as to any other API call.

// defaultURL is where the users commands find the server when neither
// --url nor ROSTER_URL says: serve's default address.
const defaultURL = "http://127.0.0.1:8080"

// maxBody is the largest body create and update read from -f: the
// server's limit on a request body, past which it answers 413.
const maxBody = 1 << 20

// requestTimeout bounds each HTTP request of a command, so that a server
// that accepts the connection and never answers does not hang a script.
const requestTimeout = time.Minute

// serverFlags are the flags of every command that talks to a server.
type serverFlags struct {
	url, tokenFile, tenant *string
	table                  *bool
}

// serverFlags declares --url, --token-file, --tenant and --table. There is
// no flag that takes the token itself: a token on the command line lands in
// the shell's history and in every process listing.
func (inv *invocation) serverFlags() *serverFlags {
	return &serverFlags{
		url:       inv.flags.String("url", inv.env("ROSTER_URL", defaultURL), "the server's URL (env ROSTER_URL)"),
		tokenFile: inv.flags.String("token-file", "", "read the API key from `FILE`; default: the environment variable ROSTER_TOKEN"),
		tenant:    inv.flags.String("tenant", "", "the tenant to act in, for a platform key (X-Tenant-ID)"),
		table:     inv.flags.Bool("table", false, "print an aligned table instead of JSON"),
	}
}

// connect returns the client of the server the flags name, once they are
// parsed.
func (inv *invocation) connect(f *serverFlags) (*client.Client, error) {
	u, err := url.Parse(*f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, inv.usagef("bad --url %q: want http://HOST:PORT or https://HOST", *f.url)
	}
	token := strings.TrimSpace(inv.getenv("ROSTER_TOKEN"))
	if *f.tokenFile != "" {
		b, err := os.ReadFile(*f.tokenFile)
		if err != nil {
			return nil, inv.usagef("--token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, inv.usagef("--token-file %s is empty", *f.tokenFile)
		}
	}
	if token == "" {
		return nil, inv.usagef("needs an API key: set ROSTER_TOKEN or give --token-file")
	}
	opts := []client.Option{
		client.WithUserAgent("roster-cli/" + version()),
		client.WithHTTPClient(&http.Client{Timeout: requestTimeout}),
	}
	if *f.tenant != "" {
		opts = append(opts, client.WithTenant(*f.tenant))
	}
	return client.New(*f.url, token, opts...), nil
}

// writeFlags are the flags of every user write.
type writeFlags struct {
	dryRun    *bool
	ifVersion *int64
}

func (inv *invocation) writeFlags() *writeFlags {
	return &writeFlags{
		dryRun:    inv.flags.Bool("dry-run", false, "run every check and print what the write would do, writing nothing"),
		ifVersion: inv.flags.Int64("if-version", 0, "write only if the user is still at `VERSION` (If-Match); otherwise fail with 412"),
	}
}

// options are the call options the flags ask for, once they are parsed.
// connectToWrite is connect for a write, with the call options its flags
// ask for.
func (inv *invocation) connectToWrite(sf *serverFlags, wf *writeFlags) (*client.Client, []client.CallOption, error) {
	opts, err := inv.options(wf)
	if err != nil {
		return nil, nil, err
	}
	c, err := inv.connect(sf)
	return c, opts, err
}

func (inv *invocation) options(f *writeFlags) ([]client.CallOption, error) {
	var opts []client.CallOption
	if *f.dryRun {
		opts = append(opts, client.DryRun())
	}
	switch v := *f.ifVersion; {
	case v < 0:
		return nil, inv.usagef("--if-version must be a version, 1 or more")
	case v > 0:
		opts = append(opts, client.IfVersion(v))
	}
	return opts, nil
}

// limitFlag declares --limit, the most a listing prints.
func (inv *invocation) limitFlag(what string) *int {
	return inv.flags.Int("limit", 0, "print at most this many "+what+"; 0: all")
}

// pageSize is the page to ask for when printing at most limit items (0:
// all): no more than will be printed, and at most the API's largest page.
func pageSize(limit int) int { return min(limit, 100) }

// userWrite is the run of a command that takes the arguments names, sends
// one write of a user and prints the user answered.
func userWrite(names []string, write func(ctx context.Context, c *client.Client, args []string, opts []client.CallOption) (*client.User, error)) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		sf, wf := inv.serverFlags(), inv.writeFlags()
		args, err := inv.parse(names...)
		if err != nil {
			return err
		}
		c, opts, err := inv.connectToWrite(sf, wf)
		if err != nil {
			return err
		}
		u, err := write(ctx, c, args, opts)
		if err != nil {
			return inv.failed(err)
		}
		return printUser(inv.stdout, *sf.table, u)
	}
}

var (
	runUsersDelete = userWrite([]string{"USER_ID"}, func(ctx context.Context, c *client.Client, args []string, opts []client.CallOption) (*client.User, error) {
		return c.Delete(ctx, args[0], opts...)
	})
	runUsersRestore = userWrite([]string{"USER_ID"}, func(ctx context.Context, c *client.Client, args []string, opts []client.CallOption) (*client.User, error) {
		return c.Restore(ctx, args[0], opts...)
	})
	runUsersDeactivate = userWrite([]string{"USER_ID"}, func(ctx context.Context, c *client.Client, args []string, opts []client.CallOption) (*client.User, error) {
		return c.Deactivate(ctx, args[0], opts...)
	})
	runUsersReactivate = userWrite([]string{"USER_ID"}, func(ctx context.Context, c *client.Client, args []string, opts []client.CallOption) (*client.User, error) {
		return c.Reactivate(ctx, args[0], opts...)
	})
	runUsersUnsuspend = userWrite([]string{"USER_ID", "SUSPENSION_ID"}, func(ctx context.Context, c *client.Client, args []string, opts []client.CallOption) (*client.User, error) {
		return c.LiftSuspension(ctx, args[0], args[1], opts...)
	})
)

func runUsersGet(ctx context.Context, inv *invocation) error {
	sf := inv.serverFlags()
	args, err := inv.parse("USER_ID")
	if err != nil {
		return err
	}
	c, err := inv.connect(sf)
	if err != nil {
		return err
	}
	u, err := c.Get(ctx, args[0])
	if err != nil {
		return inv.failed(err)
	}
	return printUser(inv.stdout, *sf.table, u)
}

func runUsersList(ctx context.Context, inv *invocation) error {
	sf := inv.serverFlags()
	var o client.ListOptions
	inv.flags.StringVar(&o.Email, "email", "", "only the user with this email")
	inv.flags.StringVar(&o.Username, "username", "", "only the user with this username")
	inv.flags.StringVar(&o.Search, "search", "", "only the users whose email, username or a name starts with this, case-insensitively")
	status := inv.flags.String("status", "", "only users with this status: active, deactivated or deleting")
	limit := inv.limitFlag("users")
	if _, err := inv.parse(); err != nil {
		return err
	}
	if *limit < 0 {
		return inv.usagef("--limit must be 0 or more")
	}
	o.Status, o.PageSize = client.Status(*status), pageSize(*limit)
	c, err := inv.connect(sf)
	if err != nil {
		return err
	}
	out := newListPrinter(inv.stdout, *sf.table, userColumns)
	n := 0
	for u, err := range c.List(ctx, o) {
		if err != nil {
			return inv.failed(err)
		}
		if err := out.print(userJSON(u), userRow(u)); err != nil {
			return err
		}
		if n++; n == *limit {
			break
		}
	}
	return out.flush()
}

func runUsersHistory(ctx context.Context, inv *invocation) error {
	sf := inv.serverFlags()
	limit := inv.limitFlag("entries")
	args, err := inv.parse("USER_ID")
	if err != nil {
		return err
	}
	if *limit < 0 {
		return inv.usagef("--limit must be 0 or more")
	}
	c, err := inv.connect(sf)
	if err != nil {
		return err
	}
	out := newListPrinter(inv.stdout, *sf.table, []string{"ID", "AT", "ACTION", "KEY", "FIELDS"})
	n := 0
	for e, err := range c.History(ctx, args[0], pageSize(*limit)) {
		if err != nil {
			return inv.failed(err)
		}
		fields := make([]string, 0, len(e.Changes))
		for f := range e.Changes {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		if err := out.print(auditJSON(e), []string{e.ID, formatTime(e.At), e.Action, e.Actor.KeyID, strings.Join(fields, ",")}); err != nil {
			return err
		}
		if n++; n == *limit {
			break
		}
	}
	return out.flush()
}

func runUsersSuspend(ctx context.Context, inv *invocation) error {
	sf, wf := inv.serverFlags(), inv.writeFlags()
	reason := inv.flags.String("reason", "", "why the user is suspended (required)")
	endsAt := inv.flags.String("ends-at", "", "when the suspension ends by itself, RFC 3339 (2026-12-01T00:00:00Z); default: when lifted")
	args, err := inv.parse("USER_ID")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return inv.usagef("needs --reason")
	}
	in := client.SuspensionInput{Reason: *reason}
	if *endsAt != "" {
		t, err := time.Parse(time.RFC3339, *endsAt)
		if err != nil {
			return inv.usagef("bad --ends-at %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z", *endsAt)
		}
		in.EndsAt = &t
	}
	c, opts, err := inv.connectToWrite(sf, wf)
	if err != nil {
		return err
	}
	s, err := c.Suspend(ctx, args[0], in, opts...)
	if err != nil {
		return inv.failed(err)
	}
	if *sf.table {
		t := newTable(inv.stdout, "ID", "REASON", "CREATED_AT", "ENDS_AT")
		t.row(s.ID, s.Reason, formatTime(s.CreatedAt), formatTimeOrEmpty(s.EndsAt))
		return t.flush()
	}
	return printJSON(inv.stdout, map[string]any{
		"object": "suspension", "id": s.ID, "reason": s.Reason,
		"created_at": formatTime(s.CreatedAt), "ends_at": timeOrNil(s.EndsAt),
	})
}

// bodyFlags are the flags that give create or update its body.
type bodyFlags struct {
	set  setFlag
	file *string
}

func (inv *invocation) bodyFlags() *bodyFlags {
	b := &bodyFlags{}
	inv.flags.Var(&b.set, "set", "set a field, repeatable: `FIELD=VALUE`; VALUE is read as JSON when it is JSON (null, true, 42, {…}), else as a string")
	b.file = inv.flags.String("f", "", "read the body, a JSON object, from `FILE`; - reads standard input")
	return b
}

// setFlag collects --set FIELD=VALUE: VALUE as JSON when it is valid JSON,
// else as a JSON string, so that --set name=Ada needs no quotes while
// --set roles='["admin"]' and --set name=null (which clears the name) say
// what they mean; --set name='"null"' is the string "null".
type setFlag struct{ members []member }

// member is one member of a JSON object, in the order it came.
type member struct {
	name  string
	value json.RawMessage
}

func (s *setFlag) String() string { return "" }

func (s *setFlag) Set(arg string) error {
	name, value, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return fmt.Errorf("want FIELD=VALUE, not %q", arg)
	}
	for _, m := range s.members {
		if m.name == name {
			return fmt.Errorf("%s is set twice", name)
		}
	}
	raw := json.RawMessage(value)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(value) // a string always encodes
	}
	s.members = append(s.members, member{name, raw})
	return nil
}

// readBody returns the body the flags give, the JSON text to send as it
// is: the object the --set members make, or the text of -f. Only text that
// is not JSON at all is refused here; the server judges the rest, and names
// every member it refuses (unknown, read-only, of the wrong type) in its
// own problem.
func (inv *invocation) readBody(b *bodyFlags) ([]byte, error) {
	switch {
	case len(b.set.members) > 0 && *b.file != "":
		return nil, inv.usagef("give the body with --set or with -f, not both")
	case len(b.set.members) > 0:
		m := make(map[string]json.RawMessage, len(b.set.members))
		for _, s := range b.set.members {
			m[s.name] = s.value
		}
		return json.Marshal(m)
	case *b.file == "":
		return nil, inv.usagef("needs a body: --set FIELD=VALUE or -f FILE")
	}
	raw, err := inv.readFile(*b.file)
	if err != nil {
		return nil, err
	}
	if !json.Valid(raw) {
		return nil, inv.usagef("-f %s: not valid JSON", *b.file)
	}
	return raw, nil
}

// readFile reads the file -f names, or standard input for "-".
func (inv *invocation) readFile(name string) ([]byte, error) {
	r := inv.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, inv.usagef("-f: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	switch {
	case err != nil:
		return nil, inv.usagef("-f %s: %v", name, err)
	case len(b) > maxBody:
		return nil, inv.usagef("-f %s: larger than the server's limit of %d bytes", name, maxBody)
	}
	return b, nil
}

func runUsersCreate(ctx context.Context, inv *invocation) error {
	sf, wf, bf := inv.serverFlags(), inv.writeFlags(), inv.bodyFlags()
	if _, err := inv.parse(); err != nil {
		return err
	}
	body, err := inv.readBody(bf)
	if err != nil {
		return err
	}
	c, opts, err := inv.connectToWrite(sf, wf)
	if err != nil {
		return err
	}
	u, err := c.CreateRaw(ctx, body, opts...)
	if err != nil {
		return inv.failed(err)
	}
	return printUser(inv.stdout, *sf.table, u)
}

func runUsersUpdate(ctx context.Context, inv *invocation) error {
	sf, wf, bf := inv.serverFlags(), inv.writeFlags(), inv.bodyFlags()
	merge := inv.flags.Bool("merge", false, "send the body as a JSON merge patch (RFC 7396): objects such as metadata merge, null deletes a key")
	jsonPatch := inv.flags.Bool("json-patch", false, "-f holds a JSON Patch (RFC 6902), an array of operations")
	args, err := inv.parse("USER_ID")
	if err != nil {
		return err
	}
	var patch client.Patch
	switch {
	case *merge && *jsonPatch:
		return inv.usagef("--merge and --json-patch are two formats: give one")
	case *jsonPatch && (len(bf.set.members) > 0 || *bf.file == ""):
		return inv.usagef("--json-patch takes its operations from -f FILE, not from --set")
	case *jsonPatch:
		raw, err := inv.readFile(*bf.file)
		if err != nil {
			return err
		}
		if patch, err = jsonPatchOps(raw); err != nil {
			return inv.usagef("-f %s: %v", *bf.file, err)
		}
	case *merge:
		raw, err := inv.readBody(bf)
		if err != nil {
			return err
		}
		patch = client.MergePatch(raw)
	default:
		raw, err := inv.readBody(bf)
		if err != nil {
			return err
		}
		patch = client.RawPatch(raw)
	}
	c, opts, err := inv.connectToWrite(sf, wf)
	if err != nil {
		return err
	}
	u, err := c.Update(ctx, args[0], patch, opts...)
	if err != nil {
		return inv.failed(err)
	}
	return printUser(inv.stdout, *sf.table, u)
}

// decodeStrict decodes one JSON value, keeping numbers exact (metadata)
// and refusing members the target does not have.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonPatchOps reads a JSON Patch: an array of operations, each with its
// op and path, and the value an add, replace or test needs (which may be
// null; a missing one is refused here rather than sent as null).
func jsonPatchOps(b []byte) (client.JSONPatch, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errors.New("not a JSON array of operations")
	}
	ops := make(client.JSONPatch, 0, len(raw))
	for i, r := range raw {
		var op client.Op
		for name, dst := range map[string]*string{"op": &op.Op, "path": &op.Path, "from": &op.From} {
			if v, ok := r[name]; ok && json.Unmarshal(v, dst) != nil {
				return nil, fmt.Errorf("operation %d: %s is not a string", i, name)
			}
		}
		if op.Op == "" {
			return nil, fmt.Errorf("operation %d: no op", i)
		}
		if v, ok := r["value"]; ok {
			if err := decodeStrict(v, &op.Value); err != nil {
				return nil, fmt.Errorf("operation %d: value: %v", i, err)
			}
		} else if op.Op == "add" || op.Op == "replace" || op.Op == "test" {
			return nil, fmt.Errorf("operation %d: %s needs a value", i, op.Op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// problemError is a problem the server answered, as the command line
// shows it: the status, code and detail on the first line, then one line
// for each failing field, each policy notice, and the request ID to quote.
type problemError struct {
	cmd string
	p   *client.Problem
}

func (e *problemError) Unwrap() error { return e.p }

func (e *problemError) Error() string {
	p := e.p
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d", e.cmd, p.Status)
	if p.Code != "" {
		b.WriteString(" " + p.Code)
	}
	if d := cmp.Or(p.Detail, p.Title); d != "" {
		b.WriteString(": " + d)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Code)
		if f.Message != "" {
			b.WriteString(": " + f.Message)
		}
	}
	for _, n := range p.Notices {
		b.WriteString("\n  notice: " + n)
	}
	if p.RetryAfter > 0 {
		fmt.Fprintf(&b, "\n  retry after: %v", p.RetryAfter)
	}
	if p.RequestID != "" {
		b.WriteString("\n  request id: " + p.RequestID)
	}
	return b.String()
}

// failed is the error of the command whose request failed with err: a
// problem the server answered becomes a problemError; a failure to reach
// the server says the request and why.
func (inv *invocation) failed(err error) error {
	var p *client.Problem
	if errors.As(err, &p) {
		return &problemError{inv.cmd.name, p}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", inv.cmd.name, ue)
	}
	return fmt.Errorf("%s: %w", inv.cmd.name, err)
}

// userColumns are the columns of a user in a table.
var userColumns = []string{"ID", "EMAIL", "USERNAME", "NAME", "STATUS", "VERSION"}

func userRow(u *client.User) []string {
	return []string{u.ID, u.Email, u.Username, u.Name, string(u.Status), strconv.FormatInt(u.Version, 10)}
}

// printUser prints one user, as JSON or as a table of one row.
func printUser(w io.Writer, table bool, u *client.User) error {
	if table {
		t := newTable(w, userColumns...)
		t.row(userRow(u)...)
		return t.flush()
	}
	return printJSON(w, userJSON(u))
}

// listPrinter prints the items of a listing as they come: JSON Lines, one
// compact object a line, so that a long listing streams into jq or a
// loop; or a table, printed whole at the end, since its columns are as
// wide as their widest cell.
type listPrinter struct {
	json  *json.Encoder
	table *table
}

func newListPrinter(w io.Writer, table bool, columns []string) *listPrinter {
	if table {
		return &listPrinter{table: newTable(w, columns...)}
	}
	return &listPrinter{json: json.NewEncoder(w)}
}

func (l *listPrinter) print(v any, row []string) error {
	if l.table != nil {
		l.table.row(row...)
		return nil
	}
	return l.json.Encode(v)
}

func (l *listPrinter) flush() error {
	if l.table != nil {
		return l.table.flush()
	}
	return nil
}

// table is an aligned table with a header line. An empty cell shows as
// "-", and a tab or line break inside a cell as a space, so that each
// line keeps its columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, columns ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(columns...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		c = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, c)
		io.WriteString(t.tw, cmp.Or(c, "-"))
	}
	io.WriteString(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// userJSON is a user as the API answers it (§2): an unset field is null,
// the location a GeoJSON Point, times in milliseconds.
func userJSON(u *client.User) map[string]any {
	var location any
	if l := u.Location; l != nil {
		location = map[string]any{"type": "Point", "coordinates": []float64{l.Longitude, l.Latitude}}
	}
	metadata := u.Metadata
	if metadata == nil {
		metadata = map[string]any{}
	}
	suspensions := make([]any, 0, len(u.Suspensions))
	for _, s := range u.Suspensions {
		suspensions = append(suspensions, map[string]any{
			"id": s.ID, "reason": s.Reason, "created_at": formatTime(s.CreatedAt), "ends_at": timeOrNil(s.EndsAt),
		})
	}
	return map[string]any{
		"object": "user", "id": u.ID, "tenant_id": u.TenantID,
		"email": orNil(u.Email), "email_verified": u.EmailVerified, "username": orNil(u.Username),
		"name": orNil(u.Name), "given_name": orNil(u.GivenName), "family_name": orNil(u.FamilyName),
		"picture": orNil(u.Picture), "bio": orNil(u.Bio), "birthdate": orNil(u.Birthdate), "location": location,
		"company": orNil(u.Company), "website": orNil(u.Website), "country": orNil(u.Country),
		"locale": orNil(u.Locale), "zoneinfo": orNil(u.Zoneinfo),
		"roles": nonNil(u.Roles), "is_owner": u.IsOwner, "metadata": metadata,
		"status": u.Status, "purge_after": timeOrNil(u.PurgeAfter), "deactivated": u.Deactivated, "suspensions": suspensions,
		"auth_provider": orNil(u.AuthProvider), "consented_at": timeOrNil(u.ConsentedAt), "consent_method": orNil(u.ConsentMethod),
		"created_at": formatTime(u.CreatedAt), "updated_at": formatTime(u.UpdatedAt), "version": u.Version,
	}
}

// auditJSON is an audit entry as the API answers it.
func auditJSON(e *client.AuditEntry) map[string]any {
	return map[string]any{
		"object": "audit_entry", "id": e.ID, "action": e.Action,
		"actor":      map[string]any{"key_id": orNil(e.Actor.KeyID), "acting_user_id": orNil(e.Actor.ActingUserID)},
		"request_id": orNil(e.RequestID), "at": formatTime(e.At), "changes": e.Changes,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// timeFormat is the API's: RFC 3339 in UTC, to the millisecond (§1).
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func formatTimeOrEmpty(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}
