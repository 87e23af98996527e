package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/source"
)

// Preferences keeping the S3 form's last values between sessions: where and how, never a
// credential (the SDK reads those from the profile or the environment) and not the dates.
const (
	prefS3URL      = "s3.url"
	prefS3Profile  = "s3.profile"
	prefS3Region   = "s3.region"
	prefS3Endpoint = "s3.endpoint"
	prefS3Accounts = "s3.accounts"
	prefS3Regions  = "s3.regions"
)

// s3Form is the Sources screen's form for a CloudTrail bucket: where it is, how to reach it,
// and which part of it to load (days, accounts, CloudTrail regions), all but the URL optional.
type s3Form struct {
	s                                *sources
	url, region, endpoint            *widget.Entry
	from, to, accounts, trailRegions *widget.Entry
	profile                          *widget.SelectEntry
	problem                          *widget.Label
	preview                          *widget.Label // what a load would read, once listed
	load, list, browse               *widget.Button
	bucketList                       *widget.List // the buckets offered, while shown
	bucketPick                       dialog.Dialog
	content                          fyne.CanvasObject
}

func newS3Form(s *sources) *s3Form {
	f := &s3Form{s: s}
	prefs := s.v.s.app.Preferences()
	entry := func(pref, placeholder string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(placeholder)
		if pref != "" {
			e.SetText(prefs.String(pref))
		}
		e.OnSubmitted = func(string) { f.submit() }
		return e
	}
	f.url = entry(prefS3URL, "s3://bucket/prefix — the trail's bucket, or a folder of it (AWSLogs/…)")
	f.profile = widget.NewSelectEntry(nil)
	// The profiles' names come from files under ~/.aws: read off the UI goroutine, as the case
	// opens.
	do(s.v, func(context.Context) ([]string, error) { return app.AWSProfiles(), nil },
		func(names []string, _ error) { f.profile.SetOptions(names) })
	f.profile.SetPlaceHolder("blank: the default credentials (environment, ~/.aws, SSO, instance role)")
	f.profile.SetText(prefs.String(prefS3Profile))
	f.region = entry(prefS3Region, "the bucket's region; blank: the profile's")
	f.from = entry("", "YYYY-MM-DD; blank: from the first log")
	f.to = entry("", "YYYY-MM-DD, that whole day; blank: to the last log")
	f.accounts = entry(prefS3Accounts, "111122223333, 444455556666; blank: every account in the bucket")
	f.trailRegions = entry(prefS3Regions, "us-east-1, eu-west-1; blank: every region")
	f.endpoint = entry(prefS3Endpoint, "an S3-compatible endpoint (MinIO, LocalStack); blank: AWS")
	f.problem = widget.NewLabel("")
	f.problem.Importance = widget.DangerImportance
	f.problem.Wrapping = fyne.TextWrapWord
	f.problem.Hide()
	f.load = widget.NewButtonWithIcon("Load from S3", theme.DownloadIcon(), f.submit)
	f.load.Importance = widget.HighImportance
	// Before a long download: how much the days, accounts and regions asked for hold.
	f.list = widget.NewButtonWithIcon("List", theme.ListIcon(), f.listObjects)
	f.preview = widget.NewLabel("")
	f.preview.Wrapping = fyne.TextWrapWord
	f.preview.Hide()
	// For whoever has not the bucket's name at hand: the buckets the credentials see.
	f.browse = widget.NewButtonWithIcon("Buckets…", theme.FolderOpenIcon(), f.browseBuckets)
	form := widget.NewForm(
		widget.NewFormItem("Bucket", container.NewBorder(nil, nil, nil, f.browse, f.url)),
		widget.NewFormItem("AWS profile", f.profile),
		widget.NewFormItem("Bucket region", f.region),
		widget.NewFormItem("From day", f.from),
		widget.NewFormItem("To day", f.to),
		widget.NewFormItem("Accounts", f.accounts),
		widget.NewFormItem("CloudTrail regions", f.trailRegions),
		widget.NewFormItem("Endpoint", f.endpoint),
	)
	note := widget.NewLabel("Only the objects of the days, accounts and regions asked for are listed and read, " +
		"through the AWS SDK with its retries; credentials stay with the SDK and are never written to the case.")
	note.Wrapping = fyne.TextWrapWord
	note.TextStyle.Italic = true
	f.content = container.NewVBox(form, container.NewBorder(nil, nil, nil, container.NewHBox(f.list, f.load),
		container.NewVBox(f.problem, f.preview)), note)
	return f
}

// source reads the form; the error names the field at fault.
func (f *s3Form) source() (app.S3Source, error) {
	src := app.S3Source{
		URL:      strings.TrimSpace(f.url.Text),
		Profile:  strings.TrimSpace(f.profile.Text),
		Region:   strings.TrimSpace(f.region.Text),
		Endpoint: strings.TrimSpace(f.endpoint.Text),
		Accounts: splitField(f.accounts.Text),
		Regions:  splitField(f.trailRegions.Text),
	}
	if src.URL == "" {
		return src, fmt.Errorf("Bucket: give the trail's bucket, as s3://bucket or s3://bucket/prefix")
	}
	if !app.IsS3(src.URL) {
		src.URL = "s3://" + src.URL // a bucket name alone
	}
	if _, _, err := source.ParseS3URL(src.URL); err != nil {
		return src, fmt.Errorf("Bucket: %v", err)
	}
	for _, a := range src.Accounts {
		if !cloudtrail.IsAccountID(a) {
			return src, fmt.Errorf("Accounts: %q is no account number (12 digits)", a)
		}
	}
	var err error
	if src.From, err = app.ParseTimeBound(strings.TrimSpace(f.from.Text), false); err != nil {
		return src, fmt.Errorf("From day: %v", err)
	}
	if src.To, err = app.ParseTimeBound(strings.TrimSpace(f.to.Text), true); err != nil {
		return src, fmt.Errorf("To day: %v", err)
	}
	if !src.From.IsZero() && !src.To.IsZero() && !src.From.Before(src.To) {
		return src, fmt.Errorf("From day: it comes after the To day")
	}
	return src, nil
}

