package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/sigma"
	"github.com/trailscope/trailscope/data/store"
)

// settingRulesPack is the version of the built-in pack a case has been given (see InstallRules).
const settingRulesPack = "rules_pack"

// rulesPack is the built-in pack's version: raise it when a rule is added, so that cases that
// have the older pack get the new rule (and not, again, the ones their users deleted).
const rulesPack = "4"

// BuiltinRules is the pack of well-known CloudTrail detections every case starts with. Each is
// exact: it names events that are worth a look whatever the baseline says, which matters most
// when there is little history to learn from.
func BuiltinRules() []store.Rule {
	r := func(name, stage string, severity int, tags, query, desc string) store.Rule {
		return store.Rule{Name: name, Stage: stage, Severity: severity, Tags: strings.Split(tags, ","), Query: query,
			Description: desc, Every: 60, Label: "built-in", Enabled: true, Builtin: true}
	}
	// burst is a rule that counts: threshold matches within window minutes by one value of group;
	// distinct makes it count the distinct values of a field among them.
	burst := func(threshold, window int, group string, r store.Rule) store.Rule {
		r.Threshold, r.Window, r.GroupBy = threshold, window, group
		return r
	}
	distinct := func(field string, r store.Rule) store.Rule {
		r.Distinct = field
		return r
	}
	return []store.Rule{
		r("CloudTrail logging stopped or deleted", "Defense Evasion", 9, "T1562.008",
			"eventSource:cloudtrail.amazonaws.com AND (eventName:StopLogging OR eventName:DeleteTrail)",
			"A trail stops recording: what follows may never reach the logs."),
		r("CloudTrail trail or event selectors changed", "Defense Evasion", 7, "T1562.008",
			"eventSource:cloudtrail.amazonaws.com AND (eventName:UpdateTrail OR eventName:PutEventSelectors OR eventName:PutInsightSelectors)",
			"What a trail records was changed: selectors can drop data or management events quietly."),
		r("Detection or audit service disabled", "Defense Evasion", 8, "T1562.001",
			"eventName:DeleteDetector OR eventName:DisassociateFromMasterAccount OR eventName:StopConfigurationRecorder OR "+
				"eventName:DeleteConfigurationRecorder OR eventName:DeleteDeliveryChannel OR eventName:DisableSecurityHub",
			"GuardDuty, AWS Config or Security Hub turned off."),
		r("Network or DNS logs deleted", "Defense Evasion", 7, "T1562.008",
			"eventName:DeleteFlowLogs OR eventName:DeleteResolverQueryLogConfig OR eventName:DisassociateResolverQueryLogConfig",
			"VPC flow logs or Route 53 resolver query logging removed."),
		r("Account left its organisation", "Defense Evasion", 9, "T1562",
			"eventName:LeaveOrganization", "The account leaves the organisation's guardrails and central logging."),
		r("Root user activity", "Privilege Escalation", 8, "T1078.004",
			"userIdentity.type:Root -eventType:AwsServiceEvent",
			"The root user has no limits; everyday work should never need it."),
		r("Console login without MFA", "Initial Access", 6, "T1078.004",
			"eventName:ConsoleLogin AND additionalEventData.MFAUsed:No AND responseElements.ConsoleLogin:Success",
			"A password alone opened the console."),
		r("Failed console login", "Credential Access", 4, "T1110",
			"eventName:ConsoleLogin AND responseElements.ConsoleLogin:Failure", "A console sign-in was refused."),
		r("Snapshot or image shared", "Exfiltration", 8, "T1537",
			"(eventName:ModifySnapshotAttribute AND requestParameters.createVolumePermission.add:*) OR "+
				"(eventName:ModifyImageAttribute AND requestParameters.launchPermission.add:*) OR "+
				"(eventName:ModifyDBSnapshotAttribute AND requestParameters.attributeName:restore) OR "+
				"(eventName:ModifyDBClusterSnapshotAttribute AND requestParameters.attributeName:restore)",
			"An EBS snapshot, AMI or RDS snapshot made usable by another account."),
		r("Access key created", "Persistence", 5, "T1098.001",
			"eventName:CreateAccessKey", "Long-lived keys for an IAM user: a common backdoor."),
		r("Console password created or changed", "Persistence", 6, "T1098",
			"eventName:CreateLoginProfile OR eventName:UpdateLoginProfile", "An IAM user can now sign in to the console."),
		r("Administrator policy attached", "Privilege Escalation", 8, "T1098.003",
			"(eventName:AttachUserPolicy OR eventName:AttachRolePolicy OR eventName:AttachGroupPolicy) AND requestParameters.policyArn:*AdministratorAccess",
			"Full rights granted to a user, role or group."),
		r("Role trust policy changed", "Persistence", 6, "T1098",
			"eventName:UpdateAssumeRolePolicy", "Who may assume a role was changed: a way back in."),
		r("Federation token issued", "Persistence", 3, "T1550.001",
			"eventName:GetFederationToken", "Temporary credentials that outlive the user's key being disabled. "+
				"Some federation brokers and billing tools ask for them all day: disable the rule where that is so."),
		r("Instance credentials listing buckets", "Discovery", 6, "T1619",
			"eventName:ListBuckets AND userIdentity.arn:*:assumed-role/*/i-*",
			"An EC2 instance role listing every bucket: workloads rarely need to; stolen credentials often do."),
		r("Windows password data read", "Credential Access", 6, "T1552.005",
			"eventName:GetPasswordData", "The administrator password of a Windows instance asked for."),
		r("Secrets read in a batch", "Credential Access", 5, "T1555.006",
			"eventName:BatchGetSecretValue", "Several Secrets Manager secrets read in one call."),
		r("Security group opened to the internet", "Lateral Movement", 6, "T1021",
			"eventName:AuthorizeSecurityGroupIngress AND (requestParameters.cidrIp:*/0 OR "+
				"requestParameters.ipPermissions.items.ipRanges.items.cidrIp:*/0 OR requestParameters.ipPermissions.items.ipv6Ranges.items.cidrIpv6:*/0)",
			"Inbound traffic allowed from any address (a /0 range)."),
		r("Lambda function opened to anyone", "Persistence", 7, "T1546",
			`eventName:AddPermission* AND eventSource:lambda.amazonaws.com AND requestParameters.principal:"*"`,
			"Any AWS account, or anyone, may now invoke the function."),
		r("Lambda layer attached outside a deployment tool", "Persistence", 3, "T1546",
			"eventName:UpdateFunctionConfiguration* AND requestParameters.layers:* -userAgent:*terraform* "+
				"-userIdentity.invokedBy:* -sourceIPAddress:cloudformation.amazonaws.com",
			"A layer's code now runs inside the function on every invocation, a quiet way to stay. "+
				"Deployments attach layers all the time: Terraform's and CloudFormation's are left out, and the severity is low."),
		r("IAM Roles Anywhere trust anchor created", "Persistence", 7, "T1098",
			"eventName:CreateTrustAnchor", "Certificates from an outside authority can now obtain role credentials."),
		r("Instance user data changed", "Execution", 6, "T1059.009",
			"eventName:ModifyInstanceAttribute AND requestParameters.userData:*", "Code that runs when the instance next starts."),
		r("Instance user data read", "Credential Access", 4, "T1552.005",
			"eventName:DescribeInstanceAttribute AND requestParameters.attribute:userData", "User data often holds secrets."),
		r("Command run on instances through SSM", "Execution", 4, "T1651",
			"eventSource:ssm.amazonaws.com AND (eventName:SendCommand OR eventName:StartSession)",
			"A shell on an instance, without SSH."),
		r("SSH key pushed to an instance", "Lateral Movement", 5, "T1021.004",
			"eventName:SendSSHPublicKey OR eventName:SendSerialConsoleSSHPublicKey OR eventName:EnableSerialConsoleAccess",
			"EC2 Instance Connect or the serial console opened to a key."),
		r("GPU instances launched", "Impact", 5, "T1496",
			"eventName:RunInstances AND (requestParameters.instanceType:p* OR requestParameters.instanceType:g*)",
			"Costly accelerated instances, a favourite of cryptomining."),
		r("Bedrock model access enabled", "Impact", 5, "T1496",
			"eventSource:bedrock.amazonaws.com AND (eventName:PutFoundationModelEntitlement OR eventName:PutUseCaseForModelAccess OR eventName:CreateFoundationModelAgreement)",
			"Foundation models switched on: stolen keys are resold for LLM access."),
		r("KMS key disabled or scheduled for deletion", "Impact", 7, "T1485",
			"eventName:ScheduleKeyDeletion OR eventName:DisableKey", "Data encrypted under the key becomes unreadable."),
		r("Offensive security tool user agent", "Initial Access", 8, "T1078.004",
			"userAgent:*kali* OR userAgent:*parrot* OR userAgent:*pentoo* OR userAgent:*pacu*",
			"Calls made from a penetration-testing distribution or framework."),
		// Pack 2: bursts. Each counts by the caller, so that one busy application's rate does
		// not add up with another's; sessions of a role count apart, as its ARN names them.
		burst(5, 10, "sourceIPAddress", r("Console sign-in failures from one address", "Credential Access", 7, "T1110.001",
			"eventName:ConsoleLogin AND responseElements.ConsoleLogin:Failure",
			"Five refused console sign-ins from one address within ten minutes: passwords being guessed.")),
		// Scripted enumeration is fast: the Stratus detonations were refused 32 times in 11 s
		// and 17 in 7 s; a security scanner's run spreads its refusals over minutes.
		burst(20, 1, "userIdentity.arn", r("Burst of access-denied errors", "Discovery", 5, "T1580,T1087.004",
			"errorCode:*AccessDenied* OR errorCode:*UnauthorizedOperation* OR errorCode:*UnauthorizedAccess*",
			"One caller refused twenty times within a minute: a script trying what a set of credentials allows. "+
				"Security scanners (Prowler, ScoutSuite) can do it on every run: narrow the query to leave theirs out.")),
		// A sweep reads secret after secret in seconds. Counted by distinct secret, a busy
		// function re-reading its own does not add up; by the minute, neither did the 1M-event
		// corpus's workloads, which read from all of their account's secrets (ten distinct
		// within ten minutes: 744 matches there).
		distinct("requestParameters.secretId", burst(10, 1, "userIdentity.arn", r("Many secrets read by one caller", "Credential Access", 6, "T1555.006",
			"eventName:GetSecretValue -userAgent:*terraform* -userIdentity.invokedBy:*",
			"Ten different Secrets Manager secrets read by one caller within a minute: a script sweeping them. "+
				"Terraform refreshes every secret it manages on each run, and AWS services read them on a deployment's behalf: both are left out."))),
		// The same sweep in Parameter Store: GetParameters decrypts up to ten names a call, and
		// each name counts, so ten calls re-reading one application's settings do not add up.
		distinct("requestParameters.names", burst(10, 1, "userIdentity.arn", r("Many parameters decrypted by one caller", "Credential Access", 6, "T1552",
			"eventName:GetParameters AND requestParameters.withDecryption:true -userAgent:*terraform* -userIdentity.invokedBy:*",
			"Ten different SecureString parameters decrypted by one caller within a minute: a script sweeping Parameter Store. "+
				"Terraform refreshes the parameters it manages on each run, and AWS services read them on a deployment's behalf: both are left out."))),
		burst(5, 10, "userIdentity.arn", r("Instances launched in a burst", "Impact", 5, "T1496",
			"eventName:RunInstances -userIdentity.invokedBy:*",
			"Five launch calls by one caller within ten minutes, not by an AWS service such as Auto Scaling: cryptomining starts so.")),
		burst(100, 10, "userIdentity.arn", r("Many objects deleted by one caller", "Impact", 5, "T1485",
			"eventName:DeleteObject OR eventName:DeleteObjects",
			"A hundred S3 delete calls by one caller within ten minutes (data events): a clean-up job, or data being destroyed.")),
		// Pack 4: exposure, identity and detection changes that no Stratus detonation here
		// makes, but that investigations meet.
		r("S3 bucket opened to the public", "Exfiltration", 7, "T1530",
			`(eventName:PutBucketPolicy AND (requestParameters.bucketPolicy.Statement.Principal:"*" OR requestParameters.bucketPolicy.Statement.Principal.AWS:"*")) OR `+
				"(eventName:PutBucketAcl AND (requestParameters.AccessControlPolicy.AccessControlList.Grant.Grantee.URI:*/global/AllUsers OR "+
				"requestParameters.AccessControlPolicy.AccessControlList.Grant.Grantee.URI:*/global/AuthenticatedUsers OR "+
				"requestParameters.x-amz-acl:public-read* OR requestParameters.x-amz-acl:authenticated-read)) OR "+
				"eventName:DeleteBucketPublicAccessBlock OR eventName:DeleteAccountPublicAccessBlock",
			"A bucket policy naming anyone as principal, an ACL granting all users or all AWS accounts, or the public access block removed. "+
				"A policy's conditions may still narrow who gets in: read them."),
		r("MFA device removed", "Defense Evasion", 6, "T1556.006",
			"eventName:DeactivateMFADevice OR eventName:DeleteVirtualMFADevice",
			"A user's second factor taken away: the password alone opens the console again."),
		r("IAM policy version made the default", "Privilege Escalation", 5, "T1098.003",
			"((eventName:CreatePolicyVersion AND requestParameters.setAsDefault:true) OR eventName:SetDefaultPolicyVersion) "+
				"-userAgent:*terraform* -userIdentity.invokedBy:* -sourceIPAddress:cloudformation.amazonaws.com",
			"A managed policy's rights rewritten in place, for everyone it is attached to: a quiet escalation when the caller is among them. "+
				"Terraform and CloudFormation do it on every policy change: they are left out."),
		r("Identity provider created or changed", "Persistence", 6, "T1484.002",
			"eventName:CreateSAMLProvider OR eventName:UpdateSAMLProvider OR eventName:CreateOpenIDConnectProvider OR "+
				"eventName:UpdateOpenIDConnectProviderThumbprint OR eventName:AddClientIDToOpenIDConnectProvider",
			"Whoever holds the provider's signing key can now sign in as the roles that trust it."),
		r("GuardDuty findings suppressed", "Defense Evasion", 7, "T1562.001",
			"eventSource:guardduty.amazonaws.com AND ((eventName:UpdateDetector AND requestParameters.enable:false) OR "+
				"((eventName:CreateFilter OR eventName:UpdateFilter) AND requestParameters.action:ARCHIVE) OR "+
				"eventName:CreateIPSet OR eventName:UpdateIPSet OR eventName:DeletePublishingDestination)",
			"The detector paused, findings archived as they arrive, addresses made trusted (no findings for them), or findings no longer exported."),
		r("S3 versioning suspended", "Impact", 5, "T1490",
			"eventName:PutBucketVersioning AND requestParameters.VersioningConfiguration.Status:Suspended",
			"Overwritten and deleted objects are no longer kept: what ransomware turns off before it encrypts or deletes."),
		r("EC2 key pair created or imported", "Persistence", 4, "T1098.004",
			"(eventName:ImportKeyPair OR eventName:CreateKeyPair) -userAgent:*terraform* -userIdentity.invokedBy:* -sourceIPAddress:cloudformation.amazonaws.com",
			"An SSH key that new instances can be launched with. Terraform and CloudFormation are left out."),
		r("Lambda function URL without authentication", "Persistence", 6, "T1546",
			"(eventName:CreateFunctionUrlConfig* OR eventName:UpdateFunctionUrlConfig*) AND requestParameters.authType:NONE",
			"Anyone on the internet may now call the function over HTTPS."),
		r("Database master password changed", "Persistence", 5, "T1098",
			"(eventName:ModifyDBInstance OR eventName:ModifyDBCluster) AND requestParameters.masterUserPassword:* -userAgent:*terraform* -userIdentity.invokedBy:*",
			"Whoever set it can sign in to the database as its owner. Terraform is left out."),
		r("Account password policy deleted", "Defense Evasion", 5, "T1556",
			"eventName:DeleteAccountPasswordPolicy",
			"IAM users' passwords no longer need length, variety or rotation."),
		r("Domain transferred away", "Impact", 7, "T1584.001",
			"eventName:TransferDomainToAnotherAwsAccount OR eventName:DisableDomainTransferLock",
			"A registered domain offered to another account, or unlocked for transfer to another registrar: whoever takes it answers for the name."),
		r("Database opened to the internet", "Exfiltration", 6, "T1530",
			"(eventName:ModifyDBInstance OR eventName:CreateDBInstance OR eventName:RestoreDBInstanceFromDBSnapshot OR eventName:RestoreDBInstanceToPointInTime) "+
				"AND requestParameters.publiclyAccessible:true",
			"An RDS instance given a public address: its security groups are all that stand in the way."),
		r("S3 replication configured outside a deployment tool", "Exfiltration", 5, "T1537",
			"eventName:PutBucketReplication -userAgent:*terraform* -userIdentity.invokedBy:* -sourceIPAddress:cloudformation.amazonaws.com",
			"Every new object of the bucket copied to another bucket, which may belong to another account. Terraform and CloudFormation are left out."),
		r("Traffic mirroring set up", "Collection", 5, "T1040",
			"eventName:CreateTrafficMirrorSession OR eventName:CreateTrafficMirrorTarget",
			"A copy of an instance's network traffic sent elsewhere."),
		r("EBS encryption by default turned off", "Defense Evasion", 4, "T1562",
			"eventName:DisableEbsEncryptionByDefault",
			"New volumes and snapshot copies in the region are no longer encrypted unless asked."),
		r("CloudWatch alarms deleted or silenced", "Defense Evasion", 4, "T1562.001",
			"(eventName:DeleteAlarms OR eventName:DisableAlarmActions) -userAgent:*terraform* -userIdentity.invokedBy:* -sourceIPAddress:cloudformation.amazonaws.com",
			"Alarms that would have told someone no longer do. Terraform and CloudFormation are left out."),
		r("User added to an administrators group", "Privilege Escalation", 6, "T1098",
			"eventName:AddUserToGroup AND requestParameters.groupName:*admin*",
			"Group membership grants the group's rights at once; a group named for administrators usually holds them all."),
		r("IAM user created outside a deployment tool", "Persistence", 4, "T1136.003",
			"eventName:CreateUser -userAgent:*terraform* -userIdentity.invokedBy:* -sourceIPAddress:cloudformation.amazonaws.com",
			"A new long-lived identity. Terraform and CloudFormation are left out."),
	}
}

