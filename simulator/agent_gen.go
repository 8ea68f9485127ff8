package simulator

import (
	"fmt"
	"strconv"
	"strings"
)

// agentJSON is the /agents item (reference §7). Fields are declared in
// sorted key order, as the console (Flask) serializes them.
type agentJSON struct {
	AccountID                      string                    `json:"accountId"`
	AccountName                    string                    `json:"accountName"`
	ActiveDirectory                activeDirectory           `json:"activeDirectory"`
	ActiveProtection               []string                  `json:"activeProtection"`
	ActiveThreats                  int                       `json:"activeThreats"`
	AgentVersion                   string                    `json:"agentVersion"`
	AllowRemoteShell               bool                      `json:"allowRemoteShell"`
	AppsVulnerabilityStatus        string                    `json:"appsVulnerabilityStatus"`
	CloudProviders                 map[string]map[string]any `json:"cloudProviders"`
	ComputerName                   string                    `json:"computerName"`
	ConsoleMigrationStatus         string                    `json:"consoleMigrationStatus"`
	ContainerizedWorkloadCounts    workloadCounts            `json:"containerizedWorkloadCounts"`
	CoreCount                      int                       `json:"coreCount"`
	CPUCount                       int                       `json:"cpuCount"`
	CPUID                          string                    `json:"cpuId"`
	CreatedAt                      string                    `json:"createdAt"`
	DetectionState                 *string                   `json:"detectionState"`
	Domain                         string                    `json:"domain"`
	EncryptedApplications          bool                      `json:"encryptedApplications"`
	ExternalID                     *string                   `json:"externalId"`
	ExternalIP                     *string                   `json:"externalIp"`
	FirewallEnabled                bool                      `json:"firewallEnabled"`
	FirstFullModeTime              *string                   `json:"firstFullModeTime"`
	FullDiskScanLastUpdatedAt      *string                   `json:"fullDiskScanLastUpdatedAt"`
	GroupID                        string                    `json:"groupId"`
	GroupIP                        string                    `json:"groupIp"`
	GroupName                      string                    `json:"groupName"`
	GroupUpdatedAt                 *string                   `json:"groupUpdatedAt"`
	HasContainerizedWorkload       bool                      `json:"hasContainerizedWorkload"`
	ID                             string                    `json:"id"`
	InRemoteShellSession           bool                      `json:"inRemoteShellSession"`
	Infected                       bool                      `json:"infected"`
	InstallerType                  string                    `json:"installerType"`
	IsActive                       bool                      `json:"isActive"`
	IsAdConnector                  bool                      `json:"isAdConnector"`
	IsDecommissioned               bool                      `json:"isDecommissioned"`
	IsHyperAutomate                bool                      `json:"isHyperAutomate"`
	IsPendingUninstall             bool                      `json:"isPendingUninstall"`
	IsUninstalled                  bool                      `json:"isUninstalled"`
	IsUpToDate                     bool                      `json:"isUpToDate"`
	LastActiveDate                 string                    `json:"lastActiveDate"`
	LastIPToMgmt                   *string                   `json:"lastIpToMgmt"`
	LastLoggedInUserName           string                    `json:"lastLoggedInUserName"`
	LastSuccessfulScanDate         *string                   `json:"lastSuccessfulScanDate"`
	LicenseKey                     string                    `json:"licenseKey"`
	LocationEnabled                bool                      `json:"locationEnabled"`
	LocationType                   string                    `json:"locationType"`
	Locations                      []location                `json:"locations"`
	MachineSid                     *string                   `json:"machineSid"`
	MachineType                    string                    `json:"machineType"`
	MissingPermissions             []string                  `json:"missingPermissions"`
	MitigationMode                 string                    `json:"mitigationMode"`
	MitigationModeSuspicious       string                    `json:"mitigationModeSuspicious"`
	ModelName                      string                    `json:"modelName"`
	NetworkInterfaces              []netInterface            `json:"networkInterfaces"`
	NetworkQuarantineEnabled       bool                      `json:"networkQuarantineEnabled"`
	NetworkStatus                  string                    `json:"networkStatus"`
	OperationalState               string                    `json:"operationalState"`
	OperationalStateExpiration     *string                   `json:"operationalStateExpiration"`
	OsArch                         string                    `json:"osArch"`
	OsName                         string                    `json:"osName"`
	OsRevision                     string                    `json:"osRevision"`
	OsStartTime                    string                    `json:"osStartTime"`
	OsType                         string                    `json:"osType"`
	OsUsername                     *string                   `json:"osUsername"`
	PolicyUpdatedAt                *string                   `json:"policyUpdatedAt"`
	ProxyStates                    proxyStates               `json:"proxyStates"`
	RangerStatus                   string                    `json:"rangerStatus"`
	RangerVersion                  *string                   `json:"rangerVersion"`
	RegisteredAt                   string                    `json:"registeredAt"`
	RemoteProfilingState           string                    `json:"remoteProfilingState"`
	RemoteProfilingStateExpiration *string                   `json:"remoteProfilingStateExpiration"`
	ScanAbortedAt                  *string                   `json:"scanAbortedAt"`
	ScanFinishedAt                 *string                   `json:"scanFinishedAt"`
	ScanStartedAt                  *string                   `json:"scanStartedAt"`
	ScanStatus                     string                    `json:"scanStatus"`
	SerialNumber                   *string                   `json:"serialNumber"`
	ShowAlertIcon                  bool                      `json:"showAlertIcon"`
	SiteID                         string                    `json:"siteId"`
	SiteName                       string                    `json:"siteName"`
	StorageName                    *string                   `json:"storageName"`
	StorageType                    *string                   `json:"storageType"`
	Tags                           agentTags                 `json:"tags"`
	ThreatRebootRequired           bool                      `json:"threatRebootRequired"`
	TotalMemory                    int                       `json:"totalMemory"`
	UpdatedAt                      string                    `json:"updatedAt"`
	UserActionsNeeded              []string                  `json:"userActionsNeeded"`
	UUID                           string                    `json:"uuid"`
}

