package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/console"
)

func get(t *testing.T, srv *httptest.Server, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func mounted(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	console.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestFilesAreServedWithTheirHeaders checks each file the index loads, and
// the index itself: its type, the security headers and a validator.
func TestFilesAreServedWithTheirHeaders(t *testing.T) {
	srv := mounted(t)
	for path, typ := range map[string]string{
		"/console/":            "text/html; charset=utf-8",
		"/console/app.js":      "text/javascript; charset=utf-8",
		"/console/api.js":      "text/javascript; charset=utf-8",
		"/console/console.css": "text/css; charset=utf-8",
	} {
		t.Run(path, func(t *testing.T) {
			res := get(t, srv, path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			for k, want := range map[string]string{
				"Content-Type":            typ,
				"Content-Security-Policy": console.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-cache",
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(res.Header.Get("ETag")) {
				t.Errorf("ETag %q", res.Header.Get("ETag"))
			}
		})
	}
	if csp := console.ContentSecurityPolicy; !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
}

func TestETagAnswers304AndChangesWithTheContent(t *testing.T) {
	srv := mounted(t)
	app, css := get(t, srv, "/console/app.js"), get(t, srv, "/console/console.css")
	tag := app.Header.Get("ETag")
	if tag == "" || tag == css.Header.Get("ETag") {
		t.Fatalf("ETags %q and %q: want two different tags", tag, css.Header.Get("ETag"))
	}
	if res := get(t, srv, "/console/app.js", "If-None-Match", tag); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with its tag: %d, want 304", res.StatusCode)
	}
	if res := get(t, srv, "/console/app.js", "If-None-Match", css.Header.Get("ETag")); res.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match with another tag: %d, want 200", res.StatusCode)
	}
}

func TestPathsOutsideTheFiles(t *testing.T) {
	srv := mounted(t)
	res := get(t, srv, "/console")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Errorf("/console: %d to %q, want 301 to /console/", res.StatusCode, res.Header.Get("Location"))
	}
	for _, p := range []string{"/console/nope.js", "/console/index.html/x", "/console/../go.mod"} {
		if res := get(t, srv, p); res.StatusCode == http.StatusOK {
			t.Errorf("%s: 200", p)
		}
	}
}

// TestPagesHaveNoInlineCode holds the files to what the CSP allows: no
// inline script, style or event handler, which the browser would refuse, and
// nothing loaded from elsewhere; every module imported is served.
func TestPagesHaveNoInlineCode(t *testing.T) {
	srv := mounted(t)
	body, err := io.ReadAll(get(t, srv, "/console/").Body)
	if err != nil {
		t.Fatal(err)
	}
	html := string(body)
	scripts := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1)
	if len(scripts) == 0 {
		t.Fatal("index.html loads no script")
	}
	for _, s := range scripts {
		if !strings.Contains(s[1], `src="`) || strings.TrimSpace(s[2]) != "" {
			t.Errorf("inline script: %q", s[0])
		}
	}
	for _, bad := range []string{`\sstyle=`, `<style`, `\son[a-z]+=`, `(?:src|href)="(?:https?:)?//`} {
		if m := regexp.MustCompile(`(?i)` + bad).FindString(html); m != "" {
			t.Errorf("index.html has %q", m)
		}
	}
	files, err := filepath.Glob("static/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no module in static/: %v", err)
	}
	imports := regexp.MustCompile(`(?m)^import .* from '([^']+)';$`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"innerHTML", "eval(", "new Function", "document.write", "console.log", ".style."} {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s uses %s", f, bad)
			}
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %s from elsewhere", f, m[1])
			} else if res := get(t, srv, "/console/"+strings.TrimPrefix(m[1], "./")); res.StatusCode != http.StatusOK {
				t.Errorf("%s imports %s: %d", f, m[1], res.StatusCode)
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([a-z]+\.(?:js|css))"`).FindAllStringSubmatch(html, -1) {
		if res := get(t, srv, "/console/"+m[1]); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", m[1], res.StatusCode)
		}
	}
}

// TestServedByTheNode: the API's handler serves the console without a key,
// with the console's headers, and answers a path that names no file with
// the API's own not-found problem.
func TestServedByTheNode(t *testing.T) {
	n := startNode(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, n.url+"/console/", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy || res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s /console/: %d, CSP %q, Cache-Control %q", method, res.StatusCode, res.Header.Get("Content-Security-Policy"), res.Header.Get("Cache-Control"))
		}
	}
	res, err := c.Get(n.url + "/console")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Errorf("/console: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(n.url + "/console/missing.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), `"code":"not_found"`) {
		t.Errorf("/console/missing.js: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}