// InstallRules gives the case the built-in pack the first time it opens with this version of it:
// rules it lacks by name are added, and none the user deleted comes back until the pack grows.
func (c *Case) InstallRules(ctx context.Context) error {
	have, err := c.st.Setting(ctx, settingRulesPack, "")
	if err != nil || have == rulesPack {
		return err
	}
	rules, err := c.st.Rules(ctx)
	if err != nil {
		return err
	}
	for _, r := range BuiltinRules() {
		if slices.ContainsFunc(rules, func(o store.Rule) bool { return o.Name == r.Name }) {
			continue
		}
		if _, err := c.st.SaveRule(ctx, r); err != nil {
			return err
		}
	}
	return c.st.SetSetting(ctx, settingRulesPack, rulesPack)
}

// Rules lists the case's rules, highest severity first.
func (c *Case) Rules(ctx context.Context) ([]store.Rule, error) { return c.st.Rules(ctx) }

// ValidateRule says what is wrong with a rule, naming the field.
func ValidateRule(r store.Rule) error {
	switch {
	case strings.TrimSpace(r.Name) == "":
		return errors.New("name: a rule needs a name")
	case strings.TrimSpace(r.Query) == "":
		return errors.New("query: a rule needs a query")
	case r.Severity < 1 || r.Severity > 10:
		return fmt.Errorf("severity: %d is not 1–10", r.Severity)
	case r.Every < 1:
		return fmt.Errorf("schedule: every %d minutes is not a schedule", r.Every)
	case r.Stage != "" && !slices.Contains(finding.Stages, r.Stage):
		return fmt.Errorf("stage: %q is not one of %s", r.Stage, strings.Join(finding.Stages, ", "))
	case r.Threshold < 0 || r.Threshold > store.MaxThreshold:
		return fmt.Errorf("threshold: %d is not 0–%d", r.Threshold, store.MaxThreshold)
	case r.Bursts() && (r.Window < 1 || r.Window > store.MaxWindow):
		return fmt.Errorf("window: %d minutes is not 1 minute to a day", r.Window)
	}
	if _, ok := query.GroupColumn(r.GroupBy); r.Bursts() && r.GroupBy != "" && !ok {
		return fmt.Errorf("group by: %q is not one of %s", r.GroupBy, strings.Join(query.GroupFields, ", "))
	}
	if _, _, ok := query.ValueOf(r.Distinct); r.Bursts() && r.Distinct != "" && !ok {
		return fmt.Errorf("distinct: %q is not a field path (names joined by dots, as requestParameters.secretId)", r.Distinct)
	}
	if _, err := query.Parse(r.Query); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return nil
}

