package fleettest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// AWS is AWS as far as the scanner sees it: one httptest server per
// service, each speaking the service's own protocol (EC2 query, STS query,
// KMS and Organizations JSON 1.1, S3 REST XML), so that the real SDK clients
// serialise, sign, page, retry and deserialise exactly as against AWS. The
// caller is told apart by the signature's access key: the base credentials
// (AWSCallerKey) or the ones the fake STS issued for one account.
type AWS struct {
	// Accounts are the accounts and what they hold; set before start,
	// read only after.
	Accounts map[string]*AWSAccount
	// Org lists the organisation's accounts in ListAccounts order.
	Org []AWSOrgAccount
	// Role and ExternalID are what AssumeRole must be asked for (the role
	// name in each account).
	Role, ExternalID string
	// PageSize is the fake's page size for every paginated list.
	PageSize int
	// Delay holds every answer, so that concurrent calls overlap.
	Delay time.Duration
	// Throttle, when set, picks calls to answer as AWS throttles them
	// (EC2 RequestLimitExceeded 503, S3 SlowDown 503, STS Throttling 400,
	// KMS and Organizations ThrottlingException 400) instead of serving
	// them; set before the first call.
	Throttle *Throttle

	mu      sync.Mutex
	faults  map[string]*Fault
	calls   map[string]int
	times   map[string][]time.Time
	assumed []AssumeCall
	// inflight and maxInflight count each account's calls in progress.
	inflight, maxInflight map[string]int
	// byAccount counts calls per account (CallsByAccount).
	byAccount map[string]int
	// described counts DescribeKey by the KeyId asked.
	described map[string]int
	// bad collects protocol violations the fake saw (unsigned calls, a
	// call with the wrong credentials); a test fails on any.
	bad []string

	ec2, sts, kms, org, s3 *httptest.Server
}

const (
	AWSCallerKey     = "AKIDCALLER0000000000"
	AWSCallerAccount = "000000000000"
	version2016      = "2016-11-15"
)

type AWSAccount struct {
	Enabled []string // DescribeRegions
	Regions map[string]*AWSRegion
	Buckets []AWSBucket
}

type AWSRegion struct {
	Instances []AWSInstance
	Volumes   []AWSVolume
	Snapshots []AWSSnapshot
	Keys      []AWSKey
	Aliases   map[string]string // alias/name -> key ID
}

type AWSInstance struct {
	ID, Type, State, Lifecycle, Zone string
	Launch                           time.Time
	Tags                             map[string]string
	Volumes                          []string
}

type AWSVolume struct {
	ID               string
	Size             int
	Type             string
	Encrypted        bool
	Key              string // KmsKeyId as EBS reports it: a key ARN
	AttachedTo, Zone string
	Created          time.Time
	Tags             map[string]string
}

type AWSSnapshot struct {
	ID, Volume string
	Size       int
	Encrypted  bool
	Key        string
	Start      time.Time
	// Public snapshots are someone else's, listed only to a caller that
	// does not ask for its own (no Owner.N=self).
	Public bool
}

type AWSKey struct {
	ID, Manager, State, Spec, Origin string
	Rotation                         bool
	Created                          time.Time
}

type AWSBucket struct {
	Name, Location string // Location is the LocationConstraint S3 answers
	Created        time.Time
	SSE, KMSKey    string // "" = no encryption configuration
	Block          *[4]bool
	Versioning     string
	Tags           map[string]string
}

type AWSOrgAccount struct {
	ID, Name, State, Status, Partition string
}

type AssumeCall struct {
	Caller, Role, ExternalID, Session, Duration string
}

// Fault makes the next n calls of one API in one account and region fail
// (n < 0: every call), as AWS fails them.
type Fault struct {
	N       int
	Status  int
	Code    string
	Message string
}

