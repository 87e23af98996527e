package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// User agents of the clients people and workloads use. %d and %s are filled per seed, so one
// person keeps one CLI version all week.
var (
	cliAgents = []string{
		"aws-cli/2.15.%d Python/3.11.6 Darwin/23.4.0 exe/x86_64 prompt/off",
		"aws-cli/2.17.%d Python/3.11.9 Darwin/24.1.0 exe/arm64 prompt/off",
		"aws-cli/2.13.%d Python/3.11.4 Linux/6.5.0-35-generic exe/x86_64.ubuntu.22 prompt/off",
		"aws-cli/2.16.%d Python/3.11.8 Windows/10 exe/AMD64 prompt/off",
		"aws-cli/2.15.%d Python/3.11.6 Linux/5.15.153.1-microsoft-standard-WSL2 exe/x86_64.ubuntu.22 prompt/off",
	}
	botoAgents = []string{
		"Boto3/1.34.%d md/Botocore#1.34.%[1]d ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.%[1]d",
		"Boto3/1.35.%d md/Botocore#1.35.%[1]d ua/2.0 os/linux#6.5.0-41-generic md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.%[1]d",
	}
	browserAgents = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
	}
	terraformAgent = "APN/1.0 HashiCorp/1.0 Terraform/1.8.%d (+https://www.terraform.io) terraform-provider-aws/5.49.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 ua/2.0 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64"
	workloadAgents = map[string][]string{
		"java":   {"aws-sdk-java/2.25.%d Linux/6.1.84-99.169.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/21.0.3+9-LTS Java/21.0.3 vendor/Amazon.com_Inc. md/internal io/sync http/Apache cfg/retry-mode/legacy"},
		"go":     {"aws-sdk-go-v2/1.26.%d os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1"},
		"python": {"Boto3/1.34.%d md/Botocore#1.34.%[1]d ua/2.0 os/linux#5.10.215-203.850.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.%[1]d"},
		"node":   {"aws-sdk-js/3.577.%d ua/2.0 os/linux#5.10.216-225.855.amzn2.x86_64 lang/js md/nodejs#20.13.1 api/s3#3.577.0 exec-env/AWS_Lambda_nodejs20.x"},
		"ecs":    {"aws-sdk-go-v2/1.25.%d os/linux lang/go#1.21.9 md/GOOS#linux md/GOARCH#arm64 exec-env/AWS_ECS_FARGATE"},
		"ssm":    {"aws-sdk-go/1.44.%d (go1.21.9; linux; amd64) amazon-ssm-agent/3.3.418.0"},
		"ecsagt": {"amazon-ecs-agent/1.82.%d (+https://github.com/aws/amazon-ecs-agent) aws-sdk-go/1.51.3 (go1.21.8; linux; amd64)"},
	}
)

func agent(r *rand.Rand, forms []string) string {
	f := forms[r.IntN(len(forms))]
	if strings.Contains(f, "%") {
		return fmt.Sprintf(f, 10+r.IntN(90))
	}
	return f
}

// cliCommand is the "command/<service>.<verb>" suffix aws-cli v2 appends: DescribeInstances → ec2.describe-instances.
func cliCommand(a *api) string {
	var b strings.Builder
	b.WriteString(" command/")
	svc := a.iamPrefix
	if svc == "monitoring" {
		svc = "cloudwatch"
	}
	b.WriteString(svc)
	b.WriteByte('.')
	name := a.name
	if i := strings.Index(name, "2015"); i > 0 {
		name = name[:i]
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
