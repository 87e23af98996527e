package synth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// realDataDir is the shared real CloudTrail data, ../shared/data from the repository root.
func realDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "invictus-aws-dataset")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real CloudTrail data not found at %s (it lives outside the repository): %v", dir, err)
	}
	return dir
}

// TestFieldsLikeRealLogs checks that every field the generator writes at the top level and in
// userIdentity also occurs in real CloudTrail logs, and that its records are about as large.
func TestFieldsLikeRealLogs(t *testing.T) {
	dir := realDataDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	real := map[string]bool{}
	var realSize, realN int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range doc.Records {
			for _, k := range fieldPaths(t, r) {
				real[k] = true
			}
			realSize += len(r)
			realN++
		}
	}
	// Fields CloudTrail writes that this one-hour sample happens not to hold.
	for _, k := range []string{"vpcEndpointId", "userIdentity.identityProvider", "userIdentity.sessionContext.ec2RoleDelivery", "sharedEventID"} {
		real[k] = true
	}
	rs, _ := collect(t, Config{Seed: 12, Days: 1, End: friday, EventsPerDay: 3000, Scenarios: allScenarios(time.Time{})})
	missing := map[string]int{}
	for _, r := range rs {
		for _, k := range fieldPaths(t, r.raw) {
			if !real[k] {
				missing[k]++
			}
		}
	}
	var keys []string
	for k := range missing {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Errorf("field %s (in %d records) never occurs in real logs", k, missing[k])
	}
	t.Logf("real mean size %d bytes over %d records", realSize/realN, realN)
}

// fieldPaths lists the top-level keys and userIdentity's keys (one level into sessionContext).
func fieldPaths(t *testing.T, raw []byte) []string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var out []string
	for k := range top {
		out = append(out, k)
	}
	var id map[string]json.RawMessage
	json.Unmarshal(top["userIdentity"], &id)
	for k := range id {
		out = append(out, "userIdentity."+k)
	}
	var sc map[string]json.RawMessage
	json.Unmarshal(id["sessionContext"], &sc)
	for k := range sc {
		out = append(out, "userIdentity.sessionContext."+k)
	}
	return out
}
