package directory

import "encoding/json"

// Wire is how the API shows users, for the two places the domain must use
// it itself: the events a write commits carry the user and its suspensions
// as the API returns them, and a picture sent as a data: URI becomes, in
// the picture field, the URL the API serves it at. The domain keeps only the
// document patches apply to (PublicDoc, fullDoc); internal/wire implements
// Wire.
type Wire interface {
	// MarshalUser returns the public JSON of u: json.Marshal(PublicDoc(u)).
	MarshalUser(u *User) []byte
	// Suspension returns the public JSON value of a suspension.
	Suspension(s Suspension) any
	// PictureURL is where the stored picture of userID with etag (quoted)
	// is served.
	PictureURL(userID, etag string) string
	// IsPictureURL reports whether url is a PictureURL of userID's.
	IsPictureURL(userID, url string) bool
}

// userJSON is u's public JSON, as events carry it.
func (s *Service) userJSON(u *User) json.RawMessage { return s.wire.MarshalUser(u) }
