package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// TestPackPresetFixed: every packed event of every case refers to preset 1, so its bytes can
// never change. A new preset takes a new tag.
func TestPackPresetFixed(t *testing.T) {
	sum := sha256.Sum256([]byte(packPreset1))
	const want = "ce8aa92de742eaa865d6066edf71073aee1f790410e24702efbde2849b00bcd3"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("packPreset1 changed (sha256 %s, want %s): cases already written would not read; add a new tag instead", got, want)
	}
	if packDict1 == nil {
		t.Fatal("packPreset1 is not a usable S2 dictionary")
	}
}

// TestPackRoundTrip: every record reads back byte for byte, and packing saves at least a third
// on real logs as on generated ones.
func TestPackRoundTrip(t *testing.T) {
	sets := map[string][][]byte{"generated": genEvents(2000, 3), "fixture": fixtureRaws()}
	if testing.Short() {
		sets["generated"] = sets["generated"][:200]
	}
	if _, err := os.Stat(sharedDir()); err == nil {
		sets["shared"] = readSharedEvents(t)
	} else {
		t.Logf("no shared data (%v): generated and fixture records only", err)
	}
	for name, raws := range sets {
		if len(raws) == 0 {
			continue
		}
		var plain, packed int
		var buf, out []byte
		for _, raw := range raws {
			buf = PackJSON(buf[:0], raw)
			if !isPacked(buf) {
				t.Fatalf("%s: a record was not packed: %.80s", name, raw)
			}
			var err error
			if out, err = UnpackJSON(out[:0], buf); err != nil {
				t.Fatalf("%s: unpack: %v", name, err)
			}
			if !bytes.Equal(out, raw) {
				t.Fatalf("%s: round trip changed the record:\n%s\n%s", name, raw, out)
			}
			plain += len(raw)
			packed += len(buf)
		}
		ratio := float64(plain) / float64(packed)
		t.Logf("%s: %d records, %d → %d bytes each (%.2f×)", name, len(raws), plain/len(raws), packed/len(raws), ratio)
		if ratio < 1.5 {
			t.Errorf("%s: packing saved too little: %.2f×", name, ratio)
		}
	}
	// Appending keeps what dst held.
	a := PackJSON([]byte("x"), []byte(`{"a":1}`))
	if a[0] != 'x' {
		t.Fatal("PackJSON overwrote dst")
	}
	if b, err := UnpackJSON([]byte("y"), a[1:]); err != nil || string(b) != `y{"a":1}` {
		t.Fatalf("UnpackJSON appended %q, %v", b, err)
	}
}

// TestUnpackPlain: values stored before packing (plain JSON) read as they are.
func TestUnpackPlain(t *testing.T) {
	for _, v := range []string{`{"eventVersion":"1.08"}`, "", `[1,2]`, "\t{}"} {
		got, err := UnpackJSON(nil, []byte(v))
		if err != nil || string(got) != v {
			t.Errorf("UnpackJSON(%q) = %q, %v", v, got, err)
		}
		if p := PackJSON(nil, []byte(v)); (v == "" || v[0] != '{') && string(p) != v {
			t.Errorf("PackJSON(%q) = %q: only records are packed", v, p)
		}
	}
}

// TestUnpackDamaged: a damaged or hostile value is an error, never a panic or a huge allocation.
func TestUnpackDamaged(t *testing.T) {
	good := PackJSON(nil, []byte(fixtureEvents[0]))
	for name, v := range map[string][]byte{
		"truncated":   good[:len(good)/2],
		"tag only":    {packTag1},
		"unknown tag": append([]byte{0x02}, good[1:]...),
		"huge length": {packTag1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00},
		"over bound":  {packTag1, 0x80, 0x80, 0x80, 0x40, 0x00}, // 128 MiB
		"garbage":     append([]byte{packTag1, 0x20}, bytes.Repeat([]byte{0xfe}, 40)...),
	} {
		if out, err := UnpackJSON(nil, v); err == nil {
			t.Errorf("%s: no error, got %q", name, out)
		} else if !strings.HasPrefix(err.Error(), "stored JSON") {
			t.Errorf("%s: error %q does not say what failed", name, err)
		}
	}
}

// TestPackedSQL: SQL reads a stored value through trailscope_json, packed or plain, and the
// store's readers hand back the JSON as it came in.
func TestPackedSQL(t *testing.T) {
	raws := fixtureRaws()
	st := newCaseStored(t, raws, true)
	ctx := context.Background()
	var plain, packed int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE typeof(json) = 'text'),
		count(*) FILTER (WHERE typeof(json) = 'blob') FROM event_json`).Scan(&plain, &packed); err != nil {
		t.Fatal(err)
	}
	if plain == 0 || packed == 0 {
		t.Fatalf("want both forms stored: %d plain, %d packed", plain, packed)
	}
	for _, raw := range raws {
		e, err := cloudtrail.Extract(raw)
		if err != nil {
			continue
		}
		got, err := st.Event(ctx, e.EventID)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("Event(%s) = %.60s, %v", e.EventID, got, err)
		}
		var viaSQL string
		if err := st.DB().QueryRowContext(ctx, `SELECT json_extract(trailscope_json(j.json), '$.eventID')
			FROM events e JOIN event_json j ON j.id = e.id WHERE e.event_id = ?`, e.EventID).Scan(&viaSQL); err != nil || viaSQL != e.EventID {
			t.Fatalf("json_extract through trailscope_json: %q, %v", viaSQL, err)
		}
	}
}

// FuzzUnpackJSON: no stored value makes the reader panic, and a record packs and unpacks to
// itself.
func FuzzUnpackJSON(f *testing.F) {
	f.Add([]byte(fixtureEvents[0]))
	f.Add(PackJSON(nil, []byte(fixtureEvents[1])))
	f.Add([]byte{packTag1, 0x05, 0x10, 'a', 'b', 'c', 'd', 'e'})
	f.Fuzz(func(t *testing.T, b []byte) {
		UnpackJSON(nil, b)
		if len(b) > 0 && b[0] == '{' {
			out, err := UnpackJSON(nil, PackJSON(nil, b))
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("round trip of %q: %q, %v", b, out, err)
			}
		}
	})
}

// BenchmarkPackJSON packs generated records one at a time, as a load's decoders do.
func BenchmarkPackJSON(b *testing.B) {
	raws := genEvents(2000, 3)
	var buf []byte
	in, out := 0, 0
	for i := 0; b.Loop(); i++ {
		r := raws[i%len(raws)]
		buf = PackJSON(buf[:0], r)
		in, out = in+len(r), out+len(buf)
	}
	b.ReportMetric(float64(in)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(in)/float64(out), "ratio")
}
