package synth

import (
	"fmt"
	"strings"
)

// api is one CloudTrail event kind: the service, the call and what its record carries.
type api struct {
	id         string // "ec2:DescribeInstances", how actors name it
	source     string // eventSource
	name       string // eventName
	kind       string // eventType
	readOnly   bool
	data       bool // a data event (eventCategory Data, managementEvent false)
	version    string
	apiVersion string
	iamPrefix  string // the IAM action prefix, for AccessDenied messages
	action     string // the IAM action name
	tls13      bool
	params     tmpl
	resp       tmpl
	addl       tmpl
	res        tmpl
	svcDetails tmpl
	errs       []apiErr // ordinary errors this call gives now and then
}

type apiErr struct{ code, msg string }

func (a *api) host(region string) string { return hostFor(a.source, region) }

// apiOpt adjusts an api definition.
type apiOpt func(*api)

func data() apiOpt               { return func(a *api) { a.data = true } }
func kind(k string) apiOpt       { return func(a *api) { a.kind = k } }
func addl(s string) apiOpt       { return func(a *api) { a.addl = mustTemplate(s) } }
func res(s string) apiOpt        { return func(a *api) { a.res = mustTemplate(s) } }
func details(s string) apiOpt    { return func(a *api) { a.svcDetails = mustTemplate(s) } }
func apiVersion(v string) apiOpt { return func(a *api) { a.apiVersion = v } }
func tls13() apiOpt              { return func(a *api) { a.tls13 = true } }
func action(s string) apiOpt     { return func(a *api) { a.action = s } }

// eventName gives a variant its real eventName (the id keeps variants apart).
func eventName(s string) apiOpt { return func(a *api) { a.name, a.action = s, s } }

// errs lists ordinary errors as "Code|message" pairs.
func errs(pairs ...string) apiOpt {
	return func(a *api) {
		for _, p := range pairs {
			code, msg, _ := strings.Cut(p, "|")
			a.errs = append(a.errs, apiErr{code, msg})
		}
	}
}

var catalog = map[string]*api{}

var sourceOf = map[string]string{
	"cloudwatch": "monitoring.amazonaws.com",
}

var iamPrefixOf = map[string]string{
	"monitoring": "cloudwatch",
}

// def adds an API to the catalogue. ro says whether it is read-only; params and resp are JSON
// templates ("" renders null).
func def(id string, ro bool, params, resp string, opts ...apiOpt) {
	svc, name, ok := strings.Cut(id, ":")
	if !ok {
		panic("synth: bad api id " + id)
	}
	src := svc + ".amazonaws.com"
	if s, ok := sourceOf[svc]; ok {
		src = s
	}
	prefix := strings.TrimSuffix(src, ".amazonaws.com")
	if p, ok := iamPrefixOf[prefix]; ok {
		prefix = p
	}
	act := name
	if i := strings.Index(act, "20"); i > 0 && prefix == "lambda" {
		act = act[:i]
	}
	a := &api{id: id, source: src, name: name, kind: typeAPICall, readOnly: ro, version: eventVersion(src),
		iamPrefix: prefix, action: act, params: mustTemplate(params), resp: mustTemplate(resp)}
	for _, o := range opts {
		o(a)
	}
	if _, dup := catalog[id]; dup {
		panic("synth: duplicate api " + id)
	}
	catalog[id] = a
}

// lookup returns the catalogue entry for id; a missing one is a programming error.
func lookup(id string) *api {
	a, ok := catalog[id]
	if !ok {
		panic(fmt.Sprintf("synth: api %s not in catalogue", id))
	}
	return a
}

func lookupAll(ids ...string) []*api {
	out := make([]*api, len(ids))
	for i, id := range ids {
		out[i] = lookup(id)
	}
	return out
}

const (
	s3Params  = `{"bucketName":"%bucket%","Host":"%bucket%.s3.%region%.amazonaws.com","key":"%key%"}`
	s3Res     = `[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::%bucket%/%key%"},{"accountId":"%acct%","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::%bucket%"}]`
	s3BktRes  = `[{"accountId":"%acct%","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::%bucket%"}]`
	s3AddlOut = `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%amzid%","bytesTransferredOut":%size%}`
	s3AddlIn  = `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":%size%,"SSEApplied":"SSE_KMS","AuthenticationMethod":"AuthHeader","x-amz-id-2":"%amzid%","bytesTransferredOut":0}`
	s3AddlMgt = `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"%amzid%","bytesTransferredOut":%n%}`
	ec2Resp   = `{"requestId":"%reqid%","_return":true}`
	credsResp = `{"credentials":{"accessKeyId":"%akey%","sessionToken":"%token%","expiration":"%exp%"},"assumedRoleUser":{"assumedRoleId":"AROA%hex8%:%sess%","arn":"arn:aws:sts::%acct%:assumed-role/%role%/%sess%"}}`
	denied    = "AccessDenied|Access Denied"
)

