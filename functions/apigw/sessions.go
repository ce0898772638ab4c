package apigw

import (
	"context"
	"net/http"
	"time"

	"github.com/wagate/wagate/core"
)

// sessionList is the answer of GET /v1/sessions.
type sessionList struct {
	Sessions []core.Session `json:"sessions"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.State.ListSessions(r.Context(), tenantOf(r))
	if err != nil {
		return err
	}
	if list == nil {
		list = []core.Session{}
	}
	s.writeJSON(w, r, http.StatusOK, sessionList{Sessions: list})
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.loadSession(r)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, sess)
	return nil
}

// putSession creates a session (201) or replaces its settings (200). Fields absent
// from the body take core.DefaultSettings. On update, a live connector is told about
// the new settings; the update itself never fails because of the connector.
func (s *Server) putSession(w http.ResponseWriter, r *http.Request) error {
	key, err := sessionKey(r)
	if err != nil {
		return err
	}
	settings := core.DefaultSettings()
	if err := readJSON(r, &settings); err != nil {
		return err
	}
	if err := core.ValidateSettings(settings, s.Options.AllowInsecureWebhooks); err != nil {
		return err
	}
	ctx := r.Context()
	now := s.Now().UTC()
	if _, err := s.State.GetSession(ctx, key); core.IsCode(err, core.CodeNotFound) {
		sess := core.Session{
			ID: key.ID, Tenant: key.Tenant, DisplayName: settings.DisplayName, Status: core.StatusNew,
			Settings: settings, CreatedAt: now, UpdatedAt: now,
		}
		err := s.State.CreateSession(ctx, sess)
		if err == nil {
			s.log(ctx).Info("session_created", "event", "session_created", "outcome", "ok")
			w.Header().Set("Location", "/v1/sessions/"+key.ID)
			s.writeJSON(w, r, http.StatusCreated, sess)
			return nil
		}
		if !core.IsCode(err, core.CodeConflict) {
			return err
		}
		// A concurrent PUT created it first: this one is an update.
	} else if err != nil {
		return err
	}
	sess, err := s.State.UpdateSession(ctx, key, func(sess *core.Session) error {
		sess.Settings = settings
		sess.DisplayName = settings.DisplayName
		sess.UpdatedAt = now
		return nil
	})
	if err != nil {
		return notFoundAs(err, "session %q was deleted while it was updated", key.ID)
	}
	s.log(ctx).Info("session_updated", "event", "session_updated", "outcome", "ok")
	s.notifySettings(ctx, key, settings)
	s.writeJSON(w, r, http.StatusOK, sess)
	return nil
}

// notifySettings tells a live connector about new settings. Failures are logged:
// the connector also reads the settings from the store when it (re)connects.
func (s *Server) notifySettings(ctx context.Context, key core.SessionKey, settings core.Settings) {
	alive, err := s.connectorAlive(ctx)
	if err == nil && alive {
		_, err = s.sendCommand(ctx, core.CmdSettings, key, core.SettingsPayload{Settings: settings})
	}
	if err != nil {
		s.log(ctx).Warn("settings_command_failed", "event", "settings_command_failed", "outcome", "fail", "error", err.Error())
	}
}

// deleteSession asks the connector to log the session out, delete its device store,
// messages and record. The session stays readable until the connector has done so.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	return s.sessionCommand(w, r, core.CmdDelete, func(sess *core.Session, _ time.Time) error {
		sess.Desired = false
		return nil
	})
}

// connect asks the connector to connect the session and remembers that the user
// wants it connected, so a restarted connector restores it.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) error {
	return s.sessionCommand(w, r, core.CmdConnect, func(sess *core.Session, now time.Time) error {
		if sess.Status == core.StatusBanned && sess.RetryAt != nil && sess.RetryAt.After(now) {
			return core.Errorf(core.CodeWrongState, "the session is temporarily banned until %s; connect after that",
				sess.RetryAt.UTC().Format(time.RFC3339))
		}
		sess.Desired = true
		return nil
	})
}

func (s *Server) disconnect(w http.ResponseWriter, r *http.Request) error {
	return s.sessionCommand(w, r, core.CmdDisconnect, func(sess *core.Session, _ time.Time) error {
		sess.Desired = false
		return nil
	})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	return s.sessionCommand(w, r, core.CmdLogout, func(sess *core.Session, _ time.Time) error {
		sess.Desired = false
		return nil
	})
}

// sessionCommand is connect, disconnect, logout and delete: check the connector is
// alive, record what the user wants with fn, send the command and answer 202 with
// the session.
func (s *Server) sessionCommand(w http.ResponseWriter, r *http.Request, typ core.CommandType, fn func(*core.Session, time.Time) error) error {
	key, err := sessionKey(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.loadSession(r); err != nil {
		return err
	}
	if err := s.requireConnector(ctx); err != nil {
		return err
	}
	now := s.Now().UTC()
	sess, err := s.State.UpdateSession(ctx, key, func(sess *core.Session) error { return fn(sess, now) })
	if err != nil {
		return notFoundAs(err, "no session %q", key.ID)
	}
	if _, err := s.sendCommand(ctx, typ, key, nil); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, sess)
	return nil
}
