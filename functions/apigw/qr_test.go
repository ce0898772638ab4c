package apigw_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/wagate/wagate/core"
)

// decodeQR reads the text of a QR code PNG.
func decodeQR(t testing.TB, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Errorf("QR image is %dx%d, want 256x256", b.Dx(), b.Dy())
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

func TestQR(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.createSession(tokenA, "s1")

	// Not in qr yet: 409.
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenA}), http.StatusConflict, "wrong_state")

	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/connect", token: tokenA}), http.StatusAccepted, "")
	var r response
	poll(t, "a QR code", func() bool {
		r = e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenA})
		return r.status == http.StatusOK
	})
	var qr struct {
		Code      string
		ExpiresAt time.Time
		PNG       string
	}
	r.json(t, &qr)
	if qr.Code != testQR || time.Until(qr.ExpiresAt) <= 0 {
		t.Fatalf("QR %q expiring %v", qr.Code, qr.ExpiresAt)
	}
	img, err := base64.StdEncoding.DecodeString(qr.PNG)
	if err != nil {
		t.Fatalf("png is not base64: %v", err)
	}
	if got := decodeQR(t, img); got != testQR {
		t.Fatalf("JSON PNG decodes to %q", got)
	}

	r = e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenA, header: map[string]string{"Accept": "image/png"}})
	expect(t, r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("Content-Type %q", ct)
	}
	if got := decodeQR(t, r.body); got != testQR {
		t.Fatalf("PNG decodes to %q", got)
	}

	// What a browser's <img> sends selects the image too; */* alone gets JSON.
	r = e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenA,
		header: map[string]string{"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"}})
	if r.header.Get("Content-Type") != "image/png" {
		t.Errorf("browser image Accept got %q", r.header.Get("Content-Type"))
	}
	r = e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenA, header: map[string]string{"Accept": "*/*"}})
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("*/* got %q", r.header.Get("Content-Type"))
	}

	// Another tenant cannot see it.
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenB}), http.StatusNotFound, "not_found")

	// In qr with the code gone (expired): 409, not a stale code.
	if err := e.state.DeleteQR(t.Context(), core.SessionKey{Tenant: tenantA, ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenA}), http.StatusConflict, "wrong_state")
}
