package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wagate/wagate/functions/apigw"
)

// DefaultTenant is the tenant of the generated token.
const DefaultTenant = "default"

// tokenBytes is the entropy of a generated token.
const tokenBytes = 32

// maxTokenFile bounds what is read from the token file.
const maxTokenFile = 4 << 10

// LoadOrCreateToken returns the API token kept in the file at path, creating the
// file (mode 0600) with a fresh random token when it does not exist. created reports
// whether the token is new. A file readable by others is narrowed to 0600.
func LoadOrCreateToken(path string) (token string, created bool, err error) {
	token, err = readToken(path)
	if err == nil {
		return token, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	var b [tokenBytes]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read documents that it always fills b
	token = base64.RawURLEncoding.EncodeToString(b[:])
	// Write a temporary file, then link it into place: the link fails if the file
	// exists, so concurrent starts agree on one token and never read a half-written one.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return "", false, fmt.Errorf("create token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("create token file: %w", err)
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("write token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("write token file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			token, err = readToken(path)
			return token, false, err
		}
		return "", false, fmt.Errorf("create token file: %w", err)
	}
	return token, true, nil
}

// readToken reads and checks the token file; fs.ErrNotExist when there is none.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("open token file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat token file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("narrow token file to mode 0600: %w", err)
		}
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	if len(buf) > maxTokenFile {
		return "", fmt.Errorf("token file %s is too large to be a token", path)
	}
	token := strings.TrimSpace(string(buf))
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("token file %s does not hold one token; delete it to generate a new one", path)
	}
	return token, nil
}

// authFor returns the API authenticator of cfg: WAGATE_TOKENS when set, otherwise
// the generated token of tenant "default". token is the generated token ("" with
// WAGATE_TOKENS).
func authFor(cfg Config) (auth *apigw.TokenAuth, token string, created bool, err error) {
	if cfg.Tokens != "" {
		auth, err = apigw.ParseTokens(cfg.Tokens)
		return auth, "", false, err
	}
	token, created, err = LoadOrCreateToken(cfg.TokenPath())
	if err != nil {
		return nil, "", false, err
	}
	auth, err = apigw.NewTokenAuth(map[string]string{token: DefaultTenant})
	if err != nil {
		return nil, "", false, fmt.Errorf("token file %s: %w", cfg.TokenPath(), err)
	}
	return auth, token, created, nil
}