type activeDirectory struct {
	ComputerDistinguishedName *string  `json:"computerDistinguishedName"`
	ComputerMemberOf          []string `json:"computerMemberOf"`
	LastUserDistinguishedName *string  `json:"lastUserDistinguishedName"`
	LastUserMemberOf          []string `json:"lastUserMemberOf"`
	Mail                      *string  `json:"mail"`
	UserPrincipalName         *string  `json:"userPrincipalName"`
}

type workloadCounts struct {
	ContainersCount *int `json:"containersCount"`
	PodsCount       *int `json:"podsCount"`
	TasksCount      *int `json:"tasksCount"`
}

type location struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

type netInterface struct {
	GatewayIP         *string  `json:"gatewayIp"`
	GatewayMacAddress *string  `json:"gatewayMacAddress"`
	ID                string   `json:"id"`
	Inet              []string `json:"inet"`
	Inet6             []string `json:"inet6"`
	Name              string   `json:"name"`
	Physical          string   `json:"physical"`
}

type proxyStates struct {
	Console        *bool `json:"console"`
	DeepVisibility *bool `json:"deepVisibility"`
}

type agentTags struct {
	SentinelOne []agentTag `json:"sentinelone"`
}

type agentTag struct {
	AssignedAt   string `json:"assignedAt"`
	AssignedBy   string `json:"assignedBy"`
	AssignedByID string `json:"assignedById"`
	ID           string `json:"id"`
	Key          string `json:"key"`
	Value        string `json:"value"`
}

// osProfile is one family of endpoints with realistic value tables.
type osProfile struct {
	weight       int
	osType       string
	machineTypes []string
	osNames      [][2]string // name, revision
	arches       []string
	installers   []string
	versions     []string
	models       []string
	cpus         []string
	ifaces       []string
	hostPrefixes []string
	domains      []string
	cloud        bool
}