func NewAWS(t testing.TB) *AWS {
	f := &AWS{
		Accounts: map[string]*AWSAccount{}, Role: "QuartermasterAudit", PageSize: 2,
		faults: map[string]*Fault{}, calls: map[string]int{}, times: map[string][]time.Time{}, described: map[string]int{},
		inflight: map[string]int{}, maxInflight: map[string]int{}, byAccount: map[string]int{},
	}
	f.ec2 = httptest.NewServer(f.track(f.serveEC2))
	f.sts = httptest.NewServer(f.track(f.serveSTS))
	f.kms = httptest.NewServer(f.track(f.serveKMS))
	f.org = httptest.NewServer(f.track(f.serveOrg))
	f.s3 = httptest.NewServer(f.track(f.serveS3))
	t.Cleanup(func() {
		for _, s := range []*httptest.Server{f.ec2, f.sts, f.kms, f.org, f.s3} {
			s.Close()
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, b := range f.bad {
			t.Errorf("fake AWS: %s", b)
		}
	})
	return f
}

// track counts the calls in progress per account (by access key) and holds
// each for Delay.
func (f *AWS) track(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := ""
		if m := SigV4.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			key = m[1]
		}
		f.mu.Lock()
		f.inflight[key]++
		f.maxInflight[key] = max(f.maxInflight[key], f.inflight[key])
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.inflight[key]--
			f.mu.Unlock()
		}()
		time.Sleep(f.Delay)
		h(w, r)
	})
}

// maxInflightOf is the most calls account had in progress at once.
func (f *AWS) MaxInflightOf(account string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInflight["ASIA"+account]
}

// AWSURLs are the fake services' base URLs, for the scanner's endpoints
// (S3 is addressed path-style).
type AWSURLs struct{ STS, Organizations, EC2, KMS, S3 string }

// URLs returns the services' base URLs.
func (f *AWS) URLs() AWSURLs {
	return AWSURLs{STS: f.sts.URL, Organizations: f.org.URL, EC2: f.ec2.URL, KMS: f.kms.URL, S3: f.s3.URL}
}

// Described returns how often DescribeKey was asked for each KeyId.
func (f *AWS) Described() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.described)
}

// CallsByAccount returns the calls answered so far per account, throttled
// ones included. AssumeRole counts for the account whose role it asks for,
// not for the caller that asks.
func (f *AWS) CallsByAccount() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.byAccount)
}

func (f *AWS) RoleARN(account string) string {
	return "arn:aws:iam::" + account + ":role/" + f.Role
}

// fail installs a Fault on api ("ec2:DescribeVolumes") in account/region.
func (f *AWS) Fail(api, account, region string, ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[api+" "+account+" "+region] = &ft
}

func (f *AWS) CallsOf(api, account, region string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[api+" "+account+" "+region]
}

func (f *AWS) TimesOf(api, account, region string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.times[api+" "+account+" "+region])
}

func (f *AWS) AssumeCalls() []AssumeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.assumed)
}

