package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/store"
)

// What an integrity check finds for one file a digest lists, or one log file it should list.
const (
	IntegrityValid    = "valid"    // its plain content hashes as the digest says
	IntegrityModified = "modified" // it hashes otherwise: changed since CloudTrail delivered it
	IntegrityMissing  = "missing"  // listed by a digest, not among the files the case read
	// A log file inside the digests' hours that no digest lists: slipped in, or written to the
	// same folder by a second trail without validation (log file names do not name the trail).
	IntegrityUnlisted = "unlisted"
	IntegrityUnhashed = "unhashed" // read before Trailscope kept plain hashes: load it again
	// A digest's signature, kept from its S3 metadata, with no public key in the case to check
	// it against (CloudTrail's keys are fetched as a load from S3 ends; that needs
	// cloudtrail:ListPublicKeys).
	IntegrityNoKey = "no key"
)

// IntegrityCheck is the verdict on one file.
type IntegrityCheck struct {
	Status string
	Kind   string // "log", "digest" (the hash a digest gives for the one before), or "signature"
	Object string // the S3 key the digest names; for an unlisted file, the file's name
	File   string // the file the case read (store.FileRecord.Name), "" when missing
	Digest string // the digest that lists it (its S3 key), "" when unlisted
	Want   string // the hash the digest gives
	Got    string // the hash of the file the case read
}

// IntegrityReport is a case's files checked against the CloudTrail digests among them.
type IntegrityReport struct {
	Digests int              // digest files read
	Checks  []IntegrityCheck // those that did not find the file valid, the worst first, then by object
	// Counts are the checks of files (logs and digests) by status; Signatures, of signatures.
	Counts, Signatures map[string]int
}

// Problems counts the checks that found a file changed, gone or added.
func (r IntegrityReport) Problems() int {
	return r.Counts[IntegrityModified] + r.Counts[IntegrityMissing] + r.Counts[IntegrityUnlisted] + r.Signatures[IntegrityModified]
}

// IntegrityColumns are the columns of the command line's verify listing.
var IntegrityColumns = []string{"status", "kind", "object", "file", "digest", "want_sha256", "got_sha256"}

// Row is a check's cells in IntegrityColumns order.
func (c IntegrityCheck) Row() []string {
	return []string{c.Status, c.Kind, c.Object, c.File, c.Digest, c.Want, c.Got}
}

