package store

import (
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
)

func init() {
	Register(Table{Stream: model.StreamAgents, Name: "agents", FlatColumns: ocsf.HostAssetColumns()})
	Register(Table{Stream: model.StreamThreats, Name: "threats", FlatColumns: ocsf.ThreatColumns(), StatusColumn: "status"})
	Register(Table{Stream: model.StreamAlerts, Name: "alerts", FlatColumns: ocsf.AlertColumns(), StatusColumn: "status"})
	Register(Table{Stream: model.StreamVulnerabilities, Name: "vulnerabilities", FlatColumns: ocsf.VulnColumns()})
	Register(Table{Stream: model.StreamApplications, Name: "applications", FlatColumns: ocsf.SoftwareColumns()})
	Register(Table{Stream: model.StreamXDRAssets, Name: "xdr_assets", FlatColumns: ocsf.XDRAssetColumns()})
}
