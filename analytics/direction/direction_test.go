package direction

import (
	"net/netip"
	"testing"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

func mustExtract(t testing.TB, raw string) cloudtrail.Event {
	t.Helper()
	e, err := cloudtrail.Extract([]byte(raw))
	if err != nil {
		t.Fatalf("extract %s: %v", raw, err)
	}
	return e
}

const head = `{"eventVersion":"1.08","eventTime":"2024-05-09T20:25:00Z","eventID":"x","recipientAccountId":"111122223333",`

func TestClassify(t *testing.T) {
	c := New(Settings{
		TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
		HomeAccounts:    []string{"444455556666"},
	})
	user := `"userIdentity":{"type":"IAMUser","accountId":"111122223333","arn":"arn:aws:iam::111122223333:user/alice"}`
	cases := []struct {
		name string
		raw  string
		want string
	}{
		{"external describe", head + user + `,"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","sourceIPAddress":"203.0.113.7"}`, cloudtrail.Inbound},
		{"external get object", head + user + `,"eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"203.0.113.7"}`, cloudtrail.Outbound},
		{"private get object", head + user + `,"eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"10.0.3.12"}`, cloudtrail.Internal},
		{"trusted network secret", head + user + `,"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","sourceIPAddress":"198.51.100.9"}`, cloudtrail.Internal},
		{"service caller", head + `"userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventSource":"kms.amazonaws.com","eventName":"GenerateDataKey","sourceIPAddress":"cloudtrail.amazonaws.com"}`, cloudtrail.Internal},
		{"aws internal", head + user + `,"eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"AWS Internal"}`, cloudtrail.Internal},
		{"invoked by", head + `"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/r/s","invokedBy":"athena.amazonaws.com"},"eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"athena.amazonaws.com"}`, cloudtrail.Internal},
		{"vpc endpoint", head + user + `,"eventSource":"s3.amazonaws.com","eventName":"ListObjects","sourceIPAddress":"54.1.2.3","vpcEndpointId":"vpce-0abc"}`, cloudtrail.Internal},
		{"ipv6 external", head + user + `,"eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"2001:db8::1"}`, cloudtrail.Inbound},
		{"malformed address", head + user + `,"eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"08.1.250.216"}`, cloudtrail.Inbound},
		{"snapshot shared to other account from inside", head + user + `,"eventSource":"ec2.amazonaws.com","eventName":"ModifySnapshotAttribute","sourceIPAddress":"10.0.0.5","requestParameters":{"snapshotId":"snap-1","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":"098797384747"}]}}}}`, cloudtrail.Outbound},
		{"snapshot shared to home account from inside", head + user + `,"eventSource":"ec2.amazonaws.com","eventName":"ModifySnapshotAttribute","sourceIPAddress":"10.0.0.5","requestParameters":{"snapshotId":"snap-1","createVolumePermission":{"add":{"items":[{"userId":"444455556666"}]}}}}`, cloudtrail.Internal},
		{"snapshot unshared from inside", head + user + `,"eventSource":"ec2.amazonaws.com","eventName":"ModifySnapshotAttribute","sourceIPAddress":"10.0.0.5","requestParameters":{"snapshotId":"snap-1","createVolumePermission":{"remove":{"items":[{"userId":"098797384747"}]}}}}`, cloudtrail.Internal},
		{"ami made public", head + user + `,"eventSource":"ec2.amazonaws.com","eventName":"ModifyImageAttribute","sourceIPAddress":"10.0.0.5","requestParameters":{"imageId":"ami-1","launchPermission":{"add":{"items":[{"group":"all"}]}}}}`, cloudtrail.Outbound},
		{"db snapshot public", head + user + `,"eventSource":"rds.amazonaws.com","eventName":"ModifyDBSnapshotAttribute","sourceIPAddress":"AWS Internal","requestParameters":{"attributeName":"restore","dBSnapshotIdentifier":"x","valuesToAdd":["all"]}}`, cloudtrail.Outbound},
		{"lambda permission to everyone", head + user + `,"eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2","sourceIPAddress":"10.1.1.1","requestParameters":{"action":"lambda:InvokeFunction","functionName":"f","principal":"*","statementId":"s"}}`, cloudtrail.Outbound},
		{"lambda permission to service", head + user + `,"eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2","sourceIPAddress":"10.1.1.1","requestParameters":{"action":"lambda:InvokeFunction","functionName":"f","principal":"s3.amazonaws.com"}}`, cloudtrail.Internal},
		{"bucket policy other account", head + user + `,"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","sourceIPAddress":"10.1.1.1","requestParameters":{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}}}`, cloudtrail.Outbound},
		{"bucket policy own account", head + user + `,"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","sourceIPAddress":"10.1.1.1","requestParameters":{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}]}}}`, cloudtrail.Internal},
		{"bucket acl all users", head + user + `,"eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl","sourceIPAddress":"10.1.1.1","requestParameters":{"bucketName":"b","AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AllUsers"},"Permission":"READ"}]}}}}`, cloudtrail.Outbound},
		{"resource share", head + user + `,"eventSource":"ram.amazonaws.com","eventName":"CreateResourceShare","sourceIPAddress":"10.1.1.1","requestParameters":{"name":"s","principals":["999988887777"]}}`, cloudtrail.Outbound},
		{"grant from external address", head + user + `,"eventSource":"kms.amazonaws.com","eventName":"CreateGrant","sourceIPAddress":"203.0.113.9","requestParameters":{"granteePrincipal":"arn:aws:iam::111122223333:role/r"}}`, cloudtrail.Outbound},
		{"shared snapshot copied by another account", head + `"userIdentity":{"accountId":"111122223333","invokedBy":"ec2.amazonaws.com"},"eventSource":"ec2.amazonaws.com","eventName":"SharedSnapshotCopyInitiated","eventType":"AwsServiceEvent","sourceIPAddress":"ec2.amazonaws.com","serviceEventDetails":{"snapshotId":"snap-1"}}`, cloudtrail.Outbound},
		{"no source at all", head + user + `,"eventSource":"iam.amazonaws.com","eventName":"ListUsers"}`, cloudtrail.Inbound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustExtract(t, tc.raw)
			if got := c.Classify(&e); got != tc.want {
				t.Errorf("Classify = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCustomEgress(t *testing.T) {
	c := New(Settings{EgressAPIs: []string{"ListUsers"}})
	e := mustExtract(t, head+`"userIdentity":{"type":"IAMUser"},"eventSource":"iam.amazonaws.com","eventName":"ListUsers","sourceIPAddress":"203.0.113.7"}`)
	if got := c.Classify(&e); got != cloudtrail.Outbound {
		t.Errorf("custom egress API: got %s, want outbound", got)
	}
	e = mustExtract(t, head+`"userIdentity":{"type":"IAMUser"},"eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"203.0.113.7"}`)
	if got := c.Classify(&e); got != cloudtrail.Inbound {
		t.Errorf("GetObject outside a custom catalogue: got %s, want inbound", got)
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"AddPermission20150331v2":          "AddPermission",
		"UpdateFunctionCode20150331v2":     "UpdateFunctionCode",
		"ListFunctions20150331":            "ListFunctions",
		"GetObject":                        "GetObject",
		"DescribeInstances":                "DescribeInstances",
		"CreateThing2":                     "CreateThing2",
		"Foov2":                            "Foov2",
		"20150331":                         "20150331",
		"ModifyDBClusterSnapshotAttribute": "ModifyDBClusterSnapshotAttribute",
	} {
		t.Run(in, func(t *testing.T) {
			if got := BaseName(in); got != want {
				t.Errorf("BaseName(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestDefaultCatalogueHasBriefAPIs(t *testing.T) {
	have := map[string]bool{}
	for _, a := range DefaultEgressAPIs() {
		have[a] = true
	}
	for _, a := range []string{"GetObject", "CopyObject", "GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters",
		"GetPasswordData", "ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyDBSnapshotAttribute",
		"ModifyDBClusterSnapshotAttribute", "PutBucketPolicy", "PutBucketAcl", "PutObjectAcl", "PutBucketReplication",
		"CreateResourceShare", "AssociateResourceShare", "CreateGrant", "AddPermission", "SharedSnapshotCopyInitiated"} {
		if !have[a] {
			t.Errorf("egress catalogue lacks %s", a)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	c := New(Settings{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}})
	user := `"userIdentity":{"type":"AssumedRole","accountId":"111122223333","arn":"arn:aws:sts::111122223333:assumed-role/app/i-1"}`
	raws := []string{
		head + user + `,"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":{"instancesSet":{}}}`,
		head + user + `,"eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"10.0.3.12","requestParameters":{"bucketName":"b","key":"k"}}`,
		head + `"userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventSource":"kms.amazonaws.com","eventName":"GenerateDataKey","sourceIPAddress":"cloudtrail.amazonaws.com"}`,
		head + user + `,"eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","sourceIPAddress":"AWS Internal"}`,
	}
	evs := make([]cloudtrail.Event, len(raws))
	for i, r := range raws {
		evs[i] = mustExtract(b, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = c.Classify(&evs[i%len(evs)])
	}
}

func BenchmarkClassifyGrant(b *testing.B) {
	c := New(Settings{})
	e := mustExtract(b, head+`"userIdentity":{"type":"IAMUser","accountId":"111122223333"},"eventSource":"ec2.amazonaws.com","eventName":"ModifySnapshotAttribute","sourceIPAddress":"10.0.0.5","requestParameters":{"snapshotId":"snap-1","createVolumePermission":{"add":{"items":[{"userId":"098797384747"}]}}}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = c.Classify(&e)
	}
}
