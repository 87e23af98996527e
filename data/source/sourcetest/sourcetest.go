// Package sourcetest helps tests that reach S3 through the real AWS SDK, as net/http/httptest
// helps those that reach HTTP servers.
package sourcetest

import (
	"path/filepath"
	"testing"
)

// IsolateAWS points the AWS SDK at made-up credentials in region (blank for none) for the rest
// of t, and keeps the developer's own AWS settings, shared files and endpoints, and the
// instance metadata service out of it.
func IsolateAWS(t testing.TB, region string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  region,
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
	} {
		t.Setenv(k, v)
	}
}
