package secretbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/secretbox"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/wire"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k, err := secretbox.ParseKey(secretbox.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newBox(t *testing.T, current []byte, previous ...[]byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpens(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	b1 := newBox(t, k1)
	sealed := b1.Seal("whsec_secret", "row 1")
	if strings.Contains(sealed, "secret") || !secretbox.Sealed(sealed) {
		t.Fatalf("sealed %q", sealed)
	}
	if b1.Seal("whsec_secret", "row 1") == sealed {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	if got, current, err := b1.Open(sealed, "row 1"); err != nil || got != "whsec_secret" || !current {
		t.Fatalf("Open = %q, %v, %v", got, current, err)
	}
	// Bound to its row: it opens nowhere else.
	if _, _, err := b1.Open(sealed, "row 2"); err == nil {
		t.Error("a secret opened for another row")
	}
	// Altered, it does not open.
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	if _, _, err := b1.Open(string(flipped), "row 1"); err == nil {
		t.Error("an altered secret opened")
	}
	// A box with the key as a previous one opens it, not current.
	if got, current, err := newBox(t, k2, k1).Open(sealed, "row 1"); err != nil || got != "whsec_secret" || current {
		t.Errorf("Open under the previous key = %q, %v, %v", got, current, err)
	}
	// A box without the key cannot, and says why.
	if _, _, err := newBox(t, k2).Open(sealed, "row 1"); !errors.Is(err, secretbox.ErrUnknownKey) {
		t.Errorf("Open without the key: %v", err)
	}
	// A value stored before secrets were sealed reads as is, not current.
	if got, current, err := b1.Open("whsec_legacy", "row 1"); err != nil || got != "whsec_legacy" || current {
		t.Errorf("Open of a clear value = %q, %v, %v", got, current, err)
	}
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"", "not base64!", "c2hvcnQ=", secretbox.NewKey() + "AAAA"} {
		if _, err := secretbox.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := secretbox.ParseKey(" " + secretbox.NewKey() + "\n"); err != nil {
		t.Errorf("a key with surrounding white space: %v", err)
	}
	if _, err := secretbox.New(make([]byte, 16)); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}

// TestResealMovesSecretsToTheCurrentKey: secrets in clear (from before
// sealing) and under a previous key are sealed under the current one, after
// which the previous key is no longer needed.
func TestResealMovesSecretsToTheCurrentKey(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	out, err := directory.NewService(raw, directory.Options{Wire: wire.Encoding{}}).CreateTenant(ctx, directory.TenantInput{Name: "Acme"}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	ep := &directory.Endpoint{
		ID: directory.NewID(directory.PrefixEndpoint, time.Now()), TenantID: out.Tenant.ID, URL: "https://hooks.example.com/", Kind: directory.EndpointEvents,
		Events: []directory.EventType{}, TimeoutMS: 2000, Secret: "whsec_current", PreviousSecret: "whsec_previous", PreviousUntil: &until, CreatedAt: time.Now(),
	}
	if err := raw.InTx(ctx, func(tx directory.Tx) error { return tx.CreateEndpoint(ctx, ep) }); err != nil {
		t.Fatal(err)
	}
	stored := func() *directory.Endpoint {
		t.Helper()
		e, err := raw.GetEndpoint(ctx, ep.TenantID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	k1, k2 := newKey(t), newKey(t)
	for _, step := range []struct {
		name string
		box  *secretbox.Box
		n    int
	}{
		{"clear to the first key", newBox(t, k1), 1},
		{"again: nothing to do", newBox(t, k1), 0},
		{"to a new key, the old one previous", newBox(t, k2, k1), 1},
	} {
		s := secretbox.Wrap(raw, step.box)
		n, err := s.Reseal(ctx)
		if err != nil || n != step.n {
			t.Fatalf("%s: Reseal = %d, %v; want %d", step.name, n, err, step.n)
		}
		e := stored()
		if !secretbox.Sealed(e.Secret) || !secretbox.Sealed(e.PreviousSecret) {
			t.Fatalf("%s: stored %q, %q", step.name, e.Secret, e.PreviousSecret)
		}
	}
	// The new key alone now opens everything.
	got, err := secretbox.Wrap(raw, newBox(t, k2)).GetEndpoint(ctx, ep.TenantID, ep.ID)
	if err != nil || got.Secret != "whsec_current" || got.PreviousSecret != "whsec_previous" || !got.PreviousUntil.Equal(until) {
		t.Fatalf("GetEndpoint under the new key = %+v, %v", got, err)
	}
	// The old one alone does not.
	if _, err := secretbox.Wrap(raw, newBox(t, k1)).ListEndpoints(ctx, ep.TenantID); !errors.Is(err, secretbox.ErrUnknownKey) {
		t.Errorf("ListEndpoints under the retired key: %v", err)
	}
}