var roleAccount = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/`)

// awsThrottle is the answer each service gives a throttled call.
func awsThrottle(api string) *Fault {
	switch service, _, _ := strings.Cut(api, ":"); service {
	case "ec2":
		return &Fault{N: 1, Status: 503, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	case "s3":
		return &Fault{N: 1, Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."}
	case "sts":
		return &Fault{N: 1, Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	default:
		return &Fault{N: 1, Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}
	}
}

// SigV4 reads a Signature V4 Authorization header: the access key, the
// region and the service the request was signed for.
var SigV4 = regexp.MustCompile(`Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9]+)/aws4_request`)

// enter identifies and records a call and applies its Fault, if any. It
// returns the account and region, and a Fault to answer instead.
func (f *AWS) enter(r *http.Request, api string) (account, region string, ft *Fault) {
	m := SigV4.FindStringSubmatch(r.Header.Get("Authorization"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if m == nil {
		f.bad = append(f.bad, api+": unsigned request")
		return "", "", &Fault{N: 1, Status: 403, Code: "MissingAuthenticationToken", Message: "unsigned"}
	}
	key, region := m[1], m[2]
	switch {
	case key == AWSCallerKey:
		account = AWSCallerAccount
	case strings.HasPrefix(key, "ASIA") && r.Header.Get("X-Amz-Security-Token") == "token-"+key[4:]:
		account = key[4:]
	default:
		f.bad = append(f.bad, fmt.Sprintf("%s: unknown credentials %s", api, key))
		return "", region, &Fault{N: 1, Status: 403, Code: "InvalidClientTokenId", Message: "bad key"}
	}
	k := api + " " + account + " " + region
	f.calls[k]++
	f.times[k] = append(f.times[k], time.Now())
	target := account
	if m := roleAccount.FindStringSubmatch(r.PostForm.Get("RoleArn")); api == "sts:AssumeRole" && m != nil {
		target = m[1]
	}
	f.byAccount[target]++
	if f.Throttle.Next() {
		return account, region, awsThrottle(api)
	}
	if ft := f.faults[k]; ft != nil && ft.N != 0 {
		if ft.N > 0 {
			ft.N--
		}
		return account, region, ft
	}
	return account, region, nil
}

// page cuts n items at token: the items [from, to) and the next token.
func (f *AWS) page(n int, token string) (from, to int, next string) {
	from, _ = strconv.Atoi(token)
	to = min(from+f.PageSize, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next
}

const isoMillis = "2006-01-02T15:04:05.000Z"

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func tagSet(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("<tagSet>")
	for _, k := range keys {
		fmt.Fprintf(&b, "<item><key>%s</key><value>%s</value></item>", esc(k), esc(tags[k]))
	}
	b.WriteString("</tagSet>")
	return b.String()
}

// ---- EC2: query protocol, XML answers, nextToken paging ----

func (f *AWS) serveEC2(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	action := r.PostForm.Get("Action")
	account, region, ft := f.enter(r, "ec2:"+action)
	if ft != nil {
		w.WriteHeader(ft.Status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>req-1</RequestID></Response>`, ft.Code, esc(ft.Message))
		return
	}
	if v := r.PostForm.Get("Version"); v != version2016 {
		f.addBad("ec2:%s: Version %q", action, v)
	}
	acc := f.Accounts[account]
	var reg *AWSRegion
	if acc != nil {
		reg = acc.Regions[region]
	}
	if reg == nil {
		reg = &AWSRegion{}
	}
	token := r.PostForm.Get("NextToken")
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><%sResponse xmlns="http://ec2.amazonaws.com/doc/%s/"><requestId>req-1</requestId>`, action, version2016)
	next := ""
	switch action {
	case "DescribeRegions":
		b.WriteString("<regionInfo>")
		if acc != nil {
			for _, name := range acc.Enabled {
				fmt.Fprintf(&b, "<item><regionName>%s</regionName><regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>", name, name)
			}
		}
		b.WriteString("</regionInfo>")
	case "DescribeInstances":
		// The instance-state-name filter, as EC2 applies it.
		var states []string
		if r.PostForm.Get("Filter.1.Name") == "instance-state-name" {
			for i := 1; r.PostForm.Has(fmt.Sprintf("Filter.1.Value.%d", i)); i++ {
				states = append(states, r.PostForm.Get(fmt.Sprintf("Filter.1.Value.%d", i)))
			}
		}
		var list []AWSInstance
		for _, in := range reg.Instances {
			if states == nil || slices.Contains(states, in.State) {
				list = append(list, in)
			}
		}
		var from, to int
		from, to, next = f.page(len(list), token)
		b.WriteString("<reservationSet>")
		for _, in := range list[from:to] {
			fmt.Fprintf(&b, "<item><reservationId>r-%s</reservationId><ownerId>%s</ownerId><instancesSet><item>", in.ID, account)
			fmt.Fprintf(&b, "<instanceId>%s</instanceId><instanceType>%s</instanceType><launchTime>%s</launchTime>", in.ID, in.Type, in.Launch.UTC().Format(isoMillis))
			fmt.Fprintf(&b, "<instanceState><code>16</code><name>%s</name></instanceState><placement><availabilityZone>%s</availabilityZone><tenancy>default</tenancy></placement>", in.State, in.Zone)
			if in.Lifecycle != "" {
				fmt.Fprintf(&b, "<instanceLifecycle>%s</instanceLifecycle>", in.Lifecycle)
			}
			b.WriteString("<blockDeviceMapping>")
			for i, v := range in.Volumes {
				fmt.Fprintf(&b, "<item><deviceName>/dev/xvd%c</deviceName><ebs><volumeId>%s</volumeId><status>attached</status><deleteOnTermination>true</deleteOnTermination></ebs></item>", 'a'+i, v)
			}
			b.WriteString("</blockDeviceMapping>")
			if len(in.Tags) > 0 {
				b.WriteString(tagSet(in.Tags))
			}
			b.WriteString("</item></instancesSet></item>")
		}
		b.WriteString("</reservationSet>")
	case "DescribeVolumes":
		var from, to int
		from, to, next = f.page(len(reg.Volumes), token)
		b.WriteString("<volumeSet>")
		for _, v := range reg.Volumes[from:to] {
			fmt.Fprintf(&b, "<item><volumeId>%s</volumeId><size>%d</size><volumeType>%s</volumeType><availabilityZone>%s</availabilityZone><status>in-use</status><createTime>%s</createTime><encrypted>%t</encrypted>",
				v.ID, v.Size, v.Type, v.Zone, v.Created.UTC().Format(isoMillis), v.Encrypted)
			if v.Key != "" {
				fmt.Fprintf(&b, "<kmsKeyId>%s</kmsKeyId>", v.Key)
			}
			b.WriteString("<attachmentSet>")
			if v.AttachedTo != "" {
				fmt.Fprintf(&b, "<item><volumeId>%s</volumeId><instanceId>%s</instanceId><device>/dev/xvdb</device><status>attached</status><deleteOnTermination>false</deleteOnTermination></item>", v.ID, v.AttachedTo)
			}
			b.WriteString("</attachmentSet>")
			if len(v.Tags) > 0 {
				b.WriteString(tagSet(v.Tags))
			}
			b.WriteString("</item>")
		}
		b.WriteString("</volumeSet>")
	case "DescribeSnapshots":
		self := r.PostForm.Get("Owner.1") == "self"
		var list []AWSSnapshot
		for _, s := range reg.Snapshots {
			if !self || !s.Public {
				list = append(list, s)
			}
		}
		var from, to int
		from, to, next = f.page(len(list), token)
		b.WriteString("<snapshotSet>")
		for _, s := range list[from:to] {
			owner := account
			if s.Public {
				owner = "137112412989"
			}
			fmt.Fprintf(&b, "<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId><status>completed</status><startTime>%s</startTime><progress>100%%</progress><ownerId>%s</ownerId><volumeSize>%d</volumeSize><encrypted>%t</encrypted>",
				s.ID, s.Volume, s.Start.UTC().Format(isoMillis), owner, s.Size, s.Encrypted)
			if s.Key != "" {
				fmt.Fprintf(&b, "<kmsKeyId>%s</kmsKeyId>", s.Key)
			}
			b.WriteString("</item>")
		}
		b.WriteString("</snapshotSet>")
	default:
		f.addBad("ec2: unexpected action %s", action)
		w.WriteHeader(400)
		return
	}
	if next != "" {
		fmt.Fprintf(&b, "<nextToken>%s</nextToken>", next)
	}
	fmt.Fprintf(&b, "</%sResponse>", action)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	io.WriteString(w, b.String())
}

func (f *AWS) addBad(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bad = append(f.bad, fmt.Sprintf(format, args...))
}

// ---- STS: query protocol; AssumeRole checks what it is asked ----

func (f *AWS) serveSTS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	action := r.PostForm.Get("Action")
	caller, region, ft := f.enter(r, "sts:"+action)
	stsErr := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, code, esc(msg))
	}
	if ft != nil {
		stsErr(ft.Status, ft.Code, ft.Message)
		return
	}
	if action != "AssumeRole" || r.PostForm.Get("Version") != "2011-06-15" {
		f.addBad("sts: unexpected %s version %s", action, r.PostForm.Get("Version"))
		stsErr(400, "InvalidAction", "no")
		return
	}
	call := AssumeCall{
		Caller: caller, Role: r.PostForm.Get("RoleArn"), ExternalID: r.PostForm.Get("ExternalId"),
		Session: r.PostForm.Get("RoleSessionName"), Duration: r.PostForm.Get("DurationSeconds"),
	}
	f.mu.Lock()
	f.assumed = append(f.assumed, call)
	f.mu.Unlock()
	m := regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/(.+)$`).FindStringSubmatch(call.Role)
	if caller != AWSCallerAccount || m == nil || f.Accounts[m[1]] == nil || m[2] != f.Role || call.ExternalID != f.ExternalID {
		stsErr(403, "AccessDenied", fmt.Sprintf("User: arn:aws:iam::%s:user/auditor is not authorized to perform: sts:AssumeRole on resource: %s", caller, call.Role))
		return
	}
	_ = region
	id := m[1]
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>ASIA%s</AccessKeyId><SecretAccessKey>secret-%s</SecretAccessKey><SessionToken>token-%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><AssumedRoleId>AROA%s:%s</AssumedRoleId><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		id, id, id, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), id, call.Session, id, f.Role, call.Session)
}

