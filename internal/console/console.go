// Package console serves the admin console: static HTML, CSS and JavaScript
// modules, embedded in the binary, that run in the browser and call the
// ordinary API with the key the operator signs in with. It holds no key and
// answers no data itself, so it takes no key either.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// ContentSecurityPolicy lets the console's pages run only the console's own
// files and talk only to their own origin: no inline script or style, no
// frame around them, no form posting elsewhere. Pictures are shown as data:
// URIs, read through the API with the key, since an <img> cannot send it.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	etag        string
	contentType string
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// Mount registers the console on mux: GET (and so HEAD) of each embedded
// file under Prefix, the index at Prefix itself, and a redirect from the
// prefix without its slash. A path under Prefix that names no file matches
// no route, so the mux's own not-found answer applies.
func Mount(mux *http.ServeMux) {
	files, err := load()
	if err != nil {
		panic(err) // the embedded files are part of the binary: a build error
	}
	for name, f := range files {
		pattern := "GET " + Prefix + name
		if name == "index.html" {
			pattern = "GET " + Prefix + "{$}"
		}
		mux.Handle(pattern, serve(f))
	}
	mux.Handle("GET "+strings.TrimSuffix(Prefix, "/"), http.RedirectHandler(Prefix, http.StatusMovedPermanently))
}

// load reads every embedded file and computes its ETag once.
func load() (map[string]file, error) {
	root, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	out := map[string]file{}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		out[name] = file{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, contentType: ct}
		return nil
	})
	return out, err
}

// serve answers one file. Its names carry no hash, so a browser must ask
// again each time (no-cache) and gets a 304 while the binary is the same.
// The query string is ignored: a static file reads nothing from it.
func serve(f file) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// ServeContent answers If-None-Match with 304, Range and HEAD.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}
