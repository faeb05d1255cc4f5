package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

var tenantTests = []test{
	{"CreateGet", testTenantCreateGet},
	{"GetMissing", testTenantGetMissing},
	{"Update", testTenantUpdate},
	{"UpdateMissing", testTenantUpdateMissing},
	{"List", testTenantList},
	{"Count", testTenantCount},
	{"Policies", testTenantPolicies},
}

var keyTests = []test{
	{"ByHash", testKeyByHash},
	{"Platform", testKeyPlatform},
	{"UnknownHash", testKeyUnknownHash},
	{"ByID", testKeyByID},
	{"Version", testKeysVersion},
}

func testTenantCreateGet(t *testing.T, s directory.Store) {
	tn := newTenant("Acme, Inc. — Zoë's team")
	tn.Plan = directory.Plan{RateLimitRPS: 12.5, RateLimitBurst: 25, WritesPerPeriod: 9_007_199_254_740_993, MaxActiveUsers: 3}
	tn.Settings = directory.Settings{DeletionGraceSeconds: 86400, MetadataMaxKeys: 7, RequireIfMatch: true}
	tn.Roles = []string{"viewer", "member", "admin", "billing"}
	tn.RoleNames = map[string]string{"billing": `Billing & "Invoicing" — Zoë ✓`}
	tn.Policies = "permit (principal, action, resource);"
	tn.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.FixedZone("UTC+2", 2*3600))
	tn.UpdatedAt = tn.CreatedAt.Add(time.Millisecond)
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateTenant(t.Context(), tn) })

	got, err := s.GetTenant(t.Context(), tn.ID)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	checkEqual(t, "GetTenant", got, tn)
}

func testTenantGetMissing(t *testing.T, s directory.Store) {
	createTenant(t, s, "Acme")
	_, err := s.GetTenant(t.Context(), directory.NewID(directory.PrefixTenant, now()))
	wantNotFound(t, "GetTenant of a missing tenant", err)
}

func testTenantUpdate(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	other := createTenant(t, s, "Other")

	up := *tn
	up.Name = "Acme Corp"
	up.Plan.MaxActiveUsers = 42
	up.Settings.RequireIfMatch = true
	up.Roles = []string{"admin", "support"}
	up.RoleNames = map[string]string{"support": "Support Team"}
	up.UpdatedAt = tn.UpdatedAt.Add(time.Hour)
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateTenant(t.Context(), &up) })

	got, err := s.GetTenant(t.Context(), tn.ID)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	checkEqual(t, "GetTenant after UpdateTenant", got, &up)

	got, err = s.GetTenant(t.Context(), other.ID)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	checkEqual(t, "the other tenant after UpdateTenant", got, other)
}

func testTenantUpdateMissing(t *testing.T, s directory.Store) {
	tn := newTenant("Ghost")
	err := s.InTx(t.Context(), func(tx directory.Tx) error { return tx.UpdateTenant(t.Context(), tn) })
	wantNotFound(t, "UpdateTenant of a missing tenant", err)
}

// policyText is a Cedar policy set with what breaks lossy text columns:
// quotes, backslashes, newlines, tabs, non-ASCII text.
const policyText = `@notice("Only owners may change \"roles\" — Zoë's rule ✓")
forbid (principal, action == Action::"updateUser", resource)
when { context.changed_fields.contains("roles") && !(principal is User && principal.is_owner) };
	// tab-indented comment \n not a newline
permit (principal is Key, action, resource) when { principal.scopes.contains("users:write") };
`

