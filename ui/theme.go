package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme choices kept in the preferences.
const (
	themeSystem = "system"
	themeLight  = "light"
	themeDark   = "dark"
)

// variantTheme is Fyne's default theme held to one variant (light or dark) whatever the
// system prefers.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

// Color returns the default theme's colour in the held variant.
func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// applyTheme switches the app to the named theme choice.
func applyTheme(a fyne.App, name string) {
	switch name {
	case themeLight:
		a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantLight})
	case themeDark:
		a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantDark})
	default:
		a.Settings().SetTheme(theme.DefaultTheme())
	}
}

// currentPalette reads the chart colours from the theme in use; call it on the UI goroutine.
func currentPalette() palette {
	fg := theme.Color(theme.ColorNameForeground)
	bg := theme.Color(theme.ColorNameBackground)
	primary := color.NRGBAModel.Convert(theme.Color(theme.ColorNamePrimary)).(color.NRGBA)
	f := color.NRGBAModel.Convert(fg).(color.NRGBA)
	r, g, b, _ := bg.RGBA()
	dark := (r+g+b)/3 < 0x8000
	band := primary
	band.A = 0x48
	grid := f
	grid.A = 0x50
	expected := f
	expected.A = 0xa0
	return palette{Background: bg, Foreground: fg, Grid: grid, Line: primary, Band: band, Expected: expected, Dark: dark}
}
