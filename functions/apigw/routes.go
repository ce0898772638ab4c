package apigw

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/wagate/wagate/core"
)

// handlerFunc is an endpoint: it writes a success answer or returns the error to
// answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one endpoint of the API. path is both the ServeMux pattern and the path
// in the OpenAPI document.
type route struct {
	method string
	path   string
	public bool // no credentials needed
	h      handlerFunc
}

// routes lists every endpoint of the API v1; openapi.json documents exactly these.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/v1/health", true, s.health},
		{http.MethodGet, "/v1/openapi.json", true, s.openAPI},
		{http.MethodGet, "/v1/sessions", false, s.listSessions},
		{http.MethodPut, "/v1/sessions/{id}", false, s.putSession},
		{http.MethodGet, "/v1/sessions/{id}", false, s.getSession},
		{http.MethodDelete, "/v1/sessions/{id}", false, s.deleteSession},
		{http.MethodPost, "/v1/sessions/{id}/connect", false, s.connect},
		{http.MethodPost, "/v1/sessions/{id}/disconnect", false, s.disconnect},
		{http.MethodPost, "/v1/sessions/{id}/logout", false, s.logout},
		{http.MethodGet, "/v1/sessions/{id}/qr", false, s.getQR},
		{http.MethodPost, "/v1/sessions/{id}/pair-code", false, s.requestPairCode},
		{http.MethodGet, "/v1/sessions/{id}/pair-code/{commandId}", false, s.getPairCode},
		{http.MethodPost, "/v1/sessions/{id}/messages", false, s.sendMessage},
		{http.MethodGet, "/v1/sessions/{id}/messages", false, s.listMessages},
		{http.MethodGet, "/v1/sessions/{id}/messages/{messageId}", false, s.getMessage},
		{http.MethodGet, "/v1/diagnostics", false, s.getDiagnostics},
		{http.MethodPost, "/v1/diagnostics", false, s.runDiagnostics},
		{http.MethodGet, "/v1/events", false, s.events},
	}
}

// mux registers one ServeMux pattern per path whose handler picks the method, so a
// wrong method gets a JSON 405 with Allow, and anything unknown a JSON 404.
func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	byPath := map[string]map[string]http.Handler{}
	var order []string
	for _, rt := range s.routes() {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]http.Handler{}
			order = append(order, rt.path)
		}
		byPath[rt.path][rt.method] = s.endpoint(rt)
	}
	for _, path := range order {
		methods := byPath[path]
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		allowed := strings.Join(allow, ", ")
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h, ok := methods[r.Method]; ok {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Allow", allowed)
			s.writeError(w, r, core.Errorf(core.CodeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, allowed))
		}))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, core.Errorf(core.CodeNotFound, "no such endpoint; see /v1/openapi.json"))
	}))
	return mux
}

// endpoint authenticates the request (unless the route is public), runs the handler
// and answers its error.
func (s *Server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rt.public {
			tenant, err := s.Auth.Tenant(r)
			if err == nil && tenant == "" {
				err = core.Errorf(core.CodeInternal, "the authenticator accepted a request without a tenant")
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			infoFrom(r.Context()).tenant = tenant
		}
		if err := rt.h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// sessionKey returns the key of the session named by the {id} path value.
func sessionKey(r *http.Request) (core.SessionKey, error) {
	id := r.PathValue("id")
	if err := core.ValidateSessionID(id); err != nil {
		return core.SessionKey{}, err
	}
	infoFrom(r.Context()).session = id
	return core.SessionKey{Tenant: tenantOf(r), ID: id}, nil
}

// loadSession returns the caller's session named by {id}; another tenant's session
// is not found, exactly like a missing one.
func (s *Server) loadSession(r *http.Request) (core.Session, error) {
	key, err := sessionKey(r)
	if err != nil {
		return core.Session{}, err
	}
	sess, err := s.State.GetSession(r.Context(), key)
	if err != nil {
		return core.Session{}, notFoundAs(err, "no session %q; create it with PUT /v1/sessions/%s", key.ID, key.ID)
	}
	return sess, nil
}

// notFoundAs replaces a store's not-found error with a caller-facing message.
func notFoundAs(err error, format string, args ...any) error {
	if core.IsCode(err, core.CodeNotFound) {
		return core.Errorf(core.CodeNotFound, format, args...)
	}
	return err
}

// readBody returns the request body after checking its media type and size.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, core.Errorf(core.CodeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, core.MaxBodyBytes+1))
	if err != nil {
		return nil, core.WrapError(core.CodeInvalid, err, "could not read the request body")
	}
	if len(data) > core.MaxBodyBytes {
		return nil, core.Errorf(core.CodeTooLarge, "request body is over %d bytes", core.MaxBodyBytes)
	}
	return data, nil
}

// readJSON decodes the request body into v strictly (see core.DecodeJSON).
func readJSON(r *http.Request, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return core.DecodeJSON(bytes.NewReader(data), v)
}

// requireConnector returns 503 connector_unavailable unless a connector wrote a
// heartbeat within HeartbeatMaxAge.
func (s *Server) requireConnector(ctx context.Context) error {
	alive, err := s.connectorAlive(ctx)
	if err != nil {
		return err
	}
	if !alive {
		return core.Errorf(core.CodeConnectorUnavailable, "no connector is running; start the connector and retry")
	}
	return nil
}

// connectorAlive tells whether a connector wrote a heartbeat within HeartbeatMaxAge.
// A live answer is remembered until the newest heartbeat it saw grows too old: a
// heartbeat is never withdrawn, so until then the store would give the same answer,
// and a busy API (one check per message sent) reads the store about once per
// heartbeat interval instead of once per request.
func (s *Server) connectorAlive(ctx context.Context) (bool, error) {
	now := s.Now()
	if s.alive.liveAt(now) {
		return true, nil
	}
	hbs, err := s.liveHeartbeats(ctx)
	if err != nil {
		return false, err
	}
	for _, h := range hbs {
		s.alive.extend(h.At.Add(s.Options.HeartbeatMaxAge))
	}
	return len(hbs) > 0, nil
}

// liveHeartbeats returns the heartbeats newer than HeartbeatMaxAge.
func (s *Server) liveHeartbeats(ctx context.Context) ([]core.Heartbeat, error) {
	since := s.Now().Add(-s.Options.HeartbeatMaxAge)
	hbs, err := s.State.ListHeartbeats(ctx, since)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list heartbeats")
	}
	live := hbs[:0:0]
	for _, h := range hbs {
		if !h.At.Before(since) {
			live = append(live, h)
		}
	}
	return live, nil
}

// sendCommand builds and enqueues a command.
func (s *Server) sendCommand(ctx context.Context, typ core.CommandType, key core.SessionKey, payload any) (core.Command, error) {
	cmd, err := core.NewCommand(typ, key, s.Now(), payload)
	if err != nil {
		return core.Command{}, err
	}
	if err := s.Commands.SendCommand(ctx, cmd); err != nil {
		return core.Command{}, commandError(err)
	}
	s.log(ctx).Info("command_sent", "event", "command_sent", "outcome", "ok", "command_id", cmd.ID, "command", string(cmd.Type))
	return cmd, nil
}

// commandError keeps a bus's own coded error (e.g. rate limiting) and wraps anything
// else as internal.
func commandError(err error) error {
	if core.ErrorCode(err) == core.CodeInternal {
		return core.WrapError(core.CodeInternal, err, "enqueue command")
	}
	return err
}
