package cli

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAnalysisContract makes a small demo case and checks the anomalies and series listings
// keep the contract's shape, that analysis is deterministic, and that a direction setting
// reclassifies the case.
func TestAnalysisContract(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses a day of traffic")
	}
	casePath := filepath.Join(t.TempDir(), "demo.tsc")
	if _, stderr, code := run(t, "demo", "--case", casePath, "--days", "2", "--seed", "9"); code != 0 {
		t.Fatalf("demo: %d %s", code, stderr)
	}
	first, stderr, code := run(t, "anomalies", "--case", casePath, "--format", "json")
	if code != 0 {
		t.Fatalf("anomalies: %d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(first), "\n")
	if len(lines) < 3 {
		t.Fatalf("only %d anomalies", len(lines))
	}
	prevRisk := 11
	for i, line := range lines {
		var a map[string]any
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		for _, k := range []string{"id", "risk", "direction", "window_start", "window_end", "entity_type", "entity", "title", "factors", "event_ids"} {
			if _, ok := a[k]; !ok {
				t.Fatalf("anomaly %d lacks %q: %s", i, k, line)
			}
		}
		risk := int(a["risk"].(float64))
		if risk < 1 || risk > 10 || risk > prevRisk {
			t.Errorf("anomaly %d: risk %d after %d (want 1-10, highest first)", i, risk, prevRisk)
		}
		prevRisk = risk
		switch a["direction"] {
		case "inbound", "internal", "outbound":
		default:
			t.Errorf("anomaly %d: direction %v", i, a["direction"])
		}
		switch a["entity_type"] {
		case "ip", "principal", "api", "account":
		default:
			t.Errorf("anomaly %d: entity_type %v", i, a["entity_type"])
		}
		for _, f := range a["factors"].([]any) {
			switch f.(map[string]any)["label"] {
			case "new", "rare", "infrequent", "frequent", "spike", "drop":
			default:
				t.Errorf("anomaly %d: factor label %v", i, f.(map[string]any)["label"])
			}
		}
		if len(a["event_ids"].([]any)) == 0 {
			t.Errorf("anomaly %d stands on no events", i)
		}
	}
	// Minimum risk and direction filters.
	out, _, _ := run(t, "anomalies", "--case", casePath, "--format", "json", "--min-risk", "7", "--direction", "outbound")
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var a struct {
			Risk      int
			Direction string
		}
		json.Unmarshal(sc.Bytes(), &a)
		if a.Risk < 7 || a.Direction != "outbound" {
			t.Errorf("filtered listing holds risk %d %s", a.Risk, a.Direction)
		}
	}
	// The same input analysed again gives the same results, ids included.
	if _, stderr, code := run(t, "analyze", "--case", casePath, "--rebuild"); code != 0 {
		t.Fatalf("analyze --rebuild: %d %s", code, stderr)
	}
	again, _, _ := run(t, "anomalies", "--case", casePath, "--format", "json")
	if again != first {
		t.Error("a rebuild gave different anomalies")
	}
	// A verdict: recorded by triage, listed, filtered on, kept through a rebuild.
	var top struct{ ID string }
	json.Unmarshal([]byte(lines[0]), &top)
	if _, stderr, code := run(t, "triage", "--case", casePath, top.ID, "malicious", "--note", "SEC-42"); code != 0 {
		t.Fatalf("triage: %d %s", code, stderr)
	}
	for _, args := range [][]string{{top.ID, "fine"}, {top.ID}, {"no-such-id", "benign"}} {
		if _, _, code := run(t, append([]string{"triage", "--case", casePath}, args...)...); code == 0 {
			t.Errorf("triage %v: exit 0", args)
		}
	}
	run(t, "analyze", "--case", casePath, "--rebuild")
	out, _, _ = run(t, "anomalies", "--case", casePath, "--format", "json", "--verdict", "malicious")
	var triaged struct{ ID, Verdict, Note string }
	if err := json.Unmarshal([]byte(out), &triaged); err != nil || strings.Count(out, "\n") != 1 ||
		triaged.ID != top.ID || triaged.Verdict != "malicious" || triaged.Note != "SEC-42" {
		t.Errorf("anomalies --verdict malicious: %q (%v)", out, err)
	}
	out, _, _ = run(t, "anomalies", "--case", casePath, "--format", "csv", "--verdict", "none", "--limit", "2")
	if rows := strings.Split(strings.TrimSpace(out), "\n"); len(rows) != 3 || !strings.HasSuffix(rows[0], ",title,verdict,note") ||
		strings.Contains(out, top.ID) {
		t.Errorf("anomalies --verdict none --limit 2: %q", out)
	}
	if _, _, code := run(t, "anomalies", "--case", casePath, "--verdict", "done"); code != ExitUsage {
		t.Errorf("--verdict done: exit %d, want 2", code)
	}
	series, _, code := run(t, "series", "--case", casePath, "--format", "csv", "--direction", "internal")
	rows := strings.Split(strings.TrimSpace(series), "\n")
	if code != 0 || rows[0] != "direction,bin_start,observed,expected,lower,upper" || len(rows) < 500 {
		t.Errorf("series csv: exit %d, %d rows, header %q", code, len(rows), rows[0])
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r, "internal,") {
			t.Fatalf("series row %q not internal", r)
		}
	}

	// Marking every network trusted turns all inbound calls internal.
	count := func(dir string) int {
		out, _, _ := run(t, "search", "--case", casePath, "--limit", "0", "--format", "csv", "eventName:*")
		n := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasSuffix(line, ","+dir) {
				n++
			}
		}
		return n
	}
	if count("inbound") == 0 {
		t.Fatal("demo case has no inbound events")
	}
	if _, stderr, code := run(t, "config", "--case", casePath, "trusted_networks", "0.0.0.0/0,::/0"); code != 0 {
		t.Fatalf("config: %d %s", code, stderr)
	}
	if n := count("inbound"); n != 0 {
		t.Errorf("%d events still inbound after trusting every network", n)
	}
}

