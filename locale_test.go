package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCLocaleIsQuiet runs this test binary again under LANG=C.UTF-8, the default of Debian
// containers: Fyne's packages initialise there, and must not print a locale error.
func TestCLocaleIsQuiet(t *testing.T) {
	if os.Getenv("TRAILSCOPE_LOCALE_CHILD") != "" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLocaleIsQuiet$")
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LANG=C.UTF-8", "TRAILSCOPE_LOCALE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "locale") {
		t.Errorf("under LANG=C.UTF-8 the program printed:\n%s", out)
	}
}
