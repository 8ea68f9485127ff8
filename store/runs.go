package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sentinelone-connector/s1conn/model"
)

// StartRun records that a sync began (idempotent: a retried activity changes nothing).
func (s *Store) StartRun(ctx context.Context, in model.StartRunInput) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO sync_runs (connection_id, seq, workflow_id, mode, streams, status, started_at)
		VALUES (?, ?, ?, ?, ?, 'running', ?) ON CONFLICT (connection_id, seq) DO NOTHING`),
		in.ConnectionID, in.Seq, in.WorkflowID, in.Mode, strings.Join(in.Streams, ","), s.now())
	if err != nil {
		return fmt.Errorf("recording the start of sync %d: %w", in.Seq, err)
	}
	return nil
}

// FinishRun records a sync's summary.
func (s *Store) FinishRun(ctx context.Context, connID string, sum model.RunSummary) error {
	b, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sync_runs SET status = ?, finished_at = ?, summary = ? WHERE connection_id = ? AND seq = ?`),
		sum.Status, s.now(), string(b), connID, sum.Seq)
	if err != nil {
		return fmt.Errorf("recording the end of sync %d: %w", sum.Seq, err)
	}
	return nil
}

// LastRuns returns up to n most recent run summaries (finished runs only).
func (s *Store) LastRuns(ctx context.Context, connID string, n int) ([]model.RunSummary, error) {
	var raws []sql.NullString
	if err := s.db.SelectContext(ctx, &raws, s.db.Rebind(`SELECT summary FROM sync_runs WHERE connection_id = ? AND summary IS NOT NULL ORDER BY seq DESC LIMIT ?`), connID, n); err != nil {
		return nil, fmt.Errorf("reading runs: %w", err)
	}
	out := make([]model.RunSummary, 0, len(raws))
	for _, r := range raws {
		var sum model.RunSummary
		if err := json.Unmarshal([]byte(r.String), &sum); err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}