func testTenantPolicies(t *testing.T, s directory.Store) {
	get := func(id string) *directory.Tenant {
		t.Helper()
		got, err := s.GetTenant(t.Context(), id)
		if err != nil {
			t.Fatalf("GetTenant: %v", err)
		}
		return got
	}
	tn := createTenant(t, s, "Acme") // no policies: the default set
	if got := get(tn.ID).Policies; got != "" {
		t.Errorf("Policies of a new tenant: got %q, want \"\"", got)
	}
	custom := newTenant("Custom")
	custom.Policies = policyText
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateTenant(t.Context(), custom) })
	checkEqual(t, "GetTenant with policies", get(custom.ID), custom)

	up := *tn
	up.Policies = policyText
	up.UpdatedAt = tn.UpdatedAt.Add(time.Second)
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateTenant(t.Context(), &up) })
	checkEqual(t, "GetTenant after setting policies", get(tn.ID), &up)

	reset := up
	reset.Policies = ""
	reset.UpdatedAt = up.UpdatedAt.Add(time.Second)
	inTx(t, s, func(tx directory.Tx) error { return tx.UpdateTenant(t.Context(), &reset) })
	checkEqual(t, "GetTenant after resetting policies", get(tn.ID), &reset)

	list, err := s.ListTenants(t.Context(), "", 0)
	if err != nil {
		t.Fatalf("ListTenants: %v", err)
	}
	for _, got := range list {
		want := map[string]*directory.Tenant{tn.ID: &reset, custom.ID: custom}[got.ID]
		checkEqual(t, "ListTenants' tenant", got, want)
	}
}

func testTenantList(t *testing.T, s directory.Store) {
	var ts []*directory.Tenant // oldest first
	for _, name := range []string{"t0", "t1", "t2", "t3", "t4"} {
		ts = append(ts, createTenant(t, s, name))
	}
	list := func(before string, limit int) []string {
		t.Helper()
		got, err := s.ListTenants(t.Context(), before, limit)
		if err != nil {
			t.Fatalf("ListTenants(%q, %d): %v", before, limit, err)
		}
		names := []string{}
		for _, tn := range got {
			names = append(names, tn.Name)
		}
		return names
	}
	for _, c := range []struct {
		before string
		limit  int
		want   []string
	}{
		{"", 10, []string{"t4", "t3", "t2", "t1", "t0"}},
		{"", 2, []string{"t4", "t3"}},
		{ts[3].ID, 2, []string{"t2", "t1"}},
		{ts[1].ID, 2, []string{"t0"}},
		{ts[0].ID, 2, []string{}},
	} {
		checkStrings(t, "ListTenants", list(c.before, c.limit), c.want)
	}

	got, err := s.ListTenants(t.Context(), "", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListTenants: got %d tenants, error %v; want 1, nil", len(got), err)
	}
	checkEqual(t, "ListTenants' tenant", got[0], ts[4])
}

func testTenantCount(t *testing.T, s directory.Store) {
	count := func() int {
		t.Helper()
		n, err := s.CountTenants(t.Context())
		if err != nil {
			t.Fatalf("CountTenants: %v", err)
		}
		return n
	}
	if got := count(); got != 0 {
		t.Errorf("CountTenants of an empty store: got %d, want 0", got)
	}
	for range 3 {
		createTenant(t, s, "t")
	}
	if got := count(); got != 3 {
		t.Errorf("CountTenants: got %d, want 3", got)
	}
}

func testKeyByHash(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	at := now()
	k := &directory.Key{
		ID:       directory.NewID(directory.PrefixKey, at),
		TenantID: tn.ID,
		Name:     "CI deploy key",
		Scopes:   []string{directory.ScopeUsersWrite, directory.ScopeUsersRead},
		Hash:     hash("token-1"),
		Created:  at,
	}
	other := &directory.Key{
		ID:       directory.NewID(directory.PrefixKey, at),
		TenantID: tn.ID,
		Name:     "other",
		Scopes:   []string{directory.ScopeAdmin},
		Hash:     hash("token-2"),
		Created:  at,
	}
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.CreateKey(t.Context(), k); err != nil {
			return err
		}
		return tx.CreateKey(t.Context(), other)
	})

	got, err := s.KeyByHash(t.Context(), hash("token-1"))
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	checkEqual(t, "KeyByHash", got, k)
	if got.Platform() {
		t.Errorf("KeyByHash: got a platform key, want a tenant key")
	}
}

