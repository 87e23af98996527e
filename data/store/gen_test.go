package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// genAPI is one API the generator calls, with its weight (relative frequency).
type genAPI struct {
	source, name string
	weight       int
}

var genAPIs = []genAPI{
	{"s3.amazonaws.com", "GetObject", 300},
	{"kms.amazonaws.com", "Decrypt", 150},
	{"s3.amazonaws.com", "PutObject", 100},
	{"sts.amazonaws.com", "AssumeRole", 100},
	{"ec2.amazonaws.com", "DescribeInstances", 100},
	{"sts.amazonaws.com", "GetCallerIdentity", 60},
	{"s3.amazonaws.com", "ListBuckets", 20},
	{"iam.amazonaws.com", "ListUsers", 20},
	{"signin.amazonaws.com", "ConsoleLogin", 10},
	{"secretsmanager.amazonaws.com", "GetSecretValue", 10},
	{"ec2.amazonaws.com", "ModifySnapshotAttribute", 2},
	{"iam.amazonaws.com", "CreateUser", 2},
	{"cloudtrail.amazonaws.com", "StopLogging", 1},
}

// genEvents makes n CloudTrail-like events over a week, reproducible from seed: skewed APIs,
// addresses and principals, nested request parameters, resources arrays, errors, numbers,
// booleans, IPv6 and service callers, and a rare keyword ("zebracorn") in about 1 event in 100k.
func genEvents(n int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 99))
	total := 0
	for _, a := range genAPIs {
		total += a.weight
	}
	ips := make([]string, 300)
	for i := range ips {
		switch {
		case i == 0:
			ips[i] = "10.0.3.12"
		case i%10 == 1:
			ips[i] = fmt.Sprintf("2001:db8:%x::%x", i, i*7)
		case i%10 == 2:
			ips[i] = "AWS Internal"
		case i%10 == 3:
			ips[i] = "ec2.amazonaws.com"
		case i%3 == 0:
			ips[i] = fmt.Sprintf("203.0.%d.%d", 112+i%16, i%250)
		default:
			ips[i] = fmt.Sprintf("%d.%d.%d.%d", 10+i%200, i%256, (i*7)%256, (i*13)%256)
		}
	}
	type who struct{ typ, arn, user, key, issuer string }
	principals := make([]who, 60)
	for i := range principals {
		key := fmt.Sprintf("AKIA%016d", i)
		if i%2 == 0 {
			role := fmt.Sprintf("role-%d", i)
			principals[i] = who{"AssumedRole", fmt.Sprintf("arn:aws:sts::111122223333:assumed-role/%s/session-%d", role, i),
				"", fmt.Sprintf("ASIA%016d", i), "arn:aws:iam::111122223333:role/" + role}
		} else {
			user := fmt.Sprintf("User%d", i)
			principals[i] = who{"IAMUser", "arn:aws:iam::111122223333:user/" + user, user, key, ""}
		}
	}
	agents := []string{"aws-cli/2.15.0 Python/3.11", "Boto3/1.34.0 md/Botocore#1.34.0", "Mozilla/5.0 (Windows NT 10.0; Win64)",
		"terraform/1.7.0", "stratus-red-team_4b1d", "AWS Internal"}
	regions := []string{"us-east-1", "us-east-1", "us-east-1", "eu-west-1", "us-west-2", "ap-south-1"}
	start := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC).UnixMilli()
	week := int64(7 * 24 * time.Hour / time.Millisecond)
	out := make([][]byte, n)
	for i := range out {
		x := r.IntN(total)
		var api genAPI
		for _, a := range genAPIs {
			if x < a.weight {
				api = a
				break
			}
			x -= a.weight
		}
		ip := ips[min(int(r.ExpFloat64()*30), len(ips)-1)]
		p := principals[min(int(r.ExpFloat64()*10), len(principals)-1)]
		t := time.UnixMilli(start + r.Int64N(week)).UTC().Truncate(time.Second)
		b := make([]byte, 0, 1200)
		b = append(b, `{"eventVersion":"1.08","userIdentity":{"type":"`...)
		b = append(b, p.typ...)
		b = fmt.Appendf(b, `","principalId":"AID%d","arn":%q,"accountId":"111122223333","accessKeyId":%q`, i%997, p.arn, p.key)
		if p.user != "" {
			b = fmt.Appendf(b, `,"userName":%q`, p.user)
		}
		if p.issuer != "" {
			b = fmt.Appendf(b, `,"sessionContext":{"sessionIssuer":{"type":"Role","arn":%q},"attributes":{"creationDate":%q,"mfaAuthenticated":"false"}}`,
				p.issuer, t.Add(-time.Hour).Format(time.RFC3339))
		}
		b = fmt.Appendf(b, `},"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":%q,"sourceIPAddress":%q,"userAgent":%q`,
			t.Format(time.RFC3339), api.source, api.name, regions[r.IntN(len(regions))], ip, agents[min(int(r.ExpFloat64()*1.5), len(agents)-1)])
		if r.IntN(20) == 0 {
			b = append(b, `,"errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation"`...)
		}
		switch api.source {
		case "s3.amazonaws.com":
			bucket := fmt.Sprintf("bucket-%d", min(int(r.ExpFloat64()*20), 199))
			if api.name == "ListBuckets" {
				b = append(b, `,"requestParameters":{"Host":"s3.amazonaws.com"}`...)
			} else {
				key := fmt.Sprintf("data/%d/file-%d.csv", r.IntN(100), r.IntN(10000))
				b = fmt.Appendf(b, `,"requestParameters":{"bucketName":%q,"key":%q},"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::%s/%s"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::%s"}]`,
					bucket, key, bucket, key, bucket)
				b = fmt.Appendf(b, `,"additionalEventData":{"bytesTransferredOut":%d,"SignatureVersion":"SigV4"}`, r.IntN(1<<20))
			}
		case "ec2.amazonaws.com":
			b = fmt.Appendf(b, `,"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-%08x"},{"instanceId":"i-%08x"}]},"maxResults":%d,"dryRun":%t}`,
				r.IntN(500), r.IntN(500), 5+r.IntN(100), r.IntN(10) == 0)
		case "kms.amazonaws.com":
			b = fmt.Appendf(b, `,"requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket-%d"}}`, r.IntN(20))
		default:
			b = append(b, `,"requestParameters":null`...)
		}
		if r.IntN(100000) == 0 {
			b = append(b, `,"additionalEventData2":{"note":"zebracorn sighting"}`...)
		}
		b = fmt.Appendf(b, `,"requestID":"%X","eventID":"%08x-%04x-4000-8000-%012x","readOnly":%t,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
			r.Uint64(), i, seed&0xffff, r.Uint64()&0xffffffffffff, api.name[0] == 'G' || api.name[0] == 'L' || api.name[0] == 'D')
		out[i] = b
	}
	return out
}

// genCheck is a guard that generated events are valid JSON (used by the generator's test).
func genCheck(raws [][]byte) error {
	for i, raw := range raws {
		if !json.Valid(raw) {
			return fmt.Errorf("event %s is not valid JSON: %s", strconv.Itoa(i), raw)
		}
	}
	return nil
}