// TestRulesCommand: `trailscope rules` installs the built-in pack, runs it, and lists each rule
// with its matches; a second run adds nothing.
func TestRulesCommand(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.json", twoEvents)
	casePath := filepath.Join(dir, "c.tsc")
	if _, stderr, code := run(t, "ingest", "--case", casePath, in); code != 0 {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	for range 2 {
		out, stderr, code := run(t, "rules", "--case", casePath, "--format", "json")
		if code != 0 {
			t.Fatalf("rules: %d %s", code, stderr)
		}
		matched := map[string]float64{}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, line := range lines {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			for _, k := range []string{"name", "severity", "stage", "label", "tags", "every_minutes", "enabled", "matches", "query"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("rule lacks %q: %s", k, line)
				}
			}
			if n := r["matches"].(float64); n > 0 {
				matched[r["name"].(string)] = n
			}
		}
		if len(lines) < 20 || len(matched) != 2 || matched["Instance credentials listing buckets"] != 1 || matched["IAM user created outside a deployment tool"] != 1 {
			t.Errorf("%d rules; matched %v; want the instance role's ListBuckets and bob's CreateUser once each", len(lines), matched)
		}
	}
}

// TestRulesSigma: Sigma files come in with --import (a Windows rule is refused, exit code 3,
// the others added), and every rule goes out with --export as a file that reads back.
func TestRulesSigma(t *testing.T) {
	dir := t.TempDir()
	casePath := filepath.Join(dir, "c.tsc")
	if _, stderr, code := run(t, "ingest", "--case", casePath, writeFile(t, dir, "in.json", twoEvents)); code != 0 {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	sig := filepath.Join("..", "..", "data", "sigma", "testdata")
	out, stderr, code := run(t, "rules", "--case", casePath, "--format", "csv", "--import",
		filepath.Join(sig, "trail_tampering.yml"), filepath.Join(sig, "windows.yml"))
	if code != ExitPartial || !strings.Contains(stderr, "windows.yml") || !strings.Contains(out, "CloudTrail logging switched off,7,Defense Evasion,sigma,") {
		t.Fatalf("import: exit %d\n%s\n%s", code, stderr, out)
	}
	if head := strings.SplitN(out, "\n", 2)[0]; !strings.HasSuffix(head, ",matches,query,threshold,window_minutes,group_by,distinct_field") {
		t.Errorf("CSV header %q: the burst columns come last", head)
	}
	if !strings.Contains(out, "\nBurst of access-denied errors,5,Discovery,built-in,") || !strings.Contains(out, ",20,1,userIdentity.arn,\n") ||
		!strings.Contains(out, ",10,1,userIdentity.arn,requestParameters.secretId\n") {
		t.Errorf("the burst rule's count, window and group are not listed:\n%s", out)
	}
	if _, stderr, code := run(t, "rules", "--case", casePath, "x.yml"); code != ExitUsage {
		t.Errorf("a file without --import: exit %d %s", code, stderr)
	}
	exp := filepath.Join(dir, "sigma")
	if _, stderr, code := run(t, "rules", "--case", casePath, "--export", exp); code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(exp, "*.yml"))
	if len(files) < 20 || !slices.Contains(files, filepath.Join(exp, "cloudtrail_logging_switched_off.yml")) {
		t.Fatalf("exported %d files: %v", len(files), files)
	}
	other := filepath.Join(dir, "other.tsc")
	if _, stderr, code := run(t, "ingest", "--case", other, writeFile(t, dir, "in2.json", twoEvents)); code != 0 {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	// An exported rule reads back into another case.
	out, _, code = run(t, "rules", "--case", other, "--format", "csv", "--import", filepath.Join(exp, "cloudtrail_logging_switched_off.yml"))
	if code != 0 || !strings.Contains(out, "CloudTrail logging switched off") {
		t.Errorf("re-import of an exported rule: exit %d\n%s", code, out)
	}
}
