// Package ui is Trailscope's desktop interface (Fyne): the case window, the overview dashboard,
// drilldowns, pivots, the investigator and the rule builder. It talks to app only.
package ui

import (
	"fyne.io/fyne/v2/widget"

	fyneapp "fyne.io/fyne/v2/app"
)

// Run opens the desktop app and returns the process exit code when its window closes.
func Run(args []string) int {
	a := fyneapp.NewWithID("io.trailscope.app")
	w := a.NewWindow("Trailscope")
	w.SetContent(widget.NewLabel("Trailscope"))
	w.ShowAndRun()
	return 0
}
