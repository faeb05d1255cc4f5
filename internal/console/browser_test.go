package console_test

// The console in a real browser: headless Chromium, driven with chromedp,
// against a real Roster node on loopback and SQLite.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/postgres"
	"github.com/roster-dev/roster/internal/postgres/pgtest"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/sqlite"
	"github.com/roster-dev/roster/internal/webhook"
)

// node is a Roster server with a default tenant and its admin key.
type node struct {
	url, token string
	tenant     string
	svc        *directory.Service
	logs       *syncBuffer
}

// syncBuffer collects the node's log lines from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Close()
	os.Exit(code)
}

// backends are the stores the main scenario runs on, as in httpapi's tests.
func backends() []string {
	return strings.Split(cmp.Or(os.Getenv("ROSTER_TEST_BACKENDS"), "sqlite,postgres"), ",")
}

func startNode(t *testing.T) node { return startNodeOn(t, "sqlite") }

func startNodeOn(t *testing.T, backend string) node {
	t.Helper()
	ctx := context.Background()
	var store directory.Store
	var err error
	if backend == "postgres" {
		store, err = postgres.Open(ctx, pgtest.URL(t))
	} else {
		store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	n, err := server.New(ctx, server.Config{
		Store:  store,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		// The test's webhook receiver is on loopback.
		AllowPrivateWebhooks: true,
		Dispatcher:           webhook.DispatcherOptions{Interval: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		PurgeInterval:        time.Hour,
		SecretKeys:           [][]byte{[]byte("test key of Roster, 32 bytes lon")},
	})
	if err != nil {
		t.Fatal(err)
	}
	workers, stop := context.WithCancel(ctx)
	wait := n.RunWorkers(workers)
	srv := httptest.NewServer(n.Handler)
	t.Cleanup(func() {
		srv.Close()
		stop()
		wait()
		n.Close()
		store.Close()
	})
	out, err := n.Service.CreateTenant(ctx, directory.TenantInput{Name: "Acme", OwnerEmail: "owner@acme.test"}, true, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return node{url: srv.URL, token: out.Token, tenant: out.Tenant.ID, svc: n.Service, logs: logs}
}

// api makes one API call as a client other than the console would.
func (n node) api(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	return n.apiAs(t, n.token, method, path, body, want)
}

func (n node) apiAs(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return out
}

// chromium finds the browser, or skips the test when there is none, except
// under CI, where a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("ROSTER_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: under CI the browser tests must run (.ci/run installs it)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium, or set ROSTER_CHROMIUM): browser tests skipped")
	return ""
}

// browser is one headless Chromium tab with a fresh profile.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// One folder per test (and backend), so that no test overwrites
	// another's screens.
	shots := t.TempDir()
	if dir := os.Getenv("ROSTER_CONSOLE_SHOTS"); dir != "" {
		shots = filepath.Join(dir, filepath.FromSlash(t.Name()))
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", shots)
	b := &browser{t: t, ctx: ctx, shots: shots}
	b.watchConsole()
	return b
}

// watchConsole fails the test on an exception of the page or a refusal of
// the CSP: the console must run under its own policy.
func (b *browser) watchConsole() {
	msgs := chromedp.Console(b.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				b.t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line)
			}
		}
	}()
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// until waits for a JavaScript expression to be true.
func (b *browser) until(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		return err
	}))
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	return b.eval(fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ''`, sel))
}

// unlabeled lists the visible controls that have no accessible name.
const unlabeled = `[...document.querySelectorAll('input, select, textarea, button')]
	.filter(e => e.getClientRects().length > 0)
	.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
	.map(e => e.id || e.outerHTML.slice(0, 80)).join(', ')`

// shot saves a screenshot of the page, whose controls must all be labeled.
func (b *browser) shot(name string) {
	b.t.Helper()
	if !strings.HasPrefix(name, "failed-") {
		if got := b.eval(unlabeled); got != "" {
			b.t.Errorf("%s: controls without a label: %s", name, got)
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Error(err)
	}
}

// signIn opens the console and signs in with token.
func (b *browser) signIn(n node, token string) {
	b.t.Helper()
	b.do("open the console", chromedp.Navigate(n.url+"/console"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.do("sign in", chromedp.SendKeys(chromedp.ID("signin-key"), token), chromedp.Click(chromedp.ID("signin-submit")))
	b.until("the list", `document.querySelector('#users-rows tr') !== null`)
}

// pngFile writes a small PNG and answers its path.
func pngFile(t *testing.T) string {
	t.Helper()
	im := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range im.Pix {
		im.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "face.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func setMedia(dark bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		scheme := cmp.Or(map[bool]string{true: "dark"}[dark], "light")
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// TestConsoleInABrowser walks the support scenario of the console: sign in,
// find a user, fix it through a validation error, see the history, lose a
// race with another writer without losing the edit, suspend and lift, read
// the settings, and sign out.
func TestConsoleInABrowser(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { scenario(t, backend) })
	}
}

func scenario(t *testing.T, backend string) {
	n := startNodeOn(t, backend)
	b := newBrowser(t)
	alice := n.api(t, "POST", "/v1/users", map[string]any{"email": "alice@example.com", "username": "alice", "name": "Alice Smith"}, 201)
	n.api(t, "POST", "/v1/users", map[string]any{"email": "bob@example.com", "username": "bob", "name": "Bob Jones"}, 201)
	n.api(t, "POST", "/v1/users", map[string]any{"email": "carol@example.com", "username": "carol", "name": "Carol White"}, 201)
	id := alice["id"].(string)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	hook := n.api(t, "POST", "/v1/webhook-endpoints", map[string]any{"url": receiver.URL + "/events", "kind": "events"}, 201)["id"].(string)

	b.do("open the console", chromedp.Navigate(n.url+"/console"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.shot("01-signin")

	b.do("sign in", chromedp.SendKeys(chromedp.ID("signin-key"), n.token), chromedp.Click(chromedp.ID("signin-submit")))
	b.until("the list", `document.querySelectorAll('#users-rows tr').length === 4`)
	if got := b.text("#scopes"); !strings.Contains(got, "admin") || !strings.Contains(got, "users:write") {
		t.Errorf("scopes shown %q, want the admin key's", got)
	}
	b.shot("02-users")

	// The search is sent as one types: a prefix, in any case.
	b.do("search", chromedp.SendKeys(chromedp.ID("search-q"), "ALI"))
	b.until("the search's answer", `document.querySelectorAll('#users-rows tr').length === 1 && document.querySelector('#users-rows').textContent.includes('alice@example.com')`)
	b.do("search for nobody", chromedp.SendKeys(chromedp.ID("search-q"), "zz"))
	b.until("no answer", `document.querySelectorAll('#users-rows tr').length === 0 && !document.querySelector('#users-empty').hidden`)
	b.do("back to alice", chromedp.SendKeys(chromedp.ID("search-q"), kb.Backspace+kb.Backspace))
	b.until("alice again", `document.querySelectorAll('#users-rows tr').length === 1`)

	b.do("open alice", chromedp.Click(chromedp.CSS("#users-rows a")))
	b.until("alice's page", `document.querySelector('#user-title')?.textContent === 'Alice Smith' && document.querySelector('#history .entry') !== null`)
	if got := b.text("#history"); !strings.Contains(got, "user.created") {
		t.Errorf("history %q lacks the creation", got)
	}
	b.shot("03-user")

	// Two invalid fields: each error shows next to its field, moving nothing,
	// and nothing is written.
	saveAt := b.eval(`String(document.querySelector('#edit-save').getBoundingClientRect().top + scrollY)`)
	b.do("edit badly",
		chromedp.SetValue(chromedp.ID("f-country"), "XX"),
		chromedp.SetValue(chromedp.ID("f-birthdate"), "2999-01-01"),
		chromedp.Click(chromedp.ID("edit-save")))
	b.until("the field errors", `document.querySelector('#f-country-err').textContent !== '' && document.querySelector('#f-birthdate-err').textContent !== ''`)
	if got := b.eval(`String(document.querySelector('#edit-save').getBoundingClientRect().top + scrollY)`); got != saveAt {
		t.Errorf("the errors moved the save button from %s to %s", saveAt, got)
	}
	if got := b.text("#f-birthdate-err"); !strings.Contains(got, "future") {
		t.Errorf("birthdate error %q", got)
	}
	if got := b.eval(`document.querySelector('#f-country').getAttribute('aria-invalid') ?? ''`); got != "true" {
		t.Errorf("country aria-invalid %q", got)
	}
	if got := b.text("#f-name-err"); got != "" {
		t.Errorf("name, which is valid, shows an error: %q", got)
	}
	if v := n.api(t, "GET", "/v1/users/"+id, nil, 200)["version"]; v != 1.0 {
		t.Errorf("version %v after a refused edit, want 1", v)
	}
	b.shot("04-validation-error")

	// A dry run shows the outcome and writes nothing.
	b.do("dry run", chromedp.SetValue(chromedp.ID("f-country"), "FR"), chromedp.SetValue(chromedp.ID("f-birthdate"), "1990-05-01"), chromedp.Click(chromedp.ID("edit-dry-run")))
	b.until("the dry run", `!document.querySelector('#dry-run').hidden && document.querySelector('#dry-run').textContent.includes('version 2')`)
	if v := n.api(t, "GET", "/v1/users/"+id, nil, 200)["version"]; v != 1.0 {
		t.Errorf("version %v after a dry run, want 1", v)
	}

	b.do("save the fix", chromedp.Click(chromedp.ID("edit-save")))
	b.until("the save", `document.querySelector('#user-version')?.textContent === '2' && document.querySelector('#history .entry')?.textContent.includes('country')`)
	first := b.text("#history .entry")
	if !strings.Contains(first, "user.updated") || !strings.Contains(first, `"FR"`) || !strings.Contains(first, `"1990-05-01"`) {
		t.Errorf("newest history entry %q, want the country and birthdate change", first)
	}
	if got := n.api(t, "GET", "/v1/users/"+id, nil, 200); got["country"] != "FR" || got["birthdate"] != "1990-05-01" || got["name"] != "Alice Smith" {
		t.Errorf("stored %v %v %v", got["country"], got["birthdate"], got["name"])
	}
	b.shot("05-saved")

	// Someone else renames alice between the load and the save: 412, the
	// edit is kept, and the next save applies it on top of theirs.
	b.do("edit the company", chromedp.SetValue(chromedp.ID("f-company"), "Initech"))
	n.api(t, "PATCH", "/v1/users/"+id, map[string]any{"name": "Alice Martin"}, 200)
	b.do("save over a concurrent change", chromedp.Click(chromedp.ID("edit-save")))
	b.until("the conflict", `!document.querySelector('#conflict').hidden`)
	conflict := b.text("#conflict")
	if !strings.Contains(conflict, "Name") || !strings.Contains(conflict, "Alice Martin") {
		t.Errorf("conflict %q does not say what changed", conflict)
	}
	if got := b.eval(`document.querySelector('#f-company').value`); got != "Initech" {
		t.Errorf("company after the 412 %q, want what was typed", got)
	}
	if got := b.eval(`document.querySelector('#f-name').value`); got != "Alice Martin" {
		t.Errorf("name after the 412 %q, want the new value", got)
	}
	b.shot("06-conflict")
	b.do("save again", chromedp.Click(chromedp.ID("edit-save")))
	b.until("the second save", `document.querySelector('#user-version')?.textContent === '4'`)
	if got := n.api(t, "GET", "/v1/users/"+id, nil, 200); got["company"] != "Initech" || got["name"] != "Alice Martin" {
		t.Errorf("stored company %v name %v, want both changes", got["company"], got["name"])
	}

	// Suspend, with a confirmation, then lift.
	b.do("suspend", chromedp.SendKeys(chromedp.ID("s-reason"), "Abuse report #12"), chromedp.SetValue(chromedp.ID("s-ends_at"), "2031-01-01T10:00"), chromedp.Click(chromedp.ID("s-submit")))
	b.do("confirm", chromedp.WaitVisible(chromedp.ID("confirm-ok")), chromedp.Click(chromedp.ID("confirm-ok")))
	b.until("the suspension", `document.querySelector('#suspensions')?.textContent.includes('Abuse report #12')`)
	if s := n.api(t, "GET", "/v1/users/"+id, nil, 200)["suspensions"].([]any); len(s) != 1 || !strings.HasPrefix(fmt.Sprint(s[0].(map[string]any)["ends_at"]), "2031-01-01T") {
		t.Errorf("suspensions %v, want one ending on 2031-01-01", s)
	}
	b.shot("07-suspended")
	b.do("lift", chromedp.Click(chromedp.CSS("#suspensions button.lift")))
	b.do("confirm", chromedp.WaitVisible(chromedp.ID("confirm-ok")), chromedp.Click(chromedp.ID("confirm-ok")))
	b.until("the lift", `document.querySelector('#suspensions')?.textContent.includes('None in force')`)
	if s := n.api(t, "GET", "/v1/users/"+id, nil, 200)["suspensions"].([]any); len(s) != 0 {
		t.Errorf("suspensions %v after the lift, want none", s)
	}
	b.until("the lift in the history", `document.querySelector('#history .entry')?.textContent.includes('user.unsuspended')`)

	// A picture over the limit is refused before it is sent; one within it
	// is stored, and shown through the API.
	big := filepath.Join(t.TempDir(), "big.png")
	if err := os.WriteFile(big, bytes.Repeat([]byte{0x89}, 300<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("a picture too large", chromedp.SetUploadFiles(chromedp.ID("f-picture"), []string{big}))
	b.until("its refusal", `document.querySelector('#f-picture-err').textContent.includes('256 KiB')`)
	b.do("a picture", chromedp.SetUploadFiles(chromedp.ID("f-picture"), []string{pngFile(t)}))
	b.until("the picture read", `document.querySelector('#f-picture-err').textContent === ''`)
	b.do("save the picture", chromedp.Click(chromedp.ID("edit-save")))
	b.until("the picture shown", `document.querySelector('#user-picture img')?.src.startsWith('data:image/png')`)
	if p, _ := n.api(t, "GET", "/v1/users/"+id, nil, 200)["picture"].(string); !strings.HasPrefix(p, "/v1/users/"+id+"/picture?v=") {
		t.Errorf("picture %q, want the stored picture's path", p)
	}

	// Delete, which locks the form with the reason, then restore.
	// The tenant has no grace period (the default): the confirmation says
	// the user is erased at once.
	b.do("delete", chromedp.Click(chromedp.ID("act-delete")), chromedp.WaitVisible(chromedp.ID("confirm-ok")))
	if got := b.text("#confirm-text"); !strings.Contains(got, "erased at once") || !strings.Contains(got, "cannot be restored") {
		t.Errorf("delete confirmation %q, want the user erased at once (no grace period)", got)
	}
	b.do("confirm", chromedp.Click(chromedp.ID("confirm-ok")))
	b.until("the deletion", `document.querySelector('#act-restore') !== null && document.querySelector('#edit-save').disabled`)
	if got := b.text("#edit-why"); !strings.Contains(got, "being deleted") {
		t.Errorf("the form is locked for %q", got)
	}
	deleted := n.api(t, "GET", "/v1/users/"+id, nil, 200)
	if deleted["status"] != "deleting" {
		t.Errorf("status %v, want deleting", deleted["status"])
	}
	if got := b.eval(`document.querySelector('#deleting-note time:last-of-type')?.getAttribute('datetime') ?? ''`); got == "" || got != deleted["purge_after"] {
		t.Errorf("the deleting note shows %q, want purge_after %v", got, deleted["purge_after"])
	}
	b.do("restore", chromedp.Click(chromedp.ID("act-restore")), chromedp.WaitVisible(chromedp.ID("confirm-ok")), chromedp.Click(chromedp.ID("confirm-ok")))
	b.until("the restore", `document.querySelector('#act-delete') !== null && !document.querySelector('#edit-save').disabled`)
	if s := n.api(t, "GET", "/v1/users/"+id, nil, 200)["status"]; s != "active" {
		t.Errorf("status %v, want active", s)
	}

	// At 375 px and in dark mode the page still fits.
	b.do("narrow and dark", chromedp.EmulateViewport(375, 800), setMedia(true))
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "375" {
		t.Errorf("page %s px wide at 375 px: it scrolls sideways", w)
	}
	b.shot("08-user-375-dark")
	b.do("wide and light", chromedp.EmulateViewport(1280, 900), setMedia(false))

	// Settings: a policy that does not parse shows the parser's position.
	b.do("settings", chromedp.Navigate(n.url+"/console/#/settings"))
	b.until("the settings", `document.querySelector('#policies-text') !== null && document.querySelector('#usage meter') !== null`)
	b.do("a broken policy", chromedp.SetValue(chromedp.ID("policies-text"), "permit (principal, action, resource)\nwhen { nope };"), chromedp.Click(chromedp.ID("policies-save")))
	b.until("the parser's errors", `document.querySelector('#policies-errors button') !== null`)
	if got := b.text("#policies-errors"); !strings.Contains(got, "Line ") {
		t.Errorf("policy errors %q carry no position", got)
	}
	b.shot("09-settings")

	// The endpoint's deliveries, once the dispatcher has sent every event.
	history := n.api(t, "GET", "/v1/users/"+id+"/history?limit=100", nil, 200)["data"].([]any)
	want := len(history) - 1 // every change of alice's but its creation, made before the endpoint
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := n.api(t, "GET", "/v1/webhook-endpoints/"+hook+"/deliveries?limit=100", nil, 200)["data"].([]any)
		done := 0
		for _, d := range ds {
			if d.(map[string]any)["status"] == "delivered" {
				done++
			}
		}
		if done == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered", done, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.do("deliveries", chromedp.Click(chromedp.CSS("#hooks button[aria-controls]")))
	b.until("the deliveries", fmt.Sprintf(`document.querySelectorAll('#dl-%s tbody tr').length === %d`, hook, want))
	if got := b.text("#dl-" + hook); !strings.Contains(got, "delivered") || !strings.Contains(got, "204") {
		t.Errorf("deliveries %q, want delivered with the receiver's 204", got)
	}
	b.shot("10-webhook-deliveries")

	// Sign-out forgets the key.
	b.do("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin-key")))
	if got := b.eval(`String(sessionStorage.length) + location.href`); strings.Contains(got, n.token) || !strings.HasPrefix(got, "0") {
		t.Errorf("after sign-out: %q", got)
	}
	if got := b.eval(`document.cookie`); got != "" {
		t.Errorf("cookies %q, want none", got)
	}

	// Every call the console made was an API call with the key, whose
	// token no log line holds.
	logs := n.logs.String()
	if strings.Contains(logs, n.token) || strings.Contains(logs, n.token[4:]) {
		t.Error("a log line holds the token")
	}
	if !strings.Contains(logs, `"route":"PATCH /v1/users/{id}","status":412`) {
		t.Errorf("the node logged no 412 of the console's PATCH:\n%s", logs)
	}
}

// TestConsoleWithAReadOnlyKey: the controls a users:read key cannot use are
// disabled, each with the API's reason.
func TestConsoleWithAReadOnlyKey(t *testing.T) {
	b := newBrowser(t)
	n := startNode(t)
	id := n.api(t, "POST", "/v1/users", map[string]any{"email": "dana@example.com", "name": "Dana Reed"}, 201)["id"].(string)
	ro := n.api(t, "POST", "/v1/keys", map[string]any{"name": "support", "scopes": []string{"read_only"}}, 201)["token"].(string)

	b.do("open the console", chromedp.Navigate(n.url+"/console"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.do("sign in with a wrong key", chromedp.SendKeys(chromedp.ID("signin-key"), ro+"x"), chromedp.Click(chromedp.ID("signin-submit")))
	b.until("the refusal", `document.querySelector('#signin-key-err').textContent.includes('unauthenticated')`)
	if got := b.eval(`String(sessionStorage.length) + document.querySelector('#signin-key').getAttribute('aria-invalid')`); got != "0true" {
		t.Errorf("after a refused key: %q, want nothing kept and the field marked", got)
	}
	b.signIn(n, ro)
	if got := b.text("#scopes"); !strings.Contains(got, "users:read") || strings.Contains(got, "write") || strings.Contains(got, "admin") {
		t.Errorf("scopes shown %q, want users:read only", got)
	}
	b.do("open dana", chromedp.Navigate(n.url+"/console/#/users/"+id))
	b.until("dana's page", `document.querySelector('#user-title')?.textContent === 'Dana Reed'`)
	for _, sel := range []string{"#edit-save", "#edit-dry-run", "#act-deactivate", "#act-delete", "#s-submit"} {
		if got := b.eval(`String(document.querySelector('` + sel + `').matches(':disabled'))`); got != "true" {
			t.Errorf("%s enabled for a read-only key", sel)
		}
	}
	for _, sel := range []string{"#edit-why", "#act-deactivate-why"} {
		if got := b.text(sel); !strings.Contains(got, "users:write") {
			t.Errorf("%s says %q, want the missing scope", sel, got)
		}
	}
	b.shot("11-read-only")
	// The scopes came from GET /v1/keys/self, not from trying a write.
	if logs := n.logs.String(); !strings.Contains(logs, `"route":"GET /v1/keys/self"`) || strings.Contains(logs, `"route":"PATCH /v1/users/{id}"`) {
		t.Errorf("the console did not read its key, or probed with a write:\n%s", logs)
	}
	b.do("settings", chromedp.Navigate(n.url+"/console/#/settings"))
	b.until("the settings", `document.querySelector('#roles-text') !== null`)
	if got := b.text("#policies"); !strings.Contains(got, "admin") {
		t.Errorf("policies say %q, want the missing admin scope", got)
	}
	if got := b.eval(`String(document.querySelector('#roles-save').disabled)`); got != "true" {
		t.Error("roles can be saved with a read-only key")
	}
}

// TestConsoleByKeyboardWithPolicies: sign in and act with the keyboard, page
// through the list, see a policy's notice, and cancel a confirmation with
// Escape, which writes nothing.
func TestConsoleByKeyboardWithPolicies(t *testing.T) {
	b := newBrowser(t)
	n := startNode(t)
	for i := range 25 {
		n.api(t, "POST", "/v1/users", map[string]any{"email": fmt.Sprintf("u%02d@example.com", i), "name": fmt.Sprintf("User %02d", i)}, 201)
	}
	id := n.api(t, "POST", "/v1/users", map[string]any{"email": "erin@example.com", "name": "Erin Moss"}, 201)["id"].(string)
	policies := n.api(t, "GET", "/v1/policies", nil, 200)["policies"].(string) + `
@notice("Only the owner may change roles.")
forbid (principal, action == Action::"updateUser", resource)
when { context.changed_fields.contains("roles") };
`
	n.api(t, "PUT", "/v1/policies", map[string]any{"policies": policies}, 200)

	b.do("open the console", chromedp.Navigate(n.url+"/console/"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.do("sign in with Enter", chromedp.SendKeys(chromedp.ID("signin-key"), n.token+kb.Enter))
	b.until("the first page", `document.querySelectorAll('#users-rows tr').length === 20 && !document.querySelector('#users-more').hidden`)
	b.do("the next page", chromedp.SendKeys(chromedp.ID("users-more"), kb.Enter))
	b.until("every user", `document.querySelectorAll('#users-rows tr').length === 27 && document.querySelector('#users-more').hidden`)

	b.do("open erin", chromedp.Navigate(n.url+"/console/#/users/"+id))
	b.until("erin's page", `document.querySelector('#user-title')?.textContent === 'Erin Moss'`)
	b.do("make erin an admin", chromedp.SendKeys(chromedp.ID("f-roles-admin"), " "), chromedp.SendKeys(chromedp.ID("edit-save"), kb.Enter))
	b.until("the refusal", `document.querySelector('#edit-problem').textContent.includes('Only the owner may change roles.')`)
	if roles := n.api(t, "GET", "/v1/users/"+id, nil, 200)["roles"].([]any); len(roles) != 1 || roles[0] != "member" {
		t.Errorf("roles %v after a refusal, want [member]", roles)
	}
	b.shot("12-policy-notice")

	b.do("deactivate, then think again", chromedp.SendKeys(chromedp.ID("act-deactivate"), kb.Enter), chromedp.WaitVisible(chromedp.ID("confirm-ok")))
	if got := b.eval(`document.activeElement.id`); got != "confirm-cancel" {
		t.Errorf("the confirmation opens with %q focused, want the cancel button", got)
	}
	b.do("Escape", chromedp.SendKeys(chromedp.ID("confirm-cancel"), kb.Escape), chromedp.WaitNotVisible(chromedp.ID("confirm-ok")))
	if got := b.eval(`document.activeElement.id`); got != "act-deactivate" {
		t.Errorf("after Escape %q is focused, want the button that opened it", got)
	}
	if s := n.api(t, "GET", "/v1/users/"+id, nil, 200)["status"]; s != "active" {
		t.Errorf("status %v after a cancelled deactivation", s)
	}
	b.do("deactivate", chromedp.SendKeys(chromedp.ID("act-deactivate"), kb.Enter), chromedp.WaitVisible(chromedp.ID("confirm-ok")), chromedp.SendKeys(chromedp.ID("confirm-ok"), kb.Enter))
	b.until("the deactivation", `document.querySelector('#act-reactivate') !== null`)
	if s := n.api(t, "GET", "/v1/users/"+id, nil, 200)["status"]; s != "deactivated" {
		t.Errorf("status %v, want deactivated", s)
	}

	// The role catalog: a role in use cannot be dropped; a new one is added.
	b.do("settings", chromedp.Navigate(n.url+"/console/#/settings"))
	b.until("the roles", `document.querySelector('#roles-text')?.value.includes('member')`)
	b.do("drop member", chromedp.SetValue(chromedp.ID("roles-text"), "admin\nviewer"), chromedp.SendKeys(chromedp.ID("roles-save"), kb.Enter))
	b.until("the refusal", `document.querySelector('#roles-err').textContent.includes('role_in_use')`)
	b.do("add support", chromedp.SetValue(chromedp.ID("roles-text"), "member\nadmin\nviewer\nsupport"), chromedp.SendKeys(chromedp.ID("roles-save"), kb.Enter))
	b.until("the save", `document.querySelector('#roles-err').textContent === '' && document.querySelector('#status').textContent === 'Roles saved.'`)
	if roles := fmt.Sprint(n.api(t, "GET", "/v1/roles", nil, 200)["roles"]); roles != "[member admin viewer support]" {
		t.Errorf("roles %s", roles)
	}

	// Webhook endpoints: a bad URL is refused at its field; a good one is
	// created, its secret shown once; then it is deleted.
	b.do("a bad endpoint", chromedp.SetValue(chromedp.ID("hook-url"), "ftp://hooks.example.com/x"), chromedp.SendKeys(chromedp.ID("hook-create"), kb.Enter))
	b.until("its refusal", `document.querySelector('#hook-url-err').textContent !== ''`)
	b.do("an endpoint", chromedp.SetValue(chromedp.ID("hook-url"), n.url+"/hook"), chromedp.SendKeys(chromedp.ID("hook-create"), kb.Enter))
	b.until("its secret", `/^whsec_/.test(document.querySelector('#hook-secret-value')?.value ?? '')`)
	hooks := n.api(t, "GET", "/v1/webhook-endpoints", nil, 200)["data"].([]any)
	if len(hooks) != 1 {
		t.Fatalf("endpoints %v, want the one made", hooks)
	}
	hid := hooks[0].(map[string]any)["id"].(string)
	b.do("delete it", chromedp.SendKeys(chromedp.ID("del-"+hid), kb.Enter), chromedp.WaitVisible(chromedp.ID("confirm-ok")), chromedp.SendKeys(chromedp.ID("confirm-ok"), kb.Enter))
	b.until("its deletion", `document.querySelector('#hooks').textContent.includes('No endpoint yet.')`)
	if hooks := n.api(t, "GET", "/v1/webhook-endpoints", nil, 200)["data"].([]any); len(hooks) != 0 {
		t.Errorf("endpoints %v after the deletion", hooks)
	}

	b.do("the list of the deactivated", chromedp.Navigate(n.url+"/console/#/users"), chromedp.SetValue(chromedp.ID("search-status"), "deactivated"),
		chromedp.Evaluate[chromedp.Void](`void document.querySelector('#search-status').dispatchEvent(new Event('change'))`))
	b.until("erin alone", `document.querySelectorAll('#users-rows tr').length === 1 && document.querySelector('#users-rows').textContent.includes('erin@example.com')`)
}

// TestConsoleWithAPlatformKey: a platform key needs a tenant; with it, and
// with a tenant key too, the delete confirmation tells the tenant's grace
// period and when the user would be erased, and the user view shows
// purge_after while it is being deleted.
func TestConsoleWithAPlatformKey(t *testing.T) {
	b := newBrowser(t)
	n := startNode(t)
	_, platform, err := n.svc.CreateKey(context.Background(), "", directory.KeyInput{Name: "platform"}, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	n.apiAs(t, platform, "PATCH", "/v1/tenants/"+n.tenant, map[string]any{"settings": map[string]any{"deletion_grace_seconds": 7 * 86400}}, 200)
	id := n.api(t, "POST", "/v1/users", map[string]any{"email": "fay@example.com", "name": "Fay Lin"}, 201)["id"].(string)
	gus := n.api(t, "POST", "/v1/users", map[string]any{"email": "gus@example.com", "name": "Gus Ray"}, 201)["id"].(string)

	b.do("open the console", chromedp.Navigate(n.url+"/console"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.do("sign in without a tenant", chromedp.SendKeys(chromedp.ID("signin-key"), platform+kb.Enter))
	b.until("the refusal", `document.querySelector('#signin-tenant-err').textContent.includes('X-Tenant-ID')`)
	b.do("sign in with the tenant", chromedp.SendKeys(chromedp.ID("signin-key"), platform), chromedp.SendKeys(chromedp.ID("signin-tenant"), n.tenant+kb.Enter))
	b.until("the list", `document.querySelector('#users-rows').textContent.includes('fay@example.com')`)
	if got := b.text("#scopes"); !strings.HasPrefix(got, "Platform key") || !strings.Contains(got, "admin") {
		t.Errorf("scopes shown %q, want a platform key's", got)
	}
	b.do("open fay", chromedp.Navigate(n.url+"/console/#/users/"+id))
	b.until("fay's page", `document.querySelector('#user-title')?.textContent === 'Fay Lin'`)
	b.do("delete", chromedp.Click(chromedp.ID("act-delete")), chromedp.WaitVisible(chromedp.ID("confirm-ok")))
	// When it would be erased, as the browser writes a date: a week on.
	week := b.eval(`new Date(Date.now() + 7 * 86400e3).toLocaleDateString()`)
	if got := b.text("#confirm-text"); !strings.Contains(got, "7 days") || !strings.Contains(got, week) || !strings.Contains(got, "can be restored") {
		t.Errorf("delete confirmation %q, want the grace period of 7 days, ending on %s", got, week)
	}
	b.do("cancel", chromedp.Click(chromedp.ID("confirm-cancel")), chromedp.WaitNotVisible(chromedp.ID("confirm-ok")))
	if s := n.api(t, "GET", "/v1/users/"+id, nil, 200)["status"]; s != "active" {
		t.Errorf("status %v after a cancelled deletion", s)
	}

	// A tenant key reads the grace period as well (GET /v1/tenant).
	b.do("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.signIn(n, n.token)
	if got := b.text("#scopes"); !strings.HasPrefix(got, "Key") || !strings.Contains(got, "users:write") {
		t.Errorf("scopes shown %q, want the admin key's", got)
	}
	b.do("open gus", chromedp.Navigate(n.url+"/console/#/users/"+gus))
	b.until("gus's page", `document.querySelector('#user-title')?.textContent === 'Gus Ray'`)
	b.do("delete", chromedp.Click(chromedp.ID("act-delete")), chromedp.WaitVisible(chromedp.ID("confirm-ok")))
	if got := b.text("#confirm-text"); !strings.Contains(got, "7 days") || !strings.Contains(got, week) {
		t.Errorf("delete confirmation for a tenant key %q, want the grace period of 7 days", got)
	}
	b.do("confirm", chromedp.Click(chromedp.ID("confirm-ok")))
	b.until("the deletion", `document.querySelector('#act-restore') !== null`)
	after := n.api(t, "GET", "/v1/users/"+gus, nil, 200)["purge_after"]
	if got := b.eval(`document.querySelector('#deleting-note time:last-of-type')?.getAttribute('datetime') ?? ''`); got == "" || got != after {
		t.Errorf("the deleting note shows %q, want purge_after %v", got, after)
	}
	if got := b.text("#facts"); !strings.Contains(got, "Erased after") {
		t.Errorf("the fields %q do not show purge_after", got)
	}
	b.shot("13-deleting")

	// The settings show the grace period, which only a platform key changes.
	b.do("settings", chromedp.Navigate(n.url+"/console/#/settings"))
	b.until("the tenant's settings", `document.querySelector('#tenant-settings') !== null`)
	if got := b.text("#tenant-settings"); !strings.Contains(got, "604,800 s") && !strings.Contains(got, "604800 s") {
		t.Errorf("tenant settings %q, want the grace period", got)
	}
}
