package apigw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/wagate/wagate/core"
)

// idempotencyTTL is how long a response is remembered for its Idempotency-Key.
const idempotencyTTL = 24 * time.Hour

// idempotencyKey returns the request's Idempotency-Key header ("" when absent).
// A present key must be 1-128 printable ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	values := r.Header.Values("Idempotency-Key")
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", core.Errorf(core.CodeInvalid, "send one Idempotency-Key header")
	}
	key := values[0]
	if key == "" || len(key) > core.MaxIdempotencyKey || !printableWithSpace(key) {
		return "", core.Errorf(core.CodeInvalid, "Idempotency-Key must be 1 to %d printable ASCII characters", core.MaxIdempotencyKey)
	}
	return key, nil
}

func printableWithSpace(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestHash identifies what a request asked for: its method, path and body.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.EscapedPath()))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// idempotentRequest is a request guarded by an Idempotency-Key.
type idempotentRequest struct {
	tenant string
	key    string // scoped to the session: "<session id>/<header value>"
	hash   string
}

func newIdempotentRequest(r *http.Request, key core.SessionKey, header string, body []byte) idempotentRequest {
	return idempotentRequest{tenant: key.Tenant, key: key.ID + "/" + header, hash: requestHash(r, body)}
}

// claim stores the response this request will give, before any of its work is
// done. When an earlier request with the same key holds a live record, claim returns
// that record (to replay) or, for a different request, 422 idempotency_mismatch.
// Of concurrent duplicates exactly one claims; the others replay its response.
func (s *Server) claim(ctx context.Context, req idempotentRequest, status int, body []byte) (*core.IdempotencyRecord, error) {
	now := s.Now().UTC()
	rec := core.IdempotencyRecord{
		Tenant: req.tenant, Key: req.key, RequestHash: req.hash,
		StatusCode: status, Body: body, CreatedAt: now, ExpiresAt: now.Add(idempotencyTTL),
	}
	prev, created, err := s.State.PutIdempotency(ctx, rec)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "store idempotency record")
	}
	if created {
		return nil, nil
	}
	if prev.RequestHash != req.hash {
		return nil, core.Errorf(core.CodeIdempotencyMismatch, "this Idempotency-Key was used with a different request; use a new key")
	}
	return &prev, nil
}

// release forgets a claimed record after the request failed, so a retry with the
// same key is tried afresh. Failing to forget is logged: the record expires anyway.
func (s *Server) release(ctx context.Context, req idempotentRequest) {
	if err := s.State.DeleteIdempotency(context.WithoutCancel(ctx), req.tenant, req.key); err != nil {
		s.log(ctx).Error("idempotency_release_failed", "event", "idempotency_release_failed", "outcome", "fail", "error", err.Error())
	}
}

// replay answers with a remembered response.
func replay(w http.ResponseWriter, rec *core.IdempotencyRecord) {
	w.Header().Set("Idempotent-Replayed", "true")
	writeRaw(w, rec.StatusCode, rec.Body)
}
