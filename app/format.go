package app

import (
	"fmt"
	"time"
)

// ParseTimeBound reads a time bound as the command line and the window take it: RFC 3339, or
// YYYY-MM-DD for a whole day (its start, or with until the start of the next, so that the day
// is inclusive); the empty string is no bound.
func ParseTimeBound(s string, until bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or YYYY-MM-DD", s)
	}
	if until {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// ByteSize is a size as a person reads it: 512 B, 812.0 KiB, 12.3 MiB.
func ByteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Count is a number with its thousands grouped: 2,417.
func Count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

// Counted says how many of a thing, in the singular for one: "1 file", "2,417 files".
func Counted(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Count(n) + " " + many
}