// CheckIntegrity checks the files the case read against the CloudTrail digest files among them,
// as `aws cloudtrail validate-logs` does online: each log file a digest lists must be there with
// the SHA-256 the digest gives for its plain content, and each digest's predecessor with the
// hash the digest gives for it, so that a log file changed, deleted or slipped in after delivery
// shows. Files are matched by name, which CloudTrail makes unique, wherever they were read from
// and whether or not they were decompressed.
//
// Digests loaded from S3 keep the signature CloudTrail put in their metadata, and the load
// keeps CloudTrail's public keys for them: their signatures are checked too (kind "signature").
// An export on disk has no signatures; there, a digest rewritten along with the logs it lists,
// and every digest after it, would pass.
func (c *Case) CheckIntegrity(ctx context.Context, each func(IntegrityCheck) error) (IntegrityReport, error) {
	rep := IntegrityReport{Counts: map[string]int{}, Signatures: map[string]int{}}
	// Only the problems are kept, sorted, in the report; each sees every check as it is made:
	// a year of an organisation's trail is millions of log files.
	add := func(ch IntegrityCheck) error {
		if ch.Kind == "signature" {
			rep.Signatures[ch.Status]++
		} else {
			rep.Counts[ch.Status]++
		}
		if ch.Status != IntegrityValid {
			rep.Checks = append(rep.Checks, ch)
		}
		if each != nil {
			return each(ch)
		}
		return nil
	}
	byName := map[string][]store.FileRecord{}
	byID := map[int64]store.FileRecord{}
	// CloudTrail's log files loaded, in path order, with what their names say.
	type logFile struct {
		f               store.FileRecord
		account, region string
		delivered       time.Time
	}
	var logs []logFile
	err := c.st.Files(ctx, "", func(f store.FileRecord) error {
		name := fileKey(f.Name())
		byName[name] = append(byName[name], f)
		byID[f.ID] = f
		if acct, region, at, ok := cloudtrail.LogFileName(name); ok && f.Status == store.FileLoaded {
			logs = append(logs, logFile{f, acct, region, at})
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	keys, err := c.st.PublicKeys(ctx)
	if err != nil {
		return rep, err
	}
	listed := map[int64]bool{} // the files some digest lists
	// check judges each file named object that the case read against the hash a digest gives
	// for it (one check when none was read): a copy that differs is named even beside a good one.
	check := func(kind, object, digest, want string) []IntegrityCheck {
		found := byName[fileKey(object)]
		if len(found) == 0 {
			return []IntegrityCheck{{Status: IntegrityMissing, Kind: kind, Object: object, Digest: digest, Want: want}}
		}
		out := make([]IntegrityCheck, len(found))
		for i, f := range found {
			listed[f.ID] = true
			ch := IntegrityCheck{Status: IntegrityModified, Kind: kind, Object: object, File: f.Name(), Digest: digest,
				Want: want, Got: f.PlainSHA256}
			switch f.PlainSHA256 {
			case want:
				ch.Status = IntegrityValid
			case "":
				ch.Status = IntegrityUnhashed
			}
			out[i] = ch
		}
		return out
	}
	addAll := func(chs []IntegrityCheck) error {
		for _, ch := range chs {
			if err := add(ch); err != nil {
				return err
			}
		}
		return nil
	}
	// What the chains need of each digest, checked once all are read.
	type link struct {
		chain, object, previous, previousHash string
		start                                 time.Time
	}
	var links []link
	type span struct{ from, to time.Time }
	covered := map[string]span{} // account/region → the hours its digests cover
	first := map[string]time.Time{}
	err = c.st.Digests(ctx, func(raw []byte, fileID int64) error {
		rep.Digests++
		d, err := cloudtrail.ParseDigest(raw)
		if err != nil {
			// A digest that cannot be read checks nothing; say so rather than stop the check.
			return add(IntegrityCheck{Status: IntegrityModified, Kind: "digest", Object: byID[fileID].Name(),
				File: byID[fileID].Name(), Want: err.Error()})
		}
		if f := byID[fileID]; f.Signature != "" {
			if err := add(checkSignature(d, f, keys)); err != nil {
				return err
			}
		}
		if s, ok := first[d.Chain()]; !ok || d.Start.Before(s) {
			first[d.Chain()] = d.Start
		}
		key := d.Account + "/" + d.Region()
		s, ok := covered[key]
		if !ok || d.Start.Before(s.from) {
			s.from = d.Start
		}
		if d.End.After(s.to) {
			s.to = d.End
		}
		covered[key] = s
		if d.PreviousObject != "" {
			links = append(links, link{d.Chain(), d.Object, d.PreviousObject, d.PreviousHash, d.Start})
		}
		for _, l := range d.Logs {
			if err := addAll(check("log", l.Object, d.Object, l.Hash)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, l := range links {
		chs := check("digest", l.previous, l.object, l.previousHash)
		if chs[0].Status == IntegrityMissing && l.start.Equal(first[l.chain]) {
			continue // the chain starts before the digests the case holds
		}
		if err := addAll(chs); err != nil {
			return rep, err
		}
	}
	// Log files in an hour some digest of their account and region covers, that none lists.
	// A log file is listed by the digest delivered after it, so the last hour is left out.
	for _, l := range logs {
		f := l.f
		if listed[f.ID] {
			continue
		}
		s, ok := covered[l.account+"/"+l.region]
		if !ok || l.delivered.Before(s.from) || !l.delivered.Before(s.to.Add(-time.Hour)) {
			continue
		}
		err := add(IntegrityCheck{Status: IntegrityUnlisted, Kind: "log", Object: cloudtrail.BaseName(f.Name()),
			File: f.Name(), Got: f.PlainSHA256})
		if err != nil {
			return rep, err
		}
	}
	rank := map[string]int{IntegrityModified: 0, IntegrityMissing: 1, IntegrityUnlisted: 2, IntegrityNoKey: 3, IntegrityUnhashed: 4,
		IntegrityValid: 5}
	slices.SortFunc(rep.Checks, func(a, b IntegrityCheck) int {
		return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), cmp.Compare(a.Object, b.Object), cmp.Compare(a.File, b.File))
	})
	return rep, nil
}

// checkSignature checks the signature CloudTrail put on digest d, read from file f, with the
// public key the case keeps for it.
func checkSignature(d cloudtrail.Digest, f store.FileRecord, keys map[string]store.PublicKey) IntegrityCheck {
	ch := IntegrityCheck{Status: IntegrityValid, Kind: "signature", Object: d.Object, File: f.Name(), Digest: d.Object,
		Want: "key " + d.Fingerprint, Got: f.Signature}
	k, ok := keys[d.Fingerprint]
	switch {
	case !ok:
		ch.Status = IntegrityNoKey
	case f.PlainSHA256 == "":
		ch.Status = IntegrityUnhashed
	case d.VerifySignature(f.PlainSHA256, f.Signature, k.Value) != nil:
		ch.Status = IntegrityModified
	}
	return ch
}

// fileKey is the name a file is matched by: its base name, less a ".gz" that an export
// decompressed (gunzip -r) has lost; the plain content, and so its hash, is the same.
func fileKey(name string) string { return strings.TrimSuffix(cloudtrail.BaseName(name), ".gz") }

// Summary says in a sentence or two what the check found: the files, then the signatures.
func (r IntegrityReport) Summary() string {
	if r.Digests == 0 {
		return "No CloudTrail digest files among the files read: nothing to check against. (Digests are delivered beside the logs, under CloudTrail-Digest/, when the trail has log file validation on.)"
	}
	total := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	s := fmt.Sprintf("%s checked against %s: %d valid", Counted(int64(total(r.Counts)), "file", "files"),
		Counted(int64(r.Digests), "digest", "digests"), r.Counts[IntegrityValid])
	for _, st := range []string{IntegrityModified, IntegrityMissing, IntegrityUnlisted, IntegrityUnhashed} {
		if n := r.Counts[st]; n > 0 {
			s += fmt.Sprintf(", %d %s", n, st)
		}
	}
	s += "."
	ns := total(r.Signatures)
	if ns == 0 {
		return s + " Signatures not checked: no digest came with one (CloudTrail signs digests in their S3 objects' metadata, which a copy on disk lacks)."
	}
	s += fmt.Sprintf(" %s: %d valid", Counted(int64(ns), "signature", "signatures"), r.Signatures[IntegrityValid])
	if n := r.Signatures[IntegrityModified]; n > 0 {
		s += fmt.Sprintf(", %d not CloudTrail's", n)
	}
	if n := r.Signatures[IntegrityNoKey]; n > 0 {
		s += fmt.Sprintf(", %d unchecked for want of CloudTrail's public key (cloudtrail:ListPublicKeys, asked as a load from S3 ends)", n)
	}
	if n := r.Signatures[IntegrityUnhashed]; n > 0 {
		s += fmt.Sprintf(", %d unchecked (read before plain hashes were kept)", n)
	}
	return s + "."
}
