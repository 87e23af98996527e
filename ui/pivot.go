package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// pivotKind maps an anomaly's entity to the pivot that profiles it.
func pivotKind(entityType string) string {
	switch entityType {
	case finding.EntityIP:
		return app.PivotIP
	case finding.EntityAPI:
		return app.PivotEvent
	}
	return app.PivotPrincipal
}

// showPivot profiles the anomaly's entity off the UI goroutine and shows what else it did:
// when, from where, which calls with their failures, with which tools, and what it did first
// inside the anomaly's window.
func showPivot(v *caseView, a finding.Anomaly) {
	kind := pivotKind(a.EntityType)
	opt := store.PivotOptions{Top: 15, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd}
	do(v, func(ctx context.Context) (*store.Profile, error) {
		return v.c.Pivot(ctx, kind, a.Entity, opt)
	}, func(p *store.Profile, err error) {
		if err != nil {
			v.s.showError("pivot on "+a.Entity, err)
			return
		}
		text := widget.NewLabel(profileText(p))
		text.TextStyle = fyne.TextStyle{Monospace: true}
		d := dialog.NewCustom("Pivot: "+kind+" "+a.Entity, "Close", container.NewVScroll(text), v.s.win)
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
}

// profileText writes a profile as aligned plain text.
func profileText(p *store.Profile) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events (%d failed), first %s, last %s\n", p.Events, p.Failures,
		p.FirstSeen.UTC().Format("2006-01-02 15:04:05"), p.LastSeen.UTC().Format("2006-01-02 15:04:05"))
	if len(p.NewAPIs) > 0 {
		b.WriteString("\nFirst used inside the anomaly's window\n")
		for _, a := range p.NewAPIs {
			fmt.Fprintf(&b, "  %-40s %s\n", a.EventName, a.EventSource)
		}
	}
	if len(p.APIs) > 0 {
		b.WriteString("\nCalls                                      succeeded   failed\n")
		for _, a := range p.APIs {
			fmt.Fprintf(&b, "  %-40s %9d %8d\n", a.EventName, a.Success, a.Failure)
		}
	}
	section := func(title string, cs []store.Count) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, c := range cs {
			fmt.Fprintf(&b, "  %9d  %s\n", c.Events, c.Value)
		}
	}
	section("Identities", p.Identities)
	section("Principals", p.Principals)
	section("Addresses", p.Addresses)
	section("User agents", p.UserAgents)
	section("Regions", p.Regions)
	return b.String()
}