// splitField splits a list typed with commas or spaces.
func splitField(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

// checked reads the form, showing what is wrong with it; ok is false when something is.
func (f *s3Form) checked() (src app.S3Source, ok bool) {
	src, err := f.source()
	if err != nil {
		f.problem.SetText(err.Error())
		f.problem.Show()
		return src, false
	}
	f.problem.Hide()
	return src, true
}

// listObjects lists what the form would load, without downloading it.
func (f *s3Form) listObjects() {
	src, ok := f.checked()
	if !ok {
		return
	}
	f.preview.SetText("Listing " + src.URL + "…")
	f.preview.Show()
	f.list.Disable()
	type listed struct {
		files int
		bytes int64
	}
	// A trail's bucket can take a while to list: what was found so far shows meanwhile.
	th := newThrottle(f.s.v.s.b, 200*time.Millisecond, func(l listed) {
		f.preview.SetText(fmt.Sprintf("Listing %s… %s found so far (%s)", src.URL, counted(int64(l.files), "log file", "log files"), app.ByteSize(l.bytes)))
	})
	do(f.s.v, func(ctx context.Context) (listed, error) {
		n, b, err := app.PreviewS3(ctx, src, func(n int, b int64) { th.push(listed{n, b}) })
		return listed{n, b}, err
	}, func(l listed, err error) {
		th.stop()
		f.list.Enable()
		if err != nil {
			f.preview.Hide()
			f.problem.SetText(err.Error())
			f.problem.Show()
			return
		}
		f.preview.SetText(fmt.Sprintf("%s to read, %s as stored, for the days, accounts and regions asked for.",
			counted(int64(l.files), "log file", "log files"), app.ByteSize(l.bytes)))
	})
}

// browseBuckets lists the buckets the form's credentials see, in the background, and offers
// them; the one chosen goes into the form, and the accounts whose trails it holds are named.
func (f *s3Form) browseBuckets() {
	src := app.S3Source{Profile: strings.TrimSpace(f.profile.Text), Region: strings.TrimSpace(f.region.Text),
		Endpoint: strings.TrimSpace(f.endpoint.Text)}
	f.problem.Hide()
	f.preview.SetText("Listing the buckets…")
	f.preview.Show()
	f.browse.Disable()
	do(f.s.v, func(ctx context.Context) ([]source.Bucket, error) { return app.S3Buckets(ctx, src) }, func(names []source.Bucket, err error) {
		f.browse.Enable()
		f.preview.Hide()
		switch {
		case err != nil:
			f.problem.SetText(err.Error())
			f.problem.Show()
			return
		case len(names) == 0:
			f.preview.SetText("These credentials see no bucket: type the trail's bucket in (listing needs s3:ListAllMyBuckets).")
			f.preview.Show()
			return
		}
		f.bucketList = widget.NewList(func() int { return len(names) }, func() fyne.CanvasObject { return widget.NewLabel("") },
			func(i widget.ListItemID, o fyne.CanvasObject) {
				text := names[i].Name
				if names[i].Region != "" {
					text += "   (" + names[i].Region + ")"
				}
				o.(*widget.Label).SetText(text)
			})
		f.bucketPick = dialog.NewCustom("Choose the trail's bucket", "Cancel", f.bucketList, f.s.v.s.win)
		f.bucketList.OnSelected = func(i widget.ListItemID) {
			f.bucketPick.Hide()
			src.URL = "s3://" + names[i].Name + "/"
			f.url.SetText(src.URL)
			if r := names[i].Region; r != "" {
				src.Region = r // the bucket answers only in its own region
				f.region.SetText(r)
			}
			f.showAccounts(src)
		}
		f.s.v.trackDialog(f.bucketPick, nil)
		f.bucketPick.Resize(fyne.NewSize(520, 480))
		f.bucketPick.Show()
	})
}

// showAccounts says which accounts' trails the bucket holds, in the background.
func (f *s3Form) showAccounts(src app.S3Source) {
	f.preview.SetText("Looking for trails in " + src.URL + "…")
	f.preview.Show()
	do(f.s.v, func(ctx context.Context) ([]string, error) { return app.S3TrailAccounts(ctx, src) }, func(accts []string, err error) {
		switch {
		case err != nil:
			f.preview.SetText("Could not look into " + src.URL + ": " + err.Error())
		case len(accts) == 0:
			f.preview.SetText(src.URL + " holds no AWSLogs/ folder of accounts: give the prefix the trail writes under.")
		default:
			f.preview.SetText(fmt.Sprintf("%s holds the trails of %s: %s. Accounts left blank loads them all.",
				src.URL, counted(int64(len(accts)), "account", "accounts"), strings.Join(accts, ", ")))
		}
	})
}

// submit checks the form, remembers it, and starts the load.
func (f *s3Form) submit() {
	src, ok := f.checked()
	if !ok {
		return
	}
	prefs := f.s.v.s.app.Preferences()
	for pref, v := range map[string]string{prefS3URL: src.URL, prefS3Profile: src.Profile, prefS3Region: src.Region,
		prefS3Endpoint: src.Endpoint, prefS3Accounts: f.accounts.Text, prefS3Regions: f.trailRegions.Text} {
		prefs.SetString(pref, strings.TrimSpace(v))
	}
	f.s.start(importSet{args: []string{src.URL}, s3: src})
}
