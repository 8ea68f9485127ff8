package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/store"
)

func init() {
	// Installed software: the inventory lists applications, and each application's endpoints
	// come from /inventory/endpoints (3 requests/s for the whole prefix). The walk is a
	// resumable worklist: its checkpoint names the inventory page, the application in it and the
	// endpoints cursor, so a restart continues after the last completed application.
	streams[model.StreamApplications] = streamSpec{Path: "/application-management/inventory", Walk: walkApplications}
}

// appCursor is the applications walk's checkpoint.
type appCursor struct {
	Apps  string `json:"a,omitempty"` // cursor of the inventory page holding the current application
	Index int    `json:"i,omitempty"` // the application's index in that page
	EP    string `json:"e,omitempty"` // cursor of its endpoints walk
}

func (c appCursor) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

func walkApplications(ctx context.Context, a *Activities, client *sentinelone.Client, conn *store.Connection, table store.Table,
	in model.SyncStreamInput, ckpt string, params url.Values, cursor *string, meta ocsf.Meta, res *model.StreamResult) error {
	var at appCursor
	if *cursor != "" {
		if err := json.Unmarshal([]byte(*cursor), &at); err != nil {
			return fmt.Errorf("applications checkpoint %q is corrupt: %w", *cursor, err)
		}
	}
	scope := url.Values{}
	for _, k := range []string{"accountIds", "siteIds"} {
		if v := params.Get(k); v != "" {
			scope.Set(k, v)
		}
	}
	for {
		q := url.Values{"limit": {"1000"}}
		for k, v := range scope {
			q[k] = v
		}
		if at.Apps != "" {
			q.Set("cursor", at.Apps)
		}
		apps, err := client.List(ctx, "/application-management/inventory", q)
		if err != nil {
			return err
		}
		res.Requests++
		if len(apps.Data) == 0 {
			// Nothing (left) to walk: commit the end of the walk.
			return a.commitApps(ctx, conn, table, in, ckpt, nil, "", apps.TotalItems, res, cursor)
		}
		for i := at.Index; i < len(apps.Data); i++ {
			var app struct {
				Name   string `json:"applicationName"`
				Vendor string `json:"applicationVendor"`
			}
			if err := json.Unmarshal(apps.Data[i], &app); err != nil {
				return temporal.NewNonRetryableApplicationError(fmt.Sprintf("applications: inventory item %d: %v", i, err), "MalformedRecord", err)
			}
			ep := ""
			if i == at.Index {
				ep = at.EP
			}
			for {
				eq := url.Values{"applicationName": {app.Name}, "applicationVendor": {app.Vendor}, "limit": {"1000"}}
				for k, v := range scope {
					eq[k] = v
				}
				if ep != "" {
					eq.Set("cursor", ep)
				}
				p, err := client.List(ctx, "/application-management/inventory/endpoints", eq)
				if err != nil {
					return err
				}
				res.Requests++
				meta.Now = time.Now().UTC()
				meta.ValidJSON = apps.Valid && p.Valid // both pages' bodies were checked
				recs := make([]store.Record, 0, len(p.Data))
				for j, e := range p.Data {
					r, err := ocsf.Software(apps.Data[i], e, meta)
					if err != nil {
						return temporal.NewNonRetryableApplicationError(fmt.Sprintf("applications: %s endpoint %d: %v", app.Name, j, err), "MalformedRecord", err)
					}
					recs = append(recs, store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: r.UpdatedAt, Raw: e, OCSF: r.Event, Flat: r.Flat.Values()})
				}
				next := appCursor{Apps: at.Apps, Index: i, EP: p.NextCursor}
				switch {
				case p.NextCursor != "":
				case i+1 < len(apps.Data):
					next = appCursor{Apps: at.Apps, Index: i + 1}
				case apps.NextCursor != "":
					next = appCursor{Apps: apps.NextCursor}
				default:
					next = appCursor{} // the last endpoints page of the last application
				}
				nc := next.encode()
				if next == (appCursor{}) {
					nc = ""
				}
				if err := a.commitApps(ctx, conn, table, in, ckpt, recs, nc, apps.TotalItems, res, cursor); err != nil {
					return err
				}
				if nc == "" {
					return nil
				}
				if p.NextCursor == "" {
					break
				}
				ep = p.NextCursor
			}
		}
		if apps.NextCursor == "" {
			return nil
		}
		at = appCursor{Apps: apps.NextCursor}
	}
}

func (a *Activities) commitApps(ctx context.Context, conn *store.Connection, table store.Table, in model.SyncStreamInput, ckpt string,
	recs []store.Record, next string, total int64, res *model.StreamResult, cursor *string) error {
	pc, err := a.Store.CommitPage(ctx, &store.Page{ConnectionID: in.ConnectionID, Table: table, Checkpoint: ckpt, WalkID: in.WalkID,
		Full: true, NextCursor: next, TotalItems: total, Fetched: int64(len(recs)), Records: recs})
	if err != nil {
		return err
	}
	*cursor = next
	res.Pages++
	res.Fetched += int64(len(recs))
	res.Inserted += pc.Inserted
	res.Updated += pc.Updated
	res.Unchanged += pc.Unchanged
	res.Removed += pc.Removed
	res.TotalItems = total
	res.Watermark = pc.Watermark
	if a.OnPage != nil {
		a.OnPage(in.ConnectionID, in.Stream, pc, len(recs))
	}
	heartbeat(ctx, walkProgress{Pages: res.Pages, Fetched: res.Fetched})
	return nil
}
