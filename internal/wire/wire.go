// Package wire is how Roster's users look outside the process: the public
// JSON of a user and of a suspension, and the URL a stored picture is served
// at. The API answers with it, and the events a write commits carry it, so
// both use this one package.
//
// The domain (internal/directory) keeps the document patches apply to
// (PublicDoc and its secure_metadata) and knows no routes and no encoder:
// it is handed Encoding through directory.Options.Wire, which is simpler
// than a package both import without a cycle, since the encoder needs the
// domain's User.
package wire

import (
	"strings"

	"github.com/roster-dev/roster/internal/directory"
)

// Encoding is this package as the domain's directory.Wire.
type Encoding struct{}

var _ directory.Wire = Encoding{}

// MarshalUser returns MarshalPublic(u).
func (Encoding) MarshalUser(u *directory.User) []byte { return MarshalPublic(u) }

// Suspension returns SuspensionDoc(s).
func (Encoding) Suspension(s directory.Suspension) any { return SuspensionDoc(s) }

// SuspensionDoc is a suspension as clients see it.
func SuspensionDoc(s directory.Suspension) map[string]any {
	m := map[string]any{"object": "suspension", "id": s.ID, "reason": s.Reason, "created_at": directory.FormatTime(s.CreatedAt), "ends_at": nil}
	if s.EndsAt != nil {
		m["ends_at"] = directory.FormatTime(*s.EndsAt)
	}
	return m
}

// PictureURL is where the stored picture of a user is served (the route
// GET /v1/users/{id}/picture). The query names the bytes, so a new image is
// a new value of the picture field. etag is the picture's quoted ETag.
func (Encoding) PictureURL(userID, etag string) string {
	return "/v1/users/" + userID + "/picture?v=" + strings.Trim(etag, `"`)[:12]
}

// IsPictureURL reports whether url is a PictureURL of userID's: the user's
// picture is one Roster stores.
func (Encoding) IsPictureURL(userID, url string) bool {
	return strings.HasPrefix(url, "/v1/users/"+userID+"/picture")
}
