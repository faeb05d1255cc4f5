package directory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

// newSigningSecret returns a new webhook signing secret: "whsec_" and the
// base64 of 32 random bytes (Standard Webhooks).
func newSigningSecret() string {
	var key [32]byte
	rand.Read(key[:]) // never fails
	return "whsec_" + base64.StdEncoding.EncodeToString(key[:])
}

// RotateEndpointSecret gives the endpoint a new signing secret, which the
// caller shows once. The old one keeps signing beside it for grace (at
// most MaxRotationGrace; 0 ends it at once), so receivers switch without
// losing a message; a rotation during an overlap ends the older overlap.
// Errors: not_found, validation_failed (grace).
func (s *Service) RotateEndpointSecret(ctx context.Context, t *Tenant, id string, grace time.Duration, actor Actor) (*Endpoint, error) {
	if !ValidID(PrefixEndpoint, id) {
		return nil, ErrNotFound
	}
	if grace < 0 || grace > MaxRotationGrace {
		return nil, keyFieldError("grace_seconds", codeOutOfRange, fmt.Sprintf("must be from 0 to %d", int(MaxRotationGrace.Seconds())))
	}
	now := s.now()
	var out *Endpoint
	err := s.store.InTx(ctx, func(tx Tx) error {
		e, err := tx.GetEndpoint(ctx, t.ID, id)
		if err != nil {
			return err
		}
		next := *e
		next.Secret, next.PreviousSecret, next.PreviousUntil = newSigningSecret(), "", nil
		if grace > 0 {
			until := now.Add(grace).Truncate(time.Millisecond)
			next.PreviousSecret, next.PreviousUntil = e.Secret, &until
		}
		if err := tx.SetEndpointSecrets(ctx, &next); err != nil {
			return err
		}
		if err := tx.BumpConfigVersion(ctx, t.ID); err != nil { // validation hooks sign with the new secret on every node
			return err
		}
		out = &next
		return tx.InsertAdminAudit(ctx, &AdminAuditEntry{
			ID: NewID(PrefixAudit, now), TenantID: t.ID, Action: ActionWebhookSecretRotated, Actor: actor,
			RequestID: actor.RequestID, At: now, TargetID: e.ID,
			Details: map[string]any{"url": e.URL, "grace_seconds": int64(grace / time.Second)},
		})
	})
	s.cache.forget(t.ID)
	if err != nil {
		return nil, s.keyError("rotate endpoint secret", err)
	}
	return out, nil
}
