package httpapi_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// TestPurgeErasesEveryByte follows a user with a marker in every personal
// field — email, username, names, company, bio, website, metadata and
// secure metadata keys and values, the bytes of its picture, a suspension's
// reason, a later rename — whose events two receivers refuse, one with a
// 500 whose body carries a marker, one with an answer that is no HTTP and
// echoes the user's email, which the attempt's error quotes. The user is
// deleted (grace 0) and purged, other users are written to after, and then
// no marker is anywhere: on SQLite in the raw bytes of the database file,
// its WAL and its -shm file; on PostgreSQL in any column of any row of any
// table, read as text (what PostgreSQL keeps on disk beyond rows is in
// docs/api.md). Each stored marker is first found by the same scan, so a
// scan that cannot see them cannot pass.
func TestPurgeErasesEveryByte(t *testing.T) {
	e := newEnv(t)
	sfx := strings.ToLower(rand.Text()[:16])
	mark := func(what string) string { return "mk" + what + sfx }
	email := "Mk.Email." + sfx + "@Example.com" // the store also keeps it lower-cased

	plain := newReceiver(t)
	plain.answer = func(map[string]any) (int, string) { return http.StatusInternalServerError, mark("receiverbody") }
	plain.register(e, map[string]any{"kind": "events", "events": directory.EventTypes})
	echoID := e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/webhook-endpoints", body: map[string]any{
		"kind": "events", "events": directory.EventTypes, "url": echoingReceiver(t) + "/hook",
	}}).json(t)["id"].(string)

	u := e.createUser(t, map[string]any{
		"email": email, "username": mark("user"), "name": mark("name"), "given_name": mark("given"),
		"family_name": mark("family"), "company": mark("company"), "bio": "Lives at " + mark("bio"),
		"website":         "https://" + mark("web") + ".example.com/",
		"metadata":        map[string]any{mark("metakey"): mark("metaval")},
		"secure_metadata": map[string]any{mark("secretkey"): mark("secretval")},
		"picture":         "data:image/png;base64," + base64.StdEncoding.EncodeToString(markedPNG(t, mark("picture"))),
	})
	id := u["id"].(string)
	e.patchUser(t, id, "application/json", map[string]any{"name": mark("renamed"), "bio": mark("newbio")})
	e.must(t, http.StatusCreated, req{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": mark("reason")}})

	// Both receivers have refused some of the user's events.
	deadline := time.Now().Add(15 * time.Second)
	for !hasAttempt(t, e, echoID, strings.ToLower(email)) {
		if time.Now().After(deadline) {
			t.Fatalf("no attempt of endpoint %s recorded the receiver's echo of the email: %s", echoID, e.must(t, 200, req{method: "GET", path: "/v1/webhook-endpoints/" + echoID + "/deliveries?limit=3"}).body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	plain.waitFor(3)

	stored := []string{email, mark("user"), mark("name"), mark("given"), mark("family"), mark("company"), mark("bio"),
		mark("web"), mark("metakey"), mark("metaval"), mark("secretkey"), mark("secretval"), mark("picture"),
		mark("renamed"), mark("newbio"), mark("reason")}
	all := append(stored, mark("receiverbody")) // answers' bodies are never stored
	dump := e.dumpDatabase(t)
	for _, m := range stored {
		if len(foundIn(dump, m)) == 0 {
			t.Fatalf("before the purge, the scan of the database finds no %q: it cannot prove its absence after", m)
		}
	}
	if !strings.Contains(strings.ToLower(string(dump["delivery_attempts"])), strings.ToLower(email)) {
		t.Fatalf("before the purge, no delivery attempt holds the receiver's echo of the email")
	}

	e.must(t, http.StatusAccepted, req{method: "DELETE", path: "/v1/users/" + id})
	if n, err := e.svc.PurgeDue(t.Context()); err != nil || n != 1 {
		t.Fatalf("PurgeDue = %d, %v; want 1, nil", n, err)
	}
	// Ordinary writes of other users after the purge: they must not bring
	// anything back (old WAL frames, reused pages).
	for i := range 10 {
		other := e.createUser(t, map[string]any{"email": fmt.Sprintf("later%d@example.com", i), "bio": strings.Repeat("later ", 100)})
		e.patchUser(t, other["id"].(string), "application/json", map[string]any{"name": fmt.Sprintf("Later %d", i)})
	}

	for _, m := range all {
		for _, where := range foundIn(e.dumpDatabase(t), m) {
			t.Errorf("after the purge, %q is still in table %s", m, where)
		}
	}
	if backend == "postgres" {
		return
	}
	for _, file := range []string{e.dbPath, e.dbPath + "-wal", e.dbPath + "-shm"} {
		b, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, m := range all {
			if len(foundIn(map[string][]byte{file: b}, m)) > 0 {
				t.Errorf("after the purge, %q is still in the bytes of %s", m, file[strings.LastIndex(file, "/")+1:])
			}
		}
	}
}

// foundIn returns the names of the cells that hold marker m in any of the
// forms a store may keep: as sent, in any letter case, or in hex
// (PostgreSQL's text form of bytea).
func foundIn(cells map[string][]byte, m string) []string {
	lower := []byte(strings.ToLower(m))
	hexes := [][]byte{[]byte(hex.EncodeToString([]byte(m))), []byte(hex.EncodeToString(lower))}
	var out []string
	for name, cell := range cells {
		if bytes.Contains(bytes.ToLower(cell), lower) || bytes.Contains(cell, hexes[0]) || bytes.Contains(cell, hexes[1]) {
			out = append(out, name)
		}
	}
	return out
}

// hasAttempt reports whether an attempt of one of the endpoint's
// deliveries recorded an error that contains s (in lower case).
func hasAttempt(t *testing.T, e *env, endpointID, s string) bool {
	t.Helper()
	ds := e.must(t, http.StatusOK, req{method: "GET", path: "/v1/webhook-endpoints/" + endpointID + "/deliveries?limit=100"}).json(t)["data"].([]any)
	for _, d := range ds {
		for _, a := range d.(map[string]any)["attempt_log"].([]any) {
			if msg, _ := a.(map[string]any)["error"].(string); strings.Contains(strings.ToLower(msg), s) {
				return true
			}
		}
	}
	return false
}

// echoingReceiver listens on loopback and answers each webhook with a line
// that is no HTTP response but quotes the email of the event's user, as a
// broken receiver that echoes what it got might; Roster's client reports
// it as a malformed response, quoting it. It returns the receiver's URL.
func echoingReceiver(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				body, _ := io.ReadAll(r.Body)
				var p struct {
					Data struct {
						User struct {
							Email string `json:"email"`
						} `json:"user"`
					} `json:"data"`
				}
				_ = json.Unmarshal(body, &p)
				// No space: the client quotes the whole line.
				_, _ = fmt.Fprintf(conn, "unknown-customer:%s\r\n\r\n", p.Data.User.Email)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// markedPNG returns a real 2 × 2 PNG with a text chunk holding marker.
func markedPNG(t *testing.T, marker string) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	m.Set(1, 1, color.NRGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	data := append([]byte("Comment\x00"), marker...)
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, "tEXt"...), data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	iend := len(raw) - 12
	return append(append(append([]byte(nil), raw[:iend]...), c...), raw[iend:]...)
}
