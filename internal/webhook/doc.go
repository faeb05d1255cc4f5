// Package webhook calls tenants' webhook endpoints (docs/design.md §7): it signs
// requests by the Standard Webhooks specification, refuses to reach
// loopback, private and link-local addresses, asks validation endpoints
// before a write commits (Validator), and delivers the outbox's events to
// event endpoints with retries (Dispatcher).
//
// Every request is a POST of a JSON body {"type", "timestamp", "data", …}
// with the headers webhook-id, webhook-timestamp (Unix seconds of the
// attempt, so that a retry hours later still verifies) and
// webhook-signature ("v1,<base64 HMAC-SHA256>"). An event's webhook-id is
// its event ID on every attempt, so receivers can drop duplicates: delivery
// is at least once.
//
// The HTTP client follows no redirect (a 3xx is a failure), uses no proxy,
// reads at most MaxResponseBytes of an answer, and, unless private targets
// are allowed, checks the address it actually connects to, after DNS
// resolution, so a name that resolves to a public address when the endpoint
// is created and to 127.0.0.1 later (DNS rebinding) is still refused.
//
// The package knows nothing of HTTP routes or SQL: the directory Service
// calls the Validator through directory.ValidationHook, and the Dispatcher
// reads deliveries through the two Store methods of DeliveryStore.
package webhook