var profiles = []osProfile{
	{weight: 30, osType: "windows", machineTypes: []string{"desktop", "laptop", "laptop"},
		osNames:      [][2]string{{"Windows 10 Pro", "19045"}, {"Windows 11 Enterprise", "22631"}, {"Windows 11 Pro", "26100"}, {"Windows 10 Enterprise", "19044"}},
		arches:       []string{"64 bit", "64 bit", "64 bit", "ARM64"},
		installers:   []string{".msi", ".exe"},
		versions:     []string{"23.4.4.223", "24.1.5.277", "24.2.3.471"},
		models:       []string{"Dell Inc. - Latitude 7420", "LENOVO - 20XW0055US", "HP - HP EliteBook 840 G8 Notebook PC", "Microsoft Corporation - Surface Laptop 5"},
		cpus:         []string{"11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", "Intel(R) Core(TM) i5-10310U CPU @ 1.70GHz", "AMD Ryzen 7 PRO 5850U with Radeon Graphics"},
		ifaces:       []string{"Ethernet", "Wi-Fi", "Ethernet 2"},
		hostPrefixes: []string{"DESKTOP-", "LT-", "WS-"},
		domains:      []string{"CORP", "WORKGROUP", "corp.example.com"}},
	{weight: 20, osType: "windows", machineTypes: []string{"server"},
		osNames:      [][2]string{{"Windows Server 2016 Standard", "14393"}, {"Windows Server 2019 Datacenter", "17763"}, {"Windows Server 2022 Datacenter", "20348"}},
		arches:       []string{"64 bit"},
		installers:   []string{".msi", ".exe"},
		versions:     []string{"23.4.4.223", "24.1.5.277", "24.2.3.471"},
		models:       []string{"VMware, Inc. - VMware7,1", "Amazon EC2 - t3.medium", "Microsoft Corporation - Virtual Machine", "Dell Inc. - PowerEdge R740"},
		cpus:         []string{"Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "AMD EPYC 7763 64-Core Processor"},
		ifaces:       []string{"Ethernet0", "Ethernet 2"},
		hostPrefixes: []string{"SRV-", "EC2AMAZ-", "DC-"},
		domains:      []string{"CORP", "WORKGROUP"}, cloud: true},
	{weight: 3, osType: "windows_legacy", machineTypes: []string{"desktop", "server"},
		osNames:      [][2]string{{"Windows 7 Professional", "7601"}, {"Windows Server 2008 R2 Standard", "7601"}},
		arches:       []string{"64 bit", "32 bit"},
		installers:   []string{".exe"},
		versions:     []string{"4.1.6.118", "3.6.6.104"},
		models:       []string{"VMware, Inc. - VMware Virtual Platform", "Dell Inc. - OptiPlex 7010"},
		cpus:         []string{"Intel(R) Core(TM) i5-3470 CPU @ 3.20GHz", "Intel(R) Xeon(R) CPU E5-2680 v2 @ 2.80GHz"},
		ifaces:       []string{"Local Area Connection"},
		hostPrefixes: []string{"LEGACY-", "XP-"},
		domains:      []string{"CORP", "WORKGROUP"}},
	{weight: 17, osType: "macos", machineTypes: []string{"laptop", "laptop", "desktop"},
		osNames:      [][2]string{{"macOS", "14.4.1 (23E224)"}, {"macOS", "13.6.6 (22G630)"}, {"macOS", "15.1 (24B83)"}},
		arches:       []string{"ARM64", "ARM64", "64 bit"},
		installers:   []string{".pkg"},
		versions:     []string{"23.4.2.14", "24.1.2.6", "24.2.2.7"},
		models:       []string{"Apple - MacBookPro18,3", "Apple - MacBookAir10,1", "Apple - Mac14,2", "Apple - iMac21,1"},
		cpus:         []string{"Apple M1 Pro", "Apple M2", "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz"},
		ifaces:       []string{"en0", "en1"},
		hostPrefixes: []string{"MBP-", "MacBook-Air-", "iMac-"},
		domains:      []string{"unknown", "corp.example.com"}},
	{weight: 20, osType: "linux", machineTypes: []string{"server"},
		osNames:      [][2]string{{"Linux", "Ubuntu 22.04.4 LTS 5.15.0-105-generic"}, {"Linux", "Red Hat Enterprise Linux 9.3 5.14.0-362.8.1.el9_3.x86_64"}, {"Linux", "Debian GNU/Linux 12 (bookworm) 6.1.0-18-amd64"}, {"Linux", "Amazon Linux 2023 6.1.72-96.166.amzn2023.x86_64"}},
		arches:       []string{"64 bit", "64 bit", "ARM64"},
		installers:   []string{".deb", ".rpm"},
		versions:     []string{"23.4.2.14", "24.1.2.17", "24.2.1.9"},
		models:       []string{"Amazon EC2 - m5.large", "Google - Google Compute Engine", "QEMU - Standard PC (Q35 + ICH9, 2009)", "VMware, Inc. - VMware Virtual Platform"},
		cpus:         []string{"Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "AMD EPYC 7R13 Processor", "Neoverse-N1"},
		ifaces:       []string{"eth0", "ens5", "docker0"},
		hostPrefixes: []string{"web-", "db-", "ip-10-"},
		domains:      []string{"unknown"}, cloud: true},
	{weight: 7, osType: "linux", machineTypes: []string{"kubernetes node"},
		osNames:      [][2]string{{"Linux", "Bottlerocket OS 1.19.2 (aws-k8s-1.29) 6.1.82"}, {"Linux", "Container-Optimized OS 109 6.1.58+"}},
		arches:       []string{"64 bit"},
		installers:   []string{".tar"},
		versions:     []string{"24.1.2.17", "24.2.1.9"},
		models:       []string{"Amazon EC2 - m6i.xlarge", "Google - Google Compute Engine"},
		cpus:         []string{"Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"},
		ifaces:       []string{"eth0", "eni1a2b3c4d5e6"},
		hostPrefixes: []string{"ip-10-", "gke-prod-pool-"},
		domains:      []string{"unknown"}, cloud: true},
	{weight: 3, osType: "linux", machineTypes: []string{"kubernetes pod", "ecs task", "storage"},
		osNames:      [][2]string{{"Linux", "Alpine Linux v3.19 6.1.72"}},
		arches:       []string{"64 bit"},
		installers:   []string{"unknown"},
		versions:     []string{"24.1.2.17"},
		models:       []string{"unknown"},
		cpus:         []string{"Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"},
		ifaces:       []string{"eth0"},
		hostPrefixes: []string{"pod-", "task-"},
		domains:      []string{"unknown"}},
}

var totalWeight = func() int {
	t := 0
	for _, p := range profiles {
		t += p.weight
	}
	return t
}()

var (
	networkStatuses = []string{"connected", "disconnected", "connecting", "disconnecting"}
	memorySizes     = []int{4035, 8192, 15974, 16384, 32768, 65536}
	userNames       = []string{"jdoe", "asmith", "mgarcia", "wchen", "pnovak", "administrator", "root", "kpatel"}
	tagKeys         = [][2]string{{"env", "prod"}, {"env", "staging"}, {"owner", "it-ops"}, {"criticality", "high"}, {"team", "platform"}}
	saltDecom       = saltOf("decommissioned")
	saltAgent       = saltOf("agent")
)

// profileFor picks a profile deterministically from the agent's hash.
func (p *prng) profile() *osProfile {
	n := p.intn(totalWeight)
	for i := range profiles {
		if n < profiles[i].weight {
			return &profiles[i]
		}
		n -= profiles[i].weight
	}
	return &profiles[0]
}

// agentHead is the first part of an agent's derivation: the draws that
// fix its OS profile and computer name. Threats and alerts use it to filter
// on osTypes/computerName without building the whole agent.
type agentHead struct {
	r                     *prng // positioned after the head draws
	prof                  *osProfile
	lastActive            int64
	osName                [2]string
	versionIdx, statusIdx int
	host                  string
}

// agentProfile returns agent v's OS profile (one draw).
func (st *agentStore) agentProfile(v int) *osProfile {
	return newPRNG(st.seed, saltAgent, v).profile()
}

// head derives agent v's profile and computer name.
func (st *agentStore) head(v int) agentHead {
	r := newPRNG(st.seed, saltAgent, v)
	h := agentHead{r: r, prof: r.profile()}
	h.lastActive = st.baseUpdatedOf(v) - int64(r.intn(int(6*microsPerHour)))
	h.osName = pick(r, h.prof.osNames)
	h.versionIdx = r.intn(len(h.prof.versions))
	h.statusIdx = r.intn(10)
	if h.statusIdx > 3 {
		h.statusIdx = 0 // mostly connected
	}
	h.host = pick(r, h.prof.hostPrefixes) + strings.ToUpper(r.hexN(7))
	if h.prof.osType == "linux" {
		h.host = strings.ToLower(h.host)
	}
	return h
}

// build derives agent v's full object. All random draws happen in a fixed
// order before the mutable state is applied, so base content is stable.
func (st *agentStore) build(v int, state *agentState) *agentJSON {
	h := st.head(v)
	r, prof := h.r, h.prof
	id := st.idOf(v)
	g := st.scope.groups[v%len(st.scope.groups)]
	s := st.scope.sites[g.site]
	a := st.scope.accounts[s.account]

	created := st.createdOf(v)
	updated := st.baseUpdatedOf(v)
	lastActive, osName, versionIdx, statusIdx, host := h.lastActive, h.osName, h.versionIdx, h.statusIdx, h.host
	decom := st.decommissioned(v)
	ag := &agentJSON{
		AccountID: strconv.FormatInt(a.id, 10), AccountName: a.name,
		ActiveProtection: []string{}, AppsVulnerabilityStatus: pick(r, []string{"up_to_date", "patch_required", "not_applicable"}),
		CloudProviders: map[string]map[string]any{}, ComputerName: host, ConsoleMigrationStatus: "N/A",
		CPUCount: 1 + r.intn(2), CoreCount: 2 << r.intn(4), CPUID: pick(r, prof.cpus),
		CreatedAt: fmtMicros(created), Domain: pick(r, prof.domains),
		EncryptedApplications: r.chance(40), FirewallEnabled: r.chance(70),
		GroupID: strconv.FormatInt(g.id, 10), GroupName: g.name,
		ID: strconv.FormatInt(id, 10), InstallerType: pick(r, prof.installers),
		IsActive: !decom, IsDecommissioned: decom,
		LastActiveDate: fmtMicros(lastActive), LicenseKey: "",
		LocationType: "not_supported", MachineType: pick(r, prof.machineTypes),
		MissingPermissions: []string{}, MitigationMode: pick(r, []string{"protect", "protect", "detect"}), MitigationModeSuspicious: "detect",
		ModelName: pick(r, prof.models), OperationalState: "na",
		OsArch: pick(r, prof.arches), OsName: osName[0], OsRevision: osName[1], OsType: prof.osType,
		OsStartTime:          fmtSeconds(lastActive - int64(r.intn(int(20*microsPerDay)))),
		RangerStatus:         pick(r, []string{"NotApplicable", "Enabled", "Disabled"}),
		RegisteredAt:         fmtMicros(created - int64(r.intn(5000))),
		RemoteProfilingState: "disabled", ScanStatus: pick(r, []string{"finished", "finished", "finished", "none", "started", "aborted"}),
		SiteID: strconv.FormatInt(s.id, 10), SiteName: s.name,
		Tags: agentTags{SentinelOne: []agentTag{}}, TotalMemory: pick(r, memorySizes),
		UpdatedAt: fmtMicros(updated), UserActionsNeeded: []string{}, UUID: r.hexN(32),
		ProxyStates: proxyStates{Console: ptr(false)},
	}
	if ag.CoreCount < ag.CPUCount {
		ag.CoreCount = ag.CPUCount
	}

	// Network.
	privA, privB, privC := r.intn(256), r.intn(256), 2+r.intn(250)
	if r.chance(88) {
		ip := fmt.Sprintf("%d.%d.%d.%d", pick(r, []int{3, 18, 34, 52, 54, 81, 185, 203}), r.intn(256), r.intn(256), 1+r.intn(254))
		ag.ExternalIP = &ip
		ag.GroupIP = ip[:strings.LastIndexByte(ip, '.')] + ".x"
	} else {
		ag.GroupIP = "N/A"
	}
	if r.chance(80) {
		ag.LastIPToMgmt = strp(fmt.Sprintf("10.%d.%d.%d", privA, privB, privC))
	}
	nIf := 1 + r.intn(2)
	for k := range nIf {
		ni := netInterface{
			ID: strconv.FormatInt(id+2048+int64(k), 10), Name: prof.ifaces[k%len(prof.ifaces)],
			Physical: r.mac(), Inet: []string{fmt.Sprintf("10.%d.%d.%d", privA, privB+k, privC)}, Inet6: []string{},
		}
		if r.chance(70) {
			ni.Inet6 = []string{fmt.Sprintf("fe80::%x:%x:%x:%x", r.intn(65536), r.intn(65536), r.intn(65536), r.intn(65536))}
		}
		if k == 0 && r.chance(85) {
			ni.GatewayIP = strp(fmt.Sprintf("10.%d.%d.1", privA, privB))
			ni.GatewayMacAddress = strp(r.mac())
		}
		ag.NetworkInterfaces = append(ag.NetworkInterfaces, ni)
	}

	// Hardware identity; VMs and containers often have no serial.
	switch {
	case strings.HasPrefix(ag.ModelName, "Amazon EC2"):
		ag.SerialNumber = strp("ec2" + r.hexN(5) + "-" + r.hexN(4) + "-" + r.hexN(4) + "-" + r.hexN(4) + "-" + r.hexN(12))
	case r.chance(15) || ag.ModelName == "unknown":
		r.next()
	default:
		ag.SerialNumber = strp(strings.ToUpper(r.hexN(10)))
	}

	// Users and directory.
	user := pick(r, userNames)
	if ag.MachineType == "server" && r.chance(40) || strings.HasPrefix(ag.MachineType, "kubernetes") {
		ag.LastLoggedInUserName = ""
	} else {
		ag.LastLoggedInUserName = user
	}
	if prof.osType == "linux" && r.chance(30) {
		ag.OsUsername = strp("root")
	}
	ad := activeDirectory{ComputerMemberOf: []string{}, LastUserMemberOf: []string{}}
	if strings.HasPrefix(prof.osType, "windows") && ag.Domain == "CORP" {
		ad.ComputerDistinguishedName = strp("CN=" + host + ",OU=Computers,DC=corp,DC=example,DC=com")
		ad.ComputerMemberOf = []string{"CN=Domain Computers,CN=Users,DC=corp,DC=example,DC=com"}
		if ag.LastLoggedInUserName != "" {
			ad.LastUserDistinguishedName = strp("CN=" + user + ",OU=Users,DC=corp,DC=example,DC=com")
			ad.LastUserMemberOf = []string{"CN=Domain Users,CN=Users,DC=corp,DC=example,DC=com"}
			ad.Mail = strp(user + "@example.com")
			ad.UserPrincipalName = strp(user + "@corp.example.com")
		}
		ag.MachineSid = strp(fmt.Sprintf("S-1-5-21-%d-%d-%d", 1e9+r.intn(1e9), 1e9+r.intn(1e9), 1e9+r.intn(1e9)))
	}
	ag.ActiveDirectory = ad

	// Cloud.
	if prof.cloud && (strings.HasPrefix(ag.ModelName, "Amazon EC2") || strings.HasPrefix(ag.ModelName, "Google")) {
		provider := "AWS"
		if strings.HasPrefix(ag.ModelName, "Google") {
			provider = "GCP"
		}
		cp := map[string]any{
			"cloudAccount": fmt.Sprintf("%012d", r.intn(1e12)), "cloudImage": "ami-" + r.hexN(17),
			"cloudInstanceId": "i-" + r.hexN(17), "cloudInstanceSize": strings.TrimPrefix(ag.ModelName, "Amazon EC2 - "),
			"cloudLocation": pick(r, []string{"us-east-1", "eu-west-1", "eu-central-1"}), "cloudNetwork": "vpc-" + r.hexN(8),
			"cloudTags": []string{"Name=" + host}, "awsRole": nil, "awsSecurityGroups": []string{"sg-" + r.hexN(8)},
			"awsSubnetIds": []string{"subnet-" + r.hexN(8)},
		}
		if ag.MachineType == "kubernetes node" {
			cp["clusterName"] = "prod-cluster"
			cp["kubernetesType"] = "EKS"
			cp["kubernetesVersion"] = "1.29"
			cp["kubernetesNodeName"] = host
			ag.HasContainerizedWorkload = true
			ag.ContainerizedWorkloadCounts = workloadCounts{ContainersCount: ptr(5 + r.intn(40)), PodsCount: ptr(3 + r.intn(20)), TasksCount: nil}
		}
		ag.CloudProviders[provider] = cp
	} else {
		r.next()
	}

	// State, scans and the rest.
	if r.chance(3) {
		ag.Infected, ag.ActiveThreats, ag.ShowAlertIcon = true, 1+r.intn(3), true
	}
	if r.chance(5) {
		ag.UserActionsNeeded = []string{pick(r, []string{"reboot_needed", "upgrade_needed", "user_action_needed"})}
		ag.ThreatRebootRequired = ag.UserActionsNeeded[0] == "reboot_needed"
	}
	if prof.osType == "macos" && r.chance(20) {
		ag.MissingPermissions = []string{"user_action_needed_fda"}
	}
	if r.chance(30) {
		ag.ActiveProtection = []string{"edr"}
	}
	scanStart := created + int64(r.intn(int(3*microsPerDay)))
	switch ag.ScanStatus {
	case "finished":
		ag.ScanStartedAt = strp(fmtMicros(scanStart))
		fin := scanStart + int64(r.intn(int(2*microsPerHour)))
		ag.ScanFinishedAt = strp(fmtMicros(fin))
		ag.LastSuccessfulScanDate = ag.ScanFinishedAt
		ag.FullDiskScanLastUpdatedAt = strp(fmtMicros(fin + 2627))
	case "started":
		ag.ScanStartedAt = strp(fmtMicros(scanStart))
	case "aborted":
		ag.ScanStartedAt = strp(fmtMicros(scanStart))
		ag.ScanAbortedAt = strp(fmtMicros(scanStart + int64(r.intn(int(microsPerHour)))))
	}
	if ag.RangerStatus != "NotApplicable" {
		ag.RangerVersion = strp("24.1.1.19")
	}
	if r.chance(20) {
		ag.LocationEnabled, ag.LocationType = true, "fallback"
		ag.Locations = []location{{ID: "629380164464502476", Name: "Fallback", Scope: "global"}}
	}
	if r.chance(60) {
		ag.DetectionState = strp("full_mode")
		ag.FirstFullModeTime = strp(fmtMicros(created + 90*microsPerSecond))
	}
	if r.chance(50) {
		ag.GroupUpdatedAt = strp(fmtMicros(created + int64(r.intn(int(microsPerDay)))))
		ag.PolicyUpdatedAt = strp(fmtMicros(created + int64(r.intn(int(microsPerDay)))))
	}
	switch r.intn(10) {
	case 0:
		ag.ExternalID = strp("")
	case 1:
		ag.ExternalID = strp(fmt.Sprintf("ASSET-%06d", v))
	}
	if r.chance(30) {
		for t := range 1 + r.intn(2) {
			kv := tagKeys[r.intn(len(tagKeys))]
			ag.Tags.SentinelOne = append(ag.Tags.SentinelOne, agentTag{
				AssignedAt: fmtMicros(created + int64(t+1)*microsPerHour), AssignedBy: "Sim Admin",
				AssignedByID: strconv.FormatInt(st.scope.creator, 10),
				ID:           strconv.FormatInt(scopeID(st.seed, "tag", 1_200_000_000_000_000_000, r.intn(len(tagKeys))), 10),
				Key:          kv[0], Value: kv[1],
			})
		}
	}

	// Mutable state (ChangeAgents / AddAgents).
	if state != nil {
		ag.UpdatedAt = fmtMicros(state.updated)
		if state.gen > 0 {
			ag.LastActiveDate = fmtMicros(state.lastActive)
			versionIdx += state.gen
			statusIdx += state.gen
		}
	}
	ag.AgentVersion = prof.versions[versionIdx%len(prof.versions)]
	ag.IsUpToDate = ag.AgentVersion == prof.versions[len(prof.versions)-1]
	ag.NetworkStatus = networkStatuses[statusIdx%len(networkStatuses)]
	if decom {
		ag.NetworkStatus = "disconnected"
		if state != nil && state.gen > 0 {
			ag.NetworkStatus = networkStatuses[statusIdx%len(networkStatuses)]
		}
	}
	return ag
}

// render returns agent v's exact JSON bytes.
func (st *agentStore) render(v int, state *agentState) []byte {
	return mustJSON(st.build(v, state))
}