func init() {
	// STS
	def("sts:GetCallerIdentity", true, "", "")
	def("sts:AssumeRole", true, `{"roleArn":"%roleArn%","roleSessionName":"%sess%","durationSeconds":3600}`, credsResp,
		res(`[{"accountId":"%acct%","type":"AWS::IAM::Role","ARN":"%roleArn%"}]`))
	def("sts:AssumeRoleWithWebIdentity", true, `{"roleArn":"%roleArn%","roleSessionName":"%sess%","durationSeconds":3600}`,
		`{"credentials":{"accessKeyId":"%akey%","sessionToken":"%token%","expiration":"%exp%"},"subjectFromWebIdentityToken":"repo:%user%:ref:refs/heads/main","assumedRoleUser":{"assumedRoleId":"AROA%hex8%:%sess%","arn":"arn:aws:sts::%acct%:assumed-role/%role%/%sess%"},"provider":"arn:aws:iam::%acct%:oidc-provider/token.actions.githubusercontent.com","audience":"sts.amazonaws.com"}`,
		res(`[{"accountId":"%acct%","type":"AWS::IAM::Role","ARN":"%roleArn%"}]`), addl(`{"identityProviderConnectionVerificationMethod":"IAMTrustStore"}`))
	def("sts:GetFederationToken", true, `{"name":"%sess%","durationSeconds":43200}`,
		`{"credentials":{"accessKeyId":"%akey%","sessionToken":"%token%","expiration":"%exp%"},"federatedUser":{"federatedUserId":"%acct%:%sess%","arn":"arn:aws:sts::%acct%:federated-user/%sess%"},"packedPolicySize":6}`)
	def("sts:GetSessionToken", true, `{"durationSeconds":43200}`, `{"credentials":{"accessKeyId":"%akey%","sessionToken":"%token%","expiration":"%exp%"}}`)

	// Console sign-in
	def("signin:ConsoleLogin", false, "", `{"ConsoleLogin":"Success"}`, kind(typeConsole), tls13(),
		addl(`{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs#&isauthcode=true","MobileVersion":"No","MFAIdentifier":"arn:aws:iam::%acct%:mfa/%user%","MFAUsed":"Yes"}`))
	def("signin:ConsoleLoginNoMFA", false, "", `{"ConsoleLogin":"Success"}`, kind(typeConsole), tls13(), eventName("ConsoleLogin"),
		addl(`{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs#&isauthcode=true","MobileVersion":"No","MFAUsed":"No"}`))

	// S3 management
	def("s3:ListBuckets", true, `{"Host":"s3.amazonaws.com"}`, "", addl(s3AddlMgt))
	def("s3:GetBucketLocation", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","location":""}`, "", addl(s3AddlMgt), res(s3BktRes))
	def("s3:GetBucketAcl", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","acl":""}`, "", addl(s3AddlMgt), res(s3BktRes))
	def("s3:GetBucketPolicy", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","policy":""}`, "", addl(s3AddlMgt), res(s3BktRes),
		errs("NoSuchBucketPolicy|The bucket policy does not exist"))
	def("s3:GetBucketVersioning", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","versioning":""}`, "", addl(s3AddlMgt), res(s3BktRes))
	def("s3:GetBucketEncryption", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","encryption":""}`, "", addl(s3AddlMgt), res(s3BktRes))
	def("s3:GetBucketTagging", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","tagging":""}`, "", addl(s3AddlMgt), res(s3BktRes),
		errs("NoSuchTagSet|The TagSet does not exist"))
	def("s3:GetBucketPublicAccessBlock", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","publicAccessBlock":""}`, "", addl(s3AddlMgt), res(s3BktRes),
		errs("NoSuchPublicAccessBlockConfiguration|The public access block configuration was not found"))
	def("s3:PutBucketTagging", false, `{"bucketName":"%bucket%","Host":"%bucket%.s3.amazonaws.com","Tagging":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","TagSet":{"Tag":[{"Value":"platform","Key":"team"}]}},"tagging":""}`, "", addl(s3AddlMgt), res(s3BktRes))

	// S3 data
	def("s3:GetObject", true, s3Params, "", data(), addl(s3AddlOut), res(s3Res), errs("NoSuchKey|The specified key does not exist."))
	def("s3:HeadObject", true, s3Params, "", data(), addl(s3AddlMgt), res(s3Res), errs("NoSuchKey|The specified key does not exist."))
	def("s3:PutObject", false, s3Params, `{"x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-aws-kms-key-id":"%kmsArn%","x-amz-server-side-encryption-bucket-key-enabled":true}`, data(), addl(s3AddlIn), res(s3Res))
	def("s3:DeleteObject", false, s3Params, "", data(), addl(s3AddlMgt), res(s3Res))
	def("s3:ListObjects", true, `{"bucketName":"%bucket%","Host":"%bucket%.s3.%region%.amazonaws.com","list-type":"2","prefix":"","max-keys":"1000","encoding-type":"url"}`, "", data(), addl(s3AddlMgt), res(s3BktRes), action("ListBucket"))

	// EC2
	def("ec2:DescribeInstances", true, `{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}`, "",
		errs("Client.RequestLimitExceeded|Request limit exceeded."))
	def("ec2:DescribeInstanceStatus", true, `{"instancesSet":{"items":[{"instanceId":"%instance%"}]},"filterSet":{},"includeAllInstances":false}`, "")
	def("ec2:DescribeSecurityGroups", true, `{"securityGroupSet":{},"securityGroupIdSet":{"items":[{"groupId":"%sg%"}]},"filterSet":{}}`, "",
		errs("Client.InvalidGroup.NotFound|The security group does not exist"))
	def("ec2:DescribeVpcs", true, `{"vpcSet":{"items":[{"vpcId":"%vpc%"}]},"filterSet":{}}`, "")
	def("ec2:DescribeSubnets", true, `{"subnetSet":{},"filterSet":{"items":[{"name":"vpc-id","valueSet":{"items":[{"value":"%vpc%"}]}}]}}`, "")
	def("ec2:DescribeVolumes", true, `{"volumeSet":{},"filterSet":{"items":[{"name":"attachment.instance-id","valueSet":{"items":[{"value":"%instance%"}]}}]}}`, "")
	def("ec2:DescribeSnapshots", true, `{"snapshotSet":{},"ownersSet":{"items":[{"owner":"self"}]},"sharedUsersSet":{},"filterSet":{}}`, "")
	def("ec2:DescribeImages", true, `{"executableBySet":{},"imagesSet":{},"ownersSet":{"items":[{"owner":"self"}]},"availabilityZone":"","includeDeprecated":false,"filterSet":{}}`, "")
	def("ec2:DescribeRegions", true, `{"regionSet":{},"allRegions":false}`, "")
	def("ec2:DescribeAvailabilityZones", true, `{"availabilityZoneSet":{},"availabilityZoneIdSet":{},"allAvailabilityZones":false}`, "")
	def("ec2:DescribeTags", true, `{"filterSet":{"items":[{"name":"resource-id","valueSet":{"items":[{"value":"%instance%"}]}}]}}`, "")
	def("ec2:DescribeNetworkInterfaces", true, `{"networkInterfaceIdSet":{},"filterSet":{"items":[{"name":"vpc-id","valueSet":{"items":[{"value":"%vpc%"}]}}]}}`, "")
	def("ec2:DescribeKeyPairs", true, `{"keySet":{},"filterSet":{}}`, "")
	def("ec2:DescribeRouteTables", true, `{"routeTableIdSet":{},"filterSet":{"items":[{"name":"vpc-id","valueSet":{"items":[{"value":"%vpc%"}]}}]}}`, "")
	def("ec2:DescribeLaunchTemplates", true, `{"launchTemplateIdSet":{},"launchTemplateNameSet":{},"filterSet":{}}`, "")
	def("ec2:DescribeFlowLogs", true, `{"DescribeFlowLogsRequest":{"Filter":{"Name":"resource-id","Value":{"content":"%vpc%","tag":1}}}}`, "")
	def("ec2:GetConsoleOutput", true, `{"instanceId":"%instance%"}`, "")
	def("ec2:CreateTags", false, `{"resourcesSet":{"items":[{"resourceId":"%instance%"}]},"tagSet":{"items":[{"key":"Owner","value":"%user%"}]}}`, ec2Resp)
	def("ec2:StartInstances", false, `{"instancesSet":{"items":[{"instanceId":"%instance%"}]}}`,
		`{"requestId":"%reqid%","instancesSet":{"items":[{"instanceId":"%instance%","currentState":{"code":0,"name":"pending"},"previousState":{"code":80,"name":"stopped"}}]}}`)
	def("ec2:StopInstances", false, `{"instancesSet":{"items":[{"instanceId":"%instance%"}]},"force":false}`,
		`{"requestId":"%reqid%","instancesSet":{"items":[{"instanceId":"%instance%","currentState":{"code":64,"name":"stopping"},"previousState":{"code":16,"name":"running"}}]}}`)
	def("ec2:CreateSnapshot", false, `{"volumeId":"%vol%","description":"nightly %now%"}`,
		`{"requestId":"%reqid%","snapshotId":"snap-0%hex8%%hex8%","volumeId":"%vol%","status":"pending","startTime":%ms%,"progress":"","ownerId":"%acct%","volumeSize":100,"encrypted":true,"kmsKeyId":"%kmsArn%"}`)
	def("ec2:AuthorizeSecurityGroupIngress", false, `{"groupId":"%sg%","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"groups":{},"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]},"ipv6Ranges":{},"prefixListIds":{}}]}}`,
		`{"requestId":"%reqid%","_return":true,"securityGroupRuleSet":{"items":[{"groupOwnerId":"%acct%","groupId":"%sg%","securityGroupRuleId":"sgr-0%hex8%%hex8%","isEgress":false,"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIpv4":"10.0.0.0/8"}]}}`)
	def("ec2:RunInstances", false,
		`{"instancesSet":{"items":[{"imageId":"%ami%","minCount":%n%,"maxCount":%n%}]},"instanceType":"%itype%","blockDeviceMapping":{},"monitoring":{"enabled":false},"disableApiTermination":false,"disableApiStop":false,"clientToken":"%uuid2%"}`,
		`{"requestId":"%reqid%","reservationId":"r-0%hex8%%hex8%","ownerId":"%acct%","groupSet":{},"instancesSet":{"items":[{"instanceId":"i-0%hex8%%hex8%","imageId":"%ami%","currentInstanceBootMode":"legacy-bios","instanceState":{"code":0,"name":"pending"},"privateDnsName":"ip-10-0-1-%n%.%region%.compute.internal","amiLaunchIndex":0,"productCodes":{},"instanceType":"%itype%","launchTime":%ms%,"placement":{"availabilityZone":"%az%","tenancy":"default"},"monitoring":{"state":"disabled"},"subnetId":"%subnet%","vpcId":"%vpc%","privateIpAddress":"10.0.1.%n%","stateReason":{"code":"pending","message":"pending"},"architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMapping":{},"virtualizationType":"hvm","hypervisor":"xen","clientToken":"%uuid2%","groupSet":{"items":[{"groupId":"%sg%","groupName":"default"}]},"sourceDestCheck":true,"networkInterfaceSet":{},"ebsOptimized":false,"enaSupport":true,"cpuOptions":{"coreCount":2,"threadsPerCore":2},"capacityReservationSpecification":{"capacityReservationPreference":"open"},"enclaveOptions":{"enabled":false},"metadataOptions":{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled","httpProtocolIpv4":"enabled","httpProtocolIpv6":"disabled","instanceMetadataTags":"disabled"},"maintenanceOptions":{"autoRecovery":"default"},"privateDnsNameOptions":{"hostnameType":"ip-name","enableResourceNameDnsARecord":false,"enableResourceNameDnsAAAARecord":false}}]}}`,
		errs("Client.VcpuLimitExceeded|You have requested more vCPU capacity than your current vCPU limit allows for the instance bucket that the specified instance type belongs to.", "Client.InsufficientInstanceCapacity|We currently do not have sufficient capacity in the Availability Zone you requested."))
	def("ec2:TerminateInstances", false, `{"instancesSet":{"items":[{"instanceId":"%instance%"}]}}`,
		`{"requestId":"%reqid%","instancesSet":{"items":[{"instanceId":"%instance%","currentState":{"code":32,"name":"shutting-down"},"previousState":{"code":16,"name":"running"}}]}}`)
	def("ec2:ModifySnapshotAttribute", false, `{"snapshotId":"%snap%","createVolumePermission":{"add":{"items":[{"userId":"%peer%"}]}},"attributeType":"CREATE_VOLUME_PERMISSION"}`, ec2Resp)
	def("ec2:ModifyImageAttribute", false, `{"imageId":"%ami%","launchPermission":{"add":{"items":[{"userId":"%peer%"}]}},"attributeType":"launchPermission"}`, ec2Resp)
	def("ec2:DescribeSnapshotAttribute", true, `{"snapshotId":"%snap%","attributeType":"CREATE_VOLUME_PERMISSION"}`, "")
	def("ec2:DeleteFlowLogs", false, `{"DeleteFlowLogsRequest":{"FlowLogId":{"content":"%flow%","tag":1}}}`,
		`{"DeleteFlowLogsResponse":{"xmlns":"http://ec2.amazonaws.com/doc/2016-11-15/","requestId":"%reqid%","unsuccessful":""}}`)
	def("ec2:CreateKeyPair", false, `{"keyName":"%hex8%","keyType":"rsa","keyFormat":"pem"}`,
		`{"requestId":"%reqid%","keyName":"%hex8%","keyFingerprint":"a1:%hex8%:%hex8%","keyPairId":"key-0%hex8%%hex8%","keyMaterial":"<sensitiveDataRemoved>"}`)
	def("ec2:ImportKeyPair", false, `{"keyName":"%hex8%","publicKeyMaterial":"<sensitiveDataRemoved>"}`,
		`{"requestId":"%reqid%","keyName":"%hex8%","keyFingerprint":"%hex8%","keyPairId":"key-0%hex8%%hex8%"}`)
	def("ec2:GetPasswordData", true, `{"instanceId":"%instance%"}`, "")
	def("ec2:DescribeInstanceAttribute", true, `{"instanceId":"%instance%","attribute":"userData"}`, "")

	// IAM
	iamErr := errs("NoSuchEntity|The user with name %s cannot be found.")
	def("iam:GetUser", true, `{"userName":"%user%"}`, "", iamErr)
	def("iam:ListUsers", true, "", "")
	def("iam:ListRoles", true, "", "")
	def("iam:ListGroups", true, "", "")
	def("iam:ListPolicies", true, `{"scope":"Local","onlyAttached":false}`, "")
	def("iam:GetRole", true, `{"roleName":"%role%"}`, "", errs("NoSuchEntity|The role with name %s cannot be found."))
	def("iam:GetPolicy", true, `{"policyArn":"%policy%"}`, "")
	def("iam:GetPolicyVersion", true, `{"policyArn":"%policy%","versionId":"v%n%"}`, "")
	def("iam:ListAttachedRolePolicies", true, `{"roleName":"%role%"}`, "")
	def("iam:ListRolePolicies", true, `{"roleName":"%role%"}`, "")
	def("iam:ListAttachedUserPolicies", true, `{"userName":"%user%"}`, "")
	def("iam:ListAccessKeys", true, `{"userName":"%user%"}`, "")
	def("iam:ListMFADevices", true, `{"userName":"%user%"}`, "")
	def("iam:GetLoginProfile", true, `{"userName":"%user%"}`, "", errs("NoSuchEntity|Login Profile for User %s cannot be found."))
	def("iam:GetAccountSummary", true, "", "")
	def("iam:GetAccountAuthorizationDetails", true, `{"filter":["User","Role","Group","LocalManagedPolicy"]}`, "")
	def("iam:ListInstanceProfiles", true, "", "")
	def("iam:GetAccountPasswordPolicy", true, "", "", errs("NoSuchEntity|The Password Policy with domain name %s cannot be found."))
	def("iam:GenerateCredentialReport", true, "", `{"state":"COMPLETE"}`)
	def("iam:CreateUser", false, `{"userName":"%newuser%"}`,
		`{"user":{"path":"/","userName":"%newuser%","userId":"%uid%","arn":"arn:aws:iam::%acct%:user/%newuser%","createDate":"%when%"}}`)
	def("iam:CreateAccessKey", false, `{"userName":"%newuser%"}`,
		`{"accessKey":{"userName":"%newuser%","accessKeyId":"%akey%","status":"Active","createDate":"%when%"}}`)
	def("iam:CreateLoginProfile", false, `{"userName":"%newuser%","passwordResetRequired":false}`,
		`{"loginProfile":{"userName":"%newuser%","createDate":"%when%","passwordResetRequired":false}}`)
	def("iam:AttachUserPolicy", false, `{"userName":"%newuser%","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "")
	def("iam:AttachRolePolicy", false, `{"roleName":"%role%","policyArn":"%policy%"}`, "")
	def("iam:PutRolePolicy", false, `{"roleName":"%role%","policyName":"inline-%hex8%","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::%bucket%/*\"}]}"}`, "")
	def("iam:UpdateAssumeRolePolicy", false, `{"roleName":"%role%","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"}`, "")
	def("iam:TagRole", false, `{"roleName":"%role%","tags":[{"key":"team","value":"platform"}]}`, "")
	def("iam:CreateServiceLinkedRole", false, `{"aWSServiceName":"ecs.amazonaws.com"}`, "",
		errs("InvalidInput|Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."))

	// Lambda
	def("lambda:ListFunctions20150331", true, `{"functionVersion":"ALL"}`, "")
	def("lambda:GetFunction20150331v2", true, `{"functionName":"%fn%"}`, "", errs("ResourceNotFoundException|Function not found: arn:aws:lambda:%s"))
	def("lambda:GetFunctionConfiguration20150331v2", true, `{"functionName":"%fn%"}`, "")
	def("lambda:GetPolicy20150331v2", true, `{"functionName":"%fn%"}`, "", errs("ResourceNotFoundException|The resource you requested does not exist."))
	def("lambda:ListEventSourceMappings20150331", true, `{"functionName":"%fn%"}`, "")
	def("lambda:UpdateFunctionCode20150331v2", false, `{"functionName":"%fn%","s3Bucket":"%bucket%","s3Key":"artifacts/%fn%/%hex8%.zip","publish":false,"dryRun":false}`,
		`{"functionName":"%fn%","functionArn":"%fnArn%","runtime":"python3.12","role":"arn:aws:iam::%acct%:role/%fn%-role","handler":"app.handler","codeSize":%size%,"description":"","timeout":30,"memorySize":512,"lastModified":"%now%","codeSha256":"%hex8%%hex8%%hex8%%hex8%","version":"$LATEST","tracingConfig":{"mode":"PassThrough"},"revisionId":"%uuid%","state":"Active","lastUpdateStatus":"InProgress","lastUpdateStatusReason":"The function is being created.","lastUpdateStatusReasonCode":"Creating","packageType":"Zip","architectures":["arm64"],"ephemeralStorage":{"size":512},"snapStart":{"applyOn":"None","optimizationStatus":"Off"},"runtimeVersionConfig":{"runtimeVersionArn":"arn:aws:lambda:%region%::runtime:%hex8%"}}`)
	def("lambda:UpdateFunctionConfiguration20150331v2", false, `{"functionName":"%fn%","environment":{}}`,
		`{"functionName":"%fn%","functionArn":"%fnArn%","runtime":"python3.12","role":"arn:aws:iam::%acct%:role/%fn%-role","handler":"app.handler","codeSize":%size%,"timeout":30,"memorySize":512,"lastModified":"%now%","version":"$LATEST","revisionId":"%uuid%","state":"Active","lastUpdateStatus":"InProgress","packageType":"Zip","architectures":["arm64"]}`)
	def("lambda:Invoke", false, `{"functionName":"%fnArn%","invocationType":"Event"}`, "", data(),
		res(`[{"accountId":"%acct%","type":"AWS::Lambda::Function","ARN":"%fnArn%"}]`), addl(`{"functionVersion":"%fnArn%:$LATEST"}`))

	// ECS / ECR
	def("ecs:ListClusters", true, "", "")
	def("ecs:DescribeClusters", true, `{"clusters":["%cluster%"]}`, "")
	def("ecs:ListServices", true, `{"cluster":"%cluster%"}`, "")
	def("ecs:DescribeServices", true, `{"cluster":"%cluster%","services":["%service%"]}`, "")
	def("ecs:ListTasks", true, `{"cluster":"%cluster%","serviceName":"%service%"}`, "")
	def("ecs:DescribeTasks", true, `{"cluster":"%cluster%","tasks":["%task%"]}`, "")
	def("ecs:DescribeTaskDefinition", true, `{"taskDefinition":"%taskdef%"}`, "")
	def("ecs:RegisterTaskDefinition", false, `{"family":"%service%","taskRoleArn":"arn:aws:iam::%acct%:role/%service%-task","networkMode":"awsvpc","containerDefinitions":[{"name":"app","image":"%acct%.dkr.ecr.%region%.amazonaws.com/%repo%:%hex8%","cpu":512,"memory":1024,"essential":true}],"requiresCompatibilities":["FARGATE"],"cpu":"512","memory":"1024"}`,
		`{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:%region%:%acct%:task-definition/%taskdef%","family":"%service%","revision":%n%,"status":"ACTIVE","registeredAt":"%when%"}}`)
	def("ecs:UpdateService", false, `{"cluster":"%cluster%","service":"%service%","taskDefinition":"%taskdef%","forceNewDeployment":false}`,
		`{"service":{"serviceArn":"arn:aws:ecs:%region%:%acct%:service/%cluster%/%service%","serviceName":"%service%","clusterArn":"arn:aws:ecs:%region%:%acct%:cluster/%cluster%","status":"ACTIVE","desiredCount":3,"runningCount":3,"pendingCount":0,"launchType":"FARGATE","taskDefinition":"arn:aws:ecs:%region%:%acct%:task-definition/%taskdef%","deployments":[{"id":"ecs-svc/%hex8%%hex8%","status":"PRIMARY","desiredCount":3,"rolloutState":"IN_PROGRESS"}]}}`)
	def("ecr:GetAuthorizationToken", true, "", "")
	def("ecr:BatchGetImage", true, `{"imageIds":[{"imageTag":"%hex8%"}],"acceptedMediaTypes":["application/vnd.docker.distribution.manifest.v2+json","application/vnd.oci.image.manifest.v1+json"],"repositoryName":"%repo%","registryId":"%acct%"}`, "",
		res(`[{"accountId":"%acct%","ARN":"arn:aws:ecr:%region%:%acct%:repository/%repo%"}]`))
	def("ecr:GetDownloadUrlForLayer", true, `{"repositoryName":"%repo%","registryId":"%acct%","layerDigest":"%digest%"}`, "",
		res(`[{"accountId":"%acct%","ARN":"arn:aws:ecr:%region%:%acct%:repository/%repo%"}]`))
	def("ecr:DescribeImages", true, `{"repositoryName":"%repo%","maxResults":100}`, "")
	def("ecr:PutImage", false, `{"repositoryName":"%repo%","imageTag":"%hex8%","imageManifest":"<manifest>"}`,
		`{"image":{"registryId":"%acct%","repositoryName":"%repo%","imageId":{"imageDigest":"%digest%","imageTag":"%hex8%"}}}`,
		res(`[{"accountId":"%acct%","ARN":"arn:aws:ecr:%region%:%acct%:repository/%repo%"}]`))

	// KMS
	kmsRes := res(`[{"accountId":"%acct%","type":"AWS::KMS::Key","ARN":"%kmsArn%"}]`)
	def("kms:Decrypt", true, `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"%fnArn%"}}`, "", kmsRes)
	def("kms:Encrypt", true, `{"keyId":"%kmsArn%","encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`, "", kmsRes)
	def("kms:GenerateDataKey", true, `{"keyId":"%kmsArn%","keySpec":"AES_256","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::%bucket%"}}`, "", kmsRes)
	def("kms:DescribeKey", true, `{"keyId":"%kmsArn%"}`, "", kmsRes)
	def("kms:ListKeys", true, "", "")
	def("kms:ListAliases", true, "", "")
	def("kms:RotateKey", false, "", "", kind(typeServiceEvent), kmsRes, details(`{"keyId":"%kmsArn%"}`))

	// Secrets Manager
	secRes := res(`[{"accountId":"%acct%","type":"AWS::SecretsManager::Secret","ARN":"%secretArn%"}]`)
	def("secretsmanager:GetSecretValue", true, `{"secretId":"%secretArn%"}`, "", secRes,
		errs("ResourceNotFoundException|Secrets Manager can't find the specified secret."))
	def("secretsmanager:DescribeSecret", true, `{"secretId":"%secret%"}`, "", secRes)
	def("secretsmanager:ListSecrets", true, `{"maxResults":100}`, "")
	def("secretsmanager:PutSecretValue", false, `{"secretId":"%secretArn%","clientRequestToken":"%uuid%","secretString":"HIDDEN_DUE_TO_SECURITY_REASONS"}`,
		`{"aRN":"%secretArn%","name":"%secret%","versionId":"%uuid%","versionStages":["AWSCURRENT"]}`, secRes)

	// SSM
	def("ssm:GetParameter", true, `{"name":"%param%","withDecryption":true}`, "", errs("ParameterNotFound|"))
	def("ssm:GetParameters", true, `{"names":["%param%"],"withDecryption":true}`, "")
	def("ssm:GetParametersByPath", true, `{"path":"/%service%/","recursive":true,"withDecryption":true}`, "")
	def("ssm:DescribeParameters", true, `{"maxResults":50}`, "")
	def("ssm:PutParameter", false, `{"name":"%param%","type":"SecureString","overwrite":true,"keyId":"alias/aws/ssm","tier":"Standard"}`, `{"version":%n%,"tier":"Standard"}`)
	def("ssm:UpdateInstanceInformation", false, `{"instanceId":"%instance%","agentVersion":"3.3.987.0","agentStatus":"Active","platformType":"Linux","platformName":"Amazon Linux","platformVersion":"2023","iPAddress":"%ip%","computerName":"ip-%hex8%.%region%.compute.internal","agentName":"amazon-ssm-agent","availabilityZone":"%az%","availabilityZoneId":"use1-az%n%"}`, "")
	def("ssm:ListInstanceAssociations", true, `{"instanceId":"%instance%","maxResults":20}`, "")
	def("ssm:DescribeInstanceInformation", true, `{"maxResults":50}`, "")
	def("ssm:StartSession", false, `{"target":"%instance%"}`, `{"sessionId":"%user%-%hex8%%hex8%","tokenValue":"Value hidden due to security reasons.","streamUrl":"wss://ssmmessages.%region%.amazonaws.com/v1/data-channel/%user%-%hex8%?role=publish_subscribe"}`)
	def("ssm:SendCommand", false, `{"instanceIds":["%instance%"],"documentName":"AWS-RunShellScript","interactive":false,"parameters":"HIDDEN_DUE_TO_SECURITY_REASONS"}`,
		`{"command":{"commandId":"%uuid%","documentName":"AWS-RunShellScript","documentVersion":"$DEFAULT","status":"Pending","targetCount":1,"instanceIds":["%instance%"],"requestedDateTime":"%when%","expiresAfter":"%exp%","maxConcurrency":"50","maxErrors":"0","timeoutSeconds":3600}}`)

	// CloudTrail
	def("cloudtrail:DescribeTrails", true, `{"includeShadowTrails":true}`, "")
	def("cloudtrail:GetTrailStatus", true, `{"name":"%trailArn%"}`, "")
	def("cloudtrail:GetEventSelectors", true, `{"trailName":"%trail%"}`, "")
	def("cloudtrail:LookupEvents", true, `{"lookupAttributes":[{"attributeKey":"EventName","attributeValue":"ConsoleLogin"}],"maxResults":50}`, "")
	def("cloudtrail:ListTrails", true, "", "")
	def("cloudtrail:StopLogging", false, `{"name":"%trail%"}`, "")
	def("cloudtrail:DeleteTrail", false, `{"name":"%trail%"}`, "")
	def("cloudtrail:UpdateTrail", false, `{"name":"%trail%","s3BucketName":"%bucket%","isMultiRegionTrail":false,"includeGlobalServiceEvents":false}`,
		`{"name":"%trail%","s3BucketName":"%bucket%","includeGlobalServiceEvents":false,"isMultiRegionTrail":false,"trailARN":"%trailArn%","logFileValidationEnabled":false,"isOrganizationTrail":false}`)
	def("cloudtrail:PutEventSelectors", false, `{"trailName":"%trail%","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":false,"dataResources":[],"excludeManagementEventSources":[]}]}`,
		`{"trailARN":"%trailArn%","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":false,"dataResources":[],"excludeManagementEventSources":[]}]}`)

	// GuardDuty, Security Hub, Config
	def("guardduty:ListDetectors", true, "", "")
	def("guardduty:GetDetector", true, `{"detectorId":"%detector%"}`, "")
	def("guardduty:ListFindings", true, `{"detectorId":"%detector%","findingCriteria":{"criterion":{"service.archived":{"eq":["false"]}}},"sortCriteria":{"attributeName":"updatedAt","orderBy":"DESC"},"maxResults":50}`, "")
	def("guardduty:GetFindings", true, `{"detectorId":"%detector%","findingIds":["%hex8%%hex8%%hex8%%hex8%"]}`, "")
	def("guardduty:DeleteDetector", false, `{"detectorId":"%detector%"}`, "")
	def("guardduty:UpdateDetector", false, `{"detectorId":"%detector%","enable":false,"findingPublishingFrequency":"SIX_HOURS"}`, "")
	def("securityhub:GetFindings", true, `{"filters":{"recordState":[{"value":"ACTIVE","comparison":"EQUALS"}]},"maxResults":100}`, "")
	def("securityhub:BatchImportFindings", false, `{"findings":[{"productArn":"arn:aws:securityhub:%region%::product/aws/guardduty","id":"%uuid%"}]}`, `{"failedCount":0,"successCount":1}`)
	def("securityhub:DescribeHub", true, "", "")
	def("config:DescribeConfigurationRecorders", true, "", "")
	def("config:DescribeConfigurationRecorderStatus", true, "", "")
	def("config:DescribeComplianceByConfigRule", true, "", "")
	def("config:StopConfigurationRecorder", false, `{"configurationRecorderName":"default"}`, "")
	def("config:DeleteConfigurationRecorder", false, `{"configurationRecorderName":"default"}`, "")
	def("config:PutEvaluations", false, `{"evaluations":[{"complianceResourceType":"AWS::S3::Bucket","complianceResourceId":"%bucket%","complianceType":"COMPLIANT","orderingTimestamp":"%when%"}],"resultToken":"%uuid%","testMode":false}`, `{"failedEvaluations":[]}`)

	// Logs, CloudWatch
	def("logs:DescribeLogGroups", true, `{"logGroupNamePrefix":"/aws/"}`, "")
	def("logs:DescribeLogStreams", true, `{"logGroupName":"%loggroup%","orderBy":"LastEventTime","descending":true}`, "")
	def("logs:FilterLogEvents", true, `{"logGroupName":"%loggroup%","startTime":%ms%,"filterPattern":"ERROR","interleaved":true}`, "")
	def("logs:GetLogEvents", true, `{"logGroupName":"%loggroup%","logStreamName":"%stream%","startFromHead":false}`, "")
	def("logs:CreateLogStream", false, `{"logGroupName":"%loggroup%","logStreamName":"%stream%"}`, "", errs("ResourceAlreadyExistsException|The specified log stream already exists"))
	def("logs:StartQuery", true, `{"logGroupName":"%loggroup%","startTime":%n%,"endTime":%ms%,"queryString":"fields @timestamp, @message | sort @timestamp desc | limit 20"}`, `{"queryId":"%uuid%"}`)
	def("cloudwatch:DescribeAlarms", true, `{"maxRecords":100}`, "", apiVersion("2010-08-01"))
	def("cloudwatch:GetMetricStatistics", true, `{"namespace":"AWS/EC2","metricName":"CPUUtilization","dimensions":[{"name":"InstanceId","value":"%instance%"}],"startTime":"%exp%","endTime":"%exp%","period":300,"statistics":["Average"]}`, "", apiVersion("2010-08-01"))
	def("cloudwatch:PutMetricAlarm", false, `{"alarmName":"%service%-5xx","metricName":"HTTPCode_Target_5XX_Count","namespace":"AWS/ApplicationELB","statistic":"Sum","period":60,"evaluationPeriods":3,"threshold":10,"comparisonOperator":"GreaterThanThreshold"}`, "", apiVersion("2010-08-01"))

	// CloudFormation, autoscaling, ELB, RDS, DynamoDB, Route 53, SQS, ACM
	def("cloudformation:DescribeStacks", true, `{"stackName":"%stack%"}`, "")
	def("cloudformation:ListStacks", true, `{"stackStatusFilter":["CREATE_COMPLETE","UPDATE_COMPLETE"]}`, "")
	def("cloudformation:DescribeStackEvents", true, `{"stackName":"%stackId%"}`, "")
	def("cloudformation:GetTemplate", true, `{"stackName":"%stack%","templateStage":"Original"}`, "")
	def("cloudformation:UpdateStack", false, `{"stackName":"%stack%","templateURL":"https://%bucket%.s3.amazonaws.com/templates/%stack%.yaml","capabilities":["CAPABILITY_IAM"]}`, `{"stackId":"%stackId%"}`)
	def("autoscaling:DescribeAutoScalingGroups", true, `{"maxRecords":100}`, "")
	def("autoscaling:DescribeScalingActivities", true, `{"maxRecords":20}`, "")
	def("elasticloadbalancing:DescribeLoadBalancers", true, `{"pageSize":400}`, "", apiVersion("2015-12-01"))
	def("elasticloadbalancing:DescribeTargetGroups", true, `{"pageSize":400}`, "", apiVersion("2015-12-01"))
	def("elasticloadbalancing:DescribeTargetHealth", true, `{"targetGroupArn":"arn:aws:elasticloadbalancing:%region%:%acct%:targetgroup/%service%/%hex8%%hex8%"}`, "", apiVersion("2015-12-01"))
	def("rds:DescribeDBInstances", true, `{"dBInstanceIdentifier":"%db%"}`, "", errs("DBInstanceNotFound|DBInstance %s not found."))
	def("rds:DescribeDBClusters", true, `{"includeShared":false}`, "")
	def("rds:DescribeDBSnapshots", true, `{"dBInstanceIdentifier":"%db%","includeShared":false,"includePublic":false}`, "")
	def("rds:DescribeDBEngineVersions", true, `{"engine":"postgres","defaultOnly":true}`, "")
	def("dynamodb:DescribeTable", true, `{"tableName":"%table%"}`, "", res(`[{"accountId":"%acct%","type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:%region%:%acct%:table/%table%"}]`))
	def("dynamodb:ListTables", true, "", "")
	def("dynamodb:DescribeContinuousBackups", true, `{"tableName":"%table%"}`, "")
	def("route53:ListHostedZones", true, "", "", apiVersion("2013-04-01"))
	def("route53:ListResourceRecordSets", true, `{"hostedZoneId":"%zone%"}`, "", apiVersion("2013-04-01"))
	def("route53:ChangeResourceRecordSets", false, `{"hostedZoneId":"%zone%","changeBatch":{"changes":[{"action":"UPSERT","resourceRecordSet":{"name":"%service%.internal.","type":"CNAME","tTL":60,"resourceRecords":[{"value":"%service%.%region%.elb.amazonaws.com"}]}}]}}`,
		`{"changeInfo":{"id":"/change/C%hex8%","status":"PENDING","submittedAt":"%when%"}}`, apiVersion("2013-04-01"))
	def("sqs:ListQueues", true, "", "")
	def("sqs:GetQueueAttributes", true, `{"queueUrl":"%queue%","attributeNames":["All"]}`, "")
	def("acm:ListCertificates", true, `{"includes":{}}`, "")
	def("acm:DescribeCertificate", true, `{"certificateArn":"arn:aws:acm:%region%:%acct%:certificate/%uuid%"}`, "")

	// Athena, Glue, Cost Explorer, Organizations, Health
	def("athena:StartQueryExecution", false, `{"queryString":"SELECT * FROM events WHERE day = current_date LIMIT 100","clientRequestToken":"%uuid%","queryExecutionContext":{"database":"analytics"},"workGroup":"primary"}`, `{"queryExecutionId":"%uuid2%"}`)
	def("athena:GetQueryExecution", true, `{"queryExecutionId":"%uuid2%"}`, "")
	def("athena:GetQueryResults", true, `{"queryExecutionId":"%uuid2%","maxResults":1000}`, "")
	def("glue:GetTable", true, `{"databaseName":"analytics","name":"%table%"}`, "")
	def("glue:GetDatabases", true, "", "")
	def("ce:GetCostAndUsage", true, `{"timePeriod":{"start":"%now%","end":"%now%"},"granularity":"DAILY","metrics":["UnblendedCost"],"groupBy":[{"type":"DIMENSION","key":"SERVICE"}]}`, "")
	def("ce:GetCostForecast", true, `{"timePeriod":{"start":"%now%","end":"%now%"},"metric":"UNBLENDED_COST","granularity":"MONTHLY"}`, "")
	def("organizations:DescribeOrganization", true, "", "")
	def("organizations:ListAccounts", true, "", "")
	def("health:DescribeEventAggregates", true, `{"aggregateField":"eventTypeCategory","filter":{"eventStatusCodes":["open","upcoming"]}}`, "")

	// AWS service events
	def("ec2:SharedSnapshotVolumeCreated", false, "", "", kind(typeServiceEvent), details(`{"snapshotId":"%snap%"}`))
}
