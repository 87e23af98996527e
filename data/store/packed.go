package store

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
	"modernc.org/sqlite"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/query"
)

// Raw JSON is stored packed: an S2 block (klauspost/compress/s2) against a preset of CloudTrail's
// record structure, behind a one-byte tag naming the preset. The writer is a load's bottleneck
// and half of its time went into writing pages; packed, an event's JSON takes 2.1–2.8× fewer
// bytes (1,649 → 651 on the benchmark corpus, 1,268 → 590 on the shared real logs), packing
// costs the decoders ~2.5 µs an event (BenchmarkPackJSON), and unpacking ~1 µs. zstd packed 30%
// smaller but took 20–40 µs per record, more than the whole writer.
//
// A stored value is either compact JSON, which starts with '{' (cases written before packing,
// and anything PackJSON was not used for), or a tag byte below it followed by the block.

// packTag1 names packPreset1; a later preset takes a new tag, and readers keep every old one.
const packTag1 = 0x01

// packPreset1 is the S2 dictionary of tag 1: a few CloudTrail records reduced to their structure,
// as AWS documents it (field names in delivery order, identity types, the common fixed values),
// so that it fits any account's logs rather than one sample's. It must never change: every
// packed event in every case refers to it. TestPackPresetFixed holds it to its hash.
const packPreset1 = `{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"","arn":"arn:aws:iam::","accountId":"","accessKeyId":"","userName":"","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"","mfaAuthenticated":"false"}},"invokedBy":"signin.amazonaws.com"},"eventTime":"","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"No"},"eventID":"","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"","eventCategory":"Management"}
{"eventVersion":"1.09","userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventTime":"","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"cloudtrail.amazonaws.com","userAgent":"cloudtrail.amazonaws.com","requestParameters":{"roleArn":"arn:aws:iam::","roleSessionName":"","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIA","sessionToken":"","expiration":""},"assumedRoleUser":{"assumedRoleId":"AROA","arn":"arn:aws:sts::"}},"requestID":"","eventID":"","readOnly":true,"resources":[{"accountId":"","type":"AWS::IAM::Role","ARN":"arn:aws:iam::"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"","sharedEventID":"","eventCategory":"Management"}
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA","arn":"arn:aws:iam::","accountId":"","accessKeyId":"AKIA","userName":""},"eventTime":"","eventSource":"iam.amazonaws.com","eventName":"","awsRegion":"us-east-1","sourceIPAddress":"","userAgent":"aws-cli/2.","requestParameters":{"userName":"","policyArn":"arn:aws:iam::aws:policy/"},"responseElements":null,"requestID":"","eventID":"","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}
{"eventVersion":"1.10","userIdentity":{"type":"AssumedRole","principalId":"AROA","arn":"arn:aws:sts::","accountId":"","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::","accountId":"","userName":""},"webIdFederationData":{},"attributes":{"creationDate":"","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"},"invokedBy":""},"eventTime":"","eventSource":"ec2.amazonaws.com","eventName":"Describe","awsRegion":"us-east-1","sourceIPAddress":"","userAgent":"aws-sdk-go-v2/1. os/linux lang/go# api/","errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts:: is not authorized to perform: ","requestParameters":{"bucketName":"","Host":".s3.amazonaws.com","key":"","instancesSet":{"items":[{"instanceId":"i-"}]},"filterSet":{},"maxResults":1000},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"","bytesTransferredOut":0},"requestID":"","eventID":"","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::"},{"accountId":"","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"","vpcEndpointId":"vpce-","vpcEndpointAccountId":"","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":".amazonaws.com"},"sessionCredentialFromConsole":"true"}
`

// packDict1 is packPreset1 ready to use; a block's matches most often start with the record's
// opening, which is where S2's first repeat offset points.
var packDict1 = s2.MakeDict([]byte(packPreset1), []byte(`{"eventVersion":"1.0`))

// maxUnpacked bounds what a stored value may unpack to: a damaged or hostile case cannot make a
// reader allocate more than the decoder ever lets a record be.
const maxUnpacked = cloudtrail.MaxRecordSize

// PackJSON appends raw JSON packed for storage to dst. It is safe for concurrent use: a load's
// decoders pack beside the writer.
func PackJSON(dst, raw []byte) []byte {
	n := s2.MaxEncodedLen(len(raw))
	if n < 0 || len(raw) == 0 || raw[0] != '{' {
		return append(dst, raw...) // beyond S2's block size, or not a record: kept as it is
	}
	dst = slices.Grow(dst, 1+n)
	dst = append(dst, packTag1)
	block := packDict1.Encode(dst[len(dst):len(dst)], raw) // into dst's spare capacity
	return dst[:len(dst)+len(block)]
}

// isPacked reports whether a stored value is packed, rather than plain JSON.
func isPacked(stored []byte) bool { return len(stored) > 0 && stored[0] < maxPackTag }

// maxPackTag is above every tag a packed value may start with; plain JSON never starts below it.
const maxPackTag = 0x09

// UnpackJSON appends the JSON of a stored value to dst.
func UnpackJSON(dst, stored []byte) ([]byte, error) {
	if !isPacked(stored) {
		return append(dst, stored...), nil
	}
	if stored[0] != packTag1 {
		return dst, fmt.Errorf("stored JSON: unknown packing %#x (a case from a later version of Trailscope?)", stored[0])
	}
	n, err := s2.DecodedLen(stored[1:])
	if err != nil {
		return dst, fmt.Errorf("stored JSON: %w", err)
	}
	if n > maxUnpacked {
		return dst, fmt.Errorf("stored JSON: unpacks to %d bytes, more than a record may hold", n)
	}
	dst = slices.Grow(dst, n)
	if _, err := packDict1.Decode(dst[len(dst):len(dst)+n], stored[1:]); err != nil {
		return dst, fmt.Errorf("stored JSON: %w", err)
	}
	return dst[:len(dst)+n], nil
}

// unpackFunc is the SQL function that reads a stored value as JSON text: SQL that looks into the
// raw JSON (json_extract, a rule's distinct values) reads unpackFunc+"(j.json)".
const unpackFunc = "trailscope_json"

// recordBufs keeps the buffers query.TermFunc unpacks records into: it runs once an event.
var recordBufs = sync.Pool{New: func() any { return new([]byte) }}

func init() {
	// query.TermFunc reads the stored value itself: through unpackFunc, each record was copied
	// twice more on its way to the function, which took a quarter of a search's time.
	sqlite.MustRegisterDeterministicScalarFunction(query.TermFunc, 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		term, ok := args[1].(string)
		if !ok {
			return nil, errors.New(query.TermFunc + ": the term must be text")
		}
		buf := recordBufs.Get().(*[]byte)
		defer recordBufs.Put(buf)
		var raw []byte
		switch v := args[0].(type) {
		case []byte:
			var err error
			if raw, err = UnpackJSON((*buf)[:0], v); err != nil {
				return nil, err
			}
			*buf = raw
		case string:
			raw = append((*buf)[:0], v...)
			*buf = raw
		default:
			return int64(0), nil // no record
		}
		found, err := query.MatchTerm(raw, term)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", query.TermFunc, err)
		case found:
			return int64(1), nil
		}
		return int64(0), nil
	})
	sqlite.MustRegisterDeterministicScalarFunction(unpackFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case []byte:
			out, err := UnpackJSON(nil, v)
			if err != nil {
				return nil, err
			}
			return string(out), nil
		case string:
			return v, nil
		case nil:
			return nil, nil
		}
		return nil, errors.New(unpackFunc + ": not a stored JSON value")
	})
}
