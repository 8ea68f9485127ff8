package simulator

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The application/vulnerability model (reference §6.8, §9). A catalogue of
// Options.Apps applications and Options.CVEs CVEs is derived from the seed.
// Application a is installed on base agent v iff the agent's OS family is
// one the application ships for and hashOf(seed, a, v) falls under the
// application's popularity; the installed version is derived the same
// way. Each (application, version) maps to 0..3 CVEs. Risk rows (one per
// CVE × endpoint × application) are enumerated agent-major, so row r is
// found by binary search over per-agent prefix sums: nothing per row or per
// installation is stored.

const (
	osBitWin   = 1
	osBitMac   = 2
	osBitLinux = 4
	// maxApps bounds the catalogue: installation row IDs use 16 bits for it.
	maxApps = 1 << 16
)

type appSeedRow struct {
	name, vendor string
	os           uint8
	cpe          string
}

var appTable = []appSeedRow{
	{"7-Zip", "Igor Pavlov", osBitWin, "7-zip:7-zip"},
	{"Google Chrome", "Google LLC", osBitWin | osBitMac, "google:chrome"},
	{"Mozilla Firefox", "Mozilla", osBitWin | osBitMac | osBitLinux, "mozilla:firefox"},
	{"Microsoft Edge", "Microsoft Corporation", osBitWin | osBitMac, "microsoft:edge_chromium"},
	{"Adobe Acrobat Reader", "Adobe Inc.", osBitWin | osBitMac, "adobe:acrobat_reader_dc"},
	{"Notepad++", "Notepad++ Team", osBitWin, "notepad-plus-plus:notepad++"},
	{"VLC media player", "VideoLAN", osBitWin | osBitMac, "videolan:vlc_media_player"},
	{"Zoom Workplace", "Zoom Video Communications, Inc.", osBitWin | osBitMac, "zoom:zoom"},
	{"Microsoft Teams", "Microsoft Corporation", osBitWin | osBitMac, "microsoft:teams"},
	{"Slack", "Slack Technologies, LLC", osBitWin | osBitMac, "slack:slack"},
	{"Java(TM) SE Runtime Environment", "Oracle Corporation", osBitWin | osBitMac | osBitLinux, "oracle:jre"},
	{"Python", "Python Software Foundation", osBitWin | osBitMac, "python:python"},
	{"Git", "The Git Development Community", osBitWin | osBitMac, "git-scm:git"},
	{"PuTTY", "Simon Tatham", osBitWin, "putty:putty"},
	{"WinRAR", "win.rar GmbH", osBitWin, "rarlab:winrar"},
	{"WinSCP", "Martin Prikryl", osBitWin, "winscp:winscp"},
	{"Wireshark", "The Wireshark developer community", osBitWin | osBitMac, "wireshark:wireshark"},
	{"Visual Studio Code", "Microsoft Corporation", osBitWin | osBitMac | osBitLinux, "microsoft:visual_studio_code"},
	{"Microsoft 365 Apps for enterprise", "Microsoft Corporation", osBitWin | osBitMac, "microsoft:365_apps"},
	{"TeamViewer", "TeamViewer Germany GmbH", osBitWin | osBitMac, "teamviewer:teamviewer"},
	{"AnyDesk", "AnyDesk Software GmbH", osBitWin | osBitMac, "anydesk:anydesk"},
	{"iTerm2", "George Nachman", osBitMac, "iterm2:iterm2"},
	{"Docker Desktop", "Docker Inc.", osBitWin | osBitMac, "docker:desktop"},
	{"openssl", "OpenSSL Project", osBitLinux, "openssl:openssl"},
	{"openssh-server", "OpenBSD", osBitLinux, "openbsd:openssh"},
	{"sudo", "Todd C. Miller", osBitLinux, "sudo_project:sudo"},
	{"curl", "curl project", osBitLinux | osBitMac, "haxx:curl"},
	{"glibc", "GNU", osBitLinux, "gnu:glibc"},
	{"bash", "GNU", osBitLinux, "gnu:bash"},
	{"nginx", "F5, Inc.", osBitLinux, "f5:nginx"},
	{"apache2", "Apache Software Foundation", osBitLinux, "apache:http_server"},
	{"python3", "Python Software Foundation", osBitLinux, "python:python"},
	{"vim", "Bram Moolenaar", osBitLinux | osBitMac, "vim:vim"},
	{"containerd", "The containerd Authors", osBitLinux, "linuxfoundation:containerd"},
	{"log4j-core", "Apache Software Foundation", osBitLinux | osBitWin, "apache:log4j"},
	{"xz-utils", "Tukaani Project", osBitLinux, "tukaani:xz"},
	{"polkit", "freedesktop.org", osBitLinux, "polkit_project:polkit"},
	{"linux-image-generic", "Canonical Ltd.", osBitLinux, "linux:linux_kernel"},
}

