package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/synth"
)

// defaultDemoBuilder generates the demo case on first run: a week of the synthetic
// organisation with the 2019 intrusion in the last day, loaded and analysed.
var defaultDemoBuilder demoBuilder = func(ctx context.Context, path string, p func(string, float64)) error {
	c, err := app.Open(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CreateDemo(ctx, app.DemoConfig{Seed: 1}, p)
	return err
}

// askAttack lets a trainer add an attack scenario to the demo case in front of a class: one
// is chosen from the list, with what it does; it is generated into the demo's last day among
// the ordinary traffic, the case is analysed again and opened anew to show it.
func (v *caseView) askAttack() {
	infos := app.DemoScenarioInfo()
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name
	}
	desc := widget.NewLabel("Choose an attack to see what it does.")
	desc.Wrapping = fyne.TextWrapWord
	var add *widget.Button
	choice := widget.NewRadioGroup(names, func(name string) {
		for _, in := range infos {
			if in.Name == name {
				desc.SetText(in.Description + ".")
			}
		}
		if name != "" {
			add.Enable()
		}
	})
	intro := widget.NewLabel("The attack is generated into the demo's last day, among the organisation's ordinary " +
		"traffic, and the case is analysed again. Each attack goes in once.")
	intro.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() {
		d.Hide()
		v.addAttack(choice.Selected)
	})
	add.Importance = widget.HighImportance
	add.Disable()
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("Add an attack to the demo case",
		container.NewBorder(intro, desc, nil, nil, container.NewVScroll(choice)), v.s.win)
	d.SetButtons([]fyne.CanvasObject{cancel, add})
	v.trackDialog(d, nil)
	d.Resize(fyne.NewSize(640, 560))
	d.Show()
	v.attackDialog = d
	v.attackChoice = choice
}

// addAttack generates the scenario into the demo case with progress and a Cancel, then opens
// the case again: its banner, charts and lists show the attack.
func (v *caseView) addAttack(name string) {
	label := widget.NewLabel("Adding " + name + "…")
	bar := widget.NewProgressBar()
	ctx, cancel := context.WithCancel(v.ctx)
	wait := dialog.NewCustom("Add an attack", "Cancel", container.NewVBox(label, bar), v.s.win)
	v.trackDialog(wait, cancel)
	wait.Resize(fyne.NewSize(480, 150))
	wait.Show()
	type stage struct {
		name string
		frac float64
	}
	th := newThrottle(v.s.b, 100*time.Millisecond, func(s stage) {
		label.SetText(fmt.Sprintf("Adding %s: %s…", name, s.name))
		bar.SetValue(s.frac)
	})
	type result struct {
		added int64
		label synth.Label
	}
	v.adding, v.wrote = true, true
	do(v, func(context.Context) (result, error) {
		defer cancel()
		n, l, err := v.c.AddDemoScenario(ctx, name, func(s string, f float64) { th.push(stage{s, f}) })
		return result{n, l}, err
	}, func(r result, err error) {
		v.adding = false
		th.stop()
		wait.Hide()
		switch {
		case errors.Is(err, context.Canceled):
			v.setStatus("Adding "+name+" was cancelled: what was committed stays, and adding it again completes it.", 0)
		case err != nil:
			v.s.showError("add "+name, err)
		case r.added == 0:
			dialog.ShowInformation("Already in the case", name+" is in the demo case already: it goes in once.", v.s.win)
		default:
			v.s.attackAdded = fmt.Sprintf("%s added: %s from %s UTC. %s.", name, counted(r.added, "event", "events"),
				r.label.Start.UTC().Format("Jan 2 15:04"), r.label.Description)
			v.s.openCase(v.c.Path())
		}
	})
}
