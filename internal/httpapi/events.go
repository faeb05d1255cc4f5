package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// feedMargin is what a long-poll leaves of the request's deadline, to read
// the store a last time and answer.
const feedMargin = 3 * time.Second

// feedPage is the answer of GET /v1/events: a list page whose next_cursor
// is the position to ask after next, also when there is nothing more yet
// (null only at the start of an empty feed).
type feedPage struct {
	Object     string            `json:"object"`
	Data       []json.RawMessage `json:"data"`
	HasMore    bool              `json:"has_more"`
	NextCursor *string           `json:"next_cursor"`
}

// handleEvents serves the change feed: the tenant's events after the
// cursor, in commit order, each its webhook payload as stored. With wait it
// long-polls, up to the request's deadline less feedMargin.
func handleEvents(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		after, err := directory.ParseFeedCursor(q.string("after"))
		if err != nil {
			writeProblem(w, r, &directory.Error{Code: directory.ECodeInvalidRequest, Message: `The query parameter "after" is invalid.`,
				Fields: []directory.FieldError{{Field: "after", Code: "invalid_cursor", Message: "is not a cursor this feed returned"}}})
			return
		}
		wait := time.Duration(q.int("wait")) * time.Second
		if dl, ok := r.Context().Deadline(); ok {
			wait = max(0, min(wait, time.Until(dl)-feedMargin))
		}
		p, err := svc.Feed(r.Context(), tenantFrom(r.Context()).ID, after, q.int("limit"), wait)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		out := feedPage{Object: "list", Data: make([]json.RawMessage, 0, len(p.Entries)), HasMore: p.HasMore}
		for _, e := range p.Entries {
			out.Data = append(out.Data, e.Event.Payload)
		}
		if !p.Next.IsZero() {
			c := p.Next.String()
			out.NextCursor = &c
		}
		writeJSON(w, http.StatusOK, out)
	})
}
