package app

import (
	"cmp"
	"context"
	"fmt"
	"maps"
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
	// The last digest of a chain that stops hours before the case's other chains, or its own
	// region's log files, do: the digests after it (and the log files they list) deleted, or
	// validation turned off. CloudTrail delivers a digest every hour, with or without logs.
	// Its Got is when the chain ends, its Want when the rest of the case does (RFC 3339).
	IntegrityEnded = "ended"
	// A digest's signature, kept from its S3 metadata, with no public key in the case to check
	// it against (CloudTrail's keys are fetched as a load from S3 ends; that needs
	// cloudtrail:ListPublicKeys).
	IntegrityNoKey = "no key"
)

// endSlack is how far before the rest of the case a chain of digests may end unremarked.
const endSlack = 2 * time.Hour

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
	return r.Counts[IntegrityModified] + r.Counts[IntegrityMissing] + r.Counts[IntegrityEnded] + r.Counts[IntegrityUnlisted] +
		r.Signatures[IntegrityModified]
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
//
// The newest hours leave no link behind them: deleting them, digests and logs alike, breaks no
// hash. So a chain must also last as long as the rest of the case (kind "digest", status
// "ended"): hours after its last digest ends, other chains go on, or its region's log files do.
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
	// Each chain: where it starts, its last digest, and the account/region it covers.
	type chainSpan struct {
		start, end     time.Time
		object, region string // of the last digest
		fileID         int64
	}
	chains := map[string]chainSpan{}
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
		key := d.Account + "/" + d.Region()
		s, ok := covered[key]
		if !ok || d.Start.Before(s.from) {
			s.from = d.Start
		}
		if d.End.After(s.to) {
			s.to = d.End
		}
		covered[key] = s
		ch, ok := chains[d.Chain()]
		if !ok || d.Start.Before(ch.start) {
			ch.start = d.Start
		}
		if !ok || d.End.After(ch.end) {
			ch.end, ch.object, ch.region, ch.fileID = d.End, d.Object, key, fileID
		}
		chains[d.Chain()] = ch
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
		if chs[0].Status == IntegrityMissing && l.start.Equal(chains[l.chain].start) {
			continue // the chain starts before the digests the case holds
		}
		if err := addAll(chs); err != nil {
			return rep, err
		}
	}
	// Chains that stop early, against the newest digest of any chain and against the newest
	// log file of their region. A digest comes within an hour after the hour it covers, and
	// the log files of the last hour are listed by a digest not delivered yet when an export
	// is cut: endSlack leaves that timing out.
	var newest time.Time
	for _, e := range chains {
		if e.end.After(newest) {
			newest = e.end
		}
	}
	lastLog := map[string]time.Time{} // account/region → its newest log file's delivery
	for _, l := range logs {
		if k := l.account + "/" + l.region; l.delivered.After(lastLog[k]) {
			lastLog[k] = l.delivered
		}
	}
	for _, chain := range slices.Sorted(maps.Keys(chains)) {
		e := chains[chain]
		until := newest
		if l := lastLog[e.region].Add(-time.Hour); l.After(until) {
			until = l
		}
		if e.end.Add(endSlack).After(until) {
			continue
		}
		err := add(IntegrityCheck{Status: IntegrityEnded, Kind: "digest", Object: e.object, File: byID[e.fileID].Name(),
			Want: until.Format(time.RFC3339), Got: e.end.Format(time.RFC3339)})
		if err != nil {
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
	rank := map[string]int{IntegrityModified: 0, IntegrityMissing: 1, IntegrityEnded: 2, IntegrityUnlisted: 3, IntegrityNoKey: 4,
		IntegrityUnhashed: 5, IntegrityValid: 6}
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

// chainName names a digest's chain as a person would, by the account and region in its S3 key
// (…/<account>/CloudTrail-Digest/<region>/…).
func chainName(object string) string {
	parts := strings.Split(object, "/")
	for i, p := range parts {
		if p == "CloudTrail-Digest" && i > 0 && i+1 < len(parts) {
			return parts[i-1] + " " + parts[i+1]
		}
	}
	return cloudtrail.BaseName(object)
}

// utcMinute writes an RFC 3339 time to the minute, as the rest of the summary reads.
func utcMinute(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return rfc3339
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
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
	if n := r.Counts[IntegrityEnded]; n > 0 {
		s += fmt.Sprintf("; %s ended hours before the rest of the case:", Counted(int64(n), "chain of digests", "chains of digests"))
		shown := 0
		for _, ch := range r.Checks {
			if ch.Status != IntegrityEnded {
				continue
			}
			if shown == 3 {
				s += fmt.Sprintf(" and %d more", n-shown)
				break
			}
			if shown++; shown > 1 {
				s += ","
			}
			s += fmt.Sprintf(" %s at %s (the case goes on to %s)", chainName(ch.Object), utcMinute(ch.Got), utcMinute(ch.Want))
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
