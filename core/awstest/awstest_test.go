package awstest

import "testing"

func TestCheckLoopback(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:8000":                    true,
		"http://[::1]:8000":                        true,
		"http://localhost:4566":                    true,
		"https://dynamodb.us-east-1.amazonaws.com": false,
		"http://10.0.0.5:8000":                     false,
		"ftp://127.0.0.1:21":                       false,
		"127.0.0.1:8000":                           false,
		"http://127.0.0.1.example.com:8000/":       false,
	} {
		if err := checkLoopback(endpoint); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want accepted=%v", endpoint, err, ok)
		}
	}
}
