package coretest

import (
	"bytes"
	"fmt"
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// diff compares want and got field by field and describes the first difference, or
// returns "" when they match. Times compare with time.Time.Equal (so the location and
// monotonic reading do not matter, but every nanosecond does), and a nil slice
// matches an empty one: stores may not preserve either distinction.
func diff(want, got any) string {
	return diffValue("", reflect.ValueOf(want), reflect.ValueOf(got))
}

func diffValue(path string, w, g reflect.Value) string {
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			return fmt.Sprintf("%s: want %v, got %v", orRoot(path), w, g)
		}
		return ""
	}
	if w.Type() != g.Type() {
		return fmt.Sprintf("%s: want type %s, got %s", orRoot(path), w.Type(), g.Type())
	}
	if w.Type() == timeType {
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !wt.Equal(gt) {
			return fmt.Sprintf("%s: want %s, got %s", orRoot(path), wt.Format(time.RFC3339Nano), gt.Format(time.RFC3339Nano))
		}
		return ""
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				return fmt.Sprintf("%s: want %s, got %s", orRoot(path), nilness(w), nilness(g))
			}
			return ""
		}
		return diffValue(path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := 0; i < w.NumField(); i++ {
			if !w.Type().Field(i).IsExported() {
				continue
			}
			if d := diffValue(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if w.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(w.Bytes(), g.Bytes()) {
				return fmt.Sprintf("%s: want %q, got %q", orRoot(path), w.Bytes(), g.Bytes())
			}
			return ""
		}
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %d elements, got %d", orRoot(path), w.Len(), g.Len())
		}
		for i := 0; i < w.Len(); i++ {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %d entries, got %d", orRoot(path), w.Len(), g.Len())
		}
		for _, k := range w.MapKeys() {
			if d := diffValue(fmt.Sprintf("%s[%v]", path, k), w.MapIndex(k), g.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	}
	if !w.Equal(g) {
		return fmt.Sprintf("%s: want %#v, got %#v", orRoot(path), w, g)
	}
	return ""
}

func nilness(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return "non-nil"
}

func orRoot(path string) string {
	if path == "" {
		return "value"
	}
	return path
}