var (
	riskSeverities = []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}
	// bandScore is the (×10) score a row gets when its severity is changed.
	bandScore         = []int{31, 53, 75, 98}
	exploitedValues   = []string{"Not Defined", "Unknown", "Yes"}
	maturityValues    = []string{"Not Defined", "Unproven", "Proof of Concept", "Functional", "High"}
	remediationValues = []string{"Not Defined", "Official Fix", "Temporary Fix", "Workaround", "Unavailable"}
	confidenceValues  = []string{"Not Defined", "Unknown", "Reasonable", "Confirmed"}
	cveDescriptions   = []string{
		"A heap-based buffer overflow allows a remote attacker to execute arbitrary code via a crafted file.",
		"Improper input validation allows a local user to escalate privileges.",
		"A use-after-free allows a remote attacker to potentially exploit heap corruption via a crafted page.",
		"A path traversal allows an attacker to write files outside the intended directory.",
		"Improper certificate validation allows a man-in-the-middle attacker to spoof servers.",
		"A Mark-of-the-Web bypass allows a remote attacker to execute arbitrary code.",
		"An out-of-bounds read allows a remote attacker to obtain sensitive information.",
		"Uncontrolled resource consumption allows a remote attacker to cause a denial of service.",
	}
	saltInstall = saltOf("app-install")
	saltVersion = saltOf("app-version")
)

type appDef struct {
	pos                  int // position in the catalogue (sorted by name)
	name, vendor, cpe    string
	os                   uint8
	salt                 uint64
	pop                  uint64 // install probability per eligible agent, per mille
	versions             []string
	cves                 [][]int32 // per version index: CVE catalogue indices
	counts               []int32   // installations per (group, version): g*len(versions)+j
	endpoints, versionsN int       // totals over the tenant (versionsN: versions installed somewhere)
}

type cveDef struct {
	year, num   int
	score       int // ×10, 20..100
	published   int64
	description string
	exploited   int8
	maturity    int8
	remediation int8
	confidence  int8
}

func (c *cveDef) id() string     { return fmt.Sprintf("CVE-%d-%d", c.year, c.num) }
func (c *cveDef) sortKey() int64 { return int64(c.year)*10_000_000 + int64(c.num) }
func (c *cveDef) severity() int  { return severityOfScore(c.score) }

// severityOfScore maps a ×10 CVSS score to an index into riskSeverities.
func severityOfScore(x10 int) int {
	switch {
	case x10 >= 90:
		return 3
	case x10 >= 70:
		return 2
	case x10 >= 40:
		return 1
	}
	return 0
}

func fmtScore2(x10 int) string { return fmt.Sprintf("%d.%d0", x10/10, x10%10) } // "7.00" (risk rows)
func fmtScore1(x10 int) string { return fmt.Sprintf("%d.%d", x10/10, x10%10) }  // "7.0" (CVE details)

func osBitOf(osType string) uint8 {
	switch {
	case osType == "macos":
		return osBitMac
	case osType == "linux":
		return osBitLinux
	case strings.HasPrefix(osType, "windows"):
		return osBitWin
	}
	return 0
}

// riskCell identifies one risk row: agent, application, version, CVE.
type riskCell struct {
	agent int
	app   int32
	ver   int8
	cve   int32
}

// vulnModel is the immutable catalogue plus per-agent row prefix sums.
type vulnModel struct {
	seed   uint64
	agents *agentStore
	groups int
	apps   []appDef
	cves   []cveDef
	prefix []int64 // prefix[v] = rows of base agents < v; len base+1
}

