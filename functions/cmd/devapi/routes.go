package main

import (
	"net/url"
	"strings"
)

func newRoute(method, path, function string, public bool) Route {
	return Route{Method: method, Path: path, Function: function, Public: public, segs: strings.Split(path, "/")}
}

// param reports whether a path segment of a route is a parameter ("{id}") and its name.
func param(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// Match returns the route API Gateway picks for method and the request's escaped
// path, and the route's path parameters (decoded). As in API Gateway HTTP APIs, a
// route matches only its own method, a parameter matches one non-empty segment, and
// among several matches the one with a literal segment where the others have a
// parameter wins, from the left.
func Match(routes []Route, method, rawPath string) (Route, map[string]string, bool) {
	segs := strings.Split(rawPath, "/")
	best, found := Route{}, false
	for _, r := range routes {
		if r.Method != method || len(r.segs) != len(segs) || !matches(r.segs, segs) {
			continue
		}
		if !found || moreSpecific(r.segs, best.segs) {
			best, found = r, true
		}
	}
	if !found {
		return Route{}, nil, false
	}
	params := map[string]string{}
	for i, s := range best.segs {
		if name, ok := param(s); ok {
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return Route{}, nil, false
			}
			params[name] = v
		}
	}
	return best, params, true
}

func matches(route, path []string) bool {
	for i, s := range route {
		if _, ok := param(s); ok {
			if path[i] == "" {
				return false
			}
			continue
		}
		if s != path[i] {
			return false
		}
	}
	return true
}

// moreSpecific reports whether route a has a literal segment where b has a parameter,
// at the first position where they differ in kind.
func moreSpecific(a, b []string) bool {
	for i := range a {
		_, ap := param(a[i])
		_, bp := param(b[i])
		if ap != bp {
			return !ap
		}
	}
	return false
}
