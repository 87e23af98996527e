package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
)

// settingsView edits the case settings through app and the app's theme.
type settingsView struct {
	v       *caseView
	content fyne.CanvasObject
	entries map[string]*widget.Entry
	loaded  map[string]string
	save    *widget.Button
	status  *widget.Label
	theme   *widget.RadioGroup
}

func newSettingsView(v *caseView) *settingsView {
	sv := &settingsView{v: v, entries: map[string]*widget.Entry{}, loaded: map[string]string{}}
	form := widget.NewForm()
	for _, k := range app.KnownSettings() {
		e := widget.NewEntry()
		if k.Key == app.SettingEgressAPIs {
			e = widget.NewMultiLineEntry()
			e.Wrapping = fyne.TextWrapWord
			e.SetMinRowsVisible(4)
		}
		e.SetPlaceHolder(k.Default)
		sv.entries[k.Key] = e
		item := widget.NewFormItem(k.Key, e)
		item.HintText = k.Help
		form.AppendItem(item)
	}
	sv.status = widget.NewLabel("")
	sv.status.Wrapping = fyne.TextWrapWord
	sv.save = widget.NewButton("Save case settings", sv.saveAll)
	sv.save.Importance = widget.HighImportance

	sv.theme = widget.NewRadioGroup([]string{themeSystem, themeLight, themeDark}, func(t string) {
		a := v.s.app
		if t == "" || t == a.Preferences().StringWithFallback(prefTheme, themeSystem) {
			return
		}
		a.Preferences().SetString(prefTheme, t)
		applyTheme(a, t)
		v.overview.redraw()
	})
	sv.theme.Horizontal = true
	sv.theme.Required = true
	sv.theme.Selected = v.s.app.Preferences().StringWithFallback(prefTheme, themeSystem)

	note := widget.NewLabel("Changing trusted networks, home accounts or egress APIs reclassifies every event's direction and the analysis runs again.")
	note.Wrapping = fyne.TextWrapWord
	sv.content = container.NewVScroll(container.NewVBox(
		bold("Case settings"), form, note, container.NewHBox(sv.save), sv.status,
		widget.NewSeparator(), bold("Appearance"), sv.theme,
	))
	return sv
}

// load reads the case settings into the form.
func (sv *settingsView) load() {
	do(sv.v, func(ctx context.Context) (map[string]string, error) {
		out := map[string]string{}
		for _, k := range app.KnownSettings() {
			val, err := sv.v.c.Setting(ctx, k.Key)
			if err != nil {
				return nil, err
			}
			out[k.Key] = val
		}
		return out, nil
	}, func(vals map[string]string, err error) {
		if err != nil {
			sv.status.SetText("Could not read the settings: " + err.Error())
			return
		}
		sv.loaded = vals
		for k, val := range vals {
			sv.entries[k].SetText(val)
		}
	})
}

// saveAll stores the settings that changed, then analyses again when directions changed.
func (sv *settingsView) saveAll() {
	changed := map[string]string{}
	for k, e := range sv.entries {
		if val := strings.TrimSpace(e.Text); val != sv.loaded[k] {
			changed[k] = val
		}
	}
	if len(changed) == 0 {
		sv.status.SetText("Nothing changed.")
		return
	}
	sv.save.Disable()
	sv.status.SetText("Saving (reclassifying the case when directions change)…")
	do(sv.v, func(ctx context.Context) (bool, error) {
		for _, k := range app.KnownSettings() {
			if val, ok := changed[k.Key]; ok {
				if err := sv.v.c.SetSetting(ctx, k.Key, val); err != nil {
					return false, err
				}
			}
		}
		return sv.v.c.NeedsAnalysis(ctx)
	}, func(need bool, err error) {
		sv.save.Enable()
		if err != nil {
			sv.status.SetText("Not saved: " + err.Error())
			return
		}
		for k, val := range changed {
			sv.loaded[k] = val
		}
		sv.status.SetText("Saved.")
		if need {
			sv.v.analyze()
		} else {
			sv.v.overview.load()
		}
	})
}
