package main

import (
	"bytes"
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// historyStats is what the workflow histories of one connection hold.
type historyStats struct {
	Runs            int
	MaxEvents       int    // events of the longest run
	MaxEventsRun    string // workflowID/runID of that run
	TotalEvents     int
	LargestPayload  int    // bytes of the largest Payload as stored (encrypted)
	LargestPlain    int    // bytes of the largest Payload once decrypted
	LargestWhere    string // event type holding it
	HistoryBytes    int    // all events, serialized
	RecordDataFound []string
}

var payloadName = (&commonpb.Payload{}).ProtoReflect().Descriptor().FullName()

// payloadsOf collects every Payload message anywhere inside m.
func payloadsOf(m protoreflect.Message, out *[]*commonpb.Payload) {
	if m.Descriptor().FullName() == payloadName {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			*out = append(*out, p)
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				payloadsOf(l.Get(i).Message(), out)
			}
		case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				payloadsOf(mv.Message(), out)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Kind() == protoreflect.MessageKind:
			payloadsOf(v.Message(), out)
		}
		return true
	})
}

// connectionHistory reads every run of the connection's workflow and of the given sync
// workflows with a raw client (payloads as stored), counts events, measures payloads, and
// searches the serialized events and the decrypted payloads for record data (markers).
func connectionHistory(ctx context.Context, c client.Client, codec converter.PayloadCodec, workflowIDs []string, markers []string) (historyStats, error) {
	var hs historyStats
	found := map[string]bool{}
	for _, wid := range workflowIDs {
		var runs []string
		var token []byte
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
				Query: fmt.Sprintf("WorkflowId = '%s'", wid), NextPageToken: token})
			if err != nil {
				return hs, fmt.Errorf("listing runs of %s: %w", wid, err)
			}
			for _, ex := range resp.Executions {
				runs = append(runs, ex.Execution.RunId)
			}
			token = resp.NextPageToken
			if len(token) == 0 {
				break
			}
		}
		if len(runs) == 0 {
			runs = []string{""} // visibility lags: read the latest run
		}
		for _, run := range runs {
			it := c.GetWorkflowHistory(ctx, wid, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			n := 0
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					return hs, fmt.Errorf("reading the history of %s/%s: %w", wid, run, err)
				}
				n++
				raw, _ := proto.Marshal(ev)
				hs.HistoryBytes += len(raw)
				var ps []*commonpb.Payload
				payloadsOf(ev.ProtoReflect(), &ps)
				var plain bytes.Buffer
				plain.Write(raw)
				for _, p := range ps {
					if sz := proto.Size(p); sz > hs.LargestPayload {
						hs.LargestPayload, hs.LargestWhere = sz, ev.EventType.String()
					}
					if codec != nil {
						if dec, err := codec.Decode([]*commonpb.Payload{p}); err == nil && len(dec) == 1 {
							if sz := proto.Size(dec[0]); sz > hs.LargestPlain {
								hs.LargestPlain = sz
							}
							plain.Write(dec[0].Data)
						}
					}
				}
				b := plain.Bytes()
				for _, m := range markers {
					if !found[m] && bytes.Contains(b, []byte(m)) {
						found[m] = true
						hs.RecordDataFound = append(hs.RecordDataFound, fmt.Sprintf("%q in %s of %s", m, ev.EventType, wid))
					}
				}
			}
			hs.Runs++
			hs.TotalEvents += n
			if n > hs.MaxEvents {
				hs.MaxEvents, hs.MaxEventsRun = n, wid+"/"+run
			}
		}
	}
	return hs, nil
}
