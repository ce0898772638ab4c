// Package web holds the admin page: static HTML, CSS and JavaScript modules with no
// build step, embedded so that the local binary can serve it at "/".
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files returns the admin page's files with index.html at the root, ready for
// http.FileServerFS. The page talks to the HTTP API v1 at the same origin unless
// its URL says otherwise (#token=...&api=...).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only for an invalid path; "static" is a constant valid path.
		panic("web: sub static: " + err.Error())
	}
	return sub
}
