package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestFilesServesPage(t *testing.T) {
	srv := httptest.NewServer(http.FileServerFS(Files()))
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		path     string
		wantType string
		wantBody string
	}{
		{name: "index_at_root", path: "/", wantType: "text/html", wantBody: "<h1>Messenger Settings</h1>"},
		{name: "module_as_javascript", path: "/app.js", wantType: "text/javascript", wantBody: "import"},
		{name: "stylesheet", path: "/style.css", wantType: "text/css", wantBody: ".chip"},
		{name: "favicon", path: "/favicon.svg", wantType: "image/svg+xml", wantBody: "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatalf("get %s: %v", tt.path, err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatalf("read %s: %v", tt.path, err)
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d", tt.path, res.StatusCode)
			}
			// Browsers refuse to run a module script served with a non-JavaScript type.
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("GET %s: Content-Type %q, want %s", tt.path, ct, tt.wantType)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s: body lacks %q", tt.path, tt.wantBody)
			}
		})
	}
}

var (
	htmlRefRE   = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	jsImportRE  = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	externalRE  = regexp.MustCompile(`^(?:[a-z]+:)?//`)
	cssImportRE = regexp.MustCompile(`url\(\s*['"]?([^'")]+)`)
)

// TestAssetsResolve checks that every file the page loads is embedded and local: the
// page must work offline, from the binary alone.
func TestAssetsResolve(t *testing.T) {
	files := Files()
	checked := 0
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var re *regexp.Regexp
		switch path.Ext(name) {
		case ".html":
			re = htmlRefRE
		case ".js":
			re = jsImportRE
		case ".css":
			re = cssImportRE
		default:
			return nil
		}
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			ref := m[1]
			if externalRE.MatchString(ref) {
				t.Errorf("%s loads %q from another origin", name, ref)
				continue
			}
			if strings.HasPrefix(ref, "data:") || strings.HasPrefix(ref, "blob:") {
				continue
			}
			target := path.Join(path.Dir(name), strings.TrimPrefix(ref, "/"))
			if _, err := fs.Stat(files, target); err != nil {
				t.Errorf("%s refers to %q, which is not embedded", name, ref)
			}
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk embedded files: %v", err)
	}
	if checked < 8 {
		t.Errorf("found only %d references to check; the patterns no longer match the sources", checked)
	}
}
