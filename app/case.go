// Package app is Trailscope's application core: it opens and creates cases and runs the long
// jobs on them (ingest, analysis) with progress and cancellation. The UI and the command line
// both call it; it knows nothing of Fyne.
package app

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/trailscope/trailscope/analytics/direction"
	"github.com/trailscope/trailscope/data/ingest"
	"github.com/trailscope/trailscope/data/store"
)

// Case is an open case file.
type Case struct {
	st *store.Store
}

// Open opens the case at path, creating it when missing.
func Open(ctx context.Context, path string) (*Case, error) {
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Case{st: st}, nil
}

// NeedsUpgrade reports whether opening the case file at path will bring it to this version's
// format first, which takes a while for a large case.
func NeedsUpgrade(ctx context.Context, path string) (bool, error) {
	return store.NeedsMigration(ctx, path)
}

// Close closes the case file.
func (c *Case) Close() error { return c.st.Close() }

// Path is the case file's path.
func (c *Case) Path() string { return c.st.Path() }

// Store gives the case's store to the command line and tests in this module.
func (c *Case) Store() *store.Store { return c.st }

// Info reads what the case holds.
func (c *Case) Info(ctx context.Context) (store.Info, error) { return c.st.Info(ctx) }

// DataVersion changes when something outside this Case's own writer commits to the case file:
// another process's import, analysis or setting, or this process's loads. Windows poll it.
func (c *Case) DataVersion(ctx context.Context) (int64, error) { return c.st.DataVersion(ctx) }

// Case settings keys, shown and changed by `trailscope config` and the Settings screen.
const (
	SettingTrustedNetworks = "trusted_networks" // comma-separated CIDRs treated as internal
	SettingHomeAccounts    = "home_accounts"    // comma-separated account IDs of the organisation
	SettingEgressAPIs      = "egress_apis"      // comma-separated event names that move data or access out
	SettingBinMinutes      = "bin_minutes"      // width of the analysis bins
	SettingDemo            = "demo"             // "true" when the case holds generated demo data
)

// SettingInfo describes a case setting for listings and the Settings screen.
type SettingInfo struct {
	Key, Default, Help string
}

// KnownSettings lists the settings a user may change, with their defaults.
func KnownSettings() []SettingInfo {
	return []SettingInfo{
		{SettingTrustedNetworks, "", "networks (CIDR, comma-separated) whose callers count as internal"},
		{SettingHomeAccounts, "", "the organisation's account IDs (comma-separated); grants to others are outbound"},
		{SettingEgressAPIs, strings.Join(direction.DefaultEgressAPIs(), ","), "API calls that move data or access out of the account"},
		{SettingBinMinutes, "5", "minutes per analysis bin"},
	}
}

// Setting returns a setting's value or its default.
func (c *Case) Setting(ctx context.Context, key string) (string, error) {
	def := ""
	for _, s := range KnownSettings() {
		if s.Key == key {
			def = s.Default
		}
	}
	return c.st.Setting(ctx, key, def)
}

// SetSetting validates and stores a setting. Changing a direction setting reclassifies the case.
func (c *Case) SetSetting(ctx context.Context, key, value string) error {
	known := false
	for _, s := range KnownSettings() {
		known = known || s.Key == key
	}
	if !known {
		return fmt.Errorf("unknown setting %q", key)
	}
	switch key {
	case SettingTrustedNetworks:
		if _, err := parsePrefixes(value); err != nil {
			return err
		}
	case SettingBinMinutes:
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 1440 || 1440%n != 0 {
			return fmt.Errorf("bin_minutes: %q is not a whole number of minutes dividing a day", value)
		}
	}
	if err := c.st.SetSetting(ctx, key, value); err != nil {
		return err
	}
	if key == SettingTrustedNetworks || key == SettingHomeAccounts || key == SettingEgressAPIs {
		cl, err := c.Classifier(ctx)
		if err != nil {
			return err
		}
		return c.st.Reclassify(ctx, cl.Classify)
	}
	return nil
}

// Classifier builds the direction classifier from the case settings.
func (c *Case) Classifier(ctx context.Context) (*direction.Classifier, error) {
	trusted, err := c.Setting(ctx, SettingTrustedNetworks)
	if err != nil {
		return nil, err
	}
	home, err := c.Setting(ctx, SettingHomeAccounts)
	if err != nil {
		return nil, err
	}
	egress, err := c.Setting(ctx, SettingEgressAPIs)
	if err != nil {
		return nil, err
	}
	nets, err := parsePrefixes(trusted)
	if err != nil {
		return nil, err
	}
	return direction.New(direction.Settings{
		TrustedNetworks: nets,
		HomeAccounts:    splitList(home),
		EgressAPIs:      splitList(egress),
	}), nil
}

// Ingest loads the inputs under paths (files, folders, archives, s3:// URLs with the default
// credentials) into the case, classifying each event's direction.
func (c *Case) Ingest(ctx context.Context, paths []string, progress func(ingest.Progress)) (ingest.Summary, error) {
	return c.IngestSources(ctx, paths, S3Source{}, progress)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("trusted network %q: not a CIDR or address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
