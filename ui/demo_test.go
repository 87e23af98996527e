package ui

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
)

// TestDemoAddsAnAttack: in the demo case the banner offers every attack scenario; one added
// goes into the case, which opens again with the banner naming it, and says what was added.
func TestDemoAddsAnAttack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.tsc")
	ctx := context.Background()
	c, err := app.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDemo(ctx, app.DemoConfig{Seed: 4, Days: 1}, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s, _ := newTestShell(t, options{casePath: path})
	v := s.view
	v.askAttack()
	if got := v.attackChoice.Options; !slices.Equal(got, app.DemoScenarios()) {
		t.Fatalf("the attacks offered: %v", got)
	}
	v.attackChoice.SetSelected("root-use")
	settle(t, s)
	v.attackDialog.Hide()
	v.addAttack("root-use")
	settle(t, s)
	if s.view == v || s.view == nil {
		t.Fatal("the case was not opened again")
	}
	banner := s.view.top.Objects[0].(*fyne.Container).Objects[0].(*widget.Label).Text
	if !strings.Contains(banner, "the root-use scenario") || !strings.Contains(banner, "the 2019 bucket-theft story") {
		t.Errorf("banner after the attack: %q", banner)
	}
	root, _ := app.Compile("userIdentity.type:Root", time.Time{}, time.Time{})
	if n, err := s.view.c.Count(ctx, root); err != nil || n == 0 {
		t.Errorf("root's events in the case: %d, %v", n, err)
	}
	if s.attackAdded != "" {
		t.Errorf("what was added was not said: %q still waits", s.attackAdded)
	}
}
