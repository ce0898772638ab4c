package apigw

import (
	"encoding/base64"
	"mime"
	"net/http"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wagate/wagate/core"
)

// qrSize is the width and height of QR images in pixels.
const qrSize = 256

// getQR answers the session's current QR code as JSON with a base64 PNG, or as the
// PNG itself when the client prefers image/png. 409 unless the session is in qr.
func (s *Server) getQR(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	if sess.Status != core.StatusQR {
		return core.Errorf(core.CodeWrongState, "the session is %s, not qr; POST /v1/sessions/%s/connect and wait for status qr", sess.Status, sess.ID)
	}
	qr, err := s.State.GetQR(r.Context(), sess.Key())
	if core.IsCode(err, core.CodeNotFound) {
		return core.Errorf(core.CodeWrongState, "the QR code expired; the next one follows shortly, retry")
	}
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(qr.Code, qrcode.Medium, qrSize)
	if err != nil {
		return core.WrapError(core.CodeInternal, err, "encode QR image")
	}
	w.Header().Set("Vary", "Accept")
	if preferPNG(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(png)))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(png)
		return nil
	}
	qr.ExpiresAt = qr.ExpiresAt.UTC()
	qr.PNG = base64.StdEncoding.EncodeToString(png)
	s.writeJSON(w, r, http.StatusOK, qr)
	return nil
}

// preferPNG reports whether an Accept header ranks image/png above JSON. A missing
// header, */* or a tie selects JSON.
func preferPNG(accept string) bool {
	var png, json float64
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch mt {
		case "image/png", "image/*":
			png = max(png, q)
		case "application/json", "application/*", "*/*":
			json = max(json, q)
		}
	}
	return png > json
}