func testKeyPlatform(t *testing.T, s directory.Store) {
	at := now()
	k := &directory.Key{
		ID:      directory.NewID(directory.PrefixKey, at),
		Name:    "platform",
		Scopes:  []string{directory.ScopePlatform},
		Hash:    hash("platform-token"),
		Created: at,
	}
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateKey(t.Context(), k) })

	got, err := s.KeyByHash(t.Context(), k.Hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	checkEqual(t, "KeyByHash", got, k)
	if !got.Platform() {
		t.Errorf("KeyByHash: got TenantID %q, want a platform key", got.TenantID)
	}
}

// testKeysVersion: the keys' version rises with a revocation and with an
// expiry, set by any transaction, and with nothing else: not a new key (no
// node can hold it), not a note of a key's use.
func testKeysVersion(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	version := func() int64 {
		t.Helper()
		v, err := s.KeysVersion(t.Context())
		if err != nil {
			t.Fatalf("KeysVersion: %v", err)
		}
		return v
	}
	at := now()
	k := &directory.Key{ID: directory.NewID(directory.PrefixKey, at), TenantID: tn.ID, Name: "k",
		Scopes: []string{directory.ScopeAdmin}, Hash: hash("versioned"), Created: at}
	v0 := version()
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateKey(t.Context(), k) })
	if err := s.TouchKey(t.Context(), k.ID, at.Truncate(time.Minute)); err != nil {
		t.Fatalf("TouchKey: %v", err)
	}
	if v := version(); v != v0 {
		t.Fatalf("version %d after a new key and a note of its use, want %d as before", v, v0)
	}
	for _, change := range []struct {
		name string
		set  func(k *directory.Key)
	}{
		{"an expiry", func(k *directory.Key) { e := at.Add(time.Hour); k.ExpiresAt = &e }},
		{"a revocation", func(k *directory.Key) { k.RevokedAt = &at }},
	} {
		before := version()
		inTx(t, s, func(tx directory.Tx) error {
			got, err := tx.GetKey(t.Context(), tn.ID, k.ID)
			if err != nil {
				return err
			}
			change.set(got)
			return tx.UpdateKey(t.Context(), got)
		})
		if v := version(); v <= before {
			t.Errorf("version %d after %s, want more than %d", v, change.name, before)
		}
	}
}

func testKeyUnknownHash(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	at := now()
	k := &directory.Key{ID: directory.NewID(directory.PrefixKey, at), TenantID: tn.ID, Name: "k",
		Scopes: []string{directory.ScopeAdmin}, Hash: hash("known"), Created: at}
	inTx(t, s, func(tx directory.Tx) error { return tx.CreateKey(t.Context(), k) })

	_, err := s.KeyByHash(t.Context(), hash("unknown"))
	wantNotFound(t, "KeyByHash of an unknown hash", err)
}

// checkStrings fails the test unless got and want hold the same strings in
// the same order.
func checkStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// testKeyByID finds a tenant's key and a platform key by their ids alone.
func testKeyByID(t *testing.T, s directory.Store) {
	tn := createTenant(t, s, "Acme")
	at := now()
	k := &directory.Key{ID: directory.NewID(directory.PrefixKey, at), TenantID: tn.ID, Name: "tenant key",
		Scopes: []string{directory.ScopeAdmin}, Hash: hash("tenant-token"), Created: at}
	p := &directory.Key{ID: directory.NewID(directory.PrefixKey, at), Name: "platform key",
		Scopes: []string{directory.ScopePlatform}, Hash: hash("platform-token"), Created: at}
	inTx(t, s, func(tx directory.Tx) error {
		if err := tx.CreateKey(t.Context(), k); err != nil {
			return err
		}
		return tx.CreateKey(t.Context(), p)
	})
	for _, want := range []*directory.Key{k, p} {
		got, err := s.KeyByID(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("KeyByID(%s): %v", want.Name, err)
		}
		checkEqual(t, "KeyByID", got, want)
	}
	_, err := s.KeyByID(t.Context(), directory.NewID(directory.PrefixKey, at))
	wantNotFound(t, "KeyByID of a missing key", err)
}
