// Package finding holds the results of analysis as they are stored, listed and drawn: anomalies
// with their explained factors, and the per-direction series behind the dashboard charts.
package finding

import "time"

// Stages are the kill-chain stages a rule may name: the tactics of MITRE ATT&CK for cloud, in
// the order an intrusion meets them.
var Stages = []string{"Reconnaissance", "Initial Access", "Execution", "Persistence", "Privilege Escalation",
	"Defense Evasion", "Credential Access", "Discovery", "Lateral Movement", "Collection", "Exfiltration", "Impact"}

// Entity types an anomaly can be about.
const (
	EntityIP        = "ip"
	EntityPrincipal = "principal"
	EntityAPI       = "api"
	EntityAccount   = "account"
)

// Factor labels: how unusual an observed value is against the baseline.
const (
	LabelNew        = "new"
	LabelRare       = "rare"
	LabelInfrequent = "infrequent"
	LabelFrequent   = "frequent"
	LabelSpike      = "spike"
	LabelDrop       = "drop"
)

// Verdicts an analyst gives an anomaly; none (the empty string) means not reviewed yet.
const (
	VerdictBenign    = "benign"    // explained, nothing to do
	VerdictFollowUp  = "follow-up" // not explained yet: to look into
	VerdictMalicious = "malicious" // part of an intrusion
)

// Verdicts lists the verdicts, from the least to the most serious.
var Verdicts = []string{VerdictBenign, VerdictFollowUp, VerdictMalicious}

// VerdictText says what a verdict means, as the window offers it and a report heads it.
func VerdictText(verdict string) string {
	switch verdict {
	case VerdictBenign:
		return "Benign: explained, nothing to do"
	case VerdictFollowUp:
		return "Follow-up: not explained yet"
	case VerdictMalicious:
		return "Malicious: part of an intrusion"
	}
	return "Not reviewed"
}

// Anomaly is a group of findings for one entity in one window, with a risk level 1–10 and the
// factors that explain it. Its JSON form is the public contract of `trailscope anomalies`.
type Anomaly struct {
	ID          string    `json:"id"`
	Risk        int       `json:"risk"`
	Direction   string    `json:"direction"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	EntityType  string    `json:"entity_type"`
	Entity      string    `json:"entity"`
	Title       string    `json:"title"`
	Factors     []Factor  `json:"factors"`
	EventIDs    []string  `json:"event_ids"`
	Score       float64   `json:"score"`      // the raw score behind Risk, for ordering ties
	Confidence  string    `json:"confidence"` // "full", or why it is lowered (short history, only volume)
	// Verdict and Note are an analyst's triage of the anomaly (see Verdicts), when given: not
	// part of the analysis, and kept when it runs again.
	Verdict string `json:"verdict,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Factor is one reason an anomaly stands out: what was observed against what is normal.
// Observed and Baseline hold a number or a string.
type Factor struct {
	Name     string  `json:"name"`
	Observed any     `json:"observed"`
	Baseline any     `json:"baseline"`
	Label    string  `json:"label"`
	Weight   float64 `json:"weight,omitempty"` // share of the score this factor carries
}

// Point is one bin of one direction's series: the observed count and the expected band.
type Point struct {
	Direction string    `json:"direction"`
	BinStart  time.Time `json:"bin_start"`
	Observed  float64   `json:"observed"`
	Expected  float64   `json:"expected"`
	Lower     float64   `json:"lower"`
	Upper     float64   `json:"upper"`
}

// Severity names a risk level's band: low, medium, high or critical.
func Severity(risk int) string {
	switch {
	case risk >= 9:
		return "critical"
	case risk >= 7:
		return "high"
	case risk >= 4:
		return "medium"
	}
	return "low"
}