// tidyRule trims a rule's texts, spells its fields as CloudTrail does, and clears the window,
// group and distinct field of a rule that takes each match.
func tidyRule(r store.Rule) store.Rule {
	r.Name, r.Query = strings.TrimSpace(r.Name), strings.TrimSpace(r.Query)
	r.GroupBy = query.CanonicalField(strings.TrimSpace(r.GroupBy))
	r.Distinct = query.CanonicalField(strings.TrimSpace(r.Distinct))
	if !r.Bursts() {
		r.Threshold, r.Window, r.GroupBy, r.Distinct = 0, 0, "", ""
	}
	return r
}

// SaveRule validates and stores a rule (a new one when its ID is 0), and returns its ID. A rule
// that takes each match keeps no window or group; a burst rule's group is spelled as CloudTrail
// spells it.
func (c *Case) SaveRule(ctx context.Context, r store.Rule) (int64, error) {
	r = tidyRule(r)
	if err := ValidateRule(r); err != nil {
		return 0, err
	}
	return c.st.SaveRule(ctx, r)
}

// DeleteRule removes a rule and its indicators.
func (c *Case) DeleteRule(ctx context.Context, id int64) error { return c.st.DeleteRule(ctx, id) }

// RunRules runs the enabled rules over the events that arrived since each last ran, all of them
// or (due) those whose schedule says it is time at now, and returns how many indicators they
// added. A rule whose words need the full-text index runs up to where the index reaches.
func (c *Case) RunRules(ctx context.Context, now time.Time, due bool) (int64, error) {
	rules, err := c.st.Rules(ctx)
	if err != nil {
		return 0, err
	}
	// Taken once: events that arrive meanwhile are the next run's.
	marks, err := c.st.RuleMarks(ctx)
	if err != nil {
		return 0, err
	}
	// Each rule's matches are read on the read pool, side by side (a first run over a million
	// events reads them all, per rule); the writer then records them one by one.
	type job struct {
		r   store.Rule
		run store.RuleRun
		err error
	}
	var jobs []*job
	for _, r := range rules {
		if !r.Enabled || due && !r.LastRun.IsZero() && now.Sub(r.LastRun) < time.Duration(r.Every)*time.Minute {
			continue
		}
		jobs = append(jobs, &job{r: r})
	}
	next := make(chan *job)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				f, err := Compile(j.r.Query, time.Time{}, time.Time{})
				if err == nil {
					j.run, err = c.st.MatchRule(ctx, j.r.ID, f, burstOf(j.r), marks.For(f))
				}
				j.err = err
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var added int64
	for _, j := range jobs {
		n, err := int64(0), j.err
		if err == nil {
			n, err = c.st.RecordRule(ctx, j.run, now)
		}
		if err != nil {
			return added, fmt.Errorf("rule %q: %w", j.r.Name, err)
		}
		added += n
	}
	return added, nil
}