func newVulnModel(seed uint64, agents *agentStore, nApps, nCVEs int, nowUS int64) *vulnModel {
	m := &vulnModel{seed: seed, agents: agents, groups: len(agents.scope.groups)}
	nApps = min(max(nApps, 0), maxApps)
	nCVEs = max(nCVEs, 0)
	for c := range nCVEs {
		h := hashOf(seed, saltOf("cve"), c)
		year := 2016 + c%10
		d := cveDef{
			year: year, num: 1000 + (c/10)*7 + int(h%7), score: 20 + int(mix64(h)%81),
			published:   yearStartMicros(year) + int64(mix64(h^1)%(360*uint64(microsPerDay)))/microsPerSecond*microsPerSecond,
			description: cveDescriptions[mix64(h^2)%uint64(len(cveDescriptions))],
			exploited:   int8(mix64(h^3) % 3), maturity: int8(mix64(h^4) % 5),
			remediation: int8(mix64(h^5) % 5), confidence: int8(mix64(h^6) % 4),
		}
		d.published = min(d.published, nowUS-microsPerDay)
		m.cves = append(m.cves, d)
	}
	for a := range nApps {
		h := hashOf(seed, saltOf("app"), a)
		var row appSeedRow
		if a < len(appTable) {
			row = appTable[a]
		} else {
			k := a - len(appTable) + 1
			row = appSeedRow{fmt.Sprintf("Sim Utility %d", k), fmt.Sprintf("Sim Software %d", k%7+1),
				osBitWin | osBitMac | osBitLinux, fmt.Sprintf("sim_software:utility_%d", k)}
		}
		ap := appDef{name: row.name, vendor: row.vendor, cpe: row.cpe, os: row.os, salt: h}
		switch {
		case a < 3:
			ap.pop = 400 + h%400
		default:
			ap.pop = 20 + h%280
		}
		nv := 1 + int(mix64(h)%4)
		major := 1 + int(mix64(h^7)%30)
		for j := range nv {
			ap.versions = append(ap.versions, fmt.Sprintf("%d.%d.%d", major+j, int(mix64(h^uint64(8+j))%10), int(mix64(h^uint64(16+j))%200)))
		}
		ap.cves = make([][]int32, nv)
		for j := range nv {
			if nCVEs == 0 {
				continue
			}
			hj := hashOf(seed, h^saltOf("app-cves"), j)
			k := 1 + int(hj%3) // older versions: 1..3
			if j == nv-1 {
				k = int(hj % 2) // newest: 0..1
			}
			k = min(k, nCVEs)
			for tries := uint64(0); len(ap.cves[j]) < k && tries < 64; tries++ {
				c := int32(mix64(hj+tries) % uint64(nCVEs))
				if !slices.Contains(ap.cves[j], c) {
					ap.cves[j] = append(ap.cves[j], c)
				}
			}
		}
		ap.counts = make([]int32, m.groups*nv)
		m.apps = append(m.apps, ap)
	}
	slices.SortFunc(m.apps, func(x, y appDef) int { return strings.Compare(strings.ToLower(x.name), strings.ToLower(y.name)) })
	for i := range m.apps {
		m.apps[i].pos = i
	}
	base := agents.base
	m.prefix = make([]int64, base+1)
	for v := range base {
		bit := osBitOf(agents.agentProfile(v).osType)
		g := v % m.groups
		rows := int64(0)
		for a := range m.apps {
			if j := m.verOf(v, bit, a); j >= 0 {
				ap := &m.apps[a]
				ap.counts[g*len(ap.versions)+j]++
				rows += int64(len(ap.cves[j]))
			}
		}
		m.prefix[v+1] = m.prefix[v] + rows
	}
	for a := range m.apps {
		ap := &m.apps[a]
		for j := range ap.versions {
			n := 0
			for g := range m.groups {
				n += int(ap.counts[g*len(ap.versions)+j])
			}
			ap.endpoints += n
			if n > 0 {
				ap.versionsN++
			}
		}
	}
	return m
}

func yearStartMicros(year int) int64 {
	// Days from 1970-01-01 to Jan 1 of year (Gregorian).
	y := int64(year - 1)
	days := y*365 + y/4 - y/100 + y/400 - 719162
	return days * microsPerDay
}

// verOf returns the version index of application a installed on base agent
// v (whose OS bit is bit), or -1 when it is not installed.
func (m *vulnModel) verOf(v int, bit uint8, a int) int {
	ap := &m.apps[a]
	if ap.os&bit == 0 {
		return -1
	}
	h := hashOf(m.seed, ap.salt^saltInstall, v)
	if h%1000 >= ap.pop {
		return -1
	}
	n := len(ap.versions)
	h2 := mix64(h ^ saltVersion)
	if n == 1 || h2%100 < 50 {
		return n - 1
	}
	return int((h2 >> 8) % uint64(n-1))
}

// agentCells appends base agent v's risk rows in row order.
func (m *vulnModel) agentCells(v int, dst []riskCell) []riskCell {
	bit := osBitOf(m.agents.agentProfile(v).osType)
	for a := range m.apps {
		if j := m.verOf(v, bit, a); j >= 0 {
			for _, c := range m.apps[a].cves[j] {
				dst = append(dst, riskCell{agent: v, app: int32(a), ver: int8(j), cve: c})
			}
		}
	}
	return dst
}

// baseRows is the number of derived risk rows.
func (m *vulnModel) baseRows() int { return int(m.prefix[len(m.prefix)-1]) }

// agentOfRow returns the base agent owning derived row r.
func (m *vulnModel) agentOfRow(r int) int {
	return sort.Search(len(m.prefix)-1, func(i int) bool { return m.prefix[i+1] > int64(r) })
}

// findApp returns the catalogue position of (name, vendor), matched
// case-insensitively; vendor "" matches any.
func (m *vulnModel) findApp(name, vendor string) int {
	for i := range m.apps {
		if strings.EqualFold(m.apps[i].name, name) && (vendor == "" || strings.EqualFold(m.apps[i].vendor, vendor)) {
			return i
		}
	}
	return -1
}

// agentIdent is what risk and inventory rows show about an endpoint,
// taken from the agent's base (unchanged) state like threats do.
type agentIdent struct {
	ag                               *agentJSON
	endpointType                     string
	accountName, siteName, groupName string
	vln                              bool // the agent's site has the VLN SKU
}

func (m *vulnModel) ident(v int) *agentIdent {
	ag := m.agents.build(v, nil)
	g := m.agents.scope.groups[v%len(m.agents.scope.groups)]
	s := m.agents.scope.sites[g.site]
	et := ag.MachineType
	if et != "desktop" && et != "laptop" {
		et = "server"
	}
	return &agentIdent{ag: ag, endpointType: et, accountName: m.agents.scope.accounts[s.account].name,
		siteName: s.name, groupName: g.name, vln: s.idx%2 == 1}
}
