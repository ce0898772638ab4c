package simtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wagate/wagate/wasim/server"
)

// Client calls a simulator's control API over HTTP, from any process.
type Client struct {
	baseURL string
	http    *http.Client
}

// NewClient returns a client for the control API at baseURL (e.g.
// "http://127.0.0.1:7070").
func NewClient(baseURL string) *Client {
	return &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Timeout: 2 * time.Minute},
	}
}

// APIError is an error answer of the control API.
type APIError struct {
	Status  int    // HTTP status
	Code    string // error code: invalid, not_found, conflict, timeout, …
	Message string
}

// Error renders the status, code and message.
func (e *APIError) Error() string {
	return fmt.Sprintf("wasim control: %d %s: %s", e.Status, e.Code, e.Message)
}

// Health checks that the simulator answers.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/_sim/health", nil, nil)
}

// CreatePhone creates an account with a fake primary phone (idempotent for the same
// name).
func (c *Client) CreatePhone(ctx context.Context, phone, name string) (server.PhoneInfo, error) {
	var out server.PhoneInfo
	err := c.do(ctx, http.MethodPost, "/_sim/phones", map[string]string{"phone": phone, "name": name}, &out)
	return out, err
}

// Scan makes the phone scan a QR code (the text of a whatsmeow QR event) and returns
// the linked device.
func (c *Client) Scan(ctx context.Context, phone, qr string) (server.DeviceInfo, error) {
	var out server.DeviceInfo
	err := c.do(ctx, http.MethodPost, phonePath(phone, "scan"), map[string]string{"qr": qr}, &out)
	return out, err
}

// LinkCode makes the phone enter a pairing code ("ABCD-EFGH") and returns the linked
// device.
func (c *Client) LinkCode(ctx context.Context, phone, code string) (server.DeviceInfo, error) {
	var out server.DeviceInfo
	err := c.do(ctx, http.MethodPost, phonePath(phone, "link-code"), map[string]string{"code": code}, &out)
	return out, err
}

// SendMessage makes the phone send a text to another account and returns its id.
func (c *Client) SendMessage(ctx context.Context, phone, to, text string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := c.do(ctx, http.MethodPost, phonePath(phone, "messages"), map[string]string{"to": to, "text": text}, &out)
	return out.ID, err
}

// Messages lists what the phone received.
func (c *Client) Messages(ctx context.Context, phone string) ([]server.InboxMessage, error) {
	var out struct {
		Messages []server.InboxMessage `json:"messages"`
	}
	err := c.do(ctx, http.MethodGet, phonePath(phone, "messages"), nil, &out)
	return out.Messages, err
}

// Sent lists what the phone sent, with the receipts received so far.
func (c *Client) Sent(ctx context.Context, phone string) ([]server.SentMessage, error) {
	var out struct {
		Messages []server.SentMessage `json:"messages"`
	}
	err := c.do(ctx, http.MethodGet, phonePath(phone, "sent"), nil, &out)
	return out.Messages, err
}

// Receipt makes the phone send a "delivered" or "read" receipt for a message it
// received.
func (c *Client) Receipt(ctx context.Context, phone, messageID, typ string) error {
	return c.do(ctx, http.MethodPost, phonePath(phone, "receipts"),
		map[string]string{"messageId": messageID, "type": typ}, nil)
}

// Devices lists the linked devices and whether each is connected.
func (c *Client) Devices(ctx context.Context) ([]server.DeviceInfo, error) {
	var out struct {
		Devices []server.DeviceInfo `json:"devices"`
	}
	err := c.do(ctx, http.MethodGet, "/_sim/devices", nil, &out)
	return out.Devices, err
}

// Fault injects a fault on a device.
func (c *Client) Fault(ctx context.Context, jid string, f server.Fault) error {
	return c.do(ctx, http.MethodPost, "/_sim/devices/"+url.PathEscape(jid)+"/faults", f, nil)
}

// Violation is a strict-mode violation as the control API reports it.
type Violation struct {
	At     time.Time `json:"at"`
	Device string    `json:"device"`
	Reason string    `json:"reason"`
	XML    string    `json:"xml"`
}

// Violations lists the strict-mode violations the simulator recorded (always empty
// when it runs without --strict).
func (c *Client) Violations(ctx context.Context) ([]Violation, error) {
	var out struct {
		Violations []Violation `json:"violations"`
	}
	err := c.do(ctx, http.MethodGet, "/_sim/violations", nil, &out)
	return out.Violations, err
}

// Cert returns the root key clients must pin.
func (c *Client) Cert(ctx context.Context) ([32]byte, error) {
	var out struct {
		PublicKey string `json:"publicKey"`
	}
	if err := c.do(ctx, http.MethodGet, "/_sim/cert", nil, &out); err != nil {
		return [32]byte{}, err
	}
	key, err := base64.StdEncoding.DecodeString(out.PublicKey)
	if err != nil || len(key) != 32 {
		return [32]byte{}, fmt.Errorf("wasim control: cert: public key is not 32 base64 bytes")
	}
	return [32]byte(key), nil
}

func phonePath(phone, what string) string {
	return "/_sim/phones/" + url.PathEscape(phone) + "/" + what
}

// do sends one request and decodes a JSON answer into out (when not nil). Error
// answers become *APIError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("wasim control: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return fmt.Errorf("wasim control: build %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("wasim control: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("wasim control: read %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &eb)
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("wasim control: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}
