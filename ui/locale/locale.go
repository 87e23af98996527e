// Package locale makes Fyne read the "C.UTF-8" locale, the default of Debian and Ubuntu
// containers, as English. Fyne looks the locale up while its packages initialise and cannot
// parse "C.UTF-8", so every command, the headless ones too, printed a "Fyne error" to stderr.
//
// Package ui imports it for its side effect only, so the program and ui's tests both have it: Go
// initialises it before any Fyne package, since it depends on nothing that Fyne needs (the
// spec's order since Go 1.21). A test in package main checks that the error stays away.
package locale

import (
	"os"
	"strings"
)

func init() {
	// The variable that decides, in the order go-locale (Fyne's lookup) reads them.
	for _, env := range [...]string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "POSIX.") {
			// LANGUAGE is read when the locale is not plain C; for programs this one starts,
			// gettext reads it only for real locales, so "C.UTF-8" stays English there too.
			if os.Getenv("LANGUAGE") == "" {
				os.Setenv("LANGUAGE", "en")
			}
		}
		return
	}
}