// PreviewRule counts the events r would make indicators of over the whole case, without saving
// it: to try a threshold before keeping it.
func (c *Case) PreviewRule(ctx context.Context, r store.Rule) (int64, error) {
	r = tidyRule(r)
	if r.Name == "" {
		r.Name = "preview" // a rule tried before it is named
	}
	if err := ValidateRule(r); err != nil {
		return 0, err
	}
	f, err := Compile(r.Query, time.Time{}, time.Time{})
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	return c.st.RuleMatches(ctx, f, burstOf(r))
}

// MatchesQuery is the query that finds the events a rule matched (its indicators): for a burst
// rule, fewer than its own query finds.
func MatchesQuery(r store.Rule) string { return query.FieldValue(query.RuleField, r.Name) }

// burstOf is what a burst rule counts, in the store's terms; the zero Burst for other rules.
func burstOf(r store.Rule) store.Burst {
	if !r.Bursts() {
		return store.Burst{}
	}
	col, _ := query.GroupColumn(r.GroupBy) // checked by ValidateRule; "" counts all together
	b := store.Burst{Min: r.Threshold, Window: time.Duration(r.Window) * time.Minute, Column: col}
	if r.Distinct != "" {
		b.Distinct.Column, b.Distinct.Path, _ = query.ValueOf(r.Distinct)
	}
	return b
}

