package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// listing writes rows in the chosen format: table (aligned columns), json (one object per line)
// or csv (a header row). Rows stream: nothing is held beyond the current row, except by table.
type listing struct {
	format  string
	columns []string
	tw      *tabwriter.Writer
	cw      *csv.Writer
	enc     *json.Encoder
	started bool
}

func newListing(w io.Writer, format string, columns ...string) *listing {
	l := &listing{format: format, columns: columns}
	switch format {
	case "table":
		l.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	case "csv":
		l.cw = csv.NewWriter(w)
	default:
		l.enc = json.NewEncoder(w)
		l.enc.SetEscapeHTML(false)
	}
	return l
}

// row writes one row: cells for table and csv (in column order), obj for json.
func (l *listing) row(obj any, cells ...string) error {
	switch l.format {
	case "table":
		if !l.started {
			l.started = true
			l.line(l.columns)
		}
		l.line(cells)
		return nil
	case "csv":
		if !l.started {
			l.started = true
			if err := l.cw.Write(l.columns); err != nil {
				return err
			}
		}
		return l.cw.Write(cells)
	default:
		return l.enc.Encode(obj)
	}
}

func (l *listing) line(cells []string) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(l.tw, "\t")
		}
		fmt.Fprint(l.tw, c)
	}
	fmt.Fprintln(l.tw)
}

// close flushes; a csv listing with no rows still gets its header.
func (l *listing) close() error {
	switch l.format {
	case "table":
		return l.tw.Flush()
	case "csv":
		if !l.started {
			if err := l.cw.Write(l.columns); err != nil {
				return err
			}
		}
		l.cw.Flush()
		return l.cw.Error()
	}
	return nil
}
