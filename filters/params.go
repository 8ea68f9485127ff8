package filters

import (
	"sort"
	"strings"

	"github.com/sentinelone-connector/s1conn/model"
)

// Documented query parameters per stream endpoint (reference/sentinelone-api.md §6.4–6.6),
// minus those the connector controls. Range operators are expanded by rangeOps.
var documented = map[string][]string{
	model.StreamAgents: {
		"groupIds", "filteredSiteIds", "filteredGroupIds", "ids", "idsNin", "uuid", "uuids", "computerName", "computerName__like", "query",
		"isActive", "isDecommissioned", "isUninstalled", "isPendingUninstall", "isUpToDate", "infected", "encryptedApplications",
		"firewallEnabled", "locationEnabled", "networkQuarantineEnabled", "threatRebootRequired", "hasTags", "hasLocalConfiguration",
		"osTypes", "osTypesNin", "osArch", "osArches", "osArchesNin", "machineTypes", "machineTypesNin", "networkStatuses",
		"networkStatusesNin", "scanStatus", "scanStatuses", "scanStatusesNin", "mitigationMode", "mitigationModeSuspicious",
		"userActionsNeeded", "userActionsNeededNin", "missingPermissions", "missingPermissionsNin", "appsVulnerabilityStatuses",
		"appsVulnerabilityStatusesNin", "consoleMigrationStatuses", "consoleMigrationStatusesNin", "operationalStates",
		"operationalStatesNin", "remoteProfilingStates", "remoteProfilingStatesNin", "rangerStatuses", "rangerStatusesNin",
		"installerTypes", "installerTypesNin", "domains", "domainsNin", "locationIds", "locationIdsNin", "cloudProvider",
		"cloudProviderNin", "activeThreats", "activeThreats__gt", "agentVersions", "agentVersionsNin", "windowsOsRevision__gte",
		"windowsOsRevision__lte", "computerName__contains", "externalIp__contains", "networkInterfaceInet__contains",
		"networkInterfacePhysical__contains", "networkInterfaceGatewayMacAddress__contains", "lastLoggedInUserName__contains",
		"osVersion__contains", "uuid__contains", "externalId__contains", "serialNumber__contains", "cpuId__contains",
		"computerNameOrUuid__contains", "tagsData", "gatewayIp", "filterId", "csvFilterId", "rsoLevel", "rsoLevels",
		"migrationStatus", "threatMitigationStatus", "threatResolved", "threatHidden", "threatContentHash",
	},
	model.StreamThreats: {
		"groupIds", "tenant", "agentIds", "ids", "storylines", "collectionIds", "contentHashes", "displayName", "externalTicketIds",
		"mitigationStatuses", "mitigationStatusesNin", "incidentStatuses", "incidentStatusesNin", "analystVerdicts",
		"analystVerdictsNin", "confidenceLevels", "confidenceLevelsNin", "resolved", "classifications", "classificationsNin",
		"classificationSources", "classificationSourcesNin", "engines", "enginesNin", "detectionEngines", "detectionEnginesNin",
		"initiatedBy", "initiatedByNin", "agentMachineTypes", "agentMachineTypesNin", "agentVersions", "agentVersionsNin",
		"osTypes", "osTypesNin", "osArchs", "osNames", "osNamesNin", "agentIsActive", "agentTagsData", "hasAgentTags",
		"noteExists", "failedActions", "rebootRequired", "pendingActions", "externalTicketExists", "mitigatedPreemptively",
		"query", "contentHash__contains", "threatDetails__contains", "filePath__contains", "computerName__contains",
		"uuid__contains", "detectionAgentVersion__contains", "realtimeAgentVersion__contains", "detectionAgentDomain__contains",
		"commandLineArguments__contains", "initiatedByUsername__contains", "storyline__contains", "originatedProcess__contains",
		"publisherName__contains", "signerIdentity__contains", "externalTicketId__contains", "countsFor",
	},
	model.StreamAlerts: {
		"groupIds", "tenant", "ids", "scopes", "incidentStatus", "analystVerdict", "severity", "osType", "machineType",
		"ruleName__contains", "origAgentName__contains", "origAgentUuid__contains", "origAgentVersion__contains",
		"origAgentOsRevision__contains", "sourceProcessName__contains", "sourceProcessCommandline__contains",
		"sourceProcessFilePath__contains", "sourceProcessFileHashSha1__contains", "sourceProcessFileHashMd5__contains",
		"sourceProcessFileHashSha256__contains", "sourceProcessStoryline__contains", "query",
	},
}

// rangeOps are the time-range filters a user may add; the delta/backfill bounds are refused elsewhere.
var rangeOps = map[string][]string{
	model.StreamAgents:  {"createdAt", "registeredAt", "lastActiveDate", "decommissionedAt", "lastSuccessfulScanDate", "threatCreatedAt", "agentVersion", "coreCount", "cpuCount", "totalMemory"},
	model.StreamThreats: {"createdAt"},
	model.StreamAlerts:  {"createdAt", "reportedAt"},
}

// timeFields are range filters whose values must be ISO-8601 timestamps.
var timeFields = map[string]bool{"createdAt": true, "updatedAt": true, "registeredAt": true, "lastActiveDate": true,
	"decommissionedAt": true, "lastSuccessfulScanDate": true, "threatCreatedAt": true, "reportedAt": true}

// backfillKeys are bounds the connector's backfill windows set.
var backfillKeys = map[string][]string{
	model.StreamThreats: {"createdAt__gte", "createdAt__lt"},
	model.StreamAlerts:  {"createdAt__lt"},
}

// Allowed returns the sorted filter keys a stream accepts (nil when the stream has no list yet).
func Allowed(stream string) []string {
	base, ok := documented[stream]
	if !ok {
		return nil
	}
	out := append([]string(nil), base...)
	for _, f := range rangeOps[stream] {
		for _, op := range []string{"__gt", "__gte", "__lt", "__lte", "__between"} {
			k := f + op
			if !contains(deltaKeys[stream], k) && !contains(backfillKeys[stream], k) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the allowed key nearest to k (edit distance, case-insensitive).
func closest(k string, allowed []string) string {
	best, bestD := "", 1<<30
	lk := strings.ToLower(k)
	for _, a := range allowed {
		if d := levenshtein(lk, strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