// BurstWords says what a burst rule counts, as a person would ("5 or more in 10 minutes by
// sourceIPAddress"); "" for a rule that takes each match.
func BurstWords(r store.Rule) string {
	if !r.Bursts() {
		return ""
	}
	s := fmt.Sprintf("%d or more in %s", r.Threshold, MinutesWords(r.Window))
	if r.Distinct != "" {
		s = fmt.Sprintf("%d or more distinct %s in %s", r.Threshold, r.Distinct, MinutesWords(r.Window))
	}
	if r.GroupBy != "" {
		s += " by " + r.GroupBy
	}
	return s
}

// MinutesWords says a span of minutes in the largest whole unit: 90 minutes, 2 hours, 1 day.
func MinutesWords(m int) string {
	unit, n := "minute", m
	switch {
	case m >= 1440 && m%1440 == 0:
		unit, n = "day", m/1440
	case m >= 60 && m%60 == 0:
		unit, n = "hour", m/60
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// ImportSigma adds the Sigma rule (AWS CloudTrail) in the file at path, and returns it with its
// ID; an error names the file.
func (c *Case) ImportSigma(ctx context.Context, path string) (store.Rule, error) {
	r, err := readSigma(path)
	if err == nil {
		r.ID, err = c.SaveRule(ctx, r)
	}
	if err != nil {
		return store.Rule{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// readSigma reads a Sigma rule file, refusing one far larger than a rule before reading it all.
func readSigma(path string) (store.Rule, error) {
	fh, err := os.Open(path)
	if err != nil {
		return store.Rule{}, err
	}
	defer fh.Close()
	src, err := io.ReadAll(io.LimitReader(fh, 4<<20))
	if err != nil {
		return store.Rule{}, err
	}
	return sigma.Import(src)
}

// ExportSigma writes a rule as a Sigma rule for AWS CloudTrail.
func ExportSigma(r store.Rule) ([]byte, error) { return sigma.Export(r) }

// SigmaFileName is a file name for a rule's Sigma form: its name in lower case, words joined by
// underscores, as SigmaHQ names its files.
func SigmaFileName(r store.Rule) string { return sigma.Slug(r.Name) + ".yml" }