// ---- KMS and Organizations: JSON 1.1 with X-Amz-Target ----

func jsonErr(w http.ResponseWriter, ft *Fault) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(ft.Status)
	json.NewEncoder(w).Encode(map[string]string{"__type": ft.Code, "message": ft.Message})
}

func (f *AWS) jsonRequest(w http.ResponseWriter, r *http.Request, prefix, service string, in any) (op, account, region string, ok bool) {
	target := r.Header.Get("X-Amz-Target")
	op, found := strings.CutPrefix(target, prefix+".")
	if !found || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		f.addBad("%s: target %q content type %q", service, target, r.Header.Get("Content-Type"))
		jsonErr(w, &Fault{Status: 400, Code: "UnknownOperationException"})
		return "", "", "", false
	}
	account, region, ft := f.enter(r, service+":"+op)
	if ft != nil {
		jsonErr(w, ft)
		return "", "", "", false
	}
	if err := json.NewDecoder(r.Body).Decode(in); err != nil {
		f.addBad("%s:%s: body: %v", service, op, err)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	return op, account, region, true
}

func KeyARN(region, account, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

func (f *AWS) serveKMS(w http.ResponseWriter, r *http.Request) {
	var in struct {
		KeyId  string
		Marker string
		Limit  int
	}
	op, account, region, ok := f.jsonRequest(w, r, "TrentService", "kms", &in)
	if !ok {
		return
	}
	var reg *AWSRegion
	if acc := f.Accounts[account]; acc != nil {
		reg = acc.Regions[region]
	}
	if reg == nil {
		reg = &AWSRegion{}
	}
	// find resolves a key ID, key ARN, alias name or alias ARN.
	find := func(ref string) *AWSKey {
		id := ref
		if i := strings.Index(ref, ":key/"); i >= 0 {
			id = ref[i+len(":key/"):]
		}
		if i := strings.Index(ref, ":alias/"); i >= 0 {
			id = reg.Aliases[ref[i+1:]]
		}
		if strings.HasPrefix(ref, "alias/") {
			id = reg.Aliases[ref]
		}
		for i := range reg.Keys {
			if reg.Keys[i].ID == id {
				return &reg.Keys[i]
			}
		}
		return nil
	}
	enc := json.NewEncoder(w)
	switch op {
	case "ListKeys":
		from, to, next := f.page(len(reg.Keys), in.Marker)
		keys := []map[string]string{}
		for _, k := range reg.Keys[from:to] {
			keys = append(keys, map[string]string{"KeyId": k.ID, "KeyArn": KeyARN(region, account, k.ID)})
		}
		out := map[string]any{"Keys": keys, "Truncated": next != ""}
		if next != "" {
			out["NextMarker"] = next
		}
		enc.Encode(out)
	case "DescribeKey":
		f.mu.Lock()
		f.described[in.KeyId]++
		f.mu.Unlock()
		k := find(in.KeyId)
		if k == nil {
			jsonErr(w, &Fault{Status: 400, Code: "NotFoundException", Message: "Key '" + in.KeyId + "' does not exist"})
			return
		}
		enc.Encode(map[string]any{"KeyMetadata": map[string]any{
			"AWSAccountId": account, "KeyId": k.ID, "Arn": KeyARN(region, account, k.ID),
			"CreationDate": float64(k.Created.Unix()), "Enabled": k.State == "Enabled", "Description": "",
			"KeyUsage": "ENCRYPT_DECRYPT", "KeyState": k.State, "Origin": k.Origin, "KeyManager": k.Manager,
			"CustomerMasterKeySpec": k.Spec, "KeySpec": k.Spec, "EncryptionAlgorithms": []string{"SYMMETRIC_DEFAULT"},
			"MultiRegion": false,
		}})
	case "GetKeyRotationStatus":
		k := find(in.KeyId)
		switch {
		case k == nil:
			jsonErr(w, &Fault{Status: 400, Code: "NotFoundException", Message: "no such key"})
		case k.Spec != "SYMMETRIC_DEFAULT" || k.Manager != "CUSTOMER":
			// KMS refuses it for keys it does not rotate.
			jsonErr(w, &Fault{Status: 400, Code: "UnsupportedOperationException", Message: k.ID + " is not a symmetric customer key"})
		default:
			enc.Encode(map[string]any{"KeyRotationEnabled": k.Rotation, "KeyId": KeyARN(region, account, k.ID)})
		}
	default:
		f.addBad("kms: unexpected %s", op)
		jsonErr(w, &Fault{Status: 400, Code: "UnknownOperationException"})
	}
}

func (f *AWS) serveOrg(w http.ResponseWriter, r *http.Request) {
	var in struct{ NextToken string }
	op, account, _, ok := f.jsonRequest(w, r, "AWSOrganizationsV20161128", "organizations", &in)
	if !ok {
		return
	}
	if op != "ListAccounts" || account != AWSCallerAccount {
		f.addBad("organizations: %s by %s", op, account)
		jsonErr(w, &Fault{Status: 400, Code: "AccessDeniedException", Message: "no"})
		return
	}
	from, to, next := f.page(len(f.Org), in.NextToken)
	accounts := []map[string]any{}
	for _, a := range f.Org[from:to] {
		p := cmpOrS(a.Partition, "aws")
		m := map[string]any{
			"Id": a.ID, "Name": a.Name, "Email": a.ID + "@example.com",
			"Arn":    "arn:" + p + ":organizations::" + AWSCallerAccount + ":account/o-example/" + a.ID,
			"Status": a.Status, "JoinedMethod": "CREATED", "JoinedTimestamp": 1.7e9,
		}
		if a.State != "" {
			m["State"] = a.State
		}
		accounts = append(accounts, m)
	}
	out := map[string]any{"Accounts": accounts}
	if next != "" {
		out["NextToken"] = next
	}
	json.NewEncoder(w).Encode(out)
}

func cmpOrS(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ---- S3: REST XML, path-style ----

func (f *AWS) serveS3(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(r.URL.Path, "/")
	q := r.URL.Query()
	var api string
	switch {
	case name == "":
		api = "ListAllMyBuckets"
	case q.Has("location"):
		api = "GetBucketLocation"
	case q.Has("encryption"):
		api = "GetEncryptionConfiguration"
	case q.Has("publicAccessBlock"):
		api = "GetBucketPublicAccessBlock"
	case q.Has("versioning"):
		api = "GetBucketVersioning"
	case q.Has("tagging"):
		api = "GetBucketTagging"
	default:
		f.addBad("s3: unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(400)
		return
	}
	account, region, ft := f.enter(r, "s3:"+api)
	s3Err := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><BucketName>%s</BucketName><RequestId>req-1</RequestId><HostId>host-1</HostId></Error>`, code, esc(msg), esc(name))
	}
	if ft != nil {
		s3Err(ft.Status, ft.Code, ft.Message)
		return
	}
	acc := f.Accounts[account]
	if acc == nil {
		s3Err(403, "AccessDenied", "Access Denied")
		return
	}
	const ns = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	w.Header().Set("Content-Type", "application/xml")
	if api == "ListAllMyBuckets" {
		from, to, next := f.page(len(acc.Buckets), q.Get("continuation-token"))
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult %s><Owner><ID>owner-%s</ID></Owner><Buckets>`, ns, account)
		for _, bk := range acc.Buckets[from:to] {
			fmt.Fprintf(&b, "<Bucket><Name>%s</Name><CreationDate>%s</CreationDate></Bucket>", bk.Name, bk.Created.UTC().Format(isoMillis))
		}
		b.WriteString("</Buckets>")
		if next != "" {
			fmt.Fprintf(&b, "<ContinuationToken>%s</ContinuationToken>", next)
		}
		b.WriteString("</ListAllMyBucketsResult>")
		io.WriteString(w, b.String())
		return
	}
	i := slices.IndexFunc(acc.Buckets, func(b AWSBucket) bool { return b.Name == name })
	if i < 0 {
		s3Err(404, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	bk := acc.Buckets[i]
	home := bk.Location
	switch home {
	case "":
		home = "us-east-1"
	case "EU":
		home = "eu-west-1"
	}
	// S3 serves a bucket's configuration only in its region (it
	// redirects elsewhere); GetBucketLocation is answered anywhere.
	if api != "GetBucketLocation" && region != home {
		f.addBad("s3:%s on %s signed for %s, bucket in %s", api, name, region, home)
		s3Err(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.")
		return
	}
	switch api {
	case "GetBucketLocation":
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint %s>%s</LocationConstraint>`, ns, bk.Location)
	case "GetEncryptionConfiguration":
		if bk.SSE == "" {
			s3Err(404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
			return
		}
		key := ""
		if bk.KMSKey != "" {
			key = "<KMSMasterKeyID>" + bk.KMSKey + "</KMSMasterKeyID>"
		}
		fmt.Fprintf(w, `<ServerSideEncryptionConfiguration %s><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>%s</SSEAlgorithm>%s</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`, ns, bk.SSE, key)
	case "GetBucketPublicAccessBlock":
		if bk.Block == nil {
			s3Err(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
			return
		}
		fmt.Fprintf(w, `<PublicAccessBlockConfiguration %s><BlockPublicAcls>%t</BlockPublicAcls><IgnorePublicAcls>%t</IgnorePublicAcls><BlockPublicPolicy>%t</BlockPublicPolicy><RestrictPublicBuckets>%t</RestrictPublicBuckets></PublicAccessBlockConfiguration>`,
			ns, bk.Block[0], bk.Block[1], bk.Block[2], bk.Block[3])
	case "GetBucketVersioning":
		status := ""
		if bk.Versioning != "" {
			status = "<Status>" + bk.Versioning + "</Status>"
		}
		fmt.Fprintf(w, `<VersioningConfiguration %s>%s</VersioningConfiguration>`, ns, status)
	case "GetBucketTagging":
		if len(bk.Tags) == 0 {
			s3Err(404, "NoSuchTagSet", "The TagSet does not exist")
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, `<Tagging %s><TagSet>`, ns)
		for k, v := range bk.Tags {
			fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", esc(k), esc(v))
		}
		b.WriteString("</TagSet></Tagging>")
		io.WriteString(w, b.String())
	}
}
